//! `command: deploy`: the batched request, the wait, and the outcomes.

use serde_json::json;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::spec::assert_conforms;
use crate::support::*;

#[tokio::test]
async fn mixed_plan_sends_one_exact_batched_request() {
    let server = qovery(vec![previous_deployed(), ours("DEPLOYED", "DEPLOYED")]).await;
    Mock::given(method("POST"))
        .and(path(format!("/environment/{ENV}/service/deploy")))
        .and(header("authorization", format!("Token {TOKEN}").as_str()))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({
            "applications": [
                {"application_id": API, "git_commit_id": SHA},
                {"application_id": WEB, "git_commit_id": SHA}
            ],
            "containers": [{"id": WORKER, "image_tag": "1.4.2"}],
            "jobs": [{"id": MIGRATE, "image_tag": SHA}, {"id": REPORT, "git_commit_id": SHA}],
            "helms": [{"id": INGRESS, "chart_version": "4.11.2"}],
            "databases": [POSTGRES]
        })))
        .respond_with(ResponseTemplate::new(202).set_body_json(env_status(
            "DEPLOYMENT_QUEUED",
            Some(OURS),
            &format!("{ENV}-41"),
        )))
        .expect(1)
        .mount(&server)
        .await;

    let output = command(&server.uri())
        .env("INPUT_APPLICATIONS", "api,\nWEB")
        .env("INPUT_CONTAINERS", "worker=1.4.2")
        .env("INPUT_JOBS", format!("migrate, {REPORT}"))
        .env("INPUT_HELMS", "ingress-nginx")
        .env("INPUT_DATABASES", "postgres")
        .env("INPUT_CHART-VERSION", "4.11.2")
        .output()
        .unwrap();
    assert_exit(&output, 0);

    for request in requests(&server).await {
        assert!(
            request
                .headers
                .get("user-agent")
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("qovery-deploy/")
        );
        assert_eq!(
            request
                .headers
                .get("authorization")
                .unwrap()
                .to_str()
                .unwrap(),
            format!("Token {TOKEN}")
        );
        assert!(!request.url.path().ends_with('/'), "{}", request.url);
    }
    assert_eq!(writes(&server).await, 1);
    assert_conforms(&server).await;
}

#[tokio::test]
async fn the_previous_deployments_deployed_is_never_taken_for_ours() {
    // Baseline, then two polls still showing the previous deployment, then ours.
    let server = qovery(vec![
        previous_deployed(),
        previous_deployed(),
        previous_deployed(),
        ours("BUILDING", "BUILDING"),
        ours("DEPLOYED", "DEPLOYED"),
    ])
    .await;
    accept_deploy(&server).await;

    let output = command(&server.uri())
        .env("INPUT_APPLICATIONS", "api")
        .output()
        .unwrap();
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}{}", stderr(&output));
    // One request per tick (the small status while nothing changes, every service's statuses
    // on the tick that judges), and none after ours reached DEPLOYED.
    assert_eq!(
        polls(&server).await,
        ["statuses", "status", "status", "status", "statuses"]
    );
    assert!(
        out.contains(
            "queued: waiting for Qovery to start it (the environment still shows the previous deployment, DEPLOYED)"
        ),
        "{out}"
    );
    // BUILDING showed in the small status; every service's is read on the tick that judges.
    assert!(out.contains("environment: BUILDING -> DEPLOYED"), "{out}");
    assert!(
        out.contains("  api      application  3f8a1c2e9b7d  DEPLOYED"),
        "{out}"
    );
    // One line per change, not per poll.
    assert_eq!(out.matches("queued:").count(), 1, "{out}");
}

#[tokio::test]
async fn an_error_state_exits_1_naming_the_service() {
    let mut failed = ours("DEPLOYMENT_ERROR", "DEPLOYED");
    failed["applications"][0]["state"] = json!("BUILD_ERROR");
    let server = qovery(vec![
        previous_deployed(),
        ours("BUILDING", "BUILDING"),
        failed,
    ])
    .await;
    accept_deploy(&server).await;

    let output = command(&server.uri())
        .env("INPUT_APPLICATIONS", "api,web")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(err.contains("deployment failed: api BUILD_ERROR"), "{err}");
    assert!(!err.contains("web DEPLOYED"), "{err}");
    assert_eq!(writes(&server).await, 1, "no cancel after a failure");
}

async fn stuck_deployment(status: serde_json::Value) -> wiremock::MockServer {
    let server = qovery(vec![previous_deployed(), ours("DEPLOYING", "DEPLOYING")]).await;
    accept_deploy(&server).await;
    Mock::given(method("GET"))
        .and(path(format!("/environment/{ENV}/status")))
        .respond_with(ResponseTemplate::new(200).set_body_json(status))
        .mount(&server)
        .await;
    accept_cancels(&server).await;
    server
}

#[tokio::test]
async fn timeout_cancels_our_running_deployment_and_exits_3() {
    let server = stuck_deployment(env_status("DEPLOYING", Some(OURS), &format!("{ENV}-42"))).await;
    let output = command(&server.uri())
        .env("INPUT_APPLICATIONS", "api")
        .env("INPUT_TIMEOUT", "3s")
        .env("INPUT_FORCE-CANCEL", "true")
        .output()
        .unwrap();
    assert_exit(&output, 3);
    let cancels: Vec<_> = requests(&server)
        .await
        .into_iter()
        .filter(|r| r.url.path() == format!("/environment/{ENV}/cancelDeployment"))
        .collect();
    assert_eq!(cancels.len(), 1);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&cancels[0].body).unwrap(),
        json!({"force_cancel": true})
    );
    assert_eq!(
        count(
            &server,
            "POST",
            &format!("/deploymentQueue/{OURS}/cancelDeployment")
        )
        .await,
        0
    );
    assert!(
        stdout(&output).contains(&format!("cancel: deployment request {OURS} cancelled")),
        "{}",
        stdout(&output)
    );
}

#[tokio::test]
async fn cancel_on_timeout_false_cancels_nothing() {
    let server = stuck_deployment(env_status("DEPLOYING", Some(OURS), &format!("{ENV}-42"))).await;
    let output = command(&server.uri())
        .env("INPUT_APPLICATIONS", "api")
        .env("INPUT_TIMEOUT", "2s")
        .env("INPUT_CANCEL-ON-TIMEOUT", "false")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    assert_eq!(writes(&server).await, 1, "only the deploy itself");
    assert!(stdout(&output).contains("left running") || stderr(&output).contains("left running"));
}

#[tokio::test]
async fn timeout_while_queued_behind_another_cancels_only_our_queued_request() {
    let other = "22222222-2222-4222-8222-222222222222";
    let server = qovery(vec![
        previous_deployed(),
        statuses("DEPLOYING", Some(other), &format!("{ENV}-42"), "DEPLOYING"),
    ])
    .await;
    accept_deploy(&server).await;
    Mock::given(method("GET"))
        .and(path(format!("/environment/{ENV}/status")))
        .respond_with(ResponseTemplate::new(200).set_body_json(env_status(
            "DEPLOYING",
            Some(other),
            &format!("{ENV}-42"),
        )))
        .mount(&server)
        .await;
    queue_holds_ours(&server).await;
    Mock::given(method("POST"))
        .and(path(format!("/deploymentQueue/{OURS}/cancelDeployment")))
        .respond_with(ResponseTemplate::new(202))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/environment/{ENV}/cancelDeployment")))
        .respond_with(ResponseTemplate::new(202))
        .expect(0)
        .mount(&server)
        .await;

    let output = command(&server.uri())
        .env("INPUT_APPLICATIONS", "api")
        .env("INPUT_TIMEOUT", "2s")
        .output()
        .unwrap();
    assert_exit(&output, 3);
    assert!(
        stdout(&output).contains("removed deployment request"),
        "{}",
        stdout(&output)
    );
    // Ours never ran: no log to read, one line saying so, no annotation of its own.
    assert_eq!(
        count(&server, "GET", &format!("/environment/{ENV}/logs")).await,
        0
    );
    assert!(
        stdout(&output).contains("No deployment log to show for api: not started"),
        "{}",
        stdout(&output)
    );
    assert!(
        !stderr(&output).contains("api did not finish"),
        "{}",
        stderr(&output)
    );
}

#[tokio::test]
async fn sigterm_while_waiting_cancels_and_exits_5() {
    let server = stuck_deployment(env_status("DEPLOYING", Some(OURS), &format!("{ENV}-42"))).await;
    let mut cmd = spawnable(&server.uri());
    cmd.env("INPUT_APPLICATIONS", "api");
    // Signalled once it is polling.
    let (exit, output) = sigterm_when(cmd, &server, async |server: &wiremock::MockServer| {
        count(server, "GET", &format!("/environment/{ENV}/statuses")).await >= 2
    })
    .await;
    assert_cancelled_by_sigterm(&server, exit, &output).await;
}

#[tokio::test]
async fn unknown_states_do_not_crash_and_keep_waiting() {
    let mut strange = ours("HYPERSPACE", "QUANTUM_LEAP");
    strange["environment"]["brand_new_field"] = json!({"nested": [1, 2]});
    strange["applications"][0]["status_details"]["status"] = json!("TELEPORTING");
    let server = qovery(vec![
        previous_deployed(),
        strange.clone(),
        strange,
        ours("DEPLOYED", "DEPLOYED"),
    ])
    .await;
    accept_deploy(&server).await;
    let output = command(&server.uri())
        .env("INPUT_APPLICATIONS", "api")
        .output()
        .unwrap();
    assert_exit(&output, 0);
    assert!(stdout(&output).contains("api: DEPLOYED -> QUANTUM_LEAP"));
    // The change is seen in the small status; the tick after reads every service's.
    assert_eq!(
        polls(&server).await,
        ["statuses", "status", "statuses", "status", "statuses"]
    );
}

#[tokio::test]
async fn wait_false_returns_after_the_202_with_the_request_id() {
    let server = qovery(vec![previous_deployed()]).await;
    accept_deploy(&server).await;
    let dir = temp_dir("nowait");
    let output_file = dir.join("output");
    let output = command(&server.uri())
        .env("INPUT_APPLICATIONS", "api")
        .env("INPUT_WAIT", "false")
        .env("GITHUB_OUTPUT", &output_file)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert!(stdout(&output).contains(OURS));
    assert_eq!(
        count(&server, "GET", &format!("/environment/{ENV}/statuses")).await,
        1,
        "baseline only"
    );
    let outputs = parse_github_output(&std::fs::read_to_string(output_file).unwrap());
    assert_eq!(outputs["result"], "queued");
    assert_eq!(outputs["deployment-request-id"], OURS);
}

#[tokio::test]
async fn a_conflict_on_deploy_exits_4_and_says_why() {
    let server = qovery(vec![previous_deployed()]).await;
    Mock::given(method("POST"))
        .and(path(format!("/environment/{ENV}/service/deploy")))
        .respond_with(
            ResponseTemplate::new(409)
                .set_body_json(json!({"message": "Operation is in progress"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let output = command(&server.uri())
        .env("INPUT_APPLICATIONS", "api")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(4));
    assert!(
        stderr(&output).contains("another deployment or operation is in progress"),
        "{}",
        stderr(&output)
    );
}

#[tokio::test]
async fn outputs_and_summary_are_written_for_github() {
    let server = qovery(vec![previous_deployed(), ours("DEPLOYED", "DEPLOYED")]).await;
    accept_deploy(&server).await;
    let dir = temp_dir("outputs");
    let (output_file, summary_file) = (dir.join("output"), dir.join("summary"));
    let output = command(&server.uri())
        .env("INPUT_APPLICATIONS", "api")
        .env("INPUT_CONTAINERS", "worker")
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", &output_file)
        .env("GITHUB_STEP_SUMMARY", &summary_file)
        .output()
        .unwrap();
    assert_exit(&output, 0);
    let outputs = parse_github_output(&std::fs::read_to_string(&output_file).unwrap());
    assert_eq!(outputs["result"], "success");
    assert_eq!(outputs["state"], "DEPLOYED");
    assert_eq!(outputs["deployment-request-id"], OURS);
    assert_eq!(outputs["execution-id"], format!("{ENV}-42"));
    assert_eq!(
        outputs["console-url"],
        format!(
            "https://console.qovery.com/organization/{ORG}/project/{PROJECT}/environment/{ENV}/deployment/{ENV}-42"
        )
    );
    assert!(outputs["duration-seconds"].parse::<u64>().is_ok());
    let services: serde_json::Value = serde_json::from_str(&outputs["services"]).unwrap();
    assert_eq!(
        services[1],
        json!({"id": WORKER, "name": "worker", "type": "CONTAINER", "state": "DEPLOYED", "version": SHA, "deployment_request_id": OURS})
    );
    let summary = std::fs::read_to_string(&summary_file).unwrap();
    assert_eq!(
        summary
            .lines()
            .filter(|l| l.starts_with("| `api` |") || l.starts_with("| `worker` |"))
            .count(),
        2,
        "{summary}"
    );
    assert!(summary.contains(&outputs["console-url"]));
    let out = stdout(&output);
    assert!(
        out.contains("::group::Plan") && out.contains("::endgroup::"),
        "{out}"
    );
}

#[tokio::test]
async fn any_2xx_accepts_the_deploy_even_without_a_body() {
    // Qovery's older action broke when the answer changed from 200 to 202; the body may change too.
    let server = qovery(vec![
        previous_deployed(),
        previous_deployed(),
        ours("DEPLOYED", "DEPLOYED"),
    ])
    .await;
    Mock::given(method("POST"))
        .and(path(format!("/environment/{ENV}/service/deploy")))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let output = command(&server.uri())
        .env("INPUT_APPLICATIONS", "api")
        .output()
        .unwrap();
    assert_exit(&output, 0);
    assert!(
        stderr(&output).contains("without a deployment request id"),
        "{}",
        stderr(&output)
    );
    // Without a request id, the new execution id is the evidence: the stale poll was not accepted.
    assert_eq!(
        polls(&server).await,
        ["statuses", "status", "status", "statuses"]
    );
}
