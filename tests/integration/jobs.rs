//! `command: deploy-job` and `redeploy-job`: the exact requests, each job's own request followed
//! (never its previous run), the outcomes, the cancel of our requests only, and bad input.

use serde_json::{Value, json};
use wiremock::matchers::{body_json, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::spec::assert_conforms;
use crate::support::*;

const EXEC_BEFORE: &str = "-41";
const EXEC_OURS: &str = "-42";

fn exec(suffix: &str) -> String {
    format!("{ENV}{suffix}")
}

/// The environment before: every service (jobs included) shows the previous deployment.
fn before() -> Value {
    previous_deployed()
}

/// The environment running our request, with `job` showing `state`/`detail` for it.
fn job_in_ours(job: &str, env_state: &str, state: &str, detail: &str) -> Value {
    with_jobs(
        ours(env_state, "DEPLOYED"),
        &[job_status(job, state, detail, Some(OURS), &exec(EXEC_OURS))],
    )
}

/// The job's own request ran: queued, executing, done.
fn happy_run(job: &str, end: &str) -> Vec<Value> {
    vec![
        before(),
        job_in_ours(job, "DEPLOYING", "EXECUTING", "EXECUTING"),
        job_in_ours(job, "DEPLOYED", end, "SUCCESS"),
    ]
}

fn post_paths(requests: &[String]) -> Vec<&String> {
    requests.iter().filter(|r| !r.starts_with("GET")).collect()
}

#[tokio::test]
async fn deploy_job_on_an_image_job_sends_only_image_tag() {
    let server = qovery(happy_run(MIGRATE, "DEPLOYED")).await;
    Mock::given(method("POST"))
        .and(path(format!("/job/{MIGRATE}/deploy")))
        .and(body_json(json!({"image_tag": "2.0.0"})))
        .respond_with(job_accepted(MIGRATE, OURS))
        .expect(1)
        .mount(&server)
        .await;
    let dir = temp_dir("job-image");
    let output = command(&server.uri())
        .env("INPUT_COMMAND", "deploy-job")
        .env("INPUT_JOBS", "migrate")
        .env("INPUT_IMAGE-TAG", "2.0.0")
        .env("GITHUB_OUTPUT", dir.join("out"))
        .output()
        .unwrap();
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}{}", stderr(&output));
    let sent = calls(&server).await;
    assert_eq!(
        sent,
        [
            format!("GET /environment/{ENV}"),
            format!("GET /environment/{ENV}/services"),
            format!("GET /environment/{ENV}/statuses"),
            format!("POST /job/{MIGRATE}/deploy"),
            // The first tick reads the jobs' statuses; then the small status, and the statuses
            // again on the change.
            format!("GET /environment/{ENV}/statuses"),
            format!("GET /environment/{ENV}/status"),
            format!("GET /environment/{ENV}/statuses"),
        ]
    );
    let post = &requests(&server).await[3];
    assert_eq!(
        post.headers.get("content-type").unwrap(),
        "application/json"
    );
    assert!(
        out.contains("migrate: deployment request 11111111-1111-4111-8111-111111111111 accepted"),
        "{out}"
    );
    assert!(out.contains("migrate: DEPLOYED -> EXECUTING"), "{out}");
    assert!(out.contains("migrate: EXECUTING -> DEPLOYED"), "{out}");
    let outputs = github_outputs(&dir.join("out"));
    assert_eq!(outputs["result"], "success");
    assert_eq!(outputs["state"], "DEPLOYED");
    assert_eq!(outputs["deployment-request-id"], OURS);
    assert_eq!(outputs["execution-id"], exec(EXEC_OURS));
    assert_eq!(
        outputs["console-url"],
        format!(
            "https://console.qovery.com/organization/{ORG}/project/{PROJECT}/environment/{ENV}/service/{MIGRATE}/deployments/logs/{ENV}-42"
        )
    );
    let services: Value = serde_json::from_str(&outputs["services"]).unwrap();
    assert_eq!(
        services,
        json!([{"id": MIGRATE, "name": "migrate", "type": "JOB", "state": "DEPLOYED",
                "version": "2.0.0", "deployment_request_id": OURS}])
    );
    assert_conforms(&server).await;
}

#[tokio::test]
async fn deploy_job_on_a_git_job_sends_only_git_commit_id() {
    let server = qovery(happy_run(REPORT, "DEPLOYED")).await;
    Mock::given(method("POST"))
        .and(path(format!("/job/{REPORT}/deploy")))
        .and(body_json(json!({"git_commit_id": SHA})))
        .respond_with(job_accepted(REPORT, OURS))
        .expect(1)
        .mount(&server)
        .await;
    let output = command(&server.uri())
        .env("INPUT_COMMAND", "deploy-job")
        .env("INPUT_JOBS", "report")
        .env("INPUT_IMAGE-TAG", "2.0.0")
        .output()
        .unwrap();
    assert_exit(&output, 0);
    assert_eq!(writes(&server).await, 1);
    assert_conforms(&server).await;
}

#[tokio::test]
async fn job_event_stop_is_sent_as_force_event_stop_and_stopped_is_success() {
    let server = qovery(happy_run(MIGRATE, "STOPPED")).await;
    Mock::given(method("POST"))
        .and(path(format!("/job/{MIGRATE}/deploy")))
        .and(query_param("forceEvent", "STOP"))
        .and(body_json(json!({"image_tag": SHA})))
        .respond_with(job_accepted(MIGRATE, OURS))
        .expect(1)
        .mount(&server)
        .await;
    let output = command(&server.uri())
        .env("INPUT_COMMAND", "deploy-job")
        .env("INPUT_JOBS", "migrate")
        .env("INPUT_JOB-EVENT", "stop")
        .output()
        .unwrap();
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}{}", stderr(&output));
    assert!(
        calls(&server)
            .await
            .contains(&format!("POST /job/{MIGRATE}/deploy?forceEvent=STOP")),
        "{:?}",
        calls(&server).await
    );
    assert!(out.contains("event STOP"), "{out}");
    assert!(out.contains("migrate: EXECUTING -> STOPPED"), "{out}");
    assert_conforms(&server).await;
}

#[tokio::test]
async fn redeploy_job_sends_no_body_and_the_force_event() {
    let server = qovery(happy_run(REPORT, "RESTARTED")).await;
    accept_job(&server, REPORT, "redeploy", OURS).await;
    let output = command(&server.uri())
        .env("INPUT_COMMAND", "redeploy-job")
        .env_remove("INPUT_COMMIT-SHA")
        .env("INPUT_JOBS", REPORT)
        .env("INPUT_JOB-EVENT", "CRON")
        .output()
        .unwrap();
    assert_exit(&output, 0);
    let all = requests(&server).await;
    let posts: Vec<_> = all.iter().filter(|r| r.method.as_str() == "POST").collect();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].url.path(), format!("/job/{REPORT}/redeploy"));
    assert_eq!(posts[0].url.query(), Some("forceEvent=CRON"));
    assert!(posts[0].body.is_empty(), "a redeploy has no body");
    assert!(posts[0].headers.get("content-type").is_none());
    assert_conforms(&server).await;
}

#[tokio::test]
async fn a_jobs_previous_deployed_and_success_are_never_taken_for_ours() {
    // The job's status names our request as soon as it is queued, while still showing its previous
    // run's DEPLOYED / SUCCESS and execution: only the request's own status can tell.
    let stale = with_jobs(
        before(),
        &[job_status(
            MIGRATE,
            "DEPLOYED",
            "SUCCESS",
            Some(OURS),
            &exec(EXEC_BEFORE),
        )],
    );
    let server = qovery(vec![
        before(),
        stale.clone(),
        stale,
        job_in_ours(MIGRATE, "DEPLOYING", "EXECUTING", "EXECUTING"),
        job_in_ours(MIGRATE, "DEPLOYED", "DEPLOYED", "SUCCESS"),
    ])
    .await;
    accept_job(&server, MIGRATE, "deploy", OURS).await;
    request_states(&server, OURS, &["QUEUED"]).await;
    let output = command(&server.uri())
        .env("INPUT_COMMAND", "deploy-job")
        .env("INPUT_JOBS", "migrate")
        .output()
        .unwrap();
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}{}", stderr(&output));
    // The stale polls change nothing in the environment's status: one request each, and the
    // job's own status is read again only when it changes.
    assert_eq!(
        polls(&server).await,
        [
            "statuses", "statuses", "status", "status", "statuses", "status", "statuses"
        ],
        "the stale DEPLOYED was accepted early: {out}"
    );
    assert_eq!(
        count(&server, "GET", "/environment/deploymentStatus").await,
        1,
        "one confirmation, on the first tick; none on the stale polls that changed nothing"
    );
    assert!(
        out.contains(
            "migrate: queued: waiting for Qovery to start it (the environment still shows the previous deployment, DEPLOYED)"
        ),
        "{out}"
    );
    assert!(out.contains("migrate: DEPLOYED -> EXECUTING"), "{out}");
    assert_conforms(&server).await;
}

#[tokio::test]
async fn an_error_state_exits_1_and_cancels_nothing() {
    let server = qovery(vec![
        before(),
        job_in_ours(MIGRATE, "DEPLOYING", "EXECUTING", "EXECUTING"),
        job_in_ours(MIGRATE, "DEPLOYMENT_ERROR", "DEPLOYMENT_ERROR", "ERROR"),
    ])
    .await;
    accept_job(&server, MIGRATE, "deploy", OURS).await;
    let dir = temp_dir("job-error");
    let output = command(&server.uri())
        .env("INPUT_COMMAND", "deploy-job")
        .env("INPUT_JOBS", "migrate")
        .env("GITHUB_OUTPUT", dir.join("out"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    let err = stderr(&output);
    assert!(
        err.contains("job migrate failed: DEPLOYMENT_ERROR (status ERROR)"),
        "{err}"
    );
    assert_eq!(writes(&server).await, 1, "no cancel after a failure");
    let outputs = github_outputs(&dir.join("out"));
    assert_eq!(outputs["result"], "failure");
    assert_eq!(outputs["state"], "DEPLOYMENT_ERROR");
}

#[tokio::test]
async fn a_cancelled_job_exits_5() {
    let server = qovery(vec![
        before(),
        job_in_ours(MIGRATE, "CANCELED", "CANCELED", "CANCELED"),
    ])
    .await;
    accept_job(&server, MIGRATE, "deploy", OURS).await;
    let output = command(&server.uri())
        .env("INPUT_COMMAND", "deploy-job")
        .env("INPUT_JOBS", "migrate")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(5), "{}", stdout(&output));
    assert!(stderr(&output).contains("job migrate was cancelled"));
}

#[tokio::test]
async fn two_jobs_give_their_ids_in_listed_order() {
    let done = with_jobs(
        ours("DEPLOYED", "DEPLOYED"),
        &[
            job_status(REPORT, "DEPLOYED", "SUCCESS", Some(OURS), &exec("-42")),
            job_status(MIGRATE, "DEPLOYED", "SUCCESS", Some(SECOND), &exec("-43")),
        ],
    );
    let server = qovery(vec![before(), done]).await;
    accept_job(&server, REPORT, "deploy", OURS).await;
    accept_job(&server, MIGRATE, "deploy", SECOND).await;
    let dir = temp_dir("two-jobs");
    let output = command(&server.uri())
        .env("INPUT_COMMAND", "deploy-job")
        .env("INPUT_JOBS", "report\nmigrate")
        .env("GITHUB_OUTPUT", dir.join("out"))
        .output()
        .unwrap();
    assert_exit(&output, 0);
    let sent = calls(&server).await;
    assert_eq!(
        post_paths(&sent),
        [
            &format!("POST /job/{REPORT}/deploy"),
            &format!("POST /job/{MIGRATE}/deploy")
        ]
    );
    let outputs = github_outputs(&dir.join("out"));
    assert_eq!(outputs["deployment-request-id"], format!("{OURS},{SECOND}"));
    assert_eq!(outputs["execution-id"], format!("{ENV}-42,{ENV}-43"));
    // One state for the run (`state == 'DEPLOYED'` works for several jobs); each job's in `services`.
    assert_eq!(outputs["state"], "DEPLOYED");
    let services: Value = serde_json::from_str(&outputs["services"]).unwrap();
    assert_eq!(services[0]["state"], "DEPLOYED");
    assert_eq!(services[1]["state"], "DEPLOYED");
    assert_eq!(services[0]["deployment_request_id"], OURS);
    assert_eq!(services[1]["deployment_request_id"], SECOND);
    assert_eq!(services[0]["version"], SHA);
}

#[tokio::test]
async fn two_jobs_of_which_one_fails_give_the_failing_state() {
    let done = with_jobs(
        ours("DEPLOYED", "DEPLOYED"),
        &[
            job_status(REPORT, "DEPLOYED", "SUCCESS", Some(OURS), &exec("-42")),
            job_status(
                MIGRATE,
                "DEPLOYMENT_ERROR",
                "ERROR",
                Some(SECOND),
                &exec("-43"),
            ),
        ],
    );
    let server = qovery(vec![before(), done]).await;
    accept_job(&server, REPORT, "deploy", OURS).await;
    accept_job(&server, MIGRATE, "deploy", SECOND).await;
    let dir = temp_dir("two-jobs-one-fails");
    let output = command(&server.uri())
        .env("INPUT_COMMAND", "deploy-job")
        .env("INPUT_JOBS", "report, migrate")
        .env("GITHUB_OUTPUT", dir.join("out"))
        .output()
        .unwrap();
    assert_exit(&output, 1);
    let outputs = github_outputs(&dir.join("out"));
    assert_eq!(outputs["result"], "failure");
    assert_eq!(
        outputs["state"], "DEPLOYMENT_ERROR",
        "the state `result` speaks of"
    );
    let services: Value = serde_json::from_str(&outputs["services"]).unwrap();
    assert_eq!(services[0]["state"], "DEPLOYED");
    assert_eq!(services[1]["state"], "DEPLOYMENT_ERROR");
}

#[tokio::test]
async fn a_job_that_never_runs_in_our_request_fails_naming_the_event() {
    // The environment runs and finishes our request, but the job keeps showing its previous run:
    // it does not define the STOP event, so Qovery did not run it.
    let untouched = job_status(MIGRATE, "DEPLOYED", "SUCCESS", Some(PREVIOUS), &exec("-41"));
    let server = qovery(vec![
        before(),
        with_jobs(
            ours("DEPLOYING", "DEPLOYED"),
            std::slice::from_ref(&untouched),
        ),
        with_jobs(ours("DEPLOYED", "DEPLOYED"), &[untouched]),
    ])
    .await;
    accept_job(&server, MIGRATE, "deploy", OURS).await;
    request_states(&server, OURS, &["DEPLOYED"]).await;
    let output = command(&server.uri())
        .env("INPUT_COMMAND", "deploy-job")
        .env("INPUT_JOBS", "migrate")
        .env("INPUT_JOB-EVENT", "STOP")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    let err = stderr(&output);
    assert!(
        err.contains(&format!(
            "job migrate did not run in deployment request {OURS}"
        )) && err.contains("defines the STOP event"),
        "{err}"
    );
}

async fn stuck_job(env_status_now: Value, job_now: Value, env_now: Value) -> MockServer {
    let server = qovery(vec![before(), with_jobs(env_now, &[job_now])]).await;
    accept_job(&server, MIGRATE, "deploy", OURS).await;
    env_statuses(&server, vec![env_status_now]).await;
    accept_cancels(&server).await;
    server
}

async fn running_job() -> MockServer {
    stuck_job(
        env_status("DEPLOYING", Some(OURS), &exec(EXEC_OURS)),
        job_status(
            MIGRATE,
            "EXECUTING",
            "EXECUTING",
            Some(OURS),
            &exec(EXEC_OURS),
        ),
        ours("DEPLOYING", "DEPLOYED"),
    )
    .await
}

#[tokio::test]
async fn timeout_cancels_our_running_job_request_and_exits_3() {
    let server = running_job().await;
    let dir = temp_dir("job-timeout");
    let output = command(&server.uri())
        .env("INPUT_COMMAND", "deploy-job")
        .env("INPUT_JOBS", "migrate")
        .env("INPUT_TIMEOUT", "3s")
        .env("GITHUB_OUTPUT", dir.join("out"))
        .output()
        .unwrap();
    assert_exit(&output, 3);
    let sent = calls(&server).await;
    assert_eq!(
        post_paths(&sent),
        [
            &format!("POST /job/{MIGRATE}/deploy"),
            &format!("POST /environment/{ENV}/cancelDeployment")
        ]
    );
    let cancel = requests(&server)
        .await
        .into_iter()
        .find(|r| r.url.path().ends_with("/cancelDeployment"))
        .unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(&cancel.body).unwrap(),
        json!({"force_cancel": false})
    );
    assert!(
        stdout(&output).contains(&format!("cancel: deployment request {OURS} cancelled")),
        "{}",
        stdout(&output)
    );
    assert_eq!(github_outputs(&dir.join("out"))["result"], "timeout");
    assert_conforms(&server).await;
}

#[tokio::test]
async fn timeout_while_queued_behind_another_cancels_only_our_queued_request() {
    let other = "33333333-3333-4333-8333-333333333333";
    let server = stuck_job(
        env_status("DEPLOYING", Some(other), &exec(EXEC_OURS)),
        job_status(
            MIGRATE,
            "DEPLOYED",
            "SUCCESS",
            Some(other),
            &exec(EXEC_BEFORE),
        ),
        statuses("DEPLOYING", Some(other), &exec(EXEC_OURS), "DEPLOYING"),
    )
    .await;
    queue_holds_ours(&server).await;
    let output = command(&server.uri())
        .env("INPUT_COMMAND", "deploy-job")
        .env("INPUT_JOBS", "migrate")
        .env("INPUT_TIMEOUT", "2s")
        .output()
        .unwrap();
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(3), "{out}{}", stderr(&output));
    assert!(
        out.contains(&format!(
            "migrate: queued: the environment is busy with deployment request {other}"
        )),
        "{out}"
    );
    let sent = calls(&server).await;
    assert_eq!(
        post_paths(&sent),
        [
            &format!("POST /job/{MIGRATE}/deploy"),
            &format!("POST /deploymentQueue/{OURS}/cancelDeployment")
        ]
    );
}

#[tokio::test]
async fn sigterm_while_waiting_cancels_our_job_request_and_exits_5() {
    let server = running_job().await;
    let mut cmd = spawnable(&server.uri());
    cmd.env("INPUT_COMMAND", "deploy-job")
        .env("INPUT_JOBS", "migrate");
    let (exit, output) = sigterm_when(cmd, &server, async |server: &MockServer| {
        count(server, "GET", &format!("/environment/{ENV}/statuses")).await >= 2
    })
    .await;
    assert_cancelled_by_sigterm(&server, exit, &output).await;
}

#[tokio::test]
async fn wait_false_returns_after_the_202_with_each_request_id() {
    let server = qovery(vec![before()]).await;
    accept_job(&server, MIGRATE, "redeploy", OURS).await;
    let dir = temp_dir("job-nowait");
    let output = command(&server.uri())
        .env("INPUT_COMMAND", "redeploy-job")
        .env_remove("INPUT_COMMIT-SHA")
        .env("INPUT_JOBS", "migrate")
        .env("INPUT_WAIT", "false")
        .env("GITHUB_OUTPUT", dir.join("out"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let outputs = github_outputs(&dir.join("out"));
    assert_eq!(outputs["result"], "queued");
    assert_eq!(outputs["deployment-request-id"], OURS);
    assert_eq!(outputs["state"], "DEPLOYMENT_QUEUED");
    assert_eq!(
        count(&server, "GET", &format!("/environment/{ENV}/statuses")).await,
        1,
        "baseline only"
    );
}

#[tokio::test]
async fn a_refused_second_job_exits_4_and_names_the_job_left_running() {
    let server = qovery(vec![before()]).await;
    accept_job(&server, REPORT, "deploy", OURS).await;
    Mock::given(method("POST"))
        .and(path(format!("/job/{MIGRATE}/deploy")))
        .respond_with(
            ResponseTemplate::new(409)
                .set_body_json(json!({"message": "Operation is in progress"})),
        )
        .mount(&server)
        .await;
    let output = command(&server.uri())
        .env("INPUT_COMMAND", "deploy-job")
        .env("INPUT_JOBS", "report,migrate")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(4), "{}", stdout(&output));
    let err = stderr(&output);
    assert!(err.contains("conflict (409)"), "{err}");
    assert!(
        err.contains(&format!("left running: report (request {OURS})")),
        "{err}"
    );
}

/// Runs a job command that must fail before any write: exit 2, a message naming `input`.
async fn rejected(server: &MockServer, vars: &[(&str, &str)], input: &str) -> String {
    let mut cmd = command(&server.uri());
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let output = cmd.output().unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{vars:?}: {err}");
    assert!(err.contains(&format!("input `{input}`")), "{vars:?}: {err}");
    assert!(err.contains("hint:"), "{vars:?}: {err}");
    assert_eq!(writes(server).await, 0, "{vars:?} sent a write");
    err
}

#[tokio::test]
async fn bad_input_exits_2_with_zero_write_calls() {
    let server = qovery(vec![before()]).await;
    accept_job(&server, MIGRATE, "deploy", OURS).await;
    accept_job(&server, MIGRATE, "redeploy", OURS).await;
    let job = |extra: &[(&'static str, &'static str)]| {
        let mut vars = vec![("INPUT_COMMAND", "deploy-job"), ("INPUT_JOBS", "migrate")];
        vars.extend_from_slice(extra);
        vars
    };
    let err = rejected(
        &server,
        &job(&[("INPUT_CONTAINERS", "worker")]),
        "containers",
    )
    .await;
    assert!(err.contains("runs jobs only"), "{err}");
    let err = rejected(&server, &job(&[("INPUT_JOB-EVENT", "PAUSE")]), "job-event").await;
    assert!(err.contains("START, STOP, DELETE, CRON"), "{err}");
    rejected(&server, &[("INPUT_COMMAND", "deploy-job")], "jobs").await;
    rejected(&server, &job(&[("INPUT_JOBS", "ghost")]), "jobs").await;
    let err = rejected(&server, &job(&[("INPUT_JOBS", "worker")]), "jobs").await;
    assert!(err.contains("list it under `containers`"), "{err}");
    let err = rejected(&server, &job(&[("INPUT_COMMIT-SHA", "")]), "jobs").await;
    assert!(err.contains("no image tag"), "{err}");
    rejected(
        &server,
        &[
            ("INPUT_COMMAND", "redeploy-job"),
            ("INPUT_COMMIT-SHA", ""),
            ("INPUT_JOBS", "migrate=1.2"),
        ],
        "jobs",
    )
    .await;
    rejected(
        &server,
        &[
            ("INPUT_COMMAND", "deploy"),
            ("INPUT_JOB-EVENT", "STOP"),
            ("INPUT_JOBS", "migrate"),
        ],
        "job-event",
    )
    .await;
}

#[tokio::test]
async fn a_job_with_both_an_image_and_a_git_source_exits_2_before_sending() {
    let server = qovery(vec![before()]).await;
    accept_job(&server, MIGRATE, "deploy", OURS).await;
    let mut ambiguous = services();
    ambiguous["results"][3]["source"]["docker"] = json!({"dockerfile_path": "Dockerfile"});
    Mock::given(method("GET"))
        .and(path(format!("/environment/{ENV}/services")))
        .respond_with(ResponseTemplate::new(200).set_body_json(ambiguous))
        .with_priority(1)
        .mount(&server)
        .await;
    let err = rejected(
        &server,
        &[("INPUT_COMMAND", "deploy-job"), ("INPUT_JOBS", "migrate")],
        "jobs",
    )
    .await;
    assert!(err.contains("both an image and a git source"), "{err}");
}
