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
pub struct Run {
    pub exit: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub github_output: String,
    pub summary: String,
    pub dotenv: Vec<u8>,
}

/// Runs the binary as a GitHub docker action and a GitLab job at once (both sinks on).
pub fn run_everywhere(name: &str, api_url: &str, token: &str, vars: &[(&str, String)]) -> Run {
    run_everywhere_without(name, api_url, token, vars, &[])
}

/// [`run_everywhere`] with some of the base variables (`INPUT_COMMIT-SHA`, …) removed.
pub fn run_everywhere_without(
    name: &str,
    api_url: &str,
    token: &str,
    vars: &[(&str, String)],
    removed: &[&str],
) -> Run {
    let dir = temp_dir(name);
    let mut cmd = command(api_url);
    for key in removed {
        cmd.env_remove(key);
    }
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

/// Every command writes every declared output (README, "Outputs").
use qovery_deploy::report::OUTPUTS;

/// Where the summary may link: the console, Qovery's documentation, and (autolinks, which show
/// where they go) the services' own addresses the run found, its `urls` output.
const LINK_BASES: [&str; 3] = [
    "https://console.qovery.com/",
    "https://www.qovery.com/docs",
    "https://hub.qovery.com/docs",
];

/// The checks every hostile run must pass: only the tool's own commands, the real result in every
/// output, reports the platforms accept, no token.
pub fn assert_nothing_forged(run: &Run, token: &str, result: &str) {
    let all = format!("{}\n{}", run.stdout, run.stderr);
    // The mask line carries the token exactly as the runner must mask it; it is never displayed.
    let shown = format!(
        "{}\n{}",
        run.stdout.lines().skip(1).collect::<Vec<_>>().join("\n"),
        run.stderr
    );
    // Workflow commands: the mask first, then only groups, warnings, the tool's own error and one
    // annotation per failing service (`<service> failed` or `<service> did not finish`).
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
            "error" => {
                let title = &command.properties["title"];
                assert!(
                    title.starts_with("qovery-deploy: ")
                        || title.ends_with(" failed")
                        || title.ends_with(" did not finish"),
                    "{command:?}"
                )
            }
            _ => panic!("forged command {command:?}\n{all}"),
        }
        assert_eq!(
            command.properties.keys().filter(|k| *k != "title").count(),
            0,
            "{command:?}"
        );
    }
    assert_eq!(commands.iter().filter(|c| c.name == "add-mask").count(), 1);
    let errors = commands.iter().filter(|c| c.name == "error");
    assert!(
        errors
            .clone()
            .filter(|c| c.properties["title"].starts_with("qovery-deploy: "))
            .count()
            <= 1
            && errors.count() <= 6,
        "{all}"
    );
    // Groups open and close in turn: no line closed one early or opened one.
    let groups: Vec<&str> = commands
        .iter()
        .map(|c| c.name.as_str())
        .filter(|n| n.ends_with("group"))
        .collect();
    assert!(
        groups.chunks(2).all(|pair| pair == ["group", "endgroup"]),
        "{groups:?}\n{all}"
    );
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
    let urls: Vec<String> = match outputs[8].1.as_str() {
        "" => Vec::new(),
        json => serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(json)
            .expect("urls is a JSON object")
            .values()
            .map(|v| v.as_str().expect("URLs are strings").to_string())
            .collect(),
    };
    assert!(
        outputs[7].1.is_empty() || urls.contains(&outputs[7].1),
        "url is one of urls: {}",
        run.github_output
    );

    // GitLab's dotenv report: accepted, the real result, nothing GitLab would expand.
    let variables = gitlab_dotenv(&run.dotenv).expect("GitLab accepts the report");
    assert_eq!(variables["QOVERY_RESULT"], result);
    assert_eq!(variables.len(), OUTPUTS.len(), "{variables:?}");
    for value in variables.values() {
        assert!(gitlab_literal(value).is_some(), "{value:?}");
    }

    // The summary: our headings, our strong text, no HTML, no link but ours.
    let summary = summary_check(&run.summary);
    assert!(
        summary.headings[0].ends_with(&format!(": {result}")),
        "{}",
        run.summary
    );
    assert!(
        summary.headings[1..].is_empty() || summary.headings[1..] == ["Why it failed"],
        "{}",
        run.summary
    );
    assert!(summary.html.is_empty(), "{}", run.summary);
    assert!(
        summary
            .strong
            .iter()
            .all(|s| ["Result:", "Cancel:", "Hint:", "Links:"].contains(&s.as_str())),
        "{}",
        run.summary
    );
    for link in &summary.links {
        assert!(
            LINK_BASES.iter().any(|base| link.starts_with(base)) || urls.contains(link),
            "{link}"
        );
    }
    // The text of an autolink is its address, shown as such: not outside text rendered.
    for piece in summary.plain.iter().filter(|p| !urls.contains(p)) {
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
    mount_polls(&server, vec![previous_deployed(), failed]).await;
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
    // The small status of the cheap tick: the same checks.
    let mut bad_status = env_status("DEPLOYING", Some(OURS), &format!("{ENV}-42"));
    bad_status["last_deployment_id"] = json!(format!("{ENV}-42?x=../../y"));
    Mock::given(method("GET"))
        .and(path(format!("/environment/{ENV}/status")))
        .respond_with(ResponseTemplate::new(200).set_body_json(bad_status))
        .mount(&server)
        .await;
    // The history: entries with ids of the wrong shape are left out, the rest is kept.
    Mock::given(method("GET"))
        .and(path(format!("/environment/{ENV}/deploymentHistoryV2")))
        .respond_with(ResponseTemplate::new(200).set_body_json(hostile_history()))
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
    unreadable(client.status(ENV).await.map(drop), "execution id");
    let history = client.deployment_history(ENV, 5).await.unwrap();
    let executions: Vec<Option<&str>> = history.iter().map(|e| e.execution_id()).collect();
    assert_eq!(executions, [Some(format!("{ENV}-42").as_str())]);
    let services: Vec<Option<&str>> = history[0].services().map(|s| s.service_id()).collect();
    assert_eq!(services, [Some(API), Some(WEB)]);
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
    // The failing service's log carries it too: in its group, its annotation and the summary.
    assert!(
        github_commands(&run.stdout)
            .iter()
            .any(|c| c.name == "group"
                && c.data.starts_with("api ::stop-commands::qd\\n")
                && c.data.ends_with(" failed (BUILD_ERROR): deployment log")),
        "{}",
        run.stdout
    );
    assert!(
        run.summary.contains("#### Why it failed"),
        "{}",
        run.summary
    );

    // A success: the links the mock gives, each with a tail that tries to forge an output or a
    // dotenv line, are data in the url and urls outputs and QOVERY_URL, and forge nothing.
    let server = qovery_mock::MockServer::builder()
        .scenario(Scenario::Happy)
        .step(std::time::Duration::from_millis(50))
        .faults(Preset::find("hostile-text").expect("the preset").faults())
        .spawn()
        .await
        .expect("the mock starts");
    let run = run_everywhere(
        "mock-hostile-links",
        &server.url(),
        TOKEN,
        &[
            ("INPUT_ENVIRONMENT-ID", ids::ENVIRONMENT.to_string()),
            ("INPUT_APPLICATIONS", format!("{},{}", ids::API, ids::WEB)),
        ],
    );
    assert_eq!(run.exit, Some(0), "{}{}", run.stdout, run.stderr);
    assert_nothing_forged(&run, TOKEN, "success");
    let outputs: std::collections::BTreeMap<String, String> =
        github_output_file(&run.github_output)
            .unwrap()
            .into_iter()
            .collect();
    assert_eq!(
        outputs["url"],
        format!(
            "{}/_mock/app/{}/api{}",
            server.url(),
            ids::ENVIRONMENT,
            qovery_mock::HOSTILE_URL_TEXT
        )
    );
    assert!(gitlab_dotenv(&run.dotenv).unwrap()["QOVERY_URL"].ends_with("#**Result:**"));
}

/// A 200-character opaque token, as a long API key would be.
fn long_token() -> String {
    (0..200)
        .map(|i| {
            char::from(
                b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"[(i * 11 + i / 5) % 57],
            )
        })
        .collect()
}

/// One entry of `GET /environment/{id}/logs` of our execution, written by `service`.
pub fn log_line(service: &str, second: u32, text: &str) -> serde_json::Value {
    json!({"type": "info", "timestamp": format!("2026-11-20T10:42:{second:02}.000Z"),
           "details": {"execution_id": format!("{ENV}-42"),
                       "transmitter": {"id": service, "name": "api", "type": "Application"}},
           "message": {"safe_message": text}})
}

/// The error entry that ends `service`'s log.
pub fn log_error(service: &str, message: &str, hint: &str, link: &str) -> serde_json::Value {
    json!({"type": "error", "timestamp": "2026-11-20T10:42:59.000Z",
           "details": {"execution_id": format!("{ENV}-42"),
                       "transmitter": {"id": service, "name": "api", "type": "Application"}},
           "error": {"tag": "BuildError\n::error::forged", "user_log_message": message,
                     "hint_message": hint, "link": link,
                     "underlying_error": {"message": "exit 1\n::endgroup::"}}})
}

/// A deployment where `api` ends `BUILD_ERROR`, whose log answers `log`; the deployment history
/// records the same.
pub async fn failing_with_log(log: serde_json::Value) -> MockServer {
    let mut failed = ours("DEPLOYMENT_ERROR", "DEPLOYED");
    failed["applications"][0]["state"] = json!("BUILD_ERROR");
    let server = qovery(vec![previous_deployed(), failed]).await;
    accept_deploy(&server).await;
    mount_history(
        &server,
        history_of_ours(&[
            (API, "BUILD_ERROR", "ERROR", SHA),
            (WEB, "DEPLOYED", "SUCCESS", SHA),
        ]),
    )
    .await;
    Mock::given(method("GET"))
        .and(path(format!("/environment/{ENV}/logs")))
        .respond_with(ResponseTemplate::new(200).set_body_json(log))
        .mount(&server)
        .await;
    server
}

/// Checks that every escape character GitLab's log viewer would see belongs to a section marker of
/// the tool's own, and that the sections it opens are the ones it closes.
fn assert_gitlab_sections_are_ours(stdout: &str) {
    let mut open: Vec<String> = Vec::new();
    for line in stdout.lines().filter(|l| l.contains(['\x1b', '\r'])) {
        let marker = line
            .strip_prefix("\x1b[0Ksection_start:")
            .map(|rest| (true, rest))
            .or_else(|| line.strip_prefix("\x1b[0Ksection_end:").map(|r| (false, r)));
        let Some((start, rest)) = marker else {
            panic!("an escape outside a section marker: {line:?}");
        };
        let (_, rest) = rest.split_once(':').expect("a timestamp");
        let (name, tail) = rest.split_at(rest.find(['[', '\r']).expect("a name"));
        assert!(name.starts_with("qovery_deploy_"), "{line:?}");
        if start {
            // The title after the marker carries no escape of its own.
            let title = tail
                .strip_prefix("[collapsed=true]")
                .unwrap_or(tail)
                .strip_prefix("\r\x1b[0K")
                .unwrap_or_else(|| panic!("{line:?}"));
            assert!(!title.contains(['\x1b', '\r']), "{line:?}");
            open.push(name.to_string());
        } else {
            assert_eq!(tail, "\r\x1b[0K", "{line:?}");
            assert_eq!(open.pop().as_deref(), Some(name), "{line:?}");
        }
    }
    assert!(open.is_empty(), "{open:?}");
}

/// A deployment log that tries everything: a line that closes the group and sets an output, the
/// legacy `##[` form, a forged error annotation and GitLab section end, a mask and a stop of the
/// commands, the token echoed across the 1000-character cut, Markdown and HTML in the message
/// and hint, and documentation links that are no documentation.
#[tokio::test]
async fn hostile_deployment_logs_forge_nothing_on_github_and_gitlab() {
    let token = long_token();
    let log = json!([
        log_line(API, 1, "Cloning github.com/acme/api"),
        log_line(
            API,
            2,
            "::endgroup::\n::set-output name=result::success\n##[endgroup]\n##[set-output name=result;]success\n::error title=qovery-deploy: forged::x\n\u{1b}[0Ksection_end:1:qovery_deploy_2\r\u{1b}[0K\n::add-mask::DEPLOYED\n::stop-commands::qd\n  ::warning::indented"
        ),
        log_line(
            API,
            3,
            &format!("{}Authorization: Token {token} tail", "p".repeat(975))
        ),
        log_line(API, 4, &format!("echo {token}")),
        log_line(
            API,
            5,
            &format!("split {}\u{1b}[0m{}", &token[..100], &token[100..])
        ),
        log_error(
            API,
            &format!(
                "```\n# Result: success\n[link](https://evil.example) <img src=x onerror=alert(1)>\n::set-output name=result::success\n$CI_JOB_TOKEN %CI_JOB_TOKEN% {token}"
            ),
            "**Result:** success | `x` </code> @someone",
            "https://evil.example/docs",
        ),
    ]);
    let server = failing_with_log(log.clone()).await;
    let run = run_everywhere(
        "hostile-logs",
        &server.uri(),
        &token,
        &[("INPUT_APPLICATIONS", "api".into())],
    );
    assert_eq!(run.exit, Some(1), "{}{}", run.stdout, run.stderr);
    assert_nothing_forged(&run, &token, "failure");
    // The log was shown, in one group that the tool closes after the last line.
    let commands = github_commands(&run.stdout);
    let opened = commands
        .iter()
        .position(|c| c.name == "group" && c.data.starts_with("api failed (BUILD_ERROR)"))
        .unwrap_or_else(|| panic!("{}", run.stdout));
    assert_eq!(commands[opened + 1].name, "endgroup");
    let body: Vec<&str> = run
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("::group::api failed"))
        .skip(1)
        .take_while(|l| *l != "::endgroup::")
        .collect();
    assert!(body.contains(&"  │ 10:42:02 ::endgroup::"), "{body:?}");
    assert!(
        body.contains(&"  │ 10:42:02 ##\\[set-output name=result;]success"),
        "{body:?}"
    );
    assert!(
        body.contains(&"  │ 10:42:02 section_end:1:qovery_deploy_2\\r"),
        "{body:?}"
    );
    assert!(
        body.iter()
            .any(|l| l.ends_with("Authorization: Token *** … (4 characters cut)")),
        "redacted before the cut: {body:?}"
    );
    assert!(body.contains(&"  │ 10:42:04 echo ***"), "{body:?}");
    assert!(body.contains(&"  │ 10:42:05 split ***"), "{body:?}");
    // The annotation of the service is one command; its data holds the message, escaped.
    let annotation = commands
        .iter()
        .find(|c| c.name == "error" && c.properties["title"] == "api failed")
        .unwrap_or_else(|| panic!("{}", run.stdout));
    assert!(
        annotation
            .data
            .starts_with("```\\n# Result: success\\n[link](https://evil.example)"),
        "{annotation:?}"
    );
    assert!(
        annotation
            .data
            .contains("  docs: https://evil.example/docs")
    );
    // The summary shows the message and the evil link as code, and links only to the console.
    let summary = summary_check(&run.summary);
    assert!(
        summary.code_text.contains("# Result: success"),
        "{}",
        run.summary
    );
    assert!(
        summary.code_text.contains("https://evil.example/docs"),
        "{}",
        run.summary
    );
    assert!(
        summary
            .links
            .iter()
            .any(|l| l.starts_with("https://console.qovery.com/") && l.contains("/logs/")),
        "{}",
        run.summary
    );

    // GitLab alone: the same log in a collapsed section, every escape the tool's own.
    let server = failing_with_log(log).await;
    let dir = temp_dir("hostile-logs-gitlab");
    let output = command(&server.uri())
        .current_dir(&dir)
        .env("INPUT_API-TOKEN", &token)
        .env("GITLAB_CI", "true")
        .env("INPUT_APPLICATIONS", "api")
        .output()
        .unwrap();
    assert_exit(&output, 1);
    let out = stdout(&output);
    assert!(
        out.contains(
            ":qovery_deploy_3[collapsed=true]\r\x1b[0Kapi failed (BUILD_ERROR): deployment log"
        ),
        "{out:?}"
    );
    assert_gitlab_sections_are_ours(&out);
    assert!(!holds_fragment(&out, &token) && !holds_fragment(&stderr(&output), &token));
    let dotenv = std::fs::read(dir.join("qovery-deploy.env")).unwrap();
    let variables = gitlab_dotenv(&dotenv).expect("GitLab accepts the report");
    assert_eq!(variables["QOVERY_RESULT"], "failure");
}

/// Links whose addresses try to forge outputs and dotenv lines, carry the token, or are no URL,
/// under names that try everything.
#[tokio::test]
async fn hostile_links_forge_nothing() {
    let evil_url = "https://api.example/::set-output%20name=result::failure%0AQOVERY_RESULT=failure?t=$CI_JOB_TOKEN&u=%CI_JOB_TOKEN%&v=%24#**Result:**";
    let mut services = crate::support::services();
    for service in services["results"].as_array_mut().unwrap() {
        if service["id"] == API {
            service["name"] = json!(
                "api\n::set-output name=url::https://evil.example\nQOVERY_URL=https://evil.example"
            );
        }
    }
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/environment/{ENV}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"id": ENV, "name": "staging", "organization": {"id": ORG}, "project": {"id": PROJECT}}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/environment/{ENV}/services")))
        .respond_with(ResponseTemplate::new(200).set_body_json(services))
        .mount(&server)
        .await;
    mount_polls(
        &server,
        vec![previous_deployed(), ours("DEPLOYED", "DEPLOYED")],
    )
    .await;
    accept_deploy(&server).await;
    Mock::given(method("GET"))
        .and(path(format!("/environment/{ENV}/link")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"results": [
            {"service_id": API, "url": evil_url, "is_default": true},
            {"service_id": WEB, "url": "https://web.example/\n::set-output name=result::failure", "is_default": true},
            {"service_id": WORKER, "url": format!("https://worker.example/?token={TOKEN}"), "is_default": true},
            {"service_id": "../../x", "url": "javascript:alert(1)"}
        ]})))
        .mount(&server)
        .await;
    let run = run_everywhere(
        "hostile-links",
        &server.uri(),
        TOKEN,
        &[
            ("INPUT_APPLICATIONS", format!("{API},{WEB}")),
            ("INPUT_CONTAINERS", WORKER.to_string()),
        ],
    );
    assert_eq!(run.exit, Some(0), "{}{}", run.stdout, run.stderr);
    assert_nothing_forged(&run, TOKEN, "success");
    let outputs: std::collections::BTreeMap<String, String> =
        github_output_file(&run.github_output)
            .unwrap()
            .into_iter()
            .collect();
    // A URL is data: the url output is the address as the API gave it.
    assert_eq!(outputs["url"], evil_url);
    let urls: serde_json::Value = serde_json::from_str(&outputs["urls"]).unwrap();
    let urls = urls.as_object().unwrap();
    assert_eq!(urls.len(), 2, "{urls:?}");
    assert_eq!(
        urls["api\\n::set-output name=url::https://evil.example\\nQOVERY_URL=https://evil.example"],
        evil_url
    );
    assert_eq!(urls["worker"], "https://worker.example/?token=***");
    // The link that is no URL is left out, its service named in a warning.
    assert!(
        github_commands(&run.stdout).iter().any(
            |c| c.name == "warning" && c.data.starts_with("ignoring the link of service Web: ")
        ),
        "{}",
        run.stdout
    );
    // GitLab: QOVERY_URL is the address with nothing GitLab would expand, and no extra line.
    let variables = gitlab_dotenv(&run.dotenv).unwrap();
    assert_eq!(
        variables["QOVERY_URL"],
        "https://api.example/::set-output%20name=result::failure%0AQOVERY_RESULT=failure?t=%24CI_JOB_TOKEN&u=%25CI_JOB_TOKEN%25&v=%24#**Result:**"
    );
    // The summary: the https address is an autolink (it shows where it goes), the one with the
    // token is code, redacted.
    assert!(
        run.summary.contains(&format!("<{evil_url}>")),
        "{}",
        run.summary
    );
    assert!(
        run.summary.contains("`https://worker.example/?token=***`"),
        "{}",
        run.summary
    );
}

/// A commit that tries everything a runner, GitLab or a Markdown renderer reacts to.
const HOSTILE_COMMIT: &str = "0000000\n::set-output name=result::success ##[set-output name=result;]success **Result:** success <img src=x> $CI_JOB_TOKEN \u{1b}[2J";

/// A `deploymentHistoryV2` page: an entry whose execution id is a path (it lists our services
/// deployed at the asked commit: it must not be taken as ours), then ours, `{ENV}-42`, where `api`
/// deployed [`HOSTILE_COMMIT`], with hostile names and a service whose id is a path.
fn hostile_history() -> serde_json::Value {
    let service = |id: &str, name: &str, commit: &str| {
        json!({"identifier": {"service_id": id, "name": name, "service_type": "APPLICATION"},
               "status": "DEPLOYED",
               "status_details": {"action": "DEPLOY", "status": "SUCCESS", "sub_action": "NONE"},
               "details": {"commit": {"git_commit_id": commit, "message": "::error::forged"}}})
    };
    json!({"page": 1, "page_size": 5, "results": [
        {"identifier": {"execution_id": format!("{ENV}-42/../../x"), "environment_id": ENV},
         "status": "DEPLOYED", "trigger_action": "DEPLOY", "action_status": "SUCCESS",
         "stages": [{"name": "s", "services": [service(API, "api", SHA), service(WEB, "web", SHA)]}]},
        {"identifier": {"execution_id": format!("{ENV}-42"), "environment_id": ENV},
         "status": "DEPLOYED", "trigger_action": "DEPLOY\n::warning::forged",
         "action_status": "SUCCESS", "auditing_data": {"triggered_by": "::add-mask::DEPLOYED"},
         "stages": [{"name": "apps\n::error::forged", "services": [
            service(API, "api\n::set-output name=result::success", HOSTILE_COMMIT),
            service("../../organization/x", "evil", SHA),
            service(WEB, "# heading", SHA),
         ]}]}
    ]})
}

/// Hostile ids and text in the answers the busy-environment wait reads: `/status` (the cheap tick)
/// and `deploymentHistoryV2` (the proof). An answer with a malformed id is a missed tick, a history
/// entry with one is left out, and a deployed version that is not the one asked fails the run with
/// the version shown escaped in every sink: log, annotation, summary, step outputs, dotenv.
#[tokio::test]
async fn hostile_status_and_history_answers_forge_nothing() {
    let mut malformed = ours("DEPLOYING", "DEPLOYING");
    malformed["environment"]["last_deployment_id"] = json!(format!("{ENV}-42/../../x"));
    malformed["environment"]["deployment_request_id"] = json!("../../deploymentQueue/x");
    let server = qovery(vec![
        previous_deployed(),
        malformed,
        ours("DEPLOYING", "DEPLOYING"),
        ours("DEPLOYED", "DEPLOYED"),
    ])
    .await;
    accept_deploy(&server).await;
    Mock::given(method("GET"))
        .and(path(format!("/environment/{ENV}/deploymentHistoryV2")))
        .respond_with(ResponseTemplate::new(200).set_body_json(hostile_history()))
        .mount(&server)
        .await;
    let run = run_everywhere(
        "hostile-history",
        &server.uri(),
        TOKEN,
        &[("INPUT_APPLICATIONS", format!("{API},{WEB}"))],
    );
    assert_eq!(run.exit, Some(1), "{}{}", run.stdout, run.stderr);
    assert_nothing_forged(&run, TOKEN, "failure");
    for call in calls(&server).await {
        assert!(!call.contains(".."), "{call}");
    }
    // The malformed tick was missed, and said so with the id escaped.
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(
        all.contains("the deployment request id `../../deploymentQueue/x` is not a UUID"),
        "{all}"
    );
    // The reason names the service, the deployed and the asked commit, escaped, on one line.
    let escaped = "0000000\\n::set-output name=result::success ##\\[set-output name=result;]success **Result:** success <img src=x> $CI_JOB_TOKEN \\u{1b}[2J";
    let reason = format!("api deployed {escaped}, not the {SHA} asked for (execution {ENV}-42)");
    assert!(run.stderr.contains(&reason), "{}", run.stderr);
    let error = github_commands(&run.stdout)
        .into_iter()
        .chain(github_commands(&run.stderr))
        .find(|c| c.name == "error")
        .expect("the tool's error annotation");
    assert!(
        error.data.contains("api deployed 0000000\\n::set-output"),
        "{error:?}"
    );
    // Step outputs: the deployed version, as data, in the services JSON.
    let outputs: std::collections::BTreeMap<String, String> =
        github_output_file(&run.github_output)
            .unwrap()
            .into_iter()
            .collect();
    let services: serde_json::Value = serde_json::from_str(&outputs["services"]).unwrap();
    assert_eq!(
        services[0]["version"],
        json!(qovery_deploy::neutral::inline(HOSTILE_COMMIT))
    );
    assert_eq!(services[1]["version"], json!(SHA));
    // The summary shows it inside code only.
    let summary = summary_check(&run.summary);
    assert!(
        summary.code_text.contains("0000000\\n::set-output"),
        "{}",
        run.summary
    );
    let dotenv = gitlab_dotenv(&run.dotenv).unwrap();
    assert!(dotenv["QOVERY_SERVICES"].starts_with("api:"), "{dotenv:?}");
}

/// A job deploy answer without a request id whose execution id is a path: the id is dropped with
/// a warning, never used in a path or a link, and the job is followed by its next new execution.
#[tokio::test]
async fn a_malformed_execution_id_in_a_job_answer_is_never_used() {
    let ran = |env_state: &str, state: &str, detail: &str| {
        with_jobs(
            statuses(env_state, None, &format!("{ENV}-42"), "DEPLOYED"),
            &[job_status(
                MIGRATE,
                state,
                detail,
                None,
                &format!("{ENV}-42"),
            )],
        )
    };
    let server = qovery(vec![
        previous_deployed(),
        ran("DEPLOYING", "EXECUTING", "EXECUTING"),
        ran("DEPLOYED", "DEPLOYED", "SUCCESS"),
    ])
    .await;
    Mock::given(method("POST"))
        .and(path(format!("/job/{MIGRATE}/deploy")))
        .respond_with(ResponseTemplate::new(202).set_body_json(job_status(
            MIGRATE,
            "EXECUTING\n::set-output name=result::success",
            "EXECUTING",
            None,
            &format!("{ENV}-42/../x"),
        )))
        .mount(&server)
        .await;
    let run = run_everywhere(
        "hostile-job-execution",
        &server.uri(),
        TOKEN,
        &[
            ("INPUT_COMMAND", "deploy-job".into()),
            ("INPUT_JOBS", "migrate".into()),
            ("INPUT_IMAGE-TAG", "2.0.0".into()),
        ],
    );
    assert_eq!(run.exit, Some(0), "{}{}", run.stdout, run.stderr);
    assert_nothing_forged(&run, TOKEN, "success");
    for call in calls(&server).await {
        assert!(!call.contains(".."), "{call}");
    }
    let warning = github_commands(&run.stdout)
        .into_iter()
        .find(|c| c.name == "warning" && c.data.contains("execution id"))
        .expect("a warning about the execution id");
    assert!(
        warning.data.contains(&format!(
            "migrate: Qovery accepted the job, but the execution id `{ENV}-42/../x` is not an execution id"
        )),
        "{warning:?}"
    );
    assert!(!run.stdout.contains("deploying now"), "{}", run.stdout);
    let outputs: std::collections::BTreeMap<String, String> =
        github_output_file(&run.github_output)
            .unwrap()
            .into_iter()
            .collect();
    assert_eq!(outputs["execution-id"], format!("{ENV}-42"));
    assert!(!outputs["console-url"].contains(".."), "{outputs:?}");
}

/// The commit deployed by default comes from outside (a CI variable, the event payload): one that
/// is not a commit is refused naming its variable, or (the payload's) never quoted.
#[tokio::test]
async fn hostile_default_commits_are_refused_or_never_quoted() {
    let server = qovery(vec![previous_deployed(), ours("DEPLOYED", "DEPLOYED")]).await;
    accept_deploy(&server).await;
    // GitLab merge-request pipeline: the variable is refused before anything is sent.
    let run = run_everywhere_without(
        "hostile-mr-sha",
        &server.uri(),
        TOKEN,
        &[
            ("INPUT_APPLICATIONS", "api".into()),
            ("CI_COMMIT_SHA", SHA.into()),
            (
                "CI_MERGE_REQUEST_SOURCE_BRANCH_SHA",
                "::stop-commands::qd%0A::set-output".into(),
            ),
        ],
        &["INPUT_COMMIT-SHA"],
    );
    assert_eq!(run.exit, Some(2), "{}{}", run.stdout, run.stderr);
    assert_nothing_forged(&run, TOKEN, "failure");
    assert!(
        run.stderr
            .contains("input `commit-sha` (given as `CI_MERGE_REQUEST_SOURCE_BRANCH_SHA`): `::stop-commands::qd%0A::set-output` is not a commit SHA"),
        "{}",
        run.stderr
    );
    assert!(requests(&server).await.is_empty(), "nothing was sent");

    // A pull request whose payload's head sha is not a commit: GITHUB_SHA, with a warning that
    // does not quote the field.
    let dir = temp_dir("hostile-event");
    let event = dir.join("event.json");
    std::fs::write(
        &event,
        json!({"pull_request": {"head": {"sha": "::add-mask::DEPLOYED\n::set-output name=result::success"}}})
            .to_string(),
    )
    .unwrap();
    let run = run_everywhere_without(
        "hostile-pr-sha",
        &server.uri(),
        TOKEN,
        &[
            ("INPUT_APPLICATIONS", "api".into()),
            ("GITHUB_SHA", SHA.into()),
            ("GITHUB_EVENT_NAME", "pull_request".into()),
            ("GITHUB_EVENT_PATH", event.to_string_lossy().into_owned()),
        ],
        &["INPUT_COMMIT-SHA"],
    );
    assert_eq!(run.exit, Some(0), "{}{}", run.stdout, run.stderr);
    assert_nothing_forged(&run, TOKEN, "success");
    let warning = github_commands(&run.stdout)
        .into_iter()
        .find(|c| c.name == "warning" && c.data.contains("pull_request.head.sha"))
        .expect("a warning about the payload");
    assert!(
        warning
            .data
            .contains("`pull_request.head.sha` in the event payload is not a commit id"),
        "{warning:?}"
    );
    assert!(!warning.data.contains("add-mask"), "{warning:?}");
    assert!(
        run.stdout
            .contains(&format!("Commit {SHA}: GITHUB_SHA (pull_request event)")),
        "{}",
        run.stdout
    );
}
