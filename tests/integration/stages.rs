//! `command: skip` / `unskip`: each service's stage read, then one PUT per service that needs it,
//! with the stage id from the read; resolution errors before any write.

use serde_json::{Value, json};
use wiremock::matchers::{body_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::spec::assert_conforms;
use crate::support::*;

const APPS_STAGE: &str = "5a000000-0000-4000-8000-000000000001";
const WORKERS_STAGE: &str = "5a000000-0000-4000-8000-000000000002";

/// A `DeploymentStageResponse` holding `service` with `skipped`.
fn stage(id: &str, name: &str, service: &str, kind: &str, skipped: bool) -> Value {
    json!({"id": id, "created_at": "2026-01-01T00:00:00Z", "environment": {"id": ENV},
    "name": name, "description": "", "deployment_order": 0,
    "services": [
        {"id": "5e000000-0000-4000-8000-000000000009", "created_at": "2026-01-01T00:00:00Z",
         "service_id": PREVIOUS, "service_type": "JOB", "is_skipped": !skipped},
        {"id": "5e000000-0000-4000-8000-000000000001", "created_at": "2026-01-01T00:00:00Z",
         "service_id": service, "service_type": kind, "is_skipped": skipped}
    ]})
}

/// A Qovery where `api` sits in stage "apps" and `worker` in stage "workers", skipped or not.
async fn qovery_with_stages(api_skipped: bool, worker_skipped: bool) -> MockServer {
    let server = qovery(vec![previous_deployed()]).await;
    for (service, body) in [
        (
            API,
            stage(APPS_STAGE, "apps", API, "APPLICATION", api_skipped),
        ),
        (
            WORKER,
            stage(
                WORKERS_STAGE,
                "workers",
                WORKER,
                "CONTAINER",
                worker_skipped,
            ),
        ),
    ] {
        Mock::given(method("GET"))
            .and(path(format!("/service/{service}/deploymentStage")))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(&server)
            .await;
    }
    server
}

/// Accepts `PUT /deploymentStage/{stage}/service/{service}` with exactly `{"is_skipped": skipped}`.
async fn accept_put(server: &MockServer, stage: &str, service: &str, skipped: bool, times: u64) {
    Mock::given(method("PUT"))
        .and(path(format!("/deploymentStage/{stage}/service/{service}")))
        .and(body_json(json!({"is_skipped": skipped})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"results": []})))
        .expect(times)
        .mount(server)
        .await;
}

fn run(server: &MockServer, command_name: &str, dir: &std::path::Path) -> std::process::Output {
    command(&server.uri())
        .env("INPUT_COMMAND", command_name)
        .env_remove("INPUT_COMMIT-SHA")
        .env_remove("INPUT_POLL-INTERVAL")
        .env("INPUT_APPLICATIONS", "api")
        .env("INPUT_CONTAINERS", "worker")
        .env("GITHUB_OUTPUT", dir.join("out"))
        .env("GITHUB_STEP_SUMMARY", dir.join("summary"))
        .output()
        .unwrap()
}

#[tokio::test]
async fn skip_reads_each_stage_then_puts_with_the_stage_id_from_the_read() {
    let server = qovery_with_stages(false, false).await;
    accept_put(&server, APPS_STAGE, API, true, 1).await;
    accept_put(&server, WORKERS_STAGE, WORKER, true, 1).await;
    let dir = temp_dir("skip");
    let output = run(&server, "skip", &dir);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}{}", stderr(&output));
    assert_eq!(
        calls(&server).await,
        [
            format!("GET /environment/{ENV}"),
            format!("GET /environment/{ENV}/services"),
            format!("GET /service/{API}/deploymentStage"),
            format!("GET /service/{WORKER}/deploymentStage"),
            format!("PUT /deploymentStage/{APPS_STAGE}/service/{API}"),
            format!("PUT /deploymentStage/{WORKERS_STAGE}/service/{WORKER}"),
        ]
    );
    // Named like the deploy commands name it: `staging (uuid)`, not the bare UUID.
    assert!(
        out.contains(&format!(
            "Skipping 2 service(s) in environment staging ({ENV}):"
        )),
        "{out}"
    );
    assert!(out.contains("api: skipped now, in stage `apps`"), "{out}");
    // Nothing is deployed, so neither the log table nor the summary has a duration column.
    let header = out
        .lines()
        .find(|l| l.contains("service") && l.contains("stage"))
        .unwrap();
    assert!(!header.contains("duration"), "{header}");
    let summary = std::fs::read_to_string(dir.join("summary")).unwrap();
    assert!(
        summary.contains("| Service | Type | Stage | State |\n|---|---|---|---|\n"),
        "{summary}"
    );
    assert!(!summary.contains("Duration"), "{summary}");
    assert!(
        out.contains("worker: skipped now, in stage `workers`"),
        "{out}"
    );
    let outputs = github_outputs(&dir.join("out"));
    assert_eq!(outputs["result"], "success");
    let services: Value = serde_json::from_str(&outputs["services"]).unwrap();
    assert_eq!(
        services,
        json!([
            {"id": API, "name": "api", "type": "APPLICATION", "stage": "apps", "skipped": true},
            {"id": WORKER, "name": "worker", "type": "CONTAINER", "stage": "workers", "skipped": true}
        ])
    );
    let put = requests(&server).await.pop().unwrap();
    assert_eq!(put.headers.get("content-type").unwrap(), "application/json");
    assert_conforms(&server).await;
}

#[tokio::test]
async fn an_already_skipped_service_is_not_written() {
    let server = qovery_with_stages(true, false).await;
    accept_put(&server, APPS_STAGE, API, true, 0).await;
    accept_put(&server, WORKERS_STAGE, WORKER, true, 1).await;
    let dir = temp_dir("skip-idempotent");
    let output = run(&server, "skip", &dir);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}{}", stderr(&output));
    assert_eq!(writes(&server).await, 1);
    assert!(
        out.contains("api: already skipped, in stage `apps`; nothing sent"),
        "{out}"
    );
    let services: Value =
        serde_json::from_str(&github_outputs(&dir.join("out"))["services"]).unwrap();
    assert_eq!(services[0]["skipped"], true);
}

#[tokio::test]
async fn unskip_sends_false_and_leaves_unskipped_services_alone() {
    let server = qovery_with_stages(true, false).await;
    accept_put(&server, APPS_STAGE, API, false, 1).await;
    accept_put(&server, WORKERS_STAGE, WORKER, false, 0).await;
    let dir = temp_dir("unskip");
    let output = run(&server, "unskip", &dir);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}{}", stderr(&output));
    assert_eq!(writes(&server).await, 1);
    assert!(
        out.contains("api: not skipped now, in stage `apps`"),
        "{out}"
    );
    assert!(out.contains("worker: already not skipped"), "{out}");
    assert_conforms(&server).await;
}

#[tokio::test]
async fn a_refused_stage_read_changes_nothing() {
    let server = qovery(vec![previous_deployed()]).await;
    Mock::given(method("GET"))
        .and(path(format!("/service/{API}/deploymentStage")))
        .respond_with(ResponseTemplate::new(200).set_body_json(stage(
            APPS_STAGE,
            "apps",
            API,
            "APPLICATION",
            false,
        )))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/service/{WORKER}/deploymentStage")))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"message": "not found"})))
        .mount(&server)
        .await;
    accept_put(&server, APPS_STAGE, API, true, 0).await;
    let dir = temp_dir("skip-404");
    let output = run(&server, "skip", &dir);
    assert_eq!(output.status.code(), Some(4), "{}", stdout(&output));
    let err = stderr(&output);
    assert!(err.contains("not found (404)"), "{err}");
    assert_eq!(writes(&server).await, 0);
}

#[tokio::test]
async fn resolution_errors_exit_2_before_any_read_of_stages_or_write() {
    let server = qovery_with_stages(false, false).await;
    for (vars, input) in [
        (vec![("INPUT_APPLICATIONS", "ghost")], "applications"),
        (vec![("INPUT_APPLICATIONS", "worker")], "applications"),
        (vec![("INPUT_APPLICATIONS", "api=1.0")], "applications"),
        (
            vec![("INPUT_APPLICATIONS", ""), ("INPUT_CONTAINERS", "")],
            "applications",
        ),
    ] {
        let mut cmd = command(&server.uri());
        cmd.env("INPUT_COMMAND", "skip")
            .env_remove("INPUT_COMMIT-SHA")
            .env_remove("INPUT_POLL-INTERVAL")
            .env("INPUT_APPLICATIONS", "api")
            .env("INPUT_CONTAINERS", "worker");
        for (k, v) in &vars {
            cmd.env(k, v);
        }
        let output = cmd.output().unwrap();
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{vars:?}: {err}");
        assert!(err.contains(&format!("input `{input}`")), "{vars:?}: {err}");
        assert!(err.contains("hint:"), "{vars:?}: {err}");
    }
    assert_eq!(writes(&server).await, 0);
    assert!(
        !calls(&server)
            .await
            .iter()
            .any(|c| c.contains("deploymentStage")),
        "stages are read only once every entry resolved"
    );
}
