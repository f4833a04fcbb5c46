//! Fixtures shared by the integration tests: a wiremock Qovery, its canned answers, and the real
//! binary run against it with a scrubbed environment.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

pub const ENV: &str = "b6a6a1c4-2f0e-4a44-9f4b-6f3e9d2c7a10";
pub const ORG: &str = "3d5b5d1c-5a45-4b8e-9f0e-2f4f8c1a0b01";
pub const PROJECT: &str = "6a1f0f0e-8c2b-4d7e-a1b3-5c9d7e2f4a02";
pub const API: &str = "a1000000-0000-4000-8000-000000000001";
pub const WEB: &str = "a1000000-0000-4000-8000-000000000002";
pub const WORKER: &str = "c1000000-0000-4000-8000-000000000001";
pub const MIGRATE: &str = "b1000000-0000-4000-8000-000000000001";
pub const REPORT: &str = "b1000000-0000-4000-8000-000000000002";
pub const INGRESS: &str = "d1000000-0000-4000-8000-000000000001";
pub const CHARTS: &str = "d1000000-0000-4000-8000-000000000002";
pub const POSTGRES: &str = "e1000000-0000-4000-8000-000000000001";
pub const INFRA: &str = "f1000000-0000-4000-8000-000000000001";
/// Our deployment request, as the deploy POST returns it.
pub const OURS: &str = "11111111-1111-4111-8111-111111111111";
/// The previous deployment's request.
pub const PREVIOUS: &str = "99999999-9999-4999-8999-999999999999";
pub const SHA: &str = "3f8a1c2e9b7d4f6a0c5e8b1d2f4a6c8e0b2d4f6a";
/// Distinctive so that a leak anywhere is found by a plain substring search.
pub const TOKEN: &str = "qov_SECRET_test_token_5f0c1d9e";

pub fn services() -> Value {
    let git = json!({"provider": "GITHUB", "owner": "acme", "url": "https://github.com/acme/app.git", "name": "acme/app"});
    json!({"results": [
        {"id": API, "name": "api", "service_type": "APPLICATION", "git_repository": git},
        {"id": WEB, "name": "Web", "service_type": "APPLICATION", "git_repository": git},
        {"id": WORKER, "name": "worker", "service_type": "CONTAINER", "image_name": "acme/worker", "tag": "1.4.0"},
        {"id": MIGRATE, "name": "migrate", "service_type": "JOB", "job_type": "LIFECYCLE",
         "source": {"image": {"image_name": "acme/migrate", "tag": "1.4.0"}}},
        {"id": REPORT, "name": "report", "service_type": "JOB", "job_type": "CRON",
         "source": {"docker": {"git_repository": git, "dockerfile_path": "Dockerfile"}}},
        {"id": INGRESS, "name": "ingress-nginx", "service_type": "HELM",
         "source": {"repository": {"chart_name": "ingress-nginx", "chart_version": "4.11.1", "repository": {"id": ORG, "name": "r", "url": "https://x"}}}},
        {"id": CHARTS, "name": "charts", "service_type": "HELM", "source": {"git": {"git_repository": git}}},
        {"id": POSTGRES, "name": "postgres", "service_type": "DATABASE", "type": "POSTGRESQL", "mode": "CONTAINER"},
        {"id": INFRA, "name": "infra", "service_type": "TERRAFORM", "terraform_files_source": {"git": {"git_repository": git}}}
    ]})
}

/// `EnvironmentStatuses` where every service shows `service_state`.
pub fn statuses(
    env_state: &str,
    request: Option<&str>,
    execution: &str,
    service_state: &str,
) -> Value {
    let service = |id: &str| {
        json!({"id": id, "state": service_state, "service_deployment_status": "UP_TO_DATE",
               "status_details": {"action": "DEPLOY", "status": "ONGOING", "sub_action": "NONE"},
               "is_part_last_deployment": true, "deployment_request_id": request,
               "deployment_requests_count": 0, "execution_id": execution,
               "steps": {"total_duration_sec": 42, "total_computing_duration_sec": 40, "details": []}})
    };
    json!({
        "environment": env_status(env_state, request, execution),
        "applications": [service(API), service(WEB)],
        "containers": [service(WORKER)],
        "jobs": [service(MIGRATE), service(REPORT)],
        "helms": [service(INGRESS), service(CHARTS)],
        "databases": [service(POSTGRES)],
        "terraforms": [service(INFRA)]
    })
}

pub fn env_status(state: &str, request: Option<&str>, execution: &str) -> Value {
    json!({"id": ENV, "state": state, "last_deployment_state": state, "last_deployment_id": execution,
           "last_deployment_date": "2026-11-20T10:00:00Z", "deployment_status": "UP_TO_DATE",
           "deployment_request_id": request, "origin": "API", "triggered_by": "ci"})
}

/// The previous deployment, finished: what the environment shows before ours starts.
pub fn previous_deployed() -> Value {
    statuses("DEPLOYED", Some(PREVIOUS), &format!("{ENV}-41"), "DEPLOYED")
}

pub fn ours(state: &str, service_state: &str) -> Value {
    statuses(state, Some(OURS), &format!("{ENV}-42"), service_state)
}

/// Answers a sequence of responses, repeating the last one.
pub struct Sequence {
    items: Vec<ResponseTemplate>,
    next: AtomicUsize,
}

impl Sequence {
    pub fn of(items: Vec<ResponseTemplate>) -> Sequence {
        Sequence {
            items,
            next: AtomicUsize::new(0),
        }
    }

    pub fn json(bodies: Vec<Value>) -> Sequence {
        Sequence::of(
            bodies
                .into_iter()
                .map(|b| ResponseTemplate::new(200).set_body_json(b))
                .collect(),
        )
    }
}

impl Respond for Sequence {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let i = self
            .next
            .fetch_add(1, Ordering::SeqCst)
            .min(self.items.len() - 1);
        self.items[i].clone()
    }
}

/// A Qovery with the fixture environment, its services, and the given `/statuses` answers (the
/// first one is the baseline read before the deploy).
pub async fn qovery(statuses: Vec<Value>) -> MockServer {
    qovery_with(services(), statuses).await
}

/// [`qovery`] with another `GET /environment/{id}/services` answer.
pub async fn qovery_with(services: Value, statuses: Vec<Value>) -> MockServer {
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
    mount_polls(&server, statuses).await;
    server
}

/// `GET /environment/{id}/statuses` and `/status`, answering `statuses` in turn.
///
/// One poll a tick, through `/status` or `/statuses` (the tool reads the small status while
/// nothing changes): both answer from the same sequence, `/status` with its `environment`.
pub async fn mount_polls(server: &MockServer, statuses: Vec<Value>) {
    let polls = StatusPolls::new(statuses);
    Mock::given(method("GET"))
        .and(path(format!("/environment/{ENV}/statuses")))
        .respond_with(polls.clone())
        .mount(server)
        .await;
    // A test that mounts its own `/status` answers (priority 5) takes precedence.
    Mock::given(method("GET"))
        .and(path(format!("/environment/{ENV}/status")))
        .respond_with(StatusPolls {
            environment_only: true,
            ..polls
        })
        .with_priority(10)
        .mount(server)
        .await;
}

/// `EnvironmentStatuses` answers in turn, repeating the last, shared by `/statuses` and `/status`
/// (which answers each one's `environment`): each poll tick takes the next, whichever it reads. A
/// `/statuses` read right after a `/status` read (the same tick, within 300 ms) answers the same
/// entry: the environment does not move in between.
#[derive(Clone)]
pub struct StatusPolls {
    bodies: std::sync::Arc<Vec<Value>>,
    /// The entry the last read answered, when, and whether it was a `/status` read.
    last: std::sync::Arc<std::sync::Mutex<Option<(usize, std::time::Instant, bool)>>>,
    environment_only: bool,
}

impl StatusPolls {
    pub fn new(bodies: Vec<Value>) -> StatusPolls {
        StatusPolls {
            bodies: std::sync::Arc::new(bodies),
            last: std::sync::Arc::new(std::sync::Mutex::new(None)),
            environment_only: false,
        }
    }
}

impl Respond for StatusPolls {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let now = std::time::Instant::now();
        let mut last = self.last.lock().unwrap();
        let i = match *last {
            Some((i, at, true))
                if !self.environment_only
                    && now.duration_since(at) < std::time::Duration::from_millis(300) =>
            {
                i
            }
            Some((i, _, _)) => (i + 1).min(self.bodies.len() - 1),
            None => 0,
        };
        *last = Some((i, now, self.environment_only));
        let body = &self.bodies[i];
        ResponseTemplate::new(200).set_body_json(if self.environment_only {
            &body["environment"]
        } else {
            body
        })
    }
}

/// The polls a run made: `GET …/status` and `GET …/statuses`, in order, as `status`/`statuses`.
pub async fn polls(server: &MockServer) -> Vec<&'static str> {
    requests(server)
        .await
        .iter()
        .filter(|r| r.method.as_str() == "GET")
        .filter_map(|r| {
            let path = r.url.path();
            if path == format!("/environment/{ENV}/statuses") {
                Some("statuses")
            } else if path == format!("/environment/{ENV}/status") {
                Some("status")
            } else {
                None
            }
        })
        .collect()
}

/// The deploy POST, answering 202 with our request id.
pub async fn accept_deploy(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path(format!("/environment/{ENV}/service/deploy")))
        .respond_with(ResponseTemplate::new(202).set_body_json(env_status(
            "DEPLOYMENT_QUEUED",
            Some(OURS),
            &format!("{ENV}-41"),
        )))
        .mount(server)
        .await;
}

pub async fn requests(server: &MockServer) -> Vec<Request> {
    server.received_requests().await.unwrap_or_default()
}

pub async fn count(server: &MockServer, verb: &str, route: &str) -> usize {
    requests(server)
        .await
        .iter()
        .filter(|r| r.method.as_str() == verb && r.url.path() == route)
        .count()
}

/// Requests that could change something.
pub async fn writes(server: &MockServer) -> usize {
    requests(server)
        .await
        .iter()
        .filter(|r| r.method.as_str() != "GET")
        .count()
}

/// The environment every run starts from: only the inputs a test gives.
fn base_env(api_url: &str) -> Vec<(&'static str, String)> {
    vec![
        ("PATH", std::env::var("PATH").unwrap_or_default()),
        ("RUST_BACKTRACE", "0".into()),
        ("INPUT_API-TOKEN", TOKEN.into()),
        ("INPUT_ENVIRONMENT-ID", ENV.into()),
        ("INPUT_API-URL", api_url.into()),
        ("INPUT_POLL-INTERVAL", "1s".into()),
        ("INPUT_COMMIT-SHA", SHA.into()),
    ]
}

/// The binary with a scrubbed environment, for runs that are waited on.
pub fn command(api_url: &str) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::new(assert_cmd::cargo::cargo_bin!("qovery-deploy"));
    cmd.env_clear()
        .envs(base_env(api_url))
        .timeout(std::time::Duration::from_secs(60));
    cmd
}

/// The same, as a plain `Command`, for runs a test signals while they wait.
pub fn spawnable(api_url: &str) -> std::process::Command {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin!("qovery-deploy"));
    cmd.env_clear().envs(base_env(api_url));
    cmd
}

/// Runs the binary with its stdout and stderr both writing to one file, so that the file holds
/// the lines in the order they were written, as a CI log shows them. Returns the exit code and
/// the log.
pub fn run_merged(cmd: &mut std::process::Command, log: &std::path::Path) -> (Option<i32>, String) {
    let file = std::fs::File::create(log).unwrap();
    let status = cmd
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .status()
        .unwrap();
    (status.code(), std::fs::read_to_string(log).unwrap())
}

/// The run exited with `code`; on a mismatch the message shows everything it printed.
#[track_caller]
pub fn assert_exit(output: &std::process::Output, code: i32) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "{}{}",
        stdout(output),
        stderr(output)
    );
}

pub fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A fresh temporary directory for files a run writes.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("qovery-deploy-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Parses `$GITHUB_OUTPUT` (`name=value` and `name<<DELIM … DELIM`).
pub fn parse_github_output(text: &str) -> std::collections::BTreeMap<String, String> {
    let mut outputs = std::collections::BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some((name, delimiter)) = line.split_once("<<") {
            let value: Vec<&str> = lines.by_ref().take_while(|l| *l != delimiter).collect();
            outputs.insert(name.to_string(), value.join("\n"));
        } else if let Some((name, value)) = line.split_once('=') {
            outputs.insert(name.to_string(), value.to_string());
        }
    }
    outputs
}

/// A second request of ours (`deploy-job` on two jobs).
pub const SECOND: &str = "22222222-2222-4222-8222-222222222222";

/// A job's `Status`: its state, `status_details.status`, request and execution.
pub fn job_status(
    id: &str,
    state: &str,
    detail: &str,
    request: Option<&str>,
    execution: &str,
) -> Value {
    json!({"id": id, "state": state, "service_deployment_status": "UP_TO_DATE",
           "status_details": {"action": "DEPLOY", "status": detail, "sub_action": "NONE"},
           "is_part_last_deployment": true, "deployment_request_id": request,
           "deployment_requests_count": 0, "execution_id": execution})
}

/// `statuses` with these job statuses in place of the jobs' default ones.
pub fn with_jobs(mut statuses: Value, jobs: &[Value]) -> Value {
    if let Some(list) = statuses["jobs"].as_array_mut() {
        for job in jobs {
            if let Some(slot) = list.iter_mut().find(|s| s["id"] == job["id"]) {
                *slot = job.clone();
            }
        }
    }
    statuses
}

/// The 202 answer of a job deploy: the job's queued `Status`, carrying our `request`.
pub fn job_accepted(job: &str, request: &str) -> ResponseTemplate {
    ResponseTemplate::new(202).set_body_json(job_status(
        job,
        "DEPLOYMENT_QUEUED",
        "QUEUED",
        Some(request),
        &format!("{ENV}-41"),
    ))
}

/// `POST /job/{id}/{verb}` (`deploy` or `redeploy`), answering 202 with the job's queued `Status`.
pub async fn accept_job(server: &MockServer, job: &str, verb: &str, request: &str) {
    Mock::given(method("POST"))
        .and(path(format!("/job/{job}/{verb}")))
        .respond_with(job_accepted(job, request))
        .mount(server)
        .await;
}

/// Both cancel endpoints, accepting: the environment's (202, `CANCELING`) and our queued request's.
///
/// Once the environment's cancel was accepted, `GET /environment/{id}/status` and `/statuses`
/// answer our deployment `CANCELED` (over any other answer mounted for them): the cancel takes
/// effect.
pub async fn accept_cancels(server: &MockServer) {
    let cancelled = Flag::default();
    Mock::given(method("POST"))
        .and(path(format!("/environment/{ENV}/cancelDeployment")))
        .respond_with(Raise {
            flag: cancelled.clone(),
            answer: ResponseTemplate::new(202).set_body_json(env_status(
                "CANCELING",
                Some(OURS),
                &format!("{ENV}-42"),
            )),
        })
        .mount(server)
        .await;
    for (route, body) in [
        (
            "status",
            env_status("CANCELED", Some(OURS), &format!("{ENV}-42")),
        ),
        ("statuses", ours("CANCELED", "CANCELED")),
    ] {
        Mock::given(method("GET"))
            .and(path(format!("/environment/{ENV}/{route}")))
            .and(cancelled.clone())
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .with_priority(1)
            .mount(server)
            .await;
    }
    Mock::given(method("POST"))
        .and(path(format!("/deploymentQueue/{OURS}/cancelDeployment")))
        .respond_with(ResponseTemplate::new(202))
        .mount(server)
        .await;
}

/// A flag a responder raises, and a matcher that matches once it is raised.
#[derive(Clone, Default)]
pub struct Flag(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl wiremock::Match for Flag {
    fn matches(&self, _: &Request) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Answers `answer` and raises `flag`.
pub struct Raise {
    pub flag: Flag,
    pub answer: ResponseTemplate,
}

impl Respond for Raise {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        self.flag.0.store(true, Ordering::SeqCst);
        self.answer.clone()
    }
}

/// `GET /environment/{id}/deploymentQueue` listing our request as waiting.
pub async fn queue_holds_ours(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path(format!("/environment/{ENV}/deploymentQueue")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"results": [
            {"identifier": {"deployment_request_id": OURS, "environment_id": ENV},
             "auditing_data": {"triggered_by": "ci"}, "trigger_action": "DEPLOY", "stages": []}
        ]})))
        .mount(server)
        .await;
}

/// `GET /environment/deploymentStatus?deploymentRequestId=…`, answering these states in turn.
pub async fn request_states(server: &MockServer, request: &str, states: &[&str]) {
    let bodies = states
        .iter()
        .map(|s| json!({"deployment_request_id": request, "environment_id": ENV, "status": s}))
        .collect();
    Mock::given(method("GET"))
        .and(path("/environment/deploymentStatus"))
        .and(wiremock::matchers::query_param(
            "deploymentRequestId",
            request,
        ))
        .respond_with(Sequence::json(bodies))
        .mount(server)
        .await;
}

/// `GET /environment/{id}/status`, answering these statuses in turn.
pub async fn env_statuses(server: &MockServer, bodies: Vec<Value>) {
    Mock::given(method("GET"))
        .and(path(format!("/environment/{ENV}/status")))
        .respond_with(Sequence::json(bodies))
        .mount(server)
        .await;
}

/// The requests received, as `METHOD /path?query`, in order.
pub async fn calls(server: &MockServer) -> Vec<String> {
    requests(server)
        .await
        .iter()
        .map(|r| match r.url.query() {
            Some(query) => format!("{} {}?{query}", r.method, r.url.path()),
            None => format!("{} {}", r.method, r.url.path()),
        })
        .collect()
}

/// Runs the binary in the background, SIGTERMs it once `ready` holds, and returns its output; it
/// must exit within 5 s of the signal.
pub async fn sigterm_when(
    mut cmd: std::process::Command,
    server: &MockServer,
    ready: impl AsyncFn(&MockServer) -> bool,
) -> (std::process::ExitStatus, std::process::Output) {
    use std::time::{Duration, Instant};
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !ready(server).await {
        assert!(started.elapsed() < Duration::from_secs(20), "never ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let signalled = Instant::now();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            signalled.elapsed() < Duration::from_secs(5),
            "did not exit within 5s of SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    (exit, child.wait_with_output().unwrap())
}

/// The `$GITHUB_OUTPUT` of a run, parsed.
pub fn github_outputs(file: &std::path::Path) -> std::collections::BTreeMap<String, String> {
    parse_github_output(&std::fs::read_to_string(file).unwrap_or_default())
}

/// After a SIGTERM while waiting: exit 5, exactly one environment-level cancel, and the log says why.
pub async fn assert_cancelled_by_sigterm(
    server: &MockServer,
    exit: std::process::ExitStatus,
    output: &std::process::Output,
) {
    assert_eq!(exit.code(), Some(5), "{}{}", stdout(output), stderr(output));
    assert_eq!(
        count(
            server,
            "POST",
            &format!("/environment/{ENV}/cancelDeployment")
        )
        .await,
        1
    );
    assert!(stderr(output).contains("SIGTERM"), "{}", stderr(output));
}

/// A `deploymentHistoryV2` page with one execution, `{ENV}-42` (ours), listing each service as
/// `(id, state, status_details.status, commit)`.
pub fn history_of_ours(services: &[(&str, &str, &str, &str)]) -> Value {
    let services: Vec<Value> = services
        .iter()
        .map(|(id, state, detail, commit)| {
            json!({"identifier": {"service_id": id, "name": id, "service_type": "APPLICATION"},
                   "status": state,
                   "status_details": {"action": "DEPLOY", "status": detail, "sub_action": "NONE"},
                   "details": {"commit": {"git_commit_id": commit}}})
        })
        .collect();
    json!({"page": 1, "page_size": 5, "results": [
        {"identifier": {"execution_id": format!("{ENV}-42"), "environment_id": ENV},
         "status": "DEPLOYED", "trigger_action": "DEPLOY", "action_status": "SUCCESS",
         "stages": [{"name": "apps", "services": services}]}
    ]})
}

/// `GET /environment/{id}/deploymentHistoryV2`, answering `page`.
pub async fn mount_history(server: &MockServer, page: Value) {
    Mock::given(method("GET"))
        .and(path(format!("/environment/{ENV}/deploymentHistoryV2")))
        .respond_with(ResponseTemplate::new(200).set_body_json(page))
        .mount(server)
        .await;
}
