//! `command: cancel`: the status read first, the cancel sent only when something is in progress,
//! the wait until the environment settles, and a 409 reported for what it is.

use serde_json::{Value, json};
use wiremock::matchers::{body_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::spec::assert_conforms;
use crate::support::*;

fn env(state: &str) -> Value {
    env_status(state, Some(OURS), &format!("{ENV}-42"))
}

/// A Qovery whose environment status answers `states` in turn, and whose cancel answers `status`.
async fn environment(states: &[&str], cancel_status: u16) -> MockServer {
    let server = qovery(vec![previous_deployed()]).await;
    env_statuses(&server, states.iter().map(|s| env(s)).collect()).await;
    let answer = match cancel_status {
        409 => ResponseTemplate::new(409).set_body_json(json!({
            "message": "Environment deployment is already cancelled or an operation is in progress"
        })),
        status => ResponseTemplate::new(status).set_body_json(env("CANCELING")),
    };
    Mock::given(method("POST"))
        .and(path(format!("/environment/{ENV}/cancelDeployment")))
        .respond_with(answer)
        .mount(&server)
        .await;
    server
}

fn cancel(server: &MockServer, dir: &std::path::Path) -> assert_cmd::Command {
    let mut cmd = command(&server.uri());
    cmd.env("INPUT_COMMAND", "cancel")
        .env_remove("INPUT_COMMIT-SHA")
        .env("GITHUB_OUTPUT", dir.join("out"));
    cmd
}

fn cancel_posts(sent: &[String]) -> usize {
    sent.iter()
        .filter(|c| *c == &format!("POST /environment/{ENV}/cancelDeployment"))
        .count()
}

#[tokio::test]
async fn nothing_in_progress_sends_no_cancel() {
    let server = environment(&["DEPLOYED"], 202).await;
    let dir = temp_dir("cancel-nothing");
    let output = cancel(&server, &dir).output().unwrap();
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}{}", stderr(&output));
    assert_eq!(
        calls(&server).await,
        [
            format!("GET /environment/{ENV}"),
            format!("GET /environment/{ENV}/status")
        ]
    );
    assert!(
        out.contains("nothing to cancel: no deployment is in progress (DEPLOYED)"),
        "{out}"
    );
    let outputs = github_outputs(&dir.join("out"));
    assert_eq!(outputs["result"], "success");
    assert_eq!(outputs["state"], "DEPLOYED");
}

#[tokio::test]
async fn a_running_deployment_is_cancelled_with_force_cancel() {
    let server = qovery(vec![previous_deployed()]).await;
    env_statuses(&server, vec![env("DEPLOYING")]).await;
    Mock::given(method("POST"))
        .and(path(format!("/environment/{ENV}/cancelDeployment")))
        .and(body_json(json!({"force_cancel": true})))
        .respond_with(ResponseTemplate::new(202).set_body_json(env("CANCELING")))
        .expect(1)
        .mount(&server)
        .await;
    let dir = temp_dir("cancel-force");
    let output = cancel(&server, &dir)
        .env("INPUT_FORCE-CANCEL", "true")
        .env("INPUT_WAIT", "false")
        .output()
        .unwrap();
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}{}", stderr(&output));
    assert_eq!(
        calls(&server).await,
        [
            format!("GET /environment/{ENV}"),
            format!("GET /environment/{ENV}/status"),
            format!("POST /environment/{ENV}/cancelDeployment")
        ]
    );
    assert!(out.contains("cancel accepted by Qovery (force)"), "{out}");
    let outputs = github_outputs(&dir.join("out"));
    assert_eq!(outputs["result"], "cancelled");
    assert_eq!(outputs["state"], "CANCELING");
    assert_eq!(outputs["deployment-request-id"], OURS);
    assert_eq!(
        outputs["console-url"],
        format!(
            "https://console.qovery.com/organization/{ORG}/project/{PROJECT}/environment/{ENV}/deployment/{ENV}-42"
        )
    );
    assert_conforms(&server).await;
}

#[tokio::test]
async fn wait_follows_the_cancel_until_the_environment_is_canceled() {
    let server = environment(&["DEPLOYING", "CANCELING", "CANCELED"], 202).await;
    let dir = temp_dir("cancel-wait");
    let output = cancel(&server, &dir).output().unwrap();
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}{}", stderr(&output));
    assert_eq!(
        count(&server, "GET", &format!("/environment/{ENV}/status")).await,
        3
    );
    assert_eq!(cancel_posts(&calls(&server).await), 1);
    assert!(out.contains("environment: CANCELING -> CANCELED"), "{out}");
    let outputs = github_outputs(&dir.join("out"));
    assert_eq!(outputs["result"], "cancelled");
    assert_eq!(outputs["state"], "CANCELED");
    assert_conforms(&server).await;
}

#[tokio::test]
async fn a_409_when_nothing_runs_any_more_is_success() {
    let server = environment(&["DEPLOYING", "DEPLOYED"], 409).await;
    let dir = temp_dir("cancel-409-done");
    let output = cancel(&server, &dir).output().unwrap();
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}{}", stderr(&output));
    assert!(
        out.contains(
            "Qovery answered 409 and the environment is DEPLOYED (already cancelled or finished)"
        ),
        "{out}"
    );
    assert_eq!(
        count(&server, "GET", &format!("/environment/{ENV}/status")).await,
        2,
        "the status is read once more after the 409, and no wait follows"
    );
    assert_eq!(github_outputs(&dir.join("out"))["result"], "success");
}

#[tokio::test]
async fn a_409_while_a_cancel_is_under_way_is_cancelled() {
    let server = environment(&["DEPLOYING", "CANCELING"], 409).await;
    let dir = temp_dir("cancel-409-canceling");
    let output = cancel(&server, &dir)
        .env("INPUT_WAIT", "false")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).contains("a cancel is already under way (CANCELING)"));
    assert_eq!(github_outputs(&dir.join("out"))["result"], "cancelled");
}

#[tokio::test]
async fn a_409_while_another_operation_runs_exits_4_without_wait() {
    let server = environment(&["DEPLOYING", "DEPLOYING"], 409).await;
    let dir = temp_dir("cancel-409-busy");
    let output = cancel(&server, &dir)
        .env("INPUT_WAIT", "false")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(4), "{}", stdout(&output));
    let err = stderr(&output);
    assert!(
        err.contains("the environment is busy: Qovery refused the cancel (409) and the environment is still DEPLOYING"),
        "{err}"
    );
    assert!(err.contains("set `wait: true`"), "{err}");
    assert_eq!(cancel_posts(&calls(&server).await), 1);
    assert_eq!(github_outputs(&dir.join("out"))["result"], "failure");
}

#[tokio::test]
async fn a_409_while_another_operation_runs_is_waited_out_with_wait() {
    let server = environment(&["DEPLOYING", "DEPLOYING", "DEPLOYING", "DEPLOYED"], 409).await;
    let dir = temp_dir("cancel-409-wait");
    let output = cancel(&server, &dir).output().unwrap();
    let (out, err) = (stdout(&output), stderr(&output));
    assert_eq!(output.status.code(), Some(0), "{out}{err}");
    assert!(err.contains("Qovery refused the cancel (409)"), "{err}");
    assert!(
        err.contains("the environment is free: the other operation ended DEPLOYED"),
        "{err}"
    );
    assert!(out.contains("environment: DEPLOYING -> DEPLOYED"), "{out}");
    assert_eq!(
        cancel_posts(&calls(&server).await),
        1,
        "the cancel is not repeated"
    );
    let outputs = github_outputs(&dir.join("out"));
    assert_eq!(outputs["result"], "success");
    assert_eq!(outputs["state"], "DEPLOYED");
}

#[tokio::test]
async fn a_cancel_under_way_is_not_sent_again() {
    let server = environment(&["CANCELING", "CANCELED"], 202).await;
    let dir = temp_dir("cancel-canceling");
    let output = cancel(&server, &dir).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(cancel_posts(&calls(&server).await), 0);
    assert_eq!(github_outputs(&dir.join("out"))["state"], "CANCELED");
}

#[tokio::test]
async fn timeout_while_waiting_for_the_cancel_exits_3() {
    let server = environment(&["DEPLOYING", "CANCELING"], 202).await;
    let dir = temp_dir("cancel-timeout");
    let output = cancel(&server, &dir)
        .env("INPUT_TIMEOUT", "2s")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", stdout(&output));
    assert!(
        stderr(&output).contains("the environment was still CANCELING when the timeout passed"),
        "{}",
        stderr(&output)
    );
    assert_eq!(cancel_posts(&calls(&server).await), 1, "no second cancel");
    assert_eq!(github_outputs(&dir.join("out"))["result"], "timeout");
}

#[tokio::test]
async fn cancel_refuses_service_lists_with_zero_requests() {
    let server = MockServer::start().await;
    let output = command(&server.uri())
        .env("INPUT_COMMAND", "cancel")
        .env_remove("INPUT_COMMIT-SHA")
        .env("INPUT_APPLICATIONS", "api")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(
        err.contains("input `applications`") && err.contains("takes no services"),
        "{err}"
    );
    assert!(requests(&server).await.is_empty());
}

#[tokio::test]
async fn sigterm_while_waiting_for_the_cancel_exits_5_without_a_second_cancel() {
    let server = environment(&["DEPLOYING", "CANCELING"], 202).await;
    let dir = temp_dir("cancel-sigterm");
    let mut cmd = spawnable(&server.uri());
    cmd.env("INPUT_COMMAND", "cancel")
        .env_remove("INPUT_COMMIT-SHA")
        .env("GITHUB_OUTPUT", dir.join("out"));
    let (exit, output) = sigterm_when(cmd, &server, async |server: &MockServer| {
        count(server, "GET", &format!("/environment/{ENV}/status")).await >= 2
    })
    .await;
    assert_eq!(
        exit.code(),
        Some(5),
        "{}{}",
        stdout(&output),
        stderr(&output)
    );
    assert_eq!(cancel_posts(&calls(&server).await), 1);
    let outputs = github_outputs(&dir.join("out"));
    assert_eq!(outputs["result"], "cancelled");
    assert!(stderr(&output).contains("SIGTERM"), "{}", stderr(&output));
}
