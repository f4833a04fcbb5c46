//! Input handling through the real binary: spellings, empty values, and bad input that must stop
//! before any write call.

use wiremock::MockServer;

use crate::support::*;

async fn happy() -> MockServer {
    let server = qovery(vec![previous_deployed(), ours("DEPLOYED", "DEPLOYED")]).await;
    accept_deploy(&server).await;
    server
}

#[tokio::test]
async fn hyphen_and_underscore_spellings_both_work() {
    for (token_var, env_var) in [
        ("INPUT_API-TOKEN", "INPUT_ENVIRONMENT-ID"),
        ("INPUT_API_TOKEN", "INPUT_ENVIRONMENT_ID"),
    ] {
        let server = happy().await;
        let output = command(&server.uri())
            .env_remove("INPUT_API-TOKEN")
            .env_remove("INPUT_ENVIRONMENT-ID")
            .env(token_var, TOKEN)
            .env(env_var, ENV)
            .env("INPUT_APPLICATIONS", "api")
            .output()
            .unwrap();
        assert_eq!(
            output.status.code(),
            Some(0),
            "{token_var}: {}",
            stderr(&output)
        );
        let first = &requests(&server).await[0];
        assert_eq!(
            first
                .headers
                .get("authorization")
                .unwrap()
                .to_str()
                .unwrap(),
            format!("Token {TOKEN}")
        );
    }
}

#[tokio::test]
async fn the_token_falls_back_to_qovery_api_token() {
    let server = happy().await;
    let output = command(&server.uri())
        .env_remove("INPUT_API-TOKEN")
        .env("QOVERY_API_TOKEN", TOKEN)
        .env("INPUT_API_TOKEN", "")
        .env("INPUT_APPLICATIONS", "api")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

#[tokio::test]
async fn empty_inputs_are_unset() {
    // GitHub sets every declared input, empty when not given.
    let server = happy().await;
    let mut cmd = command(&server.uri());
    for name in [
        "TIMEOUT",
        "WAIT",
        "CONTAINERS",
        "JOBS",
        "HELMS",
        "DATABASES",
        "TERRAFORMS",
        "IMAGE-TAG",
        "CHART-VERSION",
        "TERRAFORM-ACTION",
        "JOB-EVENT",
        "CANCEL-ON-TIMEOUT",
        "FORCE-CANCEL",
        "CONSOLE-URL",
        "COMMAND",
    ] {
        cmd.env(format!("INPUT_{name}"), "");
    }
    let output = cmd.env("INPUT_APPLICATIONS", "api").output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

/// Runs with one bad input; expects exit 2, a message naming the input, and no write call.
async fn rejected(vars: &[(&str, &str)], input: &str) -> String {
    let server = happy().await;
    let mut cmd = command(&server.uri());
    cmd.env("INPUT_APPLICATIONS", "api");
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let output = cmd.output().unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{vars:?}: {err}");
    assert!(err.contains(&format!("input `{input}`")), "{vars:?}: {err}");
    assert!(err.contains("hint:"), "{vars:?}: {err}");
    assert_eq!(writes(&server).await, 0, "{vars:?} sent a write");
    err
}

#[tokio::test]
async fn bad_input_exits_2_before_any_write() {
    rejected(
        &[("INPUT_ENVIRONMENT-ID", "b6a6a1c4-2f0e-4a44-9f4b")],
        "environment-id",
    )
    .await;
    let err = rejected(&[("INPUT_APPLICATIONS", "api,ghost")], "applications").await;
    assert!(
        err.contains("entry `ghost`") && err.contains("api, Web"),
        "{err}"
    );
    let err = rejected(&[("INPUT_APPLICATIONS", "worker")], "applications").await;
    assert!(
        err.contains("`worker` is not an application")
            && err.contains("`worker` is a container; list it under `containers`"),
        "{err}"
    );
    let err = rejected(
        &[("INPUT_APPLICATIONS", ""), ("INPUT_CONTAINERS", "api")],
        "containers",
    )
    .await;
    assert!(
        err.contains("`api` is not a container")
            && err.contains("`api` is an application; list it under `applications`"),
        "{err}"
    );
    rejected(&[("INPUT_COMMAND", "deploy-all")], "command").await;
    rejected(&[("INPUT_TIMEOUT", "ten minutes")], "timeout").await;
    rejected(&[("INPUT_POLL-INTERVAL", "200ms")], "poll-interval").await;
    rejected(
        &[("INPUT_CONTAINERS", "c1000000-0000-4000-8000-00000000000g")],
        "containers",
    )
    .await;
    rejected(&[("INPUT_COMMIT-SHA", "")], "applications").await;
    rejected(&[("INPUT_APPLICATIONS", "")], "applications").await;
}

#[tokio::test]
async fn syntax_errors_send_no_request_at_all() {
    let server = MockServer::start().await;
    let output = command(&server.uri())
        .env("INPUT_APPLICATIONS", "api")
        .env("INPUT_WAIT", "sometimes")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(requests(&server).await.is_empty());
}

#[test]
fn help_and_version() {
    for args in [&["--help"][..], &["-h"], &["help"]] {
        let output = command("http://127.0.0.1:9").args(args).output().unwrap();
        assert_exit(&output, 0);
        let out = stdout(&output);
        assert!(out.contains("--environment-id"), "{args:?}: {out}");
        assert!(
            out.contains("Usage: qovery-deploy [COMMAND] [--INPUT VALUE]...")
                && out.contains("The command is the first argument"),
            "{args:?}: {out}"
        );
    }
    for args in [&["help", "deploy-job"][..], &["deploy-job", "--help"]] {
        let output = command("http://127.0.0.1:9").args(args).output().unwrap();
        assert_exit(&output, 0);
        let out = stdout(&output);
        assert!(out.contains("Usage: qovery-deploy deploy-job"), "{out}");
        assert!(
            out.contains("--job-event") && !out.contains("--terraform-action"),
            "{out}"
        );
    }
    let output = command("http://127.0.0.1:9")
        .arg("--version")
        .output()
        .unwrap();
    assert!(stdout(&output).starts_with("qovery-deploy "));
}

#[tokio::test]
async fn a_boolean_flag_does_not_take_the_next_flag() {
    // Seen with the hand-written parser: "unknown command `1s`".
    let server = happy().await;
    let output = command(&server.uri())
        .env_remove("INPUT_POLL-INTERVAL")
        .args([
            "deploy",
            "--applications",
            "api",
            "--wait",
            "--poll-interval",
            "1s",
        ])
        .output()
        .unwrap();
    assert_exit(&output, 0);
    assert_eq!(writes(&server).await, 1);
}

#[tokio::test]
async fn every_bad_command_line_exits_2_naming_the_flag_and_sends_nothing() {
    let cases: &[(&[&str], &str)] = &[
        // Seen with the hand-written parser: silently ran `cancel`.
        (&["deploy-job", "--command", "cancel"], "flag `--command`"),
        (
            &["--command", "deploy", "--command", "cancel"],
            "flag `--command`",
        ),
        (&["deploy", "cancel"], "unexpected argument `cancel`"),
        (
            &["--applications", "api", "web"],
            "join the values with commas: `--applications api,web`",
        ),
        (&["--aplications", "api"], "did you mean `--applications`?"),
        (&["--applications"], "flag `--applications`: needs a value"),
        (&["--jobs", "--wait"], "flag `--jobs`: needs a value"),
        (&["-x"], "flag `-x`: unknown flag"),
        (
            &["--timeout", "5m", "--timeout", "6m"],
            "flag `--timeout`: given twice",
        ),
        (&["help", "deplyo"], "did you mean `deploy`?"),
        (&["deplyo"], "did you mean `deploy`?"),
        (
            &["--timeout", "soon"],
            "input `timeout` (given as `--timeout`)",
        ),
        (&["--wait=maybe"], "input `wait` (given as `--wait`)"),
    ];
    let server = happy().await;
    for (args, message) in cases {
        let output = command(&server.uri())
            .env("INPUT_APPLICATIONS", "api")
            .args(*args)
            .output()
            .unwrap();
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(message), "{args:?}: {err}");
        assert!(err.contains("hint:"), "{args:?}: {err}");
    }
    assert!(requests(&server).await.is_empty());
}

#[tokio::test]
async fn an_unknown_input_variable_suggests_the_closest() {
    let server = happy().await;
    let output = command(&server.uri())
        .env("INPUT_APPLICATIONS", "api")
        .env("INPUT_POLL_INTERVALL", "2s")
        .output()
        .unwrap();
    assert_exit(&output, 0);
    let err = stderr(&output);
    assert!(
        err.contains(
            "ignoring INPUT_POLL_INTERVALL: no input has this name (did you mean `poll-interval`?"
        ),
        "{err}"
    );
}
