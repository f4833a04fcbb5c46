//! Issue 13, "never abandon our own deployment": the real binary against the bundled mock playing
//! a misbehaving API, one test per row of the table (rows 7 to 9 with real signals), each
//! asserting the exit code, the `result`/`state` outputs, the requests sent (the cancel, and that
//! nothing else was cancelled) and the time bound where the row has one. Each class also gets a
//! case the issue did not list.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use qovery_mock::{Endpoint, MockServer, RecordedRequest, Scenario, ids};

use crate::support::{parse_github_output, spawnable, temp_dir};

/// The mock playing `scenario` with one step of `step_ms` and these faults (spec syntax).
/// `faults` in the `--fault` syntax; `polls:ITEMS` is a fault on the environment's polls: the
/// small `status` each tick reads while nothing changes (the `statuses` read after a change, and
/// by the cancel, are left alone).
async fn mock(scenario: Scenario, step_ms: u64, faults: &[&str]) -> MockServer {
    let specs: Vec<String> = faults
        .iter()
        .flat_map(|spec| match spec.strip_prefix("polls:") {
            Some(items) => vec![format!("status:{items}")],
            None => vec![spec.to_string()],
        })
        .collect();
    MockServer::builder()
        .scenario(scenario)
        .step(Duration::from_millis(step_ms))
        .faults(
            specs
                .iter()
                .map(|spec| spec.parse().expect("a valid fault")),
        )
        .spawn()
        .await
        .expect("the mock starts")
}

/// `command: deploy` of `api` against the mock, outputs to a file of its own.
fn deploy(server: &MockServer, name: &str) -> (Command, PathBuf) {
    let file = temp_dir(&format!("reliability-{name}")).join("output");
    let mut cmd = spawnable(&server.url());
    cmd.env("INPUT_ENVIRONMENT-ID", ids::ENVIRONMENT)
        .env("INPUT_APPLICATIONS", "api")
        .env("GITHUB_OUTPUT", &file);
    (cmd, file)
}

/// What a run did.
struct Run {
    output: Output,
    outputs: BTreeMap<String, String>,
    elapsed: Duration,
}

impl Run {
    fn code(&self) -> Option<i32> {
        self.output.status.code()
    }

    /// Everything printed, stdout then stderr.
    fn log(&self) -> String {
        format!(
            "{}{}",
            String::from_utf8_lossy(&self.output.stdout),
            String::from_utf8_lossy(&self.output.stderr)
        )
    }

    #[track_caller]
    fn assert(&self, code: i32, result: &str, state: &str) {
        assert_eq!(self.code(), Some(code), "{}", self.log());
        assert_eq!(
            self.outputs.get("result").map(String::as_str),
            Some(result),
            "{}",
            self.log()
        );
        assert_eq!(
            self.outputs.get("state").map(String::as_str),
            Some(state),
            "{}",
            self.log()
        );
    }
}

fn run_once(cmd: Command, file: &PathBuf) -> Run {
    let started = Instant::now();
    let output = assert_cmd::Command::from_std(cmd)
        .timeout(Duration::from_secs(90))
        .output()
        .expect("runs");
    Run {
        elapsed: started.elapsed(),
        outputs: parse_github_output(&std::fs::read_to_string(file).unwrap_or_default()),
        output,
    }
}

/// Runs `cmd`, sends it SIGTERM once `ready` holds, and returns the run with `elapsed` counted
/// from the signal.
async fn run_signalled(
    mut cmd: Command,
    file: &PathBuf,
    server: &MockServer,
    ready: impl Fn(&[RecordedRequest]) -> bool,
) -> Run {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let started = Instant::now();
    while !ready(&server.requests()) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "never ready: {:?}",
            server.requests()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let signalled = Instant::now();
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(kill.success());
    loop {
        if child.try_wait().expect("waitable").is_some() {
            break;
        }
        if signalled.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = signalled.elapsed();
    let output = child.wait_with_output().expect("exited");
    Run {
        elapsed,
        outputs: parse_github_output(&std::fs::read_to_string(file).unwrap_or_default()),
        output,
    }
}

/// The recorded requests to `endpoint`.
fn calls(server: &MockServer, endpoint: &Endpoint) -> Vec<RecordedRequest> {
    server
        .requests()
        .into_iter()
        .filter(|r| endpoint.matches(&r.method, &r.path))
        .collect()
}

fn cancel_path() -> String {
    format!("/environment/{}/cancelDeployment", ids::ENVIRONMENT)
}

/// The deployment request id the mock handed out for our deploy (its queue or its status).
fn posted(server: &MockServer) -> RecordedRequest {
    calls(server, &Endpoint::deploy())
        .into_iter()
        .next()
        .expect("the deploy was sent")
}

/// Exactly one environment-level cancel, nothing else cancelled.
#[track_caller]
fn assert_one_environment_cancel(server: &MockServer) {
    let cancels: Vec<String> = calls(server, &Endpoint::cancels())
        .into_iter()
        .map(|r| r.path)
        .collect();
    assert_eq!(cancels, [cancel_path()], "{:?}", server.requests());
}

#[track_caller]
fn assert_nothing_cancelled(server: &MockServer) {
    assert!(
        calls(server, &Endpoint::cancels()).is_empty(),
        "{:?}",
        server.requests()
    );
}

/// Polls of the environment after the deploy: the small status each tick reads while nothing
/// changes (the cancel reads the statuses).
fn polls_after_deploy(server: &MockServer) -> Vec<RecordedRequest> {
    let deploy = posted(server).elapsed;
    calls(server, &Endpoint::status())
        .into_iter()
        .filter(|r| r.elapsed > deploy)
        .collect()
}

// --- Row 1: 429 with Retry-After: 120 after the 202 -------------------------------------------

#[tokio::test]
async fn row_01_a_rate_limited_poll_waits_to_the_deadline_then_cancels() {
    let server = mock(
        Scenario::Stuck,
        200,
        &["polls:429,retry-after=120,after=deploys"],
    )
    .await;
    let (mut cmd, file) = deploy(&server, "row1");
    cmd.env("INPUT_TIMEOUT", "6s");
    let run = run_once(cmd, &file);
    // Nothing of ours was ever seen past the 202.
    run.assert(3, "timeout", "DEPLOYMENT_QUEUED");
    assert!(
        run.elapsed >= Duration::from_secs(6) && run.elapsed < Duration::from_secs(12),
        "{:?}",
        run.elapsed
    );
    // Retry-After (120 s, more than the time left) was honoured: one poll, then the deadline.
    assert_eq!(polls_after_deploy(&server).len(), 1);
    assert_one_environment_cancel(&server);
    assert!(run.log().contains("missed tick"), "{}", run.log());
}

#[tokio::test]
async fn row_01_unlisted_a_short_retry_after_is_honoured_and_the_wait_succeeds() {
    let server = mock(
        Scenario::Happy,
        200,
        &["polls:503,retry-after=3,after=deploys,times=1"],
    )
    .await;
    let (cmd, file) = deploy(&server, "row1b");
    let run = run_once(cmd, &file);
    run.assert(0, "success", "DEPLOYED");
    let polls = polls_after_deploy(&server);
    assert_eq!(polls[0].status, Some(503));
    assert!(
        polls[1].elapsed - polls[0].elapsed >= Duration::from_millis(2900),
        "Retry-After: 3 not honoured: {polls:?}"
    );
    assert_nothing_cancelled(&server);
}

// --- Row 2: an empty or HTML body on a status read --------------------------------------------

#[tokio::test]
async fn row_02_an_empty_html_truncated_or_cut_status_is_a_missed_tick() {
    // Empty and HTML are the issue's; a truncated JSON and a cut connection are the same class.
    for body in ["empty", "html", "truncated", "dropped"] {
        let fault = format!("polls:body={body},after=deploys,times=1");
        let server = mock(Scenario::Happy, 200, &[fault.as_str()]).await;
        let (cmd, file) = deploy(&server, &format!("row2-{body}"));
        let run = run_once(cmd, &file);
        run.assert(0, "success", "DEPLOYED");
        assert_eq!(
            run.log().matches("missed tick:").count(),
            1,
            "{body}: {}",
            run.log()
        );
        assert!(
            run.log()
                .contains("the API answers again after 1 missed tick"),
            "{body}: {}",
            run.log()
        );
        assert_nothing_cancelled(&server);
    }
}

// --- Row 3: a status read that never answers --------------------------------------------------

#[tokio::test]
async fn row_03_a_hanging_poll_is_cut_at_the_deadline_exit_3_and_cancel() {
    let server = mock(Scenario::Stuck, 200, &["polls:hang,after=deploys"]).await;
    let (mut cmd, file) = deploy(&server, "row3");
    cmd.env("INPUT_TIMEOUT", "5s");
    let run = run_once(cmd, &file);
    run.assert(3, "timeout", "DEPLOYMENT_QUEUED");
    // Cut at the deadline, then the cancel (a few fast calls).
    assert!(
        run.elapsed >= Duration::from_secs(5) && run.elapsed < Duration::from_secs(9),
        "{:?}",
        run.elapsed
    );
    let polls = polls_after_deploy(&server);
    assert_eq!(polls.len(), 1, "one poll, never answered");
    assert_eq!(polls[0].status, None);
    assert_one_environment_cancel(&server);
}

#[tokio::test]
async fn row_03_unlisted_a_hanging_preflight_read_is_the_timeout_too() {
    let server = mock(Scenario::Happy, 200, &["services:hang"]).await;
    let (mut cmd, file) = deploy(&server, "row3b");
    cmd.env("INPUT_TIMEOUT", "3s");
    let run = run_once(cmd, &file);
    assert_eq!(run.code(), Some(3), "{}", run.log());
    assert_eq!(run.outputs["result"], "timeout");
    assert!(run.elapsed < Duration::from_secs(6), "{:?}", run.elapsed);
    assert!(
        calls(&server, &Endpoint::deploys()).is_empty(),
        "nothing sent"
    );
}

// --- Row 4: deploymentStatus answers 404 while the environment shows the previous state -----

#[tokio::test]
async fn row_04_a_404_from_the_request_status_keeps_following_the_environment() {
    let server = mock(Scenario::EarlyId, 400, &["deployment-status:404"]).await;
    let (cmd, file) = deploy(&server, "row4");
    let run = run_once(cmd, &file);
    run.assert(0, "success", "DEPLOYED");
    let asked = calls(&server, &Endpoint::deployment_status());
    assert!(!asked.is_empty(), "the request's status was asked");
    assert!(asked.iter().all(|r| r.status == Some(404)));
    assert!(
        run.log().contains("deploymentStatus: not found (404)"),
        "{}",
        run.log()
    );
    assert_nothing_cancelled(&server);
}

#[tokio::test]
async fn row_04_unlisted_a_404_on_the_environment_ends_the_wait_and_says_so() {
    // The environment is gone: waiting cannot go on. The cancel is tried (and refused too).
    let server = mock(Scenario::Stuck, 200, &["reads:404,after=deploys"]).await;
    let (mut cmd, file) = deploy(&server, "row4b");
    cmd.env("INPUT_TIMEOUT", "30s");
    let run = run_once(cmd, &file);
    run.assert(4, "failure", "DEPLOYMENT_QUEUED");
    assert!(run.elapsed < Duration::from_secs(10), "{:?}", run.elapsed);
    assert!(
        run.log().contains("the deployment may still be running"),
        "{}",
        run.log()
    );
    assert_eq!(polls_after_deploy(&server).len(), 1);
}

// --- Row 5: 500 on every read ----------------------------------------------------------------

#[tokio::test]
async fn row_05_server_errors_are_counted_not_printed_per_retry_until_the_deadline() {
    let server = mock(Scenario::Stuck, 200, &["polls:500,after=deploys"]).await;
    let (mut cmd, file) = deploy(&server, "row5");
    cmd.env("INPUT_TIMEOUT", "8s");
    let run = run_once(cmd, &file);
    run.assert(3, "timeout", "DEPLOYMENT_QUEUED");
    assert!(run.elapsed >= Duration::from_secs(8), "{:?}", run.elapsed);
    let polls = polls_after_deploy(&server);
    assert!(polls.len() >= 3, "kept polling: {polls:?}");
    // One line for the kind, one with the count at the end; none per retry.
    let log = run.log();
    assert_eq!(log.matches("missed tick:").count(), 1, "{log}");
    assert!(
        log.contains(&format!(
            "{} tick(s) missed since the last good answer: HTTP 500 ×{}",
            polls.len(),
            polls.len()
        )),
        "{log}"
    );
    assert_one_environment_cancel(&server);
}

#[tokio::test]
async fn row_05_unlisted_mixed_failures_get_a_line_per_kind_with_counts() {
    let server = mock(
        Scenario::Happy,
        300,
        &[
            "polls:502,body=html,after=deploys,times=2",
            "polls:429,after=deploys,from=3,times=1",
        ],
    )
    .await;
    let (cmd, file) = deploy(&server, "row5b");
    let run = run_once(cmd, &file);
    run.assert(0, "success", "DEPLOYED");
    let log = run.log();
    assert_eq!(log.matches("missed tick:").count(), 2, "{log}");
    assert!(
        log.contains("the API answers again after 3 missed tick(s): HTTP 502 ×2, HTTP 429 ×1"),
        "{log}"
    );
}

// --- Row 6: the state reported is the last one seen ------------------------------------------

#[tokio::test]
async fn row_06_the_last_state_seen_is_reported_not_the_202s() {
    let server = mock(Scenario::Stuck, 150, &["polls:500,after=deploys,from=3"]).await;
    let (mut cmd, file) = deploy(&server, "row6");
    cmd.env("INPUT_TIMEOUT", "5s");
    let run = run_once(cmd, &file);
    run.assert(3, "timeout", "DEPLOYING");
    let services: serde_json::Value = serde_json::from_str(&run.outputs["services"]).unwrap();
    assert_eq!(services[0]["state"], "DEPLOYING", "{services}");
    assert_one_environment_cancel(&server);
}

// --- Row 7: SIGTERM while the deploy POST is in flight ---------------------------------------

#[tokio::test]
async fn row_07_sigterm_during_a_slow_post_exits_within_8_s_and_cancels_nothing_unknown() {
    let server = mock(Scenario::Happy, 200, &["deploys:delay=30s"]).await;
    let (cmd, file) = deploy(&server, "row7");
    let run = run_signalled(cmd, &file, &server, |requests| {
        requests.iter().any(|r| r.method == "POST")
    })
    .await;
    assert!(run.elapsed < Duration::from_secs(8), "{:?}", run.elapsed);
    assert_eq!(run.code(), Some(5), "{}", run.log());
    assert_eq!(run.outputs["result"], "cancelled");
    let log = run.log();
    assert!(
        log.contains("a deployment may have been created") && log.contains("console.qovery.com"),
        "{log}"
    );
    // No request id: nothing can be identified as ours, nothing is cancelled.
    assert_nothing_cancelled(&server);
}

#[tokio::test]
async fn row_07_unlisted_an_answer_within_the_grace_names_what_to_cancel() {
    // The POST is answered 1.5 s after the signal: its request id is ours to cancel.
    let server = mock(Scenario::Happy, 60_000, &["deploys:delay=2s"]).await;
    let (cmd, file) = deploy(&server, "row7b");
    let run = run_signalled(cmd, &file, &server, |requests| {
        requests.iter().any(|r| r.method == "POST")
    })
    .await;
    assert!(run.elapsed < Duration::from_secs(8), "{:?}", run.elapsed);
    assert_eq!(run.code(), Some(5), "{}", run.log());
    assert_eq!(run.outputs["result"], "cancelled");
    assert!(!run.outputs["deployment-request-id"].is_empty());
    // Queued (a step of a minute): removed from the queue by its id, nothing else touched.
    let cancels: Vec<String> = calls(&server, &Endpoint::cancels())
        .into_iter()
        .map(|r| r.path)
        .collect();
    assert_eq!(
        cancels,
        [format!(
            "/deploymentQueue/{}/cancelDeployment",
            run.outputs["deployment-request-id"]
        )]
    );
}

// --- Row 8: SIGTERM while queued, cancel endpoint slow ---------------------------------------

#[tokio::test]
async fn row_08_sigterm_while_queued_with_a_slow_cancel_exits_within_8_s() {
    let server = mock(Scenario::QueuedStuck, 200, &["cancels:delay=30s"]).await;
    let (cmd, file) = deploy(&server, "row8");
    let run = run_signalled(cmd, &file, &server, |requests| {
        requests
            .iter()
            .filter(|r| r.path.ends_with("/statuses"))
            .count()
            >= 2
    })
    .await;
    assert!(run.elapsed < Duration::from_secs(8), "{:?}", run.elapsed);
    assert_eq!(run.code(), Some(5), "{}", run.log());
    assert_eq!(run.outputs["result"], "cancelled");
    // Ours was queued behind someone else's: only ours, by its id, was asked to be cancelled.
    let request_id = &run.outputs["deployment-request-id"];
    let cancels = calls(&server, &Endpoint::cancels());
    assert_eq!(cancels.len(), 1, "{cancels:?}");
    assert_eq!(
        cancels[0].path,
        format!("/deploymentQueue/{request_id}/cancelDeployment")
    );
    assert!(
        run.log().contains("the deployment may still be running"),
        "{}",
        run.log()
    );
}

#[tokio::test]
async fn row_08_unlisted_sigterm_during_a_timeout_cancel_cuts_it_within_8_s() {
    // The timeout's cancel has 20 s of its own; a signal during it still ends the run in time.
    let server = mock(Scenario::Stuck, 200, &["cancels:delay=30s"]).await;
    let (mut cmd, file) = deploy(&server, "row8b");
    cmd.env("INPUT_TIMEOUT", "3s");
    let run = run_signalled(cmd, &file, &server, |requests| {
        requests.iter().any(|r| r.path == cancel_path())
    })
    .await;
    assert!(run.elapsed < Duration::from_secs(8), "{:?}", run.elapsed);
    assert_eq!(run.code(), Some(3), "{}", run.log());
    assert_eq!(run.outputs["result"], "timeout");
    assert_one_environment_cancel(&server);
}

// --- Row 9: a 202 without a request id, someone else's deployment running, SIGTERM ------------

#[tokio::test]
async fn row_09_without_our_request_id_nothing_is_cancelled() {
    let server = mock(Scenario::QueuedStuck, 200, &["deploys:body=empty"]).await;
    let (cmd, file) = deploy(&server, "row9");
    let run = run_signalled(cmd, &file, &server, |requests| {
        requests
            .iter()
            .filter(|r| r.path.ends_with("/statuses"))
            .count()
            >= 2
    })
    .await;
    assert!(run.elapsed < Duration::from_secs(8), "{:?}", run.elapsed);
    assert_eq!(run.code(), Some(5), "{}", run.log());
    assert_eq!(run.outputs["result"], "cancelled");
    assert_eq!(run.outputs["deployment-request-id"], "");
    assert_nothing_cancelled(&server);
    let log = run.log();
    assert!(
        log.contains("cannot be identified as ours") && log.contains("console.qovery.com"),
        "{log}"
    );
}

#[tokio::test]
async fn row_09_unlisted_without_request_id_the_timeout_cancels_nothing_either() {
    // Someone else's deployment starts a new execution: it is no proof that it is ours.
    let server = mock(Scenario::QueuedStuck, 200, &["deploys:body=empty"]).await;
    let (mut cmd, file) = deploy(&server, "row9b");
    cmd.env("INPUT_TIMEOUT", "3s");
    let run = run_once(cmd, &file);
    assert_eq!(run.code(), Some(3), "{}", run.log());
    assert_nothing_cancelled(&server);
}

// --- Row 10: an endless body ------------------------------------------------------------------

/// The peak resident set (`VmHWM`) of a process, in KiB, while it runs.
#[cfg(target_os = "linux")]
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn row_10_an_endless_body_is_a_missed_tick_and_memory_stays_small() {
    let server = mock(
        Scenario::Happy,
        200,
        &["polls:body=endless,after=deploys,times=2"],
    )
    .await;
    let (mut cmd, file) = deploy(&server, "row10");
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut peak = 0;
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        peak = peak.max(peak_rss_kib(child.id()).unwrap_or(0));
        assert!(started.elapsed() < Duration::from_secs(60), "never ended");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let output = child.wait_with_output().unwrap();
    let run = Run {
        elapsed: started.elapsed(),
        outputs: parse_github_output(&std::fs::read_to_string(&file).unwrap_or_default()),
        output,
    };
    run.assert(0, "success", "DEPLOYED");
    // A debug build; the release budget (6 MB) is measured in .ci/bench. Unbounded, the body
    // grew to gigabytes within seconds.
    assert!(peak > 0 && peak < 48 * 1024, "peak RSS {peak} KiB");
    let log = run.log();
    assert!(
        log.contains(&format!(
            "larger than {} bytes",
            qovery_deploy::api::MAX_BODY_BYTES
        )),
        "{log}"
    );
    let endless = polls_after_deploy(&server);
    assert_eq!(
        endless[0].fault.as_deref(),
        Some("status:body=endless,after=deploys,times=2")
    );
    assert_nothing_cancelled(&server);
}

#[tokio::test]
async fn row_10_unlisted_a_finite_oversized_valid_body_is_not_read_either() {
    let server = mock(
        Scenario::Happy,
        200,
        &["polls:body=oversized:16MiB,after=deploys,times=1"],
    )
    .await;
    let (cmd, file) = deploy(&server, "row10b");
    let run = run_once(cmd, &file);
    run.assert(0, "success", "DEPLOYED");
    assert!(
        run.log().contains("missed tick") && run.log().contains("larger than"),
        "{}",
        run.log()
    );
}

// --- Row 11: huge numbers in headers and inputs ----------------------------------------------

#[tokio::test]
async fn row_11_a_huge_retry_after_on_the_deploy_is_no_panic() {
    let server = mock(
        Scenario::Happy,
        200,
        &["deploys:429,retry-after=18446744073709551615,x-ratelimit-reset=18446744073709551615,times=1"],
    )
    .await;
    let (mut cmd, file) = deploy(&server, "row11");
    cmd.env("INPUT_TIMEOUT", "10s");
    let run = run_once(cmd, &file);
    // Rate limited for longer than the budget: the API refused, nothing was created.
    assert_eq!(run.code(), Some(4), "{}", run.log());
    assert_eq!(run.outputs["result"], "failure");
    assert!(run.log().contains("HTTP 429"), "{}", run.log());
    assert!(!run.log().contains("panicked"), "{}", run.log());
    assert_eq!(calls(&server, &Endpoint::deploys()).len(), 1);
    assert!(run.elapsed < Duration::from_secs(5), "{:?}", run.elapsed);
}

#[tokio::test]
async fn row_11_a_huge_retry_after_on_a_poll_waits_to_the_deadline() {
    let server = mock(
        Scenario::Stuck,
        200,
        &["polls:429,retry-after=18446744073709551615,x-ratelimit-reset=18446744073709551615,after=deploys"],
    )
    .await;
    let (mut cmd, file) = deploy(&server, "row11b");
    cmd.env("INPUT_TIMEOUT", "4s");
    let run = run_once(cmd, &file);
    run.assert(3, "timeout", "DEPLOYMENT_QUEUED");
    assert_eq!(polls_after_deploy(&server).len(), 1);
    assert_one_environment_cancel(&server);
}

#[tokio::test]
async fn row_11_a_timeout_beyond_7_days_is_bad_input_naming_it() {
    for timeout in ["999999999999h", "169h", "604801"] {
        let server = mock(Scenario::Happy, 200, &[]).await;
        let (mut cmd, file) = deploy(&server, "row11c");
        cmd.env("INPUT_TIMEOUT", timeout);
        let run = run_once(cmd, &file);
        assert_eq!(run.code(), Some(2), "{timeout}: {}", run.log());
        assert!(run.log().contains("timeout"), "{}", run.log());
        assert!(server.requests().is_empty(), "nothing sent");
    }
    // 7 days exactly is a budget.
    let server = mock(Scenario::Happy, 100, &[]).await;
    let (mut cmd, file) = deploy(&server, "row11d");
    cmd.env("INPUT_TIMEOUT", "168h");
    run_once(cmd, &file).assert(0, "success", "DEPLOYED");
}

// --- Row 12: Retry-After in the past, 429 on every call --------------------------------------

#[tokio::test]
async fn row_12_a_retry_after_in_the_past_still_backs_off() {
    let server = mock(
        Scenario::Happy,
        200,
        &["any:429,retry-after=date-3600,x-ratelimit-reset=unix-3600"],
    )
    .await;
    let (mut cmd, file) = deploy(&server, "row12");
    cmd.env("INPUT_TIMEOUT", "5s");
    let run = run_once(cmd, &file);
    assert_eq!(run.code(), Some(4), "{}", run.log());
    let requests = server.requests();
    assert!((2..=4).contains(&requests.len()), "a burst: {requests:?}");
    for pair in requests.windows(2) {
        assert!(
            pair[1].elapsed - pair[0].elapsed >= Duration::from_millis(950),
            "no backoff between {pair:?}"
        );
    }
}

// --- Row 13: DEPLOYED with status_details.status ERROR ---------------------------------------

#[tokio::test]
async fn row_13_deployed_with_status_error_is_a_failure_naming_both_fields() {
    let server = mock(Scenario::DeployedError, 200, &[]).await;
    let (mut cmd, file) = deploy(&server, "row13");
    cmd.env("INPUT_CONTAINERS", "worker");
    let run = run_once(cmd, &file);
    run.assert(1, "failure", "DEPLOYMENT_ERROR");
    let log = run.log();
    assert!(
        log.contains("deployment failed: api DEPLOYED (status_details.status ERROR)"),
        "{log}"
    );
    let error = log
        .lines()
        .find(|line| line.starts_with("error:"))
        .unwrap_or_default();
    assert!(
        !error.contains("worker"),
        "only the failed service is named: {log}"
    );
    assert!(!log.contains("other services"), "{log}");
    assert_nothing_cancelled(&server);
}

// --- Row 14: the deploy POST answered with a redirect ----------------------------------------

#[tokio::test]
async fn row_14_a_redirected_deploy_is_an_api_error_and_nothing_is_followed() {
    let server = mock(
        Scenario::Happy,
        200,
        &[&format!(
            "deploys:302,location=/environment/{}/status",
            ids::ENVIRONMENT
        )],
    )
    .await;
    let (cmd, file) = deploy(&server, "row14");
    let run = run_once(cmd, &file);
    assert_eq!(run.code(), Some(4), "{}", run.log());
    assert_eq!(run.outputs["result"], "failure");
    assert!(
        run.log().contains("a write is never redirected"),
        "{}",
        run.log()
    );
    assert!(
        calls(
            &server,
            &Endpoint::route("GET", "/environment/*/deploymentStage")
        )
        .is_empty(),
        "followed"
    );
    assert_eq!(server.requests().len(), 4, "3 preflight reads and the POST");
}

#[tokio::test]
async fn row_14_unlisted_a_redirected_poll_is_not_followed_either() {
    let server = mock(
        Scenario::Happy,
        200,
        &[&format!(
            "polls:307,location=/environment/{}/deploymentStage,after=deploys,times=1",
            ids::ENVIRONMENT
        )],
    )
    .await;
    let (cmd, file) = deploy(&server, "row14b");
    let run = run_once(cmd, &file);
    run.assert(0, "success", "DEPLOYED");
    assert!(
        calls(
            &server,
            &Endpoint::route("GET", "/environment/*/deploymentStage")
        )
        .is_empty(),
        "followed"
    );
    assert!(run.log().contains("HTTP 307 redirect"), "{}", run.log());
}

// --- Row 15: $GITHUB_OUTPUT on a full disk ---------------------------------------------------

#[cfg(target_os = "linux")]
#[tokio::test]
async fn row_15_a_full_disk_keeps_the_exit_code_and_the_other_files() {
    // /dev/full opens fine and fails every write with ENOSPC.
    let server = mock(Scenario::Happy, 200, &[]).await;
    let (mut cmd, _) = deploy(&server, "row15");
    let summary = temp_dir("reliability-row15-summary").join("summary");
    cmd.env("GITHUB_OUTPUT", "/dev/full")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_ACTIONS", "true");
    let run = run_once(cmd, &summary);
    assert_eq!(run.code(), Some(0), "{}", run.log());
    let log = run.log();
    assert!(
        log.contains("::error title=qovery-deploy%3A cannot write a step file::cannot write the step outputs ($GITHUB_OUTPUT)"),
        "{log}"
    );
    let summary = std::fs::read_to_string(&summary).unwrap();
    assert!(summary.contains("Qovery deploy: success"), "{summary}");

    // The same for a failed deployment: its exit code (1) stays; the summary file failing
    // does not keep the outputs from being written.
    let server = mock(Scenario::Fail, 200, &[]).await;
    let (mut cmd, file) = deploy(&server, "row15b");
    cmd.env("GITHUB_STEP_SUMMARY", "/dev/full")
        .env("GITHUB_ACTIONS", "true");
    let run = run_once(cmd, &file);
    run.assert(1, "failure", "DEPLOYMENT_ERROR");
    assert!(
        run.log()
            .contains("cannot write the step summary ($GITHUB_STEP_SUMMARY)"),
        "{}",
        run.log()
    );
}

// --- Every numeric header, end to end --------------------------------------------------------

/// Rate-limit header values of every form: any u64 or i64, more digits than any integer holds,
/// HTTP dates from 1970 to 9999, fractions, text.
fn header_value() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    prop_oneof![
        any::<u64>().prop_map(|n| n.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        proptest::collection::vec(0u8..10, 20..60)
            .prop_map(|digits| digits.iter().map(|d| char::from(b'0' + d)).collect()),
        (0u64..253_402_300_799).prop_map(|secs| {
            httpdate::fmt_http_date(std::time::UNIX_EPOCH + Duration::from_secs(secs))
        }),
        any::<f64>().prop_map(|f| f.to_string()),
        "[ -~]{0,20}".prop_map(|s: String| s),
    ]
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(6))]

    /// Whatever Retry-After and X-RateLimit-Reset say, on the deploy and on the polls, the run
    /// ends by its deadline with a documented exit code, never a panic.
    #[test]
    fn no_rate_limit_header_value_panics_the_run(
        retry_after in header_value(),
        reset in header_value(),
    ) {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let server = runtime.block_on(async {
            MockServer::builder()
                .scenario(Scenario::Stuck)
                .step(Duration::from_millis(200))
                .fault(
                    qovery_mock::Fault::on(Endpoint::deploys())
                        .status(429)
                        .retry_after(retry_after.as_str())
                        .rate_limit_reset(reset.as_str())
                        .times(1),
                )
                .fault(
                    qovery_mock::Fault::on(Endpoint::status())
                        .after(Endpoint::deploys())
                        .status(429)
                        .retry_after(retry_after.as_str())
                        .rate_limit_reset(reset.as_str()),
                )
                .spawn()
                .await
                .unwrap()
        });
        let (mut cmd, file) = deploy(&server, "headers");
        cmd.env("INPUT_TIMEOUT", "3s");
        let run = run_once(cmd, &file);
        proptest::prop_assert!(
            matches!(run.code(), Some(3 | 4)),
            "{:?} for {retry_after:?} / {reset:?}: {}",
            run.code(),
            run.log()
        );
        proptest::prop_assert!(!run.log().contains("panicked"), "{}", run.log());
        proptest::prop_assert!(run.elapsed < Duration::from_secs(30), "{:?}", run.elapsed);
    }
}

// --- Part 5: a cancel that survives a killed step --------------------------------------------

/// The binary started as `qovery-deploy-cleanup` (a link, as the image provides it).
fn cleanup_command(server: &MockServer, dir: &std::path::Path) -> Command {
    let link = dir.join("qovery-deploy-cleanup");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(assert_cmd::cargo::cargo_bin!("qovery-deploy"), &link).unwrap();
    let mut cmd = Command::new(link);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        // Only the token and the API: the run's other inputs may have been flags, which an
        // after_script or a post step does not repeat; the environment is the recorded one.
        .env("QOVERY_API_TOKEN", crate::support::TOKEN)
        .env("INPUT_API-URL", server.url())
        .current_dir(dir);
    cmd
}

/// Starts a deploy, waits until it polls, and SIGKILLs it: nothing of it runs after that.
async fn killed_while_waiting(mut cmd: Command, server: &MockServer) {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while polls_after_deploy_or_none(server) < 2 {
        assert!(started.elapsed() < Duration::from_secs(20), "never polled");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

fn polls_after_deploy_or_none(server: &MockServer) -> usize {
    if calls(server, &Endpoint::deploy()).is_empty() {
        0
    } else {
        polls_after_deploy(server).len()
    }
}

#[tokio::test]
async fn part_5_the_github_post_step_cancels_what_a_killed_run_recorded() {
    let server = mock(Scenario::Stuck, 200, &[]).await;
    let dir = temp_dir("reliability-post");
    let state = dir.join("state");
    let (mut cmd, _) = deploy(&server, "post");
    cmd.env("GITHUB_STATE", &state)
        .env("GITHUB_ACTIONS", "true");
    killed_while_waiting(cmd, &server).await;
    assert_nothing_cancelled(&server);

    // What GitHub hands the post step: each `name=value` of $GITHUB_STATE as STATE_name.
    let recorded = parse_github_output(&std::fs::read_to_string(&state).unwrap());
    assert!(
        !recorded.contains_key("qovery_deploy_ended"),
        "{recorded:?}"
    );
    let mut post = cleanup_command(&server, &dir);
    for (name, value) in &recorded {
        post.env(format!("STATE_{name}"), value);
    }
    let output = post.output().unwrap();
    let log = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(output.status.code(), Some(0), "{log}");
    assert!(log.contains("did not reach its end"), "{log}");
    assert_one_environment_cancel(&server);
    assert_eq!(
        recorded["qovery_deploy_requests"],
        posted_request_id(&server).await
    );
}

/// Our request id, as the mock's environment status names it now.
async fn posted_request_id(server: &MockServer) -> String {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let status: serde_json::Value = reqwest::Client::new()
        .get(format!(
            "{}/environment/{}/status",
            server.url(),
            ids::ENVIRONMENT
        ))
        .header("authorization", "Token t")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    status["deployment_request_id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn part_5_after_a_run_that_ended_the_post_step_does_nothing() {
    let server = mock(Scenario::Happy, 100, &[]).await;
    let dir = temp_dir("reliability-post-ended");
    let state = dir.join("state");
    let (mut cmd, file) = deploy(&server, "post-ended");
    cmd.env("GITHUB_STATE", &state);
    run_once(cmd, &file).assert(0, "success", "DEPLOYED");
    let recorded = parse_github_output(&std::fs::read_to_string(&state).unwrap());
    assert_eq!(recorded["qovery_deploy_ended"], "true");
    let mut post = cleanup_command(&server, &dir);
    for (name, value) in &recorded {
        post.env(format!("STATE_{name}"), value);
    }
    let output = post.output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&output.stdout).contains("reached its end"));
    assert_nothing_cancelled(&server);
}

#[tokio::test]
async fn part_5_the_gitlab_after_script_cancels_what_a_run_that_never_ended_recorded() {
    // A job that was cancelled, or that failed because the run was killed (a job timeout) or
    // crashed: the run wrote no end marker, so its request is cancelled whatever the status.
    for status in ["canceled", "failed"] {
        let server = mock(Scenario::Stuck, 200, &[]).await;
        let dir = temp_dir(&format!("reliability-after-script-{status}"));
        let (mut cmd, _) = deploy(&server, "after-script");
        // The services as a flag, as `script: exec qovery-deploy --applications api` gives them:
        // the after_script is not given it again.
        cmd.env_remove("INPUT_APPLICATIONS")
            .args(["--applications", "api"])
            .env("GITLAB_CI", "true")
            .env("CI_JOB_ID", "4242")
            .current_dir(&dir);
        killed_while_waiting(cmd, &server).await;
        let state = std::fs::read_to_string(dir.join("qovery-deploy.state")).unwrap();
        assert!(state.contains("qovery_deploy_job=4242"), "{state}");

        // Another job's file: nothing.
        let output = cleanup_command(&server, &dir)
            .env("GITLAB_CI", "true")
            .env("CI_JOB_STATUS", status)
            .env("CI_JOB_ID", "9999")
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0), "{output:?}");
        assert_nothing_cancelled(&server);

        let output = cleanup_command(&server, &dir)
            .env("GITLAB_CI", "true")
            .env("CI_JOB_STATUS", status)
            .env("CI_JOB_ID", "4242")
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0), "{output:?}");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            stdout.contains(&format!("did not reach its end (the job ended {status})")),
            "{stdout}"
        );
        assert_one_environment_cancel(&server);
    }
}

// --- Part 7: the README says, per exit code, whether the deployment may still run -----------

#[test]
fn part_7_the_exit_code_table_answers_may_it_still_run_for_every_code() {
    use qovery_deploy::error::code;
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = readme
        .split("\n## Exit codes\n")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("README: ## Exit codes");
    let rows: Vec<Vec<&str>> = section
        .lines()
        .filter(|line| line.starts_with("| ") && !line.starts_with("| code"))
        .map(|line| line.trim_matches('|').split(" | ").map(str::trim).collect())
        .collect();
    let codes: Vec<&str> = rows.iter().map(|row| row[0]).collect();
    let expected = [
        code::SUCCESS,
        code::FAILED,
        code::BAD_INPUT,
        code::TIMEOUT,
        code::API,
        code::CANCELLED,
    ]
    .map(|c| c.to_string());
    assert_eq!(codes, expected);
    assert!(
        section.starts_with("\n| code | meaning | may our deployment still be running? |"),
        "{section}"
    );
    for row in &rows {
        assert_eq!(row.len(), 3, "{row:?}");
        let answer = row[2];
        assert!(
            answer.starts_with("no") || answer.starts_with("yes") || answer.contains(": yes"),
            "code {}: {answer}",
            row[0]
        );
    }
}
