//! A deployment is reported as a success only when the services' own ends are ours and mean
//! "running what we asked": a man-in-the-middle fake API showing the previous deployment's
//! `DEPLOYED`, contradictory duplicates, or `STOPPED`/`DELETED` never reads as success.

use serde_json::json;
use wiremock::MockServer;

use crate::support::*;

/// Runs a deploy of `api` with `$GITHUB_OUTPUT`; returns the exit code, the log and the outputs.
fn deploy_api(
    server: &MockServer,
    name: &str,
) -> (
    Option<i32>,
    String,
    std::collections::BTreeMap<String, String>,
) {
    let dir = temp_dir(&format!("verdict-{name}-{}", server.address().port()));
    let output_file = dir.join("output");
    let mut cmd = spawnable(&server.uri());
    cmd.env("GITHUB_OUTPUT", &output_file)
        .env("INPUT_APPLICATIONS", "api")
        .env("INPUT_POLL_INTERVAL", "1s");
    let (code, log) = run_merged(&mut cmd, &dir.join("log"));
    (code, log, github_outputs(&output_file))
}

/// Ours ended `DEPLOYMENT_ERROR`, but `api` still shows the previous deployment's
/// `DEPLOYED`/`SUCCESS` (the previous request and execution): not our success. The tool waits
/// within its patience (two more polls), then fails naming the service and whose state it shows.
#[tokio::test]
async fn a_service_showing_the_previous_deployment_is_not_our_success() {
    let mut ended = ours("DEPLOYMENT_ERROR", "DEPLOYED");
    let api = &mut ended["applications"][0];
    api["deployment_request_id"] = json!(PREVIOUS);
    api["execution_id"] = json!(format!("{ENV}-41"));
    api["status_details"]["status"] = json!("SUCCESS");
    let server = qovery(vec![
        previous_deployed(),
        ours("DEPLOYING", "DEPLOYING"),
        ended,
    ])
    .await;
    accept_deploy(&server).await;
    let (code, log, outputs) = deploy_api(&server, "previous");
    assert_eq!(code, Some(1), "{log}");
    assert_eq!(outputs["result"], "failure", "{log}");
    assert_eq!(outputs["state"], "DEPLOYMENT_ERROR", "{log}");
    assert!(
        log.contains(&format!(
            "api still shows DEPLOYED of another deployment (execution {ENV}-41)"
        )),
        "{log}"
    );
    assert!(!log.contains("because of other services"), "{log}");
    // Patience: the statuses were read again before concluding.
    let statuses_reads = polls(&server)
        .await
        .iter()
        .filter(|p| **p == "statuses")
        .count();
    assert!(statuses_reads >= 3, "{statuses_reads} reads\n{log}");
}

/// `api` listed twice, `DEPLOYED` in `applications` and `BUILD_ERROR` in `containers`: the worse
/// entry counts, whatever the order.
#[tokio::test]
async fn a_service_listed_twice_is_judged_by_its_worse_entry() {
    for failed_first in [false, true] {
        let mut ended = ours("DEPLOYED", "DEPLOYED");
        let mut twin = ended["applications"][0].clone();
        twin["state"] = json!("BUILD_ERROR");
        twin["status_details"]["status"] = json!("ERROR");
        if failed_first {
            ended["applications"]
                .as_array_mut()
                .unwrap()
                .insert(0, twin);
        } else {
            ended["containers"].as_array_mut().unwrap().push(twin);
        }
        let server = qovery(vec![
            previous_deployed(),
            ours("DEPLOYING", "DEPLOYING"),
            ended,
        ])
        .await;
        accept_deploy(&server).await;
        let (code, log, outputs) = deploy_api(&server, "twice");
        assert_eq!(code, Some(1), "failed first: {failed_first}\n{log}");
        assert_eq!(outputs["result"], "failure", "{log}");
        assert!(log.contains("api BUILD_ERROR"), "{log}");
    }
}

/// A deploy whose service (or environment) ends `STOPPED` or `DELETED` did not deploy: failure.
#[tokio::test]
async fn stopped_or_deleted_is_not_a_deployment_success() {
    for (env_state, service_state) in [
        ("DEPLOYED", "STOPPED"),
        ("DEPLOYED", "DELETED"),
        ("STOPPED", "STOPPED"),
    ] {
        let server = qovery(vec![
            previous_deployed(),
            ours("DEPLOYING", "DEPLOYING"),
            ours(env_state, service_state),
        ])
        .await;
        accept_deploy(&server).await;
        let (code, log, outputs) = deploy_api(&server, "stopped");
        assert_eq!(code, Some(1), "{env_state}/{service_state}\n{log}");
        assert_eq!(outputs["result"], "failure", "{log}");
        assert!(
            log.contains(&format!(
                "api ended {service_state}, which is not a deployment's end"
            )),
            "{log}"
        );
    }
}

/// Runs `args` with `$GITHUB_OUTPUT` and `$GITHUB_STATE`; returns the exit code, the log, the
/// outputs and the state file.
fn run_with_state(
    server: &MockServer,
    name: &str,
    args: &[(&str, &str)],
) -> (
    Option<i32>,
    String,
    std::collections::BTreeMap<String, String>,
    String,
) {
    let dir = temp_dir(&format!("verdict-{name}-{}", server.address().port()));
    let output_file = dir.join("output");
    let state_file = dir.join("state");
    let mut cmd = spawnable(&server.uri());
    cmd.env("GITHUB_OUTPUT", &output_file)
        .env("GITHUB_STATE", &state_file)
        .env("INPUT_POLL_INTERVAL", "1s")
        .envs(args.iter().copied());
    let (code, log) = run_merged(&mut cmd, &dir.join("log"));
    let state = std::fs::read_to_string(&state_file).unwrap_or_default();
    (code, log, github_outputs(&output_file), state)
}

/// The answers to a deploy `POST` that do not say whether a deployment was created: a 2xx that is
/// not Qovery's answer (a proxy's page, the wrong shape) and a gateway's 5xx after the backend may
/// have processed it.
fn unknown_outcomes() -> Vec<(&'static str, wiremock::ResponseTemplate)> {
    use wiremock::ResponseTemplate;
    let text = |status, body: &str, kind: &str| {
        ResponseTemplate::new(status).set_body_raw(body.as_bytes().to_vec(), kind)
    };
    vec![
        (
            "html",
            text(
                202,
                "<html><body>Accepted by proxy</body></html>",
                "text/html",
            ),
        ),
        (
            "wrong type",
            text(202, r#"{"deployment_request_id":5}"#, "application/json"),
        ),
        ("array", text(202, "[1,2]", "application/json")),
        ("null", text(200, "null", "application/json")),
        (
            "504",
            text(504, "<html>Gateway Timeout</html>", "text/html"),
        ),
        ("502", text(502, "bad gateway", "text/plain")),
    ]
}

/// A deploy whose outcome is unknown is never followed as ours (another client's deployment runs
/// meanwhile and would read as a success): exit 4, the log says a deployment may exist and links
/// the console, the POST is not repeated, and the run does not mark its end for the cleanup step.
#[tokio::test]
async fn a_deploy_with_an_unknown_outcome_is_not_taken_for_an_acceptance() {
    use wiremock::matchers::{method, path};
    for (name, answer) in unknown_outcomes() {
        // Another client's deployment starts and succeeds right after our POST.
        let server = qovery(vec![
            previous_deployed(),
            statuses(
                "DEPLOYING",
                Some(PREVIOUS),
                &format!("{ENV}-42"),
                "DEPLOYING",
            ),
            statuses("DEPLOYED", Some(PREVIOUS), &format!("{ENV}-42"), "DEPLOYED"),
        ])
        .await;
        wiremock::Mock::given(method("POST"))
            .and(path(format!("/environment/{ENV}/service/deploy")))
            .respond_with(answer)
            .mount(&server)
            .await;
        let (code, log, outputs, state) =
            run_with_state(&server, "unknown", &[("INPUT_APPLICATIONS", "api")]);
        assert_eq!(code, Some(4), "{name}:\n{log}");
        assert_eq!(outputs["result"], "failure", "{name}:\n{log}");
        assert!(log.contains("its outcome is unknown"), "{name}:\n{log}");
        assert!(
            log.contains("a deployment may have been created"),
            "{name}:\n{log}"
        );
        assert!(
            log.contains("check the Qovery console: https://console.qovery.com/"),
            "{name}:\n{log}"
        );
        assert!(!state.contains("qovery_deploy_ended"), "{name}: {state}");
        assert_eq!(
            count(
                &server,
                "POST",
                &format!("/environment/{ENV}/service/deploy")
            )
            .await,
            1,
            "{name}"
        );
        assert!(
            polls(&server).await.len() <= 1,
            "{name}: only the baseline read\n{log}"
        );
    }
}

/// The same class for jobs: `deploy-job` whose POST answer is unreadable.
#[tokio::test]
async fn a_job_deploy_with_an_unknown_outcome_is_not_taken_for_an_acceptance() {
    use wiremock::matchers::{method, path};
    for (name, answer) in unknown_outcomes() {
        let server = qovery(vec![previous_deployed()]).await;
        wiremock::Mock::given(method("POST"))
            .and(path(format!("/job/{MIGRATE}/deploy")))
            .respond_with(answer)
            .mount(&server)
            .await;
        let (code, log, _, state) = run_with_state(
            &server,
            "unknown-job",
            &[("INPUT_COMMAND", "deploy-job"), ("INPUT_JOBS", "migrate")],
        );
        assert_eq!(code, Some(4), "{name}:\n{log}");
        assert!(log.contains("its outcome is unknown"), "{name}:\n{log}");
        assert!(!state.contains("qovery_deploy_ended"), "{name}: {state}");
        assert_eq!(
            count(&server, "POST", &format!("/job/{MIGRATE}/deploy")).await,
            1,
            "{name}"
        );
    }
}

/// At the deadline the cancel learns from our request's own status that ours had already ended
/// `DEPLOYED` (the services' statuses never answered): the outputs carry that state and the run
/// is a success, said to be learnt at the deadline; nothing is cancelled. A `DEPLOYMENT_ERROR`
/// learnt the same way is a failure with that state.
#[tokio::test]
async fn the_final_state_learnt_at_the_deadline_is_reported() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, ResponseTemplate};
    for (learnt, code, result) in [
        ("DEPLOYED", 0, "success"),
        ("DEPLOYMENT_ERROR", 1, "failure"),
    ] {
        let server = qovery(vec![previous_deployed()]).await;
        Mock::given(method("GET"))
            .and(path(format!("/environment/{ENV}/status")))
            .respond_with(ResponseTemplate::new(200).set_body_json(env_status(
                "DEPLOYING",
                Some(OURS),
                &format!("{ENV}-42"),
            )))
            .with_priority(1)
            .mount(&server)
            .await;
        // The baseline answers; every later `/statuses` read hangs.
        Mock::given(method("GET"))
            .and(path(format!("/environment/{ENV}/statuses")))
            .respond_with(Sequence::of(vec![
                ResponseTemplate::new(200).set_body_json(previous_deployed()),
                ResponseTemplate::new(200)
                    .set_body_json(previous_deployed())
                    .set_delay(std::time::Duration::from_secs(120)),
            ]))
            .with_priority(1)
            .mount(&server)
            .await;
        accept_deploy(&server).await;
        request_states(&server, OURS, &[learnt]).await;
        let started = std::time::Instant::now();
        let (code_seen, log, outputs) = {
            let dir = temp_dir(&format!("verdict-learnt-{}", server.address().port()));
            let output_file = dir.join("output");
            let mut cmd = spawnable(&server.uri());
            cmd.env("GITHUB_OUTPUT", &output_file)
                .env("INPUT_APPLICATIONS", "api")
                .env("INPUT_POLL_INTERVAL", "1s")
                .env("INPUT_TIMEOUT", "4s");
            let (code, log) = run_merged(&mut cmd, &dir.join("log"));
            (code, log, github_outputs(&output_file))
        };
        assert!(
            started.elapsed() < std::time::Duration::from_secs(40),
            "{log}"
        );
        assert_eq!(code_seen, Some(code), "{learnt}\n{log}");
        assert_eq!(outputs["state"], learnt, "{log}");
        assert_eq!(outputs["result"], result, "{log}");
        assert!(
            log.contains(&format!(
                "learnt at the deadline: our deployment had already ended {learnt}"
            )),
            "{log}"
        );
        assert_eq!(
            count(
                &server,
                "POST",
                &format!("/environment/{ENV}/cancelDeployment")
            )
            .await,
            0,
            "{log}"
        );
    }
}

/// Against the bundled mock: the deploy is processed (a deployment is queued and runs), but its
/// answer is a gateway's 504 (`--fault 'deploy:504,processed,times=1'`) or a 202 whose body is cut
/// mid-read. The outcome is unknown: exit 4, the log says a deployment may exist and links the
/// console, the POST is not repeated (a second deployment), and the run does not mark its end.
#[tokio::test]
async fn a_processed_deploy_whose_answer_is_lost_is_reported_as_unknown() {
    use qovery_mock::{Endpoint, Fault, FaultBody, MockServer, ids};
    for (name, fault) in [
        (
            "504",
            Fault::on(Endpoint::deploys())
                .status(504)
                .processed(true)
                .times(1),
        ),
        (
            "dropped",
            Fault::on(Endpoint::deploys())
                .status(202)
                .body(FaultBody::Dropped)
                .processed(true),
        ),
    ] {
        let server = MockServer::builder()
            .step(std::time::Duration::from_millis(200))
            .fault(fault)
            .spawn()
            .await
            .expect("the mock starts");
        let dir = temp_dir(&format!("verdict-lost-{name}"));
        let state_file = dir.join("state");
        let mut cmd = spawnable(&server.url());
        cmd.env("INPUT_ENVIRONMENT-ID", ids::ENVIRONMENT)
            .env("INPUT_APPLICATIONS", "api")
            .env("GITHUB_OUTPUT", dir.join("output"))
            .env("GITHUB_STATE", &state_file);
        let (code, log) = run_merged(&mut cmd, &dir.join("log"));
        assert_eq!(code, Some(4), "{name}:\n{log}");
        assert!(log.contains("its outcome is unknown"), "{name}:\n{log}");
        assert!(
            log.contains("a deployment may have been created"),
            "{name}:\n{log}"
        );
        let state = std::fs::read_to_string(&state_file).unwrap_or_default();
        assert!(!state.contains("qovery_deploy_ended"), "{name}: {state}");
        let posts = server
            .requests()
            .iter()
            .filter(|r| r.method == "POST" && r.path.ends_with("/service/deploy"))
            .count();
        assert_eq!(posts, 1, "{name}: the deploy is never sent twice");
    }
}

/// Preflight: an answer over the size limit is as large the next time: reported at once, naming
/// the call and what is wrong, not retried for most of the timeout (it took 107 s of a 2-minute
/// budget).
#[tokio::test]
async fn an_oversized_preflight_answer_fails_at_once() {
    use qovery_mock::{Endpoint, Fault, FaultBody, MockServer, ids};
    let server = MockServer::builder()
        .fault(
            Fault::on(Endpoint::alias("services").unwrap()).body(FaultBody::Oversized(2_000_000)),
        )
        .spawn()
        .await
        .expect("the mock starts");
    let dir = temp_dir("verdict-oversized");
    let mut cmd = spawnable(&server.url());
    cmd.env("INPUT_ENVIRONMENT-ID", ids::ENVIRONMENT)
        .env("INPUT_APPLICATIONS", "api")
        .env("INPUT_TIMEOUT", "2m");
    let started = std::time::Instant::now();
    let (code, log) = run_merged(&mut cmd, &dir.join("log"));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "{log}"
    );
    assert_eq!(code, Some(4), "{log}");
    assert!(
        log.contains("/services: the answer is larger than 1048576 bytes"),
        "{log}"
    );
    let reads = server
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/services"))
        .count();
    assert_eq!(reads, 1, "not retried\n{log}");
}
