//! Issue 9, truth on a busy environment: our own execution followed to its end and what it
//! deployed proven from the deployment history. Against the bundled mock's busy scenarios
//! (`merged`, `moved-on`, `version-mismatch`, `job-immediate`, `cancel-slow`, `foreign-id`) and,
//! for answers the mock does not give, wiremock.

use std::time::Duration;

use qovery_mock::{MockConfig, MockServer, Scenario, ids};
use serde_json::{Value, json};

use crate::spec::spec;

async fn mock(scenario: Scenario, step_ms: u64) -> MockServer {
    MockServer::spawn(MockConfig {
        scenario,
        step: Duration::from_millis(step_ms),
    })
    .await
    .unwrap()
}

/// A plain HTTP client for the mock (the crate builds reqwest without a default crypto provider).
fn http() -> &'static reqwest::Client {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    CLIENT.get_or_init(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
        reqwest::Client::new()
    })
}

/// `GET` on the mock, retried through the `flaky` scenario's injected 503 and 429.
async fn get(server: &MockServer, path: &str) -> Value {
    for _ in 0..5 {
        let response = http()
            .get(format!("{}{path}", server.url()))
            .header("authorization", "Token t")
            .send()
            .await
            .unwrap();
        if response.status().is_success() {
            return response.json().await.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("GET {path} kept failing");
}

async fn post(server: &MockServer, path: &str, body: Value) -> reqwest::StatusCode {
    http()
        .post(format!("{}{path}", server.url()))
        .header("authorization", "Token t")
        .json(&body)
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn the_mock_serves_a_history_and_a_queue_valid_against_the_spec_in_every_scenario() {
    let mut scenarios = tokio::task::JoinSet::new();
    for scenario in Scenario::ALL {
        if scenario != Scenario::Unauthorized {
            scenarios.spawn(history_and_queue_are_valid(scenario));
        }
    }
    while let Some(done) = scenarios.join_next().await {
        done.unwrap();
    }
}

async fn history_and_queue_are_valid(scenario: Scenario) {
    let spec = spec();
    let history_schema = spec.schema("DeploymentHistoryEnvironmentPaginatedResponseListV2");
    let queue_schema = &json!({"type": "object", "properties": {"results": {"type": "array",
        "items": {"$ref": "#/components/schemas/QueuedDeploymentRequestWithStages"}}}});
    let server = mock(scenario, 30).await;
    let deploy = json!({
        "applications": [{"application_id": ids::API, "git_commit_id": "3f8a1c2e9b7d4f6a0c5e8b1d2f4a6c8e0b2d4f6a"}],
        "containers": [{"id": ids::WORKER, "image_tag": "1.5.0"}],
        "jobs": [{"id": ids::REPORT, "git_commit_id": "3f8a1c2e9b7d4f6a0c5e8b1d2f4a6c8e0b2d4f6a"}],
        "helms": [{"id": ids::INGRESS_NGINX, "chart_version": "4.11.2"}],
        "databases": [ids::POSTGRES],
        "terraforms": [{"id": ids::INFRA, "git_commit_id": "3f8a1c2e9b7d4f6a0c5e8b1d2f4a6c8e0b2d4f6a"}]
    });
    let env = ids::ENVIRONMENT;
    for _ in 0..5 {
        let status = post(
            &server,
            &format!("/environment/{env}/service/deploy"),
            deploy.clone(),
        )
        .await;
        if status.is_success() || scenario == Scenario::Busy {
            break;
        }
    }
    let _ = post(
        &server,
        &format!("/job/{}/deploy", ids::MIGRATE),
        json!({"image_tag": "1.5.0"}),
    )
    .await;
    // Queued, running and finished executions, at a few points in time.
    for _ in 0..4 {
        let history = get(
            &server,
            &format!("/environment/{env}/deploymentHistoryV2?pageSize=20"),
        )
        .await;
        let errors = spec.violations(history_schema, &history);
        assert!(errors.is_empty(), "{scenario}: {errors:#?}\n{history:#}");
        assert!(
            !history["results"].as_array().unwrap().is_empty(),
            "{scenario}"
        );
        let queue = get(&server, &format!("/environment/{env}/deploymentQueue")).await;
        let errors = spec.violations(queue_schema, &queue);
        assert!(errors.is_empty(), "{scenario}: {errors:#?}\n{queue:#}");
        tokio::time::sleep(Duration::from_millis(70)).await;
    }
    let page = get(
        &server,
        &format!("/environment/{env}/deploymentHistoryV2?pageSize=1"),
    )
    .await;
    assert_eq!(page["results"].as_array().unwrap().len(), 1, "{scenario}");
}

/// `command: deploy` of `api` (git) and `worker` (image) against the bundled mock, with no
/// `commit-sha` unless the test sets one.
fn deploy_api_and_worker(server: &MockServer) -> assert_cmd::Command {
    let mut cmd = crate::support::command(&server.url());
    cmd.env_remove("INPUT_COMMIT-SHA")
        .env("INPUT_ENVIRONMENT-ID", ids::ENVIRONMENT)
        .env("INPUT_APPLICATIONS", "api")
        .env("INPUT_CONTAINERS", "worker");
    cmd
}

/// The body of the one deploy `POST` the mock received.
fn deploy_body(server: &MockServer) -> Value {
    let posts: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/service/deploy"))
        .collect();
    assert_eq!(posts.len(), 1, "one deploy POST");
    posts[0].body.clone().unwrap()
}

const HEAD: &str = "0123456789abcdef0123456789abcdef01234567";
const MERGE: &str = "fedcba9876543210fedcba9876543210fedcba98";

/// Point 7: on a pull request the head commit is deployed, and the log says why.
#[tokio::test]
async fn a_pull_request_deploys_its_head_commit_not_the_merge_commit() {
    let dir = crate::support::temp_dir("busy-pr");
    let event = dir.join("event.json");
    std::fs::write(
        &event,
        json!({"action": "synchronize", "number": 7, "pull_request": {"head": {"sha": HEAD, "ref": "feature"}, "base": {"sha": MERGE}}}).to_string(),
    )
    .unwrap();
    for event_name in ["pull_request", "pull_request_target"] {
        let server = mock(Scenario::Happy, 100).await;
        let output = deploy_api_and_worker(&server)
            .env("GITHUB_SHA", MERGE)
            .env("GITHUB_EVENT_NAME", event_name)
            .env("GITHUB_EVENT_PATH", &event)
            .output()
            .unwrap();
        crate::support::assert_exit(&output, 0);
        let body = deploy_body(&server);
        assert_eq!(body["applications"][0]["git_commit_id"], HEAD);
        assert_eq!(body["containers"][0]["image_tag"], HEAD);
        let out = crate::support::stdout(&output);
        assert!(
            out.contains(&format!(
                "Commit {HEAD}: the pull request's head commit: `pull_request.head.sha` of the {event_name} event; GITHUB_SHA {MERGE} is not the commit that was built"
            )),
            "{out}"
        );
    }
    // `commit-sha` still wins.
    let server = mock(Scenario::Happy, 100).await;
    let output = deploy_api_and_worker(&server)
        .env("GITHUB_SHA", MERGE)
        .env("GITHUB_EVENT_NAME", "pull_request")
        .env("GITHUB_EVENT_PATH", &event)
        .env("INPUT_COMMIT-SHA", "abcdef1")
        .output()
        .unwrap();
    crate::support::assert_exit(&output, 0);
    assert_eq!(
        deploy_body(&server)["applications"][0]["git_commit_id"],
        "abcdef1"
    );
    assert!(crate::support::stdout(&output).contains("Commit abcdef1: the `commit-sha` input"));
}

/// Point 7 on GitLab: a merged-results pipeline deploys the source branch head.
#[tokio::test]
async fn a_gitlab_merged_results_pipeline_deploys_the_source_branch_head() {
    let server = mock(Scenario::Happy, 100).await;
    let dir = crate::support::temp_dir("busy-mr");
    let output = deploy_api_and_worker(&server)
        .current_dir(&dir)
        .env("GITLAB_CI", "true")
        .env("CI_COMMIT_SHA", MERGE)
        .env("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA", HEAD)
        .output()
        .unwrap();
    crate::support::assert_exit(&output, 0);
    assert_eq!(
        deploy_body(&server)["applications"][0]["git_commit_id"],
        HEAD
    );
    let out = crate::support::stdout(&output);
    assert!(
        out.contains(&format!("Commit {HEAD}: the merge request's source branch head: CI_MERGE_REQUEST_SOURCE_BRANCH_SHA; CI_COMMIT_SHA {MERGE} is the merged result")),
        "{out}"
    );
}

/// Point 8: names match case-insensitively in Unicode too; a name that a list cannot spell gets a
/// hint to list the service by id, before anything is sent.
#[tokio::test]
async fn unicode_names_match_and_unlistable_names_get_a_hint() {
    use crate::support::*;

    // The statuses fixture knows these ids.
    const CAFE: &str = API;
    const COMMA: &str = WEB;
    let server = qovery_with(
        json!({"results": [
            {"id": CAFE, "name": "Café", "service_type": "APPLICATION"},
            {"id": COMMA, "name": "api,eu", "service_type": "APPLICATION"}
        ]}),
        vec![previous_deployed(), ours("DEPLOYED", "DEPLOYED")],
    )
    .await;
    accept_deploy(&server).await;

    let output = command(&server.uri())
        .env("INPUT_APPLICATIONS", "CAFÉ")
        .output()
        .unwrap();
    assert_exit(&output, 0);
    let posts: Vec<_> = requests(&server)
        .await
        .into_iter()
        .filter(|r| r.method.as_str() == "POST")
        .collect();
    assert_eq!(posts.len(), 1);
    let body: Value = serde_json::from_slice(&posts[0].body).unwrap();
    assert_eq!(body["applications"][0]["application_id"], CAFE);

    let server = qovery_with(
        json!({"results": [{"id": COMMA, "name": "api,eu", "service_type": "APPLICATION"}]}),
        vec![previous_deployed()],
    )
    .await;
    let output = command(&server.uri())
        .env("INPUT_APPLICATIONS", "api,eu")
        .output()
        .unwrap();
    assert_exit(&output, 2);
    assert_eq!(writes(&server).await, 0);
    let err = stderr(&output);
    assert!(
        err.contains(&format!("`api,eu` contains `,`, which cannot be written in a list (`,` separates entries, `=` starts a version): list it by id, `{COMMA}`")),
        "{err}"
    );
}

/// The outputs a run wrote to `$GITHUB_OUTPUT`, with the run's output.
fn run_with_outputs(
    mut cmd: assert_cmd::Command,
    name: &str,
) -> (
    std::process::Output,
    std::collections::BTreeMap<String, String>,
) {
    let dir = crate::support::temp_dir(name);
    let file = dir.join("github_output");
    let output = cmd.env("GITHUB_OUTPUT", &file).output().unwrap();
    (output, crate::support::github_outputs(&file))
}

/// How many requests the mock received for `METHOD path` (path without the query).
fn count(server: &MockServer, method: &str, path: &str) -> usize {
    server
        .requests()
        .iter()
        .filter(|r| r.method == method && r.path == path)
        .count()
}

/// Point 5: a job deploy answered with a `null` request id started at once; it is followed by the
/// answer's execution id to its end.
#[tokio::test]
async fn a_job_that_starts_at_once_is_followed_by_its_execution_id() {
    let server = mock(Scenario::JobImmediate, 300).await;
    let mut cmd = crate::support::command(&server.url());
    cmd.env("INPUT_ENVIRONMENT-ID", ids::ENVIRONMENT)
        .env("INPUT_COMMAND", "deploy-job")
        .env("INPUT_JOBS", "migrate");
    let (output, outputs) = run_with_outputs(cmd, "busy-job-immediate");
    crate::support::assert_exit(&output, 0);
    let execution = format!("{}-42", ids::ENVIRONMENT);
    let out = crate::support::stdout(&output);
    assert!(
        out.contains(&format!("migrate: deploying now, execution {execution} (EXECUTING; Qovery answered without a deployment request id: the job was not queued)")),
        "{out}"
    );
    assert_eq!(outputs["result"], "success");
    assert_eq!(outputs["execution-id"], execution);
    assert_eq!(outputs["deployment-request-id"], "");
    assert_eq!(outputs["state"], "DEPLOYED");
    assert_eq!(
        count(&server, "POST", &format!("/job/{}/deploy", ids::MIGRATE)),
        1
    );
    // With no request id there is nothing to ask the request-status endpoint about.
    assert_eq!(count(&server, "GET", "/environment/deploymentStatus"), 0);
}
