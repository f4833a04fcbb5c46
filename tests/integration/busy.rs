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

/// A request as a short label: `status`, `statuses`, `history`, `queue`, `request-status`,
/// `cancel`, `cancel-queued`, or `METHOD path`.
fn label(request: &qovery_mock::RecordedRequest) -> String {
    let env = format!("/environment/{}", ids::ENVIRONMENT);
    let path = request.path.as_str();
    let rest = path.strip_prefix(&env).unwrap_or(path);
    match (request.method.as_str(), rest) {
        ("GET", "/status") => "status".into(),
        ("GET", "/statuses") => "statuses".into(),
        ("GET", "/deploymentHistoryV2") => "history".into(),
        ("GET", "/deploymentQueue") => "queue".into(),
        ("GET", "/environment/deploymentStatus") => "request-status".into(),
        ("POST", "/cancelDeployment") => "cancel".into(),
        ("POST", p) if p.starts_with("/deploymentQueue/") => "cancel-queued".into(),
        (method, _) => format!("{method} {path}"),
    }
}

/// Whether a request is one of the reads after the end (`GET …/link` after a success, `GET …/logs`
/// after a failure): not part of any poll tick, and counted apart.
fn is_extra(request: &qovery_mock::RecordedRequest) -> bool {
    let env = format!("/environment/{}", ids::ENVIRONMENT);
    request.method == "GET"
        && matches!(
            request.path.strip_prefix(&env),
            Some("/link") | Some("/logs")
        )
}

/// The requests after the deploy `POST`, grouped into poll ticks (requests less than 400 ms
/// apart belong to the same tick; the poll interval is 1 s). The reads after the end
/// ([`is_extra`]) are left out.
fn ticks(server: &MockServer) -> Vec<Vec<String>> {
    let requests = server.requests();
    let after = requests
        .iter()
        .position(|r| {
            r.method == "POST"
                && (r.path.ends_with("/service/deploy") || r.path.starts_with("/job/"))
        })
        .expect("a deploy POST");
    let mut ticks: Vec<Vec<String>> = Vec::new();
    let mut previous: Option<Duration> = None;
    // Only the tool's requests (the test's own carry another token).
    let tool = format!("Token {}", crate::support::TOKEN);
    for request in requests[after + 1..]
        .iter()
        .filter(|r| r.authorization.as_deref() == Some(tool.as_str()) && !is_extra(r))
    {
        let new_tick =
            previous.is_none_or(|p| request.elapsed.saturating_sub(p) > Duration::from_millis(400));
        if new_tick {
            ticks.push(Vec::new());
        }
        ticks.last_mut().unwrap().push(label(request));
        previous = Some(request.elapsed);
    }
    ticks
}

/// Every tick but `allowed` ones (by index from the end: 1 is the last) made exactly one request.
#[track_caller]
fn one_request_per_tick_but(ticks: &[Vec<String>], allowed_from_end: &[usize]) {
    for (i, tick) in ticks.iter().enumerate() {
        if allowed_from_end.contains(&(ticks.len() - i)) {
            continue;
        }
        assert_eq!(
            tick.len(),
            1,
            "tick {i} made {tick:?}; all ticks: {ticks:?}"
        );
    }
}

/// `deploy` of api (git), worker (image) and ingress-nginx (chart) against the bundled mock.
fn deploy_three(server: &MockServer) -> assert_cmd::Command {
    let mut cmd = crate::support::command(&server.url());
    cmd.env("INPUT_ENVIRONMENT-ID", ids::ENVIRONMENT)
        .env("INPUT_APPLICATIONS", "api")
        .env("INPUT_CONTAINERS", "worker=1.5.0")
        .env("INPUT_HELMS", "ingress-nginx=4.11.2");
    cmd
}

fn services_output(outputs: &std::collections::BTreeMap<String, String>) -> Vec<Value> {
    serde_json::from_str(&outputs["services"]).unwrap()
}

/// Point 1: the history proves what was deployed; the outputs carry the deployed versions; one
/// history read; one request per tick but the tick that judges.
#[tokio::test]
async fn the_outcome_is_proven_from_the_history_with_one_read() {
    let server = mock(Scenario::Happy, 600).await;
    let (output, outputs) = run_with_outputs(deploy_three(&server), "busy-proof");
    crate::support::assert_exit(&output, 0);
    let out = crate::support::stdout(&output);
    let execution = format!("{}-42", ids::ENVIRONMENT);
    assert!(
        out.contains(&format!("proof: every listed service finished at the version asked, per the record of execution {execution} in the deployment history")),
        "{out}"
    );
    let services = services_output(&outputs);
    let versions: Vec<&str> = services
        .iter()
        .map(|s| s["version"].as_str().unwrap())
        .collect();
    assert_eq!(versions, [crate::support::SHA, "1.5.0", "4.11.2"]);
    let ticks = ticks(&server);
    // The tick that sees the end reads every service's statuses (unless it just did) and the
    // history, once.
    let last = ticks.last().unwrap();
    assert!(
        last == &["status", "statuses", "history"] || last == &["statuses", "history"],
        "{ticks:?}"
    );
    one_request_per_tick_but(&ticks, &[1]);
    assert_eq!(
        count(
            &server,
            "GET",
            &format!("/environment/{}/deploymentHistoryV2", ids::ENVIRONMENT)
        ),
        1
    );
}

/// Point 1: the history shows another version than the one asked: exit 1, naming the service, the
/// asked and the deployed version; the outputs show the deployed one.
#[tokio::test]
async fn another_version_in_the_history_fails_naming_both_versions() {
    let server = mock(Scenario::VersionMismatch, 300).await;
    let (output, outputs) = run_with_outputs(deploy_three(&server), "busy-mismatch");
    crate::support::assert_exit(&output, 1);
    let previous = "7d2f9a1b3c4e5f60718293a4b5c6d7e8f9012345";
    let err = crate::support::stderr(&output);
    let expected = format!(
        "the deployment history contradicts the statuses: api deployed {previous}, not the {} asked for (execution {}-42)",
        crate::support::SHA,
        ids::ENVIRONMENT
    );
    assert!(err.contains(&expected), "{err}");
    assert_eq!(outputs["result"], "failure");
    assert_eq!(services_output(&outputs)[0]["version"], previous);
    assert_eq!(services_output(&outputs)[0]["state"], "DEPLOYED");
}

/// Point 1: the history cannot be read: one line says so, and the statuses' judgement stands.
#[tokio::test]
async fn an_unreadable_history_is_said_in_one_line_and_the_statuses_judge() {
    use qovery_mock::{Endpoint, Fault};
    let server = MockServer::builder()
        .scenario(Scenario::Happy)
        .step(Duration::from_millis(300))
        .fault(Fault::on(Endpoint::route("GET", "/environment/*/deploymentHistoryV2")).status(503))
        .spawn()
        .await
        .unwrap();
    let (output, outputs) = run_with_outputs(deploy_three(&server), "busy-no-history");
    crate::support::assert_exit(&output, 0);
    assert_eq!(outputs["result"], "success");
    let all = format!(
        "{}{}",
        crate::support::stdout(&output),
        crate::support::stderr(&output)
    );
    assert_eq!(
        all.matches("what was deployed could not be proven: the deployment history could not be read; judged from the services' statuses alone").count(),
        1,
        "{all}"
    );
    // The versions asked, since none were proven.
    assert_eq!(services_output(&outputs)[1]["version"], "1.5.0");
}

/// Point 2: ours ends and another deployment starts between two polls: ours is judged from its
/// own history entry, not from the newer execution's statuses (where ours shows
/// `is_part_last_deployment: false`).
#[tokio::test]
async fn ours_is_judged_by_its_own_execution_when_the_environment_moved_on() {
    let server = mock(Scenario::MovedOn, 300).await;
    let (output, outputs) = run_with_outputs(deploy_three(&server), "busy-moved-on");
    crate::support::assert_exit(&output, 0);
    let out = crate::support::stdout(&output);
    let ours = format!("{}-42", ids::ENVIRONMENT);
    assert!(
        out.contains(&format!("the environment moved on to execution {}-43 before ours ({ours}) was judged: ours is judged from its record in the deployment history", ids::ENVIRONMENT)),
        "{out}"
    );
    assert_eq!(outputs["result"], "success");
    assert_eq!(outputs["execution-id"], ours);
    assert_eq!(outputs["state"], "DEPLOYED");
    let ticks = ticks(&server);
    assert!(
        ticks.iter().flatten().any(|r| r == "request-status"),
        "{ticks:?}"
    );
    one_request_per_tick_but(&ticks, &[1]);
}

/// The ticks that made more than one request: each must be a change that prompted a look for ours
/// in the queue, or the last.
#[track_caller]
fn extra_requests_only_on_changes(ticks: &[Vec<String>]) {
    for (i, tick) in ticks.iter().enumerate() {
        let last = i + 1 == ticks.len();
        if tick.len() > 1 && !last {
            assert!(
                ["status", "statuses"].contains(&tick[0].as_str()),
                "{ticks:?}"
            );
            assert_eq!(tick[1], "queue", "tick {i}: {ticks:?}");
        }
    }
}

/// Point 3: ours was merged into a queued request of the same user; it never holds the
/// environment and never appears in the queue. Found from the history when the holder changes,
/// followed to its end, and said in the log.
#[tokio::test]
async fn a_merged_request_is_followed_in_the_execution_that_carried_it() {
    let server = mock(Scenario::Merged, 300).await;
    let (output, outputs) = run_with_outputs(deploy_three(&server), "busy-merged");
    crate::support::assert_exit(&output, 0);
    let out = crate::support::stdout(&output);
    let carried = format!("{}-43", ids::ENVIRONMENT);
    assert!(
        out.contains(&format!("is not in the queue and never held the environment: Qovery merged it into execution {carried} of deployment request {} (the first execution after ours that carries every listed service); following that one", ids::SAME_USER_DEPLOYMENT_REQUEST)),
        "{out}"
    );
    assert_eq!(outputs["result"], "success");
    assert_eq!(outputs["execution-id"], carried);
    // The deployment request id is still the one Qovery gave us.
    assert_ne!(
        outputs["deployment-request-id"],
        ids::SAME_USER_DEPLOYMENT_REQUEST
    );
    assert!(out.contains(&format!("proof: every listed service finished at the version asked, per the record of execution {carried}")), "{out}");
    let ticks = ticks(&server);
    extra_requests_only_on_changes(&ticks);
    // No cancel, no timeout: well within the budget.
    assert_eq!(
        count(
            &server,
            "POST",
            &format!("/environment/{}/cancelDeployment", ids::ENVIRONMENT)
        ),
        0
    );
}

/// Point 3: ours left the queue with the request it was merged into (cancelled from the console),
/// and nothing carries it: a clear failure (exit 1), not a timeout.
#[tokio::test]
async fn a_request_that_vanished_fails_clearly_instead_of_timing_out() {
    let server = mock(Scenario::Merged, 300).await;
    let mut cmd = crate::support::spawnable(&server.url());
    cmd.env("INPUT_ENVIRONMENT-ID", ids::ENVIRONMENT)
        .env("INPUT_APPLICATIONS", "api")
        .env("INPUT_TIMEOUT", "40s")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    let started = std::time::Instant::now();
    while !server.requests().iter().any(|r| r.method == "POST") {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "never deployed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Someone cancels the queued request ours was merged into.
    let status = post(
        &server,
        &format!(
            "/deploymentQueue/{}/cancelDeployment",
            ids::SAME_USER_DEPLOYMENT_REQUEST
        ),
        json!({}),
    )
    .await;
    assert!(status.is_success(), "{status}");
    let output = child.wait_with_output().unwrap();
    crate::support::assert_exit(&output, 1);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    let err = crate::support::stderr(&output);
    assert!(
        err.contains("left the queue without ever holding the environment, nothing else is queued or running, and no execution since ours carries every listed service: it will not run"),
        "{err}"
    );
    extra_requests_only_on_changes(&ticks(&server));
}

/// Point 4: the deploy answer names the request that held the busy environment: ours is looked
/// for in the queue (once) before anything is followed, and the outputs carry ours.
#[tokio::test]
async fn a_deploy_answer_naming_the_busy_holder_is_checked_against_the_queue() {
    let server = mock(Scenario::ForeignId, 300).await;
    let (output, outputs) = run_with_outputs(deploy_three(&server), "busy-foreign-id");
    crate::support::assert_exit(&output, 0);
    let out = crate::support::stdout(&output);
    let ours = outputs["deployment-request-id"].clone();
    assert_ne!(ours, ids::OTHER_DEPLOYMENT_REQUEST);
    assert!(
        out.contains(&format!("Qovery's answer named deployment request {}, which held the environment before ours was sent; ours is {ours}, found in the queue carrying every listed service", ids::OTHER_DEPLOYMENT_REQUEST)),
        "{out}"
    );
    assert_eq!(outputs["execution-id"], format!("{}-43", ids::ENVIRONMENT));
    assert_eq!(outputs["result"], "success");
    // The queue was read right after the POST, before the first tick.
    let labels: Vec<String> = server.requests().iter().map(label).collect();
    let post = labels
        .iter()
        .position(|l| l.ends_with("/service/deploy"))
        .unwrap();
    assert_eq!(labels[post + 1], "queue", "{labels:?}");
    extra_requests_only_on_changes(&ticks(&server)[1..]);
}

/// Point 3 on an idle environment, where no change comes to prompt a look: after 3 idle ticks the
/// tick's one request is the queue instead of the status. Ours was cancelled from the queue: exit 5,
/// saying so, long before the timeout.
#[tokio::test]
async fn on_an_idle_environment_a_probe_replaces_the_tick_and_finds_ours_cancelled() {
    let server = mock(Scenario::Happy, 20_000).await;
    let mut cmd = crate::support::spawnable(&server.url());
    cmd.env("INPUT_ENVIRONMENT-ID", ids::ENVIRONMENT)
        .env("INPUT_APPLICATIONS", "api")
        .env("INPUT_TIMEOUT", "40s")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    let started = std::time::Instant::now();
    let ours = loop {
        let queue = get(
            &server,
            &format!("/environment/{}/deploymentQueue", ids::ENVIRONMENT),
        )
        .await;
        if let Some(id) = queue["results"][0]["identifier"]["deployment_request_id"].as_str() {
            break id.to_string();
        }
        assert!(started.elapsed() < Duration::from_secs(20), "never queued");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let status = post(
        &server,
        &format!("/deploymentQueue/{ours}/cancelDeployment"),
        json!({}),
    )
    .await;
    assert!(status.is_success(), "{status}");
    let output = child.wait_with_output().unwrap();
    crate::support::assert_exit(&output, 5);
    let err = crate::support::stderr(&output);
    assert!(
        err.contains(&format!(
            "deployment request {ours} was cancelled before it ran (CANCELED)"
        )),
        "{err}"
    );
    let ticks = ticks(&server);
    // Three idle ticks, then the probe: the queue instead of the status.
    assert_eq!(
        ticks[..3],
        [["status"], ["status"], ["status"]],
        "{ticks:?}"
    );
    assert_eq!(ticks[3][0], "queue", "{ticks:?}");
}

/// Point 6: after the timeout's cancel, ours is followed through `CANCELING` to `CANCELED` within
/// the cancel's budget, and the log says it was cancelled.
#[tokio::test]
async fn a_slow_cancel_is_followed_to_canceled() {
    let server = mock(Scenario::CancelSlow, 500).await;
    let mut cmd = deploy_three(&server);
    cmd.env("INPUT_TIMEOUT", "3s");
    let (output, outputs) = run_with_outputs(cmd, "busy-cancel-slow");
    crate::support::assert_exit(&output, 3);
    assert_eq!(outputs["result"], "timeout");
    let out = crate::support::stdout(&output);
    let ours = &outputs["deployment-request-id"];
    assert!(
        out.contains(&format!(
            "cancel: deployment request {ours} cancelled: CANCELED "
        )),
        "{out}"
    );
    // After the cancel: one read of the statuses a second until CANCELED (2 s of CANCELING);
    // then, apart, the one read of the deployment log that explains a timeout.
    let requests = server.requests();
    assert_eq!(requests.iter().filter(|r| is_extra(r)).count(), 1);
    let labels: Vec<String> = requests
        .iter()
        .filter(|r| !is_extra(r))
        .map(label)
        .collect();
    let cancel = labels.iter().position(|l| l == "cancel").expect("a cancel");
    let after = &labels[cancel + 1..];
    assert!(after.iter().all(|l| l == "statuses"), "{labels:?}");
    assert!((2..=4).contains(&after.len()), "{labels:?}");
    assert_eq!(labels.iter().filter(|l| *l == "cancel").count(), 1);
}

/// Point 6: after a signal the grace is short: a cancel still `CANCELING` when it ends is reported
/// as requested but not confirmed, and the run exits 5 well before the runner's kill.
#[tokio::test]
async fn a_cancel_not_confirmed_within_the_grace_is_said_so() {
    let server = mock(Scenario::CancelSlow, 2_500).await;
    let mut cmd = crate::support::spawnable(&server.url());
    cmd.env("INPUT_ENVIRONMENT-ID", ids::ENVIRONMENT)
        .env("INPUT_APPLICATIONS", "api")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let started = std::time::Instant::now();
    // Wait until ours runs (picked up one step after the POST).
    loop {
        let env = get(
            &server,
            &format!("/environment/{}/status", ids::ENVIRONMENT),
        )
        .await;
        if env["state"] == "BUILDING" || env["state"] == "DEPLOYING" {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "never ran");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let signalled = std::time::Instant::now();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            signalled.elapsed() < Duration::from_secs(6),
            "no exit within 6 s of SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let output = child.wait_with_output().unwrap();
    assert_eq!(exit.code(), Some(5), "{}", crate::support::stderr(&output));
    let all = format!(
        "{}{}",
        crate::support::stdout(&output),
        crate::support::stderr(&output)
    );
    assert!(
        all.contains("was requested and accepted, but not confirmed: it was still CANCELING"),
        "{all}"
    );
    assert_eq!(
        server
            .requests()
            .iter()
            .filter(|r| label(r) == "cancel")
            .count(),
        1
    );
}
