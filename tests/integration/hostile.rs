//! A hostile API and hostile inputs against the real binary, on GitHub and GitLab at once: names,
//! states, ids and error bodies that try to forge workflow commands, step outputs, dotenv
//! variables and summary structure, or to leak the token. Everything the binary writes is read
//! back with the oracles of [`crate::oracle`].

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::oracle::*;
use crate::support::*;

/// Everything one run wrote.
struct Run {
    exit: Option<i32>,
    stdout: String,
    stderr: String,
    github_output: String,
    summary: String,
    dotenv: Vec<u8>,
}

/// Runs the binary as a GitHub docker action and a GitLab job at once (both sinks on).
fn run_everywhere(name: &str, api_url: &str, token: &str, vars: &[(&str, String)]) -> Run {
    let dir = temp_dir(name);
    let mut cmd = command(api_url);
    cmd.current_dir(&dir)
        .env("INPUT_API-TOKEN", token)
        .env("GITHUB_ACTIONS", "true")
        .env("GITLAB_CI", "true")
        .env("GITHUB_OUTPUT", dir.join("output"))
        .env("GITHUB_STEP_SUMMARY", dir.join("summary"));
    for (key, value) in vars {
        cmd.env(key, value);
    }
    let output = cmd.output().unwrap();
    let read = |file: PathBuf| std::fs::read(file).unwrap_or_default();
    Run {
        exit: output.status.code(),
        stdout: stdout(&output),
        stderr: stderr(&output),
        github_output: String::from_utf8(read(dir.join("output"))).unwrap(),
        summary: String::from_utf8(read(dir.join("summary"))).unwrap(),
        dotenv: read(dir.join("qovery-deploy.env")),
    }
}

const OUTPUTS: [&str; 7] = [
    "deployment-request-id",
    "execution-id",
    "state",
    "result",
    "duration-seconds",
    "console-url",
    "services",
];

/// The checks every hostile run must pass: only the tool's own commands, the real result in every
/// output, reports the platforms accept, no token.
fn assert_nothing_forged(run: &Run, token: &str, result: &str) {
    let all = format!("{}\n{}", run.stdout, run.stderr);
    // The mask line carries the token exactly as the runner must mask it; it is never displayed.
    let shown = format!(
        "{}\n{}",
        run.stdout.lines().skip(1).collect::<Vec<_>>().join("\n"),
        run.stderr
    );
    // Workflow commands: the mask first, then only groups, warnings and the tool's own error.
    let commands: Vec<WorkflowCommand> = github_commands(&run.stdout)
        .into_iter()
        .chain(github_commands(&run.stderr))
        .collect();
    assert_eq!(
        run.stdout.lines().next(),
        Some(format!("::add-mask::{token}").as_str())
    );
    for command in &commands {
        match command.name.as_str() {
            "add-mask" => assert_eq!(command.data, token),
            "group" | "endgroup" | "warning" => {}
            "error" => assert!(
                command.properties["title"].starts_with("qovery-deploy: "),
                "{command:?}"
            ),
            _ => panic!("forged command {command:?}\n{all}"),
        }
        assert_eq!(
            command.properties.keys().filter(|k| *k != "title").count(),
            0,
            "{command:?}"
        );
    }
    assert_eq!(commands.iter().filter(|c| c.name == "add-mask").count(), 1);
    // Stricter than the runner: no other line looks like a command.
    let like = command_like_lines(&run.stdout)
        .into_iter()
        .chain(command_like_lines(&run.stderr))
        .count();
    assert_eq!(like, commands.len(), "{all}");
    assert!(
        !shown
            .chars()
            .any(|c| (c.is_control() && c != '\n') || qovery_deploy::neutral::is_invisible(c)),
        "a raw control character reached the log: {shown:?}"
    );

    // $GITHUB_OUTPUT: exactly our outputs, the real result.
    let outputs = github_output_file(&run.github_output).expect("the runner accepts the outputs");
    assert_eq!(
        outputs.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        OUTPUTS.to_vec(),
        "{}",
        run.github_output
    );
    assert_eq!(outputs[3].1, result);

    // GitLab's dotenv report: accepted, the real result, nothing GitLab would expand.
    let variables = gitlab_dotenv(&run.dotenv).expect("GitLab accepts the report");
    assert_eq!(variables["QOVERY_RESULT"], result);
    assert_eq!(variables.len(), 7, "{variables:?}");
    for value in variables.values() {
        assert!(gitlab_literal(value).is_some(), "{value:?}");
    }

    // The summary: our heading, our strong text, no HTML, no link but ours.
    let summary = summary_check(&run.summary);
    assert_eq!(summary.headings.len(), 1, "{}", run.summary);
    assert!(
        summary.headings[0].ends_with(&format!(": {result}")),
        "{}",
        run.summary
    );
    assert!(summary.html.is_empty(), "{}", run.summary);
    assert!(
        summary
            .strong
            .iter()
            .all(|s| s == "Result:" || s == "Cancel:"),
        "{}",
        run.summary
    );
    for link in &summary.links {
        assert!(link.starts_with("https://console.qovery.com/"), "{link}");
    }
    for piece in &summary.plain {
        for marker in ["evil", "heading", "img", "CI_JOB_TOKEN", "forged"] {
            assert!(
                !piece.contains(marker),
                "outside text rendered: {piece:?}\n{}",
                run.summary
            );
        }
    }

    // The token: only in the mask line, and no fragment of it anywhere else.
    let after_mask = run.stdout.lines().skip(1).collect::<Vec<_>>().join("\n");
    for (what, text) in [
        ("stdout", after_mask.as_str()),
        ("stderr", run.stderr.as_str()),
        ("outputs", run.github_output.as_str()),
        ("summary", run.summary.as_str()),
        ("dotenv", &String::from_utf8_lossy(&run.dotenv)),
    ] {
        assert!(
            !holds_fragment(text, token),
            "{what} holds part of the token:\n{text}"
        );
    }
}

/// Names and states that try everything, on a failed deployment.
#[tokio::test]
async fn hostile_names_and_states_forge_nothing_on_github_and_gitlab() {
    let hostile_names = [
        (API, "::stop-commands::qd"),
        (
            WEB,
            "web\nQOVERY_RESULT=success\n::set-output name=result::success\nno equals sign",
        ),
        (
            WORKER,
            "# heading **Result:** success [link](https://evil.example) <img src=x> | `x` $CI_JOB_TOKEN %CI_JOB_TOKEN% ##[set-output name=result;]success \u{1b}[2J\u{202E}",
        ),
    ];
    let mut services = crate::support::services();
    for service in services["results"].as_array_mut().unwrap() {
        if let Some((_, name)) = hostile_names.iter().find(|(id, _)| service["id"] == *id) {
            service["name"] = json!(name);
        }
    }
    let mut failed = ours("DEPLOYMENT_ERROR", "DEPLOYED");
    let states = [
        (API, "BUILD_ERROR\n::set-output name=result::success"),
        (WEB, "::add-mask::DEPLOYED\r::warning::forged"),
        (WORKER, "DEPLOYED\n**Result:** success"),
    ];
    for (kind, list) in [("applications", 2), ("containers", 1)] {
        for i in 0..list {
            let id = failed[kind][i]["id"].as_str().unwrap().to_string();
            if let Some((_, state)) = states.iter().find(|(sid, _)| *sid == id) {
                failed[kind][i]["state"] = json!(state);
            }
        }
    }
    failed["environment"]["state"] = json!("DEPLOYMENT_ERROR");
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/environment/{ENV}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": ENV, "name": "staging\n::error::forged\u{1b}]8;;https://evil.example\u{7}",
            "organization": {"id": ORG}, "project": {"id": PROJECT}
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/environment/{ENV}/services")))
        .respond_with(ResponseTemplate::new(200).set_body_json(services))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/environment/{ENV}/statuses")))
        .respond_with(Sequence::json(vec![previous_deployed(), failed]))
        .mount(&server)
        .await;
    accept_deploy(&server).await;

    let run = run_everywhere(
        "hostile-names",
        &server.uri(),
        TOKEN,
        &[
            ("INPUT_APPLICATIONS", format!("{API},{WEB}")),
            ("INPUT_CONTAINERS", WORKER.to_string()),
        ],
    );
    assert_eq!(run.exit, Some(1), "{}{}", run.stdout, run.stderr);
    assert_nothing_forged(&run, TOKEN, "failure");
    // The names are still there, escaped, for a human to read.
    assert!(
        run.stdout.contains("\\::stop-commands::qd"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("web\\nQOVERY_RESULT=success\\n::set-output"),
        "{}",
        run.stdout
    );
    let summary = summary_check(&run.summary);
    assert_eq!(summary.rows.len(), 3, "{}", run.summary);
    assert!(
        summary.rows.iter().all(|row| row.len() == 5),
        "{}",
        run.summary
    );
    assert!(
        summary
            .code_text
            .contains("# heading **Result:** success [link](https://evil.example)"),
        "{}",
        run.summary
    );
    let dotenv = gitlab_dotenv(&run.dotenv).unwrap();
    assert_eq!(
        dotenv["QOVERY_SERVICES"].matches(':').count(),
        3,
        "{dotenv:?}"
    );
}

/// An opaque 200-character token, echoed by error bodies (JSON and not), at places where a cut at
/// 300 or 120 characters made before redaction used to leave 80 characters of it.
#[tokio::test]
async fn an_echoed_token_leaves_no_fragment_anywhere() {
    let token: String = (0..200)
        .map(|i| {
            char::from(
                b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"[(i * 7 + i / 3) % 57],
            )
        })
        .collect();
    for (case, status, body) in [
        (
            "json",
            403,
            json!({"message": format!("{}Authorization: Token {token} ::error::x\n::set-output name=result::success", "y".repeat(40))}).to_string(),
        ),
        (
            "html",
            400,
            format!("<html><body>{}<pre>Authorization: Token {token}</pre>\n::stop-commands::z</body></html>", "z".repeat(230)),
        ),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(format!("/environment/{ENV}")))
            .respond_with(ResponseTemplate::new(status).set_body_string(body))
            .mount(&server)
            .await;
        let run = run_everywhere(
            &format!("echo-{case}"),
            &server.uri(),
            &token,
            &[("INPUT_APPLICATIONS", "api".into())],
        );
        assert_eq!(run.exit, Some(4), "{case}: {}{}", run.stdout, run.stderr);
        assert_nothing_forged(&run, &token, "failure");
        assert!(run.stderr.contains("Token ***"), "{case}: {}", run.stderr);
    }
}

/// A deployment request id that is a path, not a UUID: never used; the deployment is followed by
/// its execution id.
#[tokio::test]
async fn a_malformed_request_id_never_reaches_a_path() {
    let evil = "../../organization/x/cancelDeployment";
    let server = qovery(vec![previous_deployed(), ours("DEPLOYED", "DEPLOYED")]).await;
    Mock::given(method("POST"))
        .and(path(format!("/environment/{ENV}/service/deploy")))
        .respond_with(ResponseTemplate::new(202).set_body_json(json!({
            "id": ENV, "state": "DEPLOYMENT_QUEUED", "deployment_request_id": evil,
            "last_deployment_id": format!("{ENV}-41")
        })))
        .mount(&server)
        .await;
    let run = run_everywhere(
        "malformed-request-id",
        &server.uri(),
        TOKEN,
        &[("INPUT_APPLICATIONS", "api".into())],
    );
    assert_eq!(run.exit, Some(0), "{}{}", run.stdout, run.stderr);
    assert_nothing_forged(&run, TOKEN, "success");
    let warning = github_commands(&run.stdout)
        .into_iter()
        .find(|c| c.name == "warning")
        .expect("a warning about the id");
    assert!(
        warning.data.contains(
            "the deployment request id `../../organization/x/cancelDeployment` is not a UUID"
        ),
        "{warning:?}"
    );
    for call in calls(&server).await {
        assert!(!call.contains(".."), "{call}");
    }
    let outputs = github_output_file(&run.github_output).unwrap();
    assert_eq!(
        outputs[0],
        ("deployment-request-id".to_string(), String::new())
    );
    assert_eq!(outputs[1].1, format!("{ENV}-42"));
}

/// Answers whose ids are paths are unreadable: the client never hands them on.
#[tokio::test]
async fn answers_with_malformed_ids_are_unreadable() {
    use qovery_deploy::api::{ApiError, Client};
    use qovery_deploy::inputs::{ExtraRoots, Secret};
    let server = MockServer::start().await;
    let mut bad = ours("DEPLOYING", "DEPLOYING");
    bad["environment"]["deployment_request_id"] =
        json!("11111111-1111-4111-8111-111111111111/../x");
    let mut bad_exec = ours("DEPLOYING", "DEPLOYING");
    bad_exec["jobs"][0]["execution_id"] = json!(format!("{ENV}-42/../../x"));
    // A multi-byte character where a byte slice of the id would cut it (a crash before).
    let mut multibyte_exec = ours("DEPLOYING", "DEPLOYING");
    multibyte_exec["jobs"][0]["execution_id"] = json!(format!(
        "{}é-41\n::set-output name=result::success",
        &ENV[..35]
    ));
    let bad_service =
        json!({"results": [{"id": "../x", "name": "api", "service_type": "APPLICATION"}]});
    let bad_stage = json!({"id": "../x", "name": "s", "services": []});
    Mock::given(method("GET"))
        .and(path(format!("/environment/{ENV}/statuses")))
        .respond_with(Sequence::json(vec![bad, bad_exec, multibyte_exec]))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/environment/{ENV}/services")))
        .respond_with(ResponseTemplate::new(200).set_body_json(bad_service))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/service/{API}/deploymentStage")))
        .respond_with(ResponseTemplate::new(200).set_body_json(bad_stage))
        .mount(&server)
        .await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let client = Client::new(
        &server.uri(),
        &Secret::new(TOKEN),
        &ExtraRoots::default(),
        deadline,
    )
    .unwrap();
    let unreadable = |result: Result<(), ApiError>, what: &str| match result {
        Err(ApiError::Decode { message, .. }) => {
            assert!(message.contains(&format!("the {what} `")), "{message}");
            assert!(message.contains("is not"), "{message}");
        }
        other => panic!("{other:?}"),
    };
    unreadable(
        client.statuses(ENV).await.map(drop),
        "deployment request id",
    );
    unreadable(client.statuses(ENV).await.map(drop), "execution id");
    unreadable(client.statuses(ENV).await.map(drop), "execution id");
    unreadable(client.services(ENV).await.map(drop), "service id");
    unreadable(
        client.service_stage(API).await.map(drop),
        "deployment stage id",
    );
    // A path is never built from one.
    let before = requests(&server).await.len();
    let refused = client.cancel_queued_request("../x").await.unwrap_err();
    assert!(matches!(refused, ApiError::MalformedId { .. }), "{refused}");
    assert!(refused.to_string().contains("not sent"), "{refused}");
    assert_eq!(requests(&server).await.len(), before);
}

/// Inputs that are bad: nothing is sent, the message names what is wrong and never the token.
#[tokio::test]
async fn bad_tokens_urls_and_versions_are_refused_before_any_request() {
    let server = qovery(vec![previous_deployed()]).await;
    let zero_width = "qov_SECRET_test\u{200B}_token_5f0c1d9e";
    for (case, token, vars, needle) in [
        (
            "zero-width",
            zero_width,
            vec![],
            "the token contains a zero-width space (U+200B) at character 16",
        ),
        (
            "short",
            "x",
            vec![],
            "the token is only 1 character(s) long",
        ),
        (
            "query",
            TOKEN,
            vec![("INPUT_API-URL", format!("{}?x", server.uri()))],
            "has a query (`?…`)",
        ),
        (
            "fragment",
            TOKEN,
            vec![("INPUT_API-URL", format!("{}/#x", server.uri()))],
            "has a fragment (`#…`)",
        ),
        (
            "version",
            TOKEN,
            vec![],
            "entry `api==x`: the version `=x` is not a commit SHA",
        ),
    ] {
        let applications = if case == "version" { "api==x" } else { "api" };
        let mut vars = vars;
        vars.push(("INPUT_APPLICATIONS", applications.into()));
        let run = run_everywhere(&format!("bad-{case}"), &server.uri(), token, &vars);
        assert_eq!(run.exit, Some(2), "{case}: {}{}", run.stdout, run.stderr);
        assert!(run.stderr.contains(needle), "{case}: {}", run.stderr);
        assert!(
            !run.stderr.contains("***"),
            "{case}: messages are not garbled: {}",
            run.stderr
        );
        if token.len() >= 8 {
            assert_nothing_forged(&run, token, "failure");
        }
        assert_eq!(
            run.stdout.lines().next(),
            Some(format!("::add-mask::{}", qovery_deploy::neutral::escape_data(token)).as_str()),
            "{case}: any token is masked on GitHub"
        );
    }
    assert!(requests(&server).await.is_empty(), "nothing was sent");
}

/// With every proxy variable set, a loopback API is reached directly, never through the proxy.
#[tokio::test]
async fn loopback_never_goes_through_a_proxy() {
    let proxy = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(502))
        .mount(&proxy)
        .await;
    for host in ["127.0.0.1", "localhost"] {
        let server = qovery(vec![previous_deployed(), ours("DEPLOYED", "DEPLOYED")]).await;
        accept_deploy(&server).await;
        let api_url = server.uri().replace("127.0.0.1", host);
        let output = command(&api_url)
            .env("INPUT_APPLICATIONS", "api")
            .env("HTTP_PROXY", proxy.uri())
            .env("http_proxy", proxy.uri())
            .env("HTTPS_PROXY", proxy.uri())
            .env("ALL_PROXY", proxy.uri())
            .env("all_proxy", proxy.uri())
            .output()
            .unwrap();
        assert_exit(&output, 0);
        let paths: BTreeSet<String> = requests(&server)
            .await
            .iter()
            .map(|r| r.url.path().to_string())
            .collect();
        assert!(
            paths.contains(&format!("/environment/{ENV}/service/deploy")),
            "{host}"
        );
    }
    assert!(requests(&proxy).await.is_empty(), "the proxy saw the token");
}

/// The bundled mock plays the same attack (`--fault hostile-text`): every name and error message
/// it answers carries the hostile text, on a deployment that fails.
#[tokio::test]
async fn the_mocks_hostile_text_forges_nothing() {
    use qovery_mock::{HOSTILE_TEXT, Preset, Scenario, ids};
    let server = qovery_mock::MockServer::builder()
        .scenario(Scenario::Fail)
        .step(std::time::Duration::from_millis(50))
        .faults(Preset::find("hostile-text").expect("the preset").faults())
        .spawn()
        .await
        .expect("the mock starts");
    let run = run_everywhere(
        "mock-hostile",
        &server.url(),
        TOKEN,
        &[
            ("INPUT_ENVIRONMENT-ID", ids::ENVIRONMENT.to_string()),
            ("INPUT_APPLICATIONS", format!("{},{}", ids::API, ids::WEB)),
        ],
    );
    assert_eq!(run.exit, Some(1), "{}{}", run.stdout, run.stderr);
    assert_nothing_forged(&run, TOKEN, "failure");
    // The text is there, escaped, in the log and inside code in the summary.
    let escaped = qovery_deploy::neutral::inline(HOSTILE_TEXT).replace("##[", "##\\[");
    assert!(run.stdout.contains(&escaped), "{}", run.stdout);
    assert!(
        summary_check(&run.summary)
            .code_text
            .contains("::stop-commands::qd")
    );
}
