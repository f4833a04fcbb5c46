//! Every end of a run prints the same final block, in the same order: the table of services (when
//! there are any), `result: …` (matching the `result` output), `console: …` (when there is a
//! link), and last the error (when the run did not succeed). Success, failure, timeouts, API
//! refusals, bad input at every stage: one shape, checked on a log where stderr and stdout are
//! merged, as CI shows them.

use std::collections::BTreeMap;

use serde_json::json;
use wiremock::matchers::{any, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

/// Runs with `$GITHUB_OUTPUT`, checks the final block against the outputs, returns the log.
fn run(server: &MockServer, vars: &[(&str, &str)], args: &[&str], exit: i32) -> String {
    let dir = temp_dir(&format!("ends-{}", server.address().port()));
    let output_file = dir.join("output");
    let mut cmd = spawnable(&server.uri());
    cmd.env("GITHUB_OUTPUT", &output_file)
        .envs(vars.iter().copied())
        .args(args);
    let (code, log) = run_merged(&mut cmd, &dir.join("log"));
    assert_eq!(code, Some(exit), "{vars:?} {args:?}:\n{log}");
    let outputs = github_outputs(&output_file);
    check_final_block(&log, &outputs, exit);
    log
}

#[track_caller]
fn check_final_block(log: &str, outputs: &BTreeMap<String, String>, exit: i32) {
    let lines: Vec<&str> = log.lines().collect();
    let results: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].starts_with("result: "))
        .collect();
    let [r] = results[..] else {
        panic!("one `result:` line expected:\n{log}");
    };
    let shown = lines[r]["result: ".len()..].split(' ').next().unwrap();
    assert_eq!(
        Some(shown),
        outputs.get("result").map(String::as_str),
        "{log}"
    );
    // Above it, the table (when the run listed services): a header, then one row per service.
    let services: Vec<serde_json::Value> =
        serde_json::from_str(outputs.get("services").map_or("[]", |s| s)).unwrap();
    if !services.is_empty() {
        let header = r - services.len() - 1;
        assert!(
            lines[header].starts_with("  service "),
            "table header:\n{log}"
        );
        assert!(
            lines[header + 1..r].iter().all(|l| l.starts_with("  ")),
            "{log}"
        );
    }
    // Below it: the console link, if any, then the error (and its hint) when it failed; nothing else.
    let mut rest = lines[r + 1..].iter().peekable();
    rest.next_if(|l| l.starts_with("console: "));
    if exit == 0 {
        assert_eq!(rest.next(), None, "nothing after the block:\n{log}");
    } else {
        assert!(
            rest.next().is_some_and(|l| l.starts_with("error: ")),
            "the error comes last:\n{log}"
        );
        assert!(
            rest.all(|l| l.starts_with("  ")),
            "only its hint after it:\n{log}"
        );
        assert_eq!(log.matches("error: ").count(), 1, "{log}");
    }
}

#[tokio::test]
async fn success_and_failure_end_with_the_same_block() {
    let server = qovery(vec![previous_deployed(), ours("DEPLOYED", "DEPLOYED")]).await;
    accept_deploy(&server).await;
    run(&server, &[("INPUT_APPLICATIONS", "api,web")], &[], 0);

    let mut failed = ours("DEPLOYMENT_ERROR", "DEPLOYED");
    failed["applications"][0]["state"] = json!("BUILD_ERROR");
    let server = qovery(vec![previous_deployed(), failed]).await;
    accept_deploy(&server).await;
    let log = run(&server, &[("INPUT_APPLICATIONS", "api,web")], &[], 1);
    assert!(
        log.contains("error: deployment failed: api BUILD_ERROR"),
        "{log}"
    );
}

#[tokio::test]
async fn a_failure_explained_from_its_log_ends_with_the_same_block() {
    let mut failed = ours("DEPLOYMENT_ERROR", "DEPLOYED");
    failed["applications"][0]["state"] = json!("BUILD_ERROR");
    let server = qovery(vec![previous_deployed(), failed]).await;
    accept_deploy(&server).await;
    let entry = json!({"type": "error", "timestamp": "2026-11-20T10:42:06Z",
        "details": {"execution_id": format!("{ENV}-42"), "transmitter": {"id": API, "name": "api", "type": "Application"}},
        "error": {"user_log_message": "npm ci failed", "hint_message": "run it locally"}});
    Mock::given(method("GET"))
        .and(path(format!("/environment/{ENV}/logs")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([entry])))
        .mount(&server)
        .await;
    // The service's own error follows the run's, indented: still one `error:` line, last.
    let log = run(&server, &[("INPUT_APPLICATIONS", "api,web")], &[], 1);
    let end: Vec<&str> = log.lines().rev().take(4).collect();
    assert!(
        end[0].starts_with("    logs: https://console.qovery.com/"),
        "{log}"
    );
    assert_eq!(end[1], "    hint: run it locally", "{log}");
    assert_eq!(end[2], "  api failed: npm ci failed", "{log}");
    assert!(
        end[3].starts_with("error: deployment failed: api BUILD_ERROR"),
        "{log}"
    );
}

#[tokio::test]
async fn api_refusals_end_with_the_same_block() {
    // 401 in the preflight: nothing listed yet, no table.
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"message": "Unauthorized"})))
        .mount(&server)
        .await;
    let log = run(&server, &[("INPUT_APPLICATIONS", "api")], &[], 4);
    assert!(log.contains("result: failure after"), "{log}");

    // 409 on the deploy: the plan was made, so the table lists what was to be deployed.
    let server = qovery(vec![previous_deployed()]).await;
    Mock::given(method("POST"))
        .and(path(format!("/environment/{ENV}/service/deploy")))
        .respond_with(
            ResponseTemplate::new(409)
                .set_body_json(json!({"message": "Operation is in progress"})),
        )
        .mount(&server)
        .await;
    let log = run(&server, &[("INPUT_APPLICATIONS", "api,web")], &[], 4);
    assert!(log.contains("conflict (409)"), "{log}");
}

#[tokio::test]
async fn bad_input_at_every_stage_ends_with_the_same_block() {
    let server = qovery(vec![previous_deployed()]).await;
    // After the configuration: an unknown service, found by the preflight.
    run(&server, &[("INPUT_APPLICATIONS", "api,ghost")], &[], 2);
    // In the configuration.
    run(
        &server,
        &[("INPUT_APPLICATIONS", "api"), ("INPUT_TIMEOUT", "soon")],
        &[],
        2,
    );
    // Before it: a flag, and two spellings of a variable that disagree.
    run(&server, &[("INPUT_APPLICATIONS", "api")], &["--nope"], 2);
    run(
        &server,
        &[("INPUT_APPLICATIONS", "api"), ("input_applications", "web")],
        &[],
        2,
    );
    assert_eq!(writes(&server).await, 0);
}

#[tokio::test]
async fn a_conflict_between_spellings_writes_the_outputs_too() {
    let server = MockServer::start().await;
    let log = run(
        &server,
        &[("INPUT_API_TOKEN", "other"), ("INPUT_APPLICATIONS", "api")],
        &[],
        2,
    );
    assert!(log.contains("set twice with different values"), "{log}");
    assert!(requests(&server).await.is_empty());
}

#[tokio::test]
async fn a_timeout_ends_with_the_same_block() {
    let server = qovery(vec![previous_deployed(), ours("DEPLOYING", "DEPLOYING")]).await;
    accept_deploy(&server).await;
    Mock::given(method("GET"))
        .and(path(format!("/environment/{ENV}/status")))
        .respond_with(ResponseTemplate::new(200).set_body_json(env_status(
            "DEPLOYING",
            Some(OURS),
            &format!("{ENV}-42"),
        )))
        .mount(&server)
        .await;
    accept_cancels(&server).await;
    let log = run(
        &server,
        &[("INPUT_APPLICATIONS", "api"), ("INPUT_TIMEOUT", "2s")],
        &[],
        3,
    );
    assert!(log.contains("result: timeout"), "{log}");
}
