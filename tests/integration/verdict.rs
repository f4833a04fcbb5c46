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
