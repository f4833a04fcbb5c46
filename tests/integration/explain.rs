//! Why it failed and where it runs, against wiremock: the failing service's deployment log in a
//! folded group, its first error in the annotation and the summary, the caps, a log that cannot be
//! read; the `url`/`urls` outputs from the links; the health check.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::spec::assert_conforms;
use crate::support::*;

const EXECUTION: &str = "b6a6a1c4-2f0e-4a44-9f4b-6f3e9d2c7a10-42";
const MESSAGE: &str = "Cannot build the container image of api: `RUN npm ci` exited with code 1.";
const HINT: &str = "Run `docker build .` on this commit to reproduce it.";
const DOCS: &str = "https://www.qovery.com/docs/";

fn log_entry(service: &str, second: u32, text: &str) -> Value {
    json!({"type": "info", "timestamp": format!("2026-11-20T10:42:{second:02}.000Z"),
           "details": {"execution_id": EXECUTION, "transmitter": {"id": service, "name": "api", "type": "Application"},
                       "stage": {"step": "Build"}},
           "message": {"safe_message": text}})
}

fn error_entry(service: &str, second: u32) -> Value {
    json!({"type": "error", "timestamp": format!("2026-11-20T10:42:{second:02}.000Z"),
           "details": {"execution_id": EXECUTION, "transmitter": {"id": service, "name": "api", "type": "Application"},
                       "stage": {"step": "Build"}},
           "error": {"tag": "BuilderDockerCannotBuildContainerImage", "user_log_message": MESSAGE,
                     "hint_message": HINT, "link": DOCS, "underlying_error": {"message": "exit 1"}}})
}

/// A deployment where `api` ends `BUILD_ERROR` (and `web` deploys), and its log answer.
async fn failed_deploy(logs: ResponseTemplate) -> MockServer {
    let mut failed = ours("DEPLOYMENT_ERROR", "DEPLOYED");
    failed["applications"][0]["state"] = json!("BUILD_ERROR");
    let server = qovery(vec![
        previous_deployed(),
        ours("BUILDING", "BUILDING"),
        failed,
    ])
    .await;
    accept_deploy(&server).await;
    // The history records the same failure: the proof agrees, and says nothing.
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
        .respond_with(logs)
        .mount(&server)
        .await;
    server
}

/// The realistic log: lines of api and web, an injection attempt, then api's error.
fn realistic_log() -> Value {
    json!([
        log_entry(API, 1, "Cloning github.com/acme/api"),
        log_entry(WEB, 2, "web: not part of api's story"),
        log_entry(API, 3, "::add-mask::leak"),
        log_entry(
            API,
            4,
            "#6 ##[error]fake annotation, \u{1b}[31mred\u{1b}[0m"
        ),
        log_entry(
            API,
            5,
            &format!(
                "#6 npm ERR! ERESOLVE unable to resolve dependency tree\n::endgroup::\n::set-output name=result::success\necho Token {TOKEN}"
            )
        ),
        error_entry(API, 6),
        log_entry(API, 7, "after the error")
    ])
}

fn github(cmd: &mut assert_cmd::Command, dir: &std::path::Path) {
    cmd.env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", dir.join("output"))
        .env("GITHUB_STEP_SUMMARY", dir.join("summary"));
}

/// The lines of `out` from the one starting with `first` to the one starting with `last`.
fn between<'a>(out: &'a str, first: &str, last: &str) -> Vec<&'a str> {
    out.lines()
        .skip_while(|l| !l.starts_with(first))
        .take_while(|l| !l.starts_with(last))
        .collect()
}

#[tokio::test]
async fn a_failure_shows_the_error_hint_and_link_in_a_group_the_annotation_and_the_summary() {
    let server = failed_deploy(ResponseTemplate::new(200).set_body_json(realistic_log())).await;
    let dir = temp_dir("explain-github");
    let mut cmd = command(&server.uri());
    cmd.env("INPUT_APPLICATIONS", "api,web");
    github(&mut cmd, &dir);
    let output = cmd.output().unwrap();
    assert_exit(&output, 1);
    let out = stdout(&output);

    // One log read, of our execution.
    let reads: Vec<String> = calls(&server)
        .await
        .into_iter()
        .filter(|c| c.contains("/logs"))
        .collect();
    assert_eq!(
        reads,
        [format!("GET /environment/{ENV}/logs?version={EXECUTION}")]
    );
    assert_conforms(&server).await;

    // The group: every log line behind the gutter, none of them a workflow command, so the
    // group ends only where the tool ends it.
    let group = between(&out, "::group::api failed (BUILD_ERROR)", "::endgroup::");
    assert!(!group.is_empty(), "{out}");
    let body = &group[1..];
    assert!(body.iter().all(|l| l.starts_with("  │ ")), "{body:?}");
    assert!(body.contains(&"  │ 10:42:03 ::add-mask::leak"), "{body:?}");
    assert!(
        body.contains(&"  │ 10:42:04 #6 ##\\[error]fake annotation, red"),
        "{body:?}"
    );
    // Behind the gutter a log line never starts with `::`: it can close nothing.
    assert!(body.contains(&"  │ 10:42:05 ::endgroup::"), "{body:?}");
    assert!(
        body.contains(&"  │ 10:42:05 ::set-output name=result::success"),
        "{body:?}"
    );
    assert!(
        body.contains(
            &format!("  │ 10:42:06 ✖ [BuilderDockerCannotBuildContainerImage] {MESSAGE}").as_str()
        ),
        "{body:?}"
    );
    assert!(
        body.contains(&format!("  │     hint: {HINT}").as_str()),
        "{body:?}"
    );
    assert!(
        body.contains(&format!("  │     docs: {DOCS}").as_str()),
        "{body:?}"
    );
    assert!(
        body.contains(&"  │ 10:42:05 echo Token ***"),
        "the token echoed in the log is redacted: {body:?}"
    );
    assert!(!out.contains("not part of api's story") && !out.contains("after the error"));
    // Read as the runner reads it: the tool's own commands only, one group opened and closed.
    let commands: Vec<String> = crate::oracle::github_commands(&out)
        .into_iter()
        .chain(crate::oracle::github_commands(&stderr(&output)))
        .map(|c| c.name)
        .collect();
    assert_eq!(
        commands
            .iter()
            .filter(|c| !["group", "endgroup"].contains(&c.as_str()))
            .collect::<Vec<_>>(),
        ["add-mask", "error", "error"],
        "{out}"
    );
    let groups: Vec<&String> = commands.iter().filter(|c| c.contains("group")).collect();
    assert!(
        groups.chunks(2).all(|pair| pair == ["group", "endgroup"]),
        "{groups:?}"
    );
    assert_eq!(
        crate::oracle::command_like_lines(&out).len(),
        commands.len(),
        "no other line looks like a command: {out}"
    );
    // The token only in the mask line, the first.
    let after_mask: Vec<&str> = out.lines().skip(1).collect();
    assert!(!crate::oracle::holds_fragment(
        &after_mask.join("\n"),
        TOKEN
    ));
    assert!(!crate::oracle::holds_fragment(&stderr(&output), TOKEN));

    // The annotation: titled after the service, with message, hint and the console link.
    let logs_url = format!(
        "https://console.qovery.com/organization/{ORG}/project/{PROJECT}/environment/{ENV}/service/{API}/deployments/logs/{EXECUTION}"
    );
    let annotation = format!(
        "::error title=api failed::{MESSAGE}%0A  hint: {HINT}%0A  logs: {logs_url}%0A  docs: {DOCS}"
    );
    assert!(out.contains(&annotation), "{out}");
    // On GitHub the API's text is only ever the data of the annotation, never a line of its own.
    assert!(!stderr(&output).contains(MESSAGE), "{}", stderr(&output));

    // The summary: our heading, the name and state as code, the message in a block, the hint as
    // code, the console link to its logs and the documentation link.
    let summary = std::fs::read_to_string(dir.join("summary")).unwrap();
    assert!(summary.contains("#### Why it failed\n"), "{summary}");
    assert!(
        summary.contains(&format!(
            "❌ `api` failed, state `BUILD_ERROR` · [Deployment logs]({logs_url})\n"
        )),
        "{summary}"
    );
    assert!(
        summary.contains(&format!("```text\n{MESSAGE}\n```")),
        "{summary}"
    );
    assert!(
        summary.contains(&format!("**Hint:** ``{HINT}``")),
        "{summary}"
    );
    assert!(
        summary.contains(&format!("[Documentation]({DOCS})")),
        "{summary}"
    );
    let read = crate::oracle::summary_check(&summary);
    assert!(read.html.is_empty(), "{summary}");
    assert_eq!(read.headings.len(), 2, "{summary}");
    let outputs = github_outputs(&dir.join("output"));
    assert_eq!(outputs["result"], "failure");
    assert_eq!(outputs["url"], "");
    assert_eq!(outputs["urls"], "");
}

#[tokio::test]
async fn the_log_is_capped_and_says_how_much_was_cut() {
    // 2 × 1200 lines, the last three of each 1050 characters long: about 0.7 MB, under the 1 MiB
    // an answer may take.
    let long = "x".repeat(1050);
    let mut entries = Vec::new();
    for service in [API, WEB] {
        entries.extend((0..1200).map(|i| {
            let text = if i >= 1197 {
                format!("{i} {long}")
            } else {
                format!("{i} compiling module {i}")
            };
            log_entry(service, 1, &text)
        }));
        entries.push(error_entry(service, 59));
    }
    let mut failed = ours("DEPLOYMENT_ERROR", "DEPLOYED");
    failed["applications"][0]["state"] = json!("BUILD_ERROR");
    failed["applications"][1]["state"] = json!("BUILD_ERROR");
    let server = qovery(vec![previous_deployed(), failed]).await;
    accept_deploy(&server).await;
    Mock::given(method("GET"))
        .and(path(format!("/environment/{ENV}/logs")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!(entries)))
        .mount(&server)
        .await;
    let output = command(&server.uri())
        .env("INPUT_APPLICATIONS", "api,web")
        .env("INPUT_LOG-LINES", "1000")
        .output()
        .unwrap();
    assert_exit(&output, 1);
    let out = stdout(&output);
    let printed: Vec<&str> = out.lines().filter(|l| l.starts_with("  │ ")).collect();
    assert_eq!(printed.len(), 2000, "the run's cap");
    assert_eq!(
        out.matches("… 200 earlier lines not shown (log-lines: 1000)")
            .count(),
        2
    );
    assert!(
        out.contains("  │ … 11 lines cut: at most 2000 log lines are printed per run"),
        "{}",
        &out[out.len() - 3000..]
    );
    assert!(
        printed.iter().all(|l| l.chars().count() < 1100),
        "lines are cut at 1000 characters"
    );
    assert!(out.contains(" characters cut)"));
    // Both errors are shown whole: what is cut is the context.
    assert_eq!(out.matches(MESSAGE).count(), 2);

    // The default: the 30 lines before the error.
    let server = failed_deploy(ResponseTemplate::new(200).set_body_json(json!(entries))).await;
    let output = command(&server.uri())
        .env("INPUT_APPLICATIONS", "api")
        .output()
        .unwrap();
    let out = stdout(&output);
    assert!(out.contains("… 1170 earlier lines not shown (log-lines: 30)"));
    let context = out
        .lines()
        .filter(|l| l.starts_with("  │ 10:42:01 "))
        .count();
    assert_eq!(context, 30);
    assert!(
        out.contains("  │ 10:42:01 1199 x"),
        "the last line before the error"
    );
}

#[tokio::test]
async fn a_log_that_cannot_be_read_leaves_the_exit_code_to_the_deployment() {
    let cases = [
        ResponseTemplate::new(500).set_body_string("{\"message\":\"boom\"}"),
        ResponseTemplate::new(200).set_body_string("<html>not json</html>"),
        ResponseTemplate::new(200).set_body_json(json!({"results": []})),
        ResponseTemplate::new(200).set_body_json(json!([1, "x", {"type": 5}, null])),
        // Over the 1 MiB an answer may take.
        ResponseTemplate::new(200)
            .set_body_json(json!(vec![log_entry(API, 1, &"x".repeat(1024)); 4200])),
    ];
    for (i, answer) in cases.into_iter().enumerate() {
        let server = failed_deploy(answer).await;
        let started = Instant::now();
        let output = command(&server.uri())
            .env("INPUT_APPLICATIONS", "api")
            .output()
            .unwrap();
        assert_exit(&output, 1);
        assert!(started.elapsed() < Duration::from_secs(15), "case {i}");
        let (out, err) = (stdout(&output), stderr(&output));
        assert!(
            err.contains("deployment failed: api BUILD_ERROR"),
            "case {i}: {err}"
        );
        let said = format!("{out}{err}");
        if i == 3 {
            assert!(
                said.contains("has no entry for this service"),
                "case {i}: {said}"
            );
            assert!(
                said.contains(&format!(
                    "4 of the 4 log entries of execution {EXECUTION} were not read"
                )),
                "case {i}: {said}"
            );
        } else {
            assert_eq!(
                said.matches("could not read the deployment logs").count(),
                1,
                "case {i}: {said}"
            );
        }
        // Without a message from the log, the annotation still links to the service's logs.
        assert!(
            err.contains("\n  api failed: BUILD_ERROR; the deployment log gives no error message"),
            "case {i}: {err}"
        );
        assert!(
            err.contains(&format!(
                "logs: https://console.qovery.com/organization/{ORG}"
            )),
            "case {i}: {err}"
        );
    }
}

#[tokio::test]
async fn log_lines_0_reads_no_log_and_a_timeout_gets_a_short_grace() {
    let server = failed_deploy(ResponseTemplate::new(200).set_body_json(realistic_log())).await;
    let output = command(&server.uri())
        .env("INPUT_APPLICATIONS", "api")
        .env("INPUT_LOG-LINES", "0")
        .output()
        .unwrap();
    assert_exit(&output, 1);
    assert_eq!(
        count(&server, "GET", &format!("/environment/{ENV}/logs")).await,
        0
    );
    assert!(
        stderr(&output)
            .contains("\n  api failed: BUILD_ERROR; the deployment log gives no error message")
    );

    // A timeout: the cancel goes first, then the log of the service that never finished, read in
    // a grace of 5 s although the budget is spent; a log that hangs does not hold the run.
    let server = qovery(vec![previous_deployed(), ours("DEPLOYING", "DEPLOYING")]).await;
    accept_deploy(&server).await;
    env_statuses(
        &server,
        vec![env_status("DEPLOYING", Some(OURS), EXECUTION)],
    )
    .await;
    accept_cancels(&server).await;
    Mock::given(method("GET"))
        .and(path(format!("/environment/{ENV}/logs")))
        .and(query_param("version", EXECUTION))
        .respond_with(
            ResponseTemplate::new(200)
                .set_delay(Duration::from_secs(30))
                .set_body_json(json!([])),
        )
        .mount(&server)
        .await;
    let started = Instant::now();
    let output = command(&server.uri())
        .env("INPUT_APPLICATIONS", "api")
        .env("INPUT_TIMEOUT", "3s")
        .output()
        .unwrap();
    assert_exit(&output, 3);
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(3 + 5 + 4), "{elapsed:?}");
    let calls = calls(&server).await;
    let cancel = calls
        .iter()
        .position(|c| c.ends_with("/cancelDeployment"))
        .unwrap();
    let logs = calls.iter().position(|c| c.contains("/logs?")).unwrap();
    assert!(cancel < logs, "{calls:?}");
    let said = format!("{}{}", stdout(&output), stderr(&output));
    assert!(
        said.contains("could not read the deployment logs"),
        "{said}"
    );
    assert!(
        stderr(&output).contains(
            "\n  api did not finish: DEPLOYING; the deployment log gives no error message"
        ),
        "{said}"
    );
}

fn links(server_url: &str) -> Value {
    json!({"results": [
        {"service_id": API, "service_type": "APPLICATION", "url": format!("{server_url}/api-port"), "internal_port": 8080, "external_port": 443, "is_qovery_domain": true, "is_default": false},
        {"service_id": API, "service_type": "APPLICATION", "url": format!("{server_url}/api"), "internal_port": 8080, "external_port": 443, "is_qovery_domain": true, "is_default": true},
        {"service_id": WEB, "service_type": "APPLICATION", "url": "https://web.acme.example", "internal_port": 3000, "external_port": 443, "is_qovery_domain": false, "is_default": true},
        {"service_id": WORKER, "service_type": "CONTAINER", "url": "javascript:alert(1)", "internal_port": 1, "external_port": 443, "is_qovery_domain": true, "is_default": true}
    ]})
}

/// A successful deployment of api and web whose links answer `links`.
async fn deployed(links: ResponseTemplate) -> MockServer {
    let server = qovery(vec![previous_deployed(), ours("DEPLOYED", "DEPLOYED")]).await;
    accept_deploy(&server).await;
    Mock::given(method("GET"))
        .and(path(format!("/environment/{ENV}/link")))
        .respond_with(links)
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn url_and_urls_come_from_the_links_on_github_and_gitlab() {
    let server = MockServer::start().await;
    let qovery = deployed(ResponseTemplate::new(200).set_body_json(links(&server.uri()))).await;
    let dir = temp_dir("links-github");
    let mut cmd = command(&qovery.uri());
    // `web` is listed first: its link is the url output.
    cmd.env("INPUT_APPLICATIONS", "web,api");
    github(&mut cmd, &dir);
    let output = cmd.output().unwrap();
    assert_exit(&output, 0);
    assert_eq!(
        count(&qovery, "GET", &format!("/environment/{ENV}/link")).await,
        1
    );
    assert_conforms(&qovery).await;
    let outputs = github_outputs(&dir.join("output"));
    assert_eq!(outputs["url"], "https://web.acme.example");
    // The listed services first, in the listed order.
    assert_eq!(
        outputs["urls"],
        format!(
            r#"{{"Web":"https://web.acme.example","api":"{}/api"}}"#,
            server.uri()
        )
    );
    let urls: Value = serde_json::from_str(&outputs["urls"]).unwrap();
    let out = stdout(&output);
    assert!(out.contains("url: https://web.acme.example"), "{out}");
    assert!(
        out.contains("::warning::ignoring the link of service worker: not a plain http(s) URL"),
        "{out}"
    );
    let summary = std::fs::read_to_string(dir.join("summary")).unwrap();
    // An https link is an autolink (it shows where it goes); the mock's http one is code.
    assert!(
        summary.contains(&format!(
            "**Links:** `Web` <https://web.acme.example> · `api` `{}/api`",
            server.uri()
        )),
        "{summary}"
    );

    // GitLab: the same values in the dotenv report.
    let qovery = deployed(ResponseTemplate::new(200).set_body_json(links(&server.uri()))).await;
    let dir = temp_dir("links-gitlab");
    let output = command(&qovery.uri())
        .current_dir(&dir)
        .env("GITLAB_CI", "true")
        .env("INPUT_APPLICATIONS", "api,web")
        .output()
        .unwrap();
    assert_exit(&output, 0);
    // Read as GitLab does: `KEY=value` per line, the value as written (no quote processing).
    let text = std::fs::read_to_string(dir.join("qovery-deploy.env")).unwrap();
    let value = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("{key} in {text}"))
            .to_string()
    };
    assert_eq!(value("QOVERY_URL"), format!("{}/api", server.uri()));
    assert_eq!(
        serde_json::from_str::<Value>(&value("QOVERY_URLS")).unwrap(),
        urls
    );
}

#[tokio::test]
async fn links_that_cannot_be_read_leave_a_success_a_success() {
    for answer in [
        ResponseTemplate::new(503),
        ResponseTemplate::new(200).set_body_string("garbage"),
    ] {
        let qovery = deployed(answer).await;
        let dir = temp_dir("links-broken");
        let mut cmd = command(&qovery.uri());
        cmd.env("INPUT_APPLICATIONS", "api")
            .env("INPUT_HEALTH-CHECK-PATH", "/healthz");
        github(&mut cmd, &dir);
        let output = cmd.output().unwrap();
        assert_exit(&output, 0);
        let outputs = github_outputs(&dir.join("output"));
        assert_eq!(
            (outputs["url"].as_str(), outputs["urls"].as_str()),
            ("", "")
        );
        assert!(
            stdout(&output)
                .contains("::warning::health check not run: the services' links could not be read"),
            "{}",
            stdout(&output)
        );
        assert_eq!(
            stdout(&output)
                .matches("could not read the services' links")
                .count(),
            1
        );
    }
}

/// A service at `app` whose `/healthz` answers `answers` in turn (the last one repeating).
async fn app(answers: Vec<ResponseTemplate>) -> MockServer {
    let app = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/healthz"))
        .respond_with(Sequence::of(answers))
        .mount(&app)
        .await;
    app
}

async fn health_requests(app: &MockServer) -> Vec<wiremock::Request> {
    requests(app).await
}

#[tokio::test]
async fn the_health_check_passes_without_ever_sending_the_token() {
    let app = app(vec![
        ResponseTemplate::new(503),
        ResponseTemplate::new(502),
        ResponseTemplate::new(200),
    ])
    .await;
    let qovery = deployed(ResponseTemplate::new(200).set_body_json(links(&app.uri()))).await;
    // A proxy that would answer 502: a loopback service is reached directly, as the API is.
    let proxy = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(502))
        .mount(&proxy)
        .await;
    let output = command(&qovery.uri())
        .env("INPUT_APPLICATIONS", "api")
        .env("INPUT_HEALTH-CHECK-PATH", "/healthz")
        .env("HTTP_PROXY", proxy.uri())
        .env("http_proxy", proxy.uri())
        .env("ALL_PROXY", proxy.uri())
        .output()
        .unwrap();
    assert_exit(&output, 0);
    assert!(requests(&proxy).await.is_empty(), "the proxy was used");
    let seen = health_requests(&app).await;
    assert_eq!(seen.len(), 3);
    for request in &seen {
        assert_eq!(request.url.path(), "/api/healthz");
        assert!(request.headers.get("authorization").is_none());
        for (name, value) in &request.headers {
            assert!(
                !value.to_str().unwrap_or_default().contains(TOKEN),
                "{name}"
            );
        }
    }
    let out = stdout(&output);
    assert!(out.contains("answered HTTP 503"), "{out}");
    assert!(out.contains("answered HTTP 502"), "{out}");
    assert!(
        out.contains(&format!(
            "health: {}/api/healthz answered HTTP 200 (attempt 3",
            app.uri()
        )),
        "{out}"
    );
}

#[tokio::test]
async fn a_service_not_answering_in_time_fails_with_the_last_status_seen() {
    let app = app(vec![ResponseTemplate::new(503)]).await;
    let qovery = deployed(ResponseTemplate::new(200).set_body_json(links(&app.uri()))).await;
    let dir = temp_dir("health-fail");
    let mut cmd = command(&qovery.uri());
    cmd.env("INPUT_APPLICATIONS", "api")
        .env("INPUT_HEALTH-CHECK-PATH", "/healthz")
        .env("INPUT_TIMEOUT", "8s");
    github(&mut cmd, &dir);
    let started = Instant::now();
    let output = cmd.output().unwrap();
    let elapsed = started.elapsed();
    assert_exit(&output, 1);
    assert!(elapsed < Duration::from_secs(8 + 2), "{elapsed:?}");
    let err = stderr(&output);
    assert!(err.contains(&format!("deployed but not answering: GET {}/api/healthz never answered 2xx; last seen: HTTP 503", app.uri())), "{err}");
    let tries = health_requests(&app).await.len();
    assert!((2..=8).contains(&tries), "backoff: {tries} tries in 8 s");
    let outputs = github_outputs(&dir.join("output"));
    assert_eq!(outputs["result"], "failure");
    assert_eq!(outputs["state"], "DEPLOYED");
    assert_eq!(outputs["url"], format!("{}/api", app.uri()));
}

#[tokio::test]
async fn the_health_check_ends_at_the_deadline_even_when_the_service_hangs() {
    let app = app(vec![
        ResponseTemplate::new(200).set_delay(Duration::from_secs(60)),
    ])
    .await;
    let qovery = deployed(ResponseTemplate::new(200).set_body_json(links(&app.uri()))).await;
    let started = Instant::now();
    let output = command(&qovery.uri())
        .env("INPUT_APPLICATIONS", "api")
        .env("INPUT_HEALTH-CHECK-PATH", "/healthz")
        .env("INPUT_TIMEOUT", "5s")
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    assert_exit(&output, 1);
    assert!(elapsed < Duration::from_secs(5 + 2), "{elapsed:?}");
    assert!(
        stderr(&output).contains("last seen: no answer in time"),
        "{}",
        stderr(&output)
    );
}

#[tokio::test]
async fn a_health_check_with_nothing_to_check_fails_clearly_and_bad_paths_are_refused() {
    let qovery = deployed(ResponseTemplate::new(200).set_body_json(json!({"results": []}))).await;
    let output = command(&qovery.uri())
        .env("INPUT_APPLICATIONS", "api")
        .env("INPUT_HEALTH-CHECK-PATH", "/healthz")
        .output()
        .unwrap();
    assert_exit(&output, 1);
    assert!(
        stderr(&output).contains("none of the listed services has a public link"),
        "{}",
        stderr(&output)
    );

    for (path, wait) in [("healthz", "true"), ("/a b", "true"), ("/healthz", "false")] {
        let output = command(&qovery.uri())
            .env("INPUT_APPLICATIONS", "api")
            .env("INPUT_HEALTH-CHECK-PATH", path)
            .env("INPUT_WAIT", wait)
            .output()
            .unwrap();
        assert_exit(&output, 2);
        assert!(
            stderr(&output).contains("input `health-check-path`"),
            "{}",
            stderr(&output)
        );
    }
}

#[tokio::test]
async fn a_redirect_from_the_service_never_carries_the_token_either() {
    let app = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/healthz"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", "/ready"))
        .mount(&app)
        .await;
    Mock::given(method("GET"))
        .and(path("/ready"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&app)
        .await;
    let qovery = deployed(ResponseTemplate::new(200).set_body_json(links(&app.uri()))).await;
    let output = command(&qovery.uri())
        .env("INPUT_APPLICATIONS", "api")
        .env("INPUT_HEALTH-CHECK-PATH", "/healthz")
        .output()
        .unwrap();
    assert_exit(&output, 0);
    let seen = health_requests(&app).await;
    assert_eq!(
        seen.iter().map(|r| r.url.path()).collect::<Vec<_>>(),
        ["/api/healthz", "/ready"]
    );
    assert!(
        seen.iter()
            .all(|r| r.headers.get("authorization").is_none())
    );
}

#[tokio::test]
async fn a_signal_during_the_health_check_ends_the_run_at_once_as_cancelled() {
    let app = app(vec![ResponseTemplate::new(503)]).await;
    let qovery = deployed(ResponseTemplate::new(200).set_body_json(links(&app.uri()))).await;
    let mut cmd = spawnable(&qovery.uri());
    cmd.env("INPUT_APPLICATIONS", "api")
        .env("INPUT_HEALTH-CHECK-PATH", "/healthz");
    let (exit, output) = sigterm_when(cmd, &app, async |app: &MockServer| {
        !requests(app).await.is_empty()
    })
    .await;
    assert_eq!(
        exit.code(),
        Some(5),
        "{}{}",
        stdout(&output),
        stderr(&output)
    );
    assert!(
        stderr(&output).contains(
            "cancelled (SIGTERM) during the health check; the deployment itself ended DEPLOYED"
        ),
        "{}",
        stderr(&output)
    );
    // The deployment had ended: nothing to cancel.
    assert_eq!(writes(&qovery).await, 1, "only the deploy");
}

#[tokio::test]
async fn a_signal_during_the_log_read_leaves_the_failure_and_exits_at_once() {
    let server = failed_deploy(
        ResponseTemplate::new(200)
            .set_delay(Duration::from_secs(30))
            .set_body_json(realistic_log()),
    )
    .await;
    let mut cmd = spawnable(&server.uri());
    cmd.env("INPUT_APPLICATIONS", "api");
    let (exit, output) = sigterm_when(cmd, &server, async |server: &MockServer| {
        count(server, "GET", &format!("/environment/{ENV}/logs")).await > 0
    })
    .await;
    assert_eq!(
        exit.code(),
        Some(1),
        "{}{}",
        stdout(&output),
        stderr(&output)
    );
    assert!(
        stderr(&output).contains("could not read the deployment logs")
            && stderr(&output).contains("SIGTERM"),
        "{}",
        stderr(&output)
    );
    assert_eq!(
        writes(&server).await,
        1,
        "no cancel of a finished deployment"
    );
}
