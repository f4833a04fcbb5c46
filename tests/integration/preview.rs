//! `preview` and `preview-delete`: the real binary against the bundled mock, which clones, lists
//! and deletes environments; every request checked against the spec.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use qovery_mock::{MockConfig, MockEnvironment, MockServer, Scenario, ids};
use serde_json::{Value, json};

use crate::spec::{assert_mock_conforms, spec};
use crate::support::{assert_exit, command, github_outputs, spawnable, stderr, stdout, temp_dir};

async fn mock(scenario: Scenario) -> MockServer {
    MockServer::spawn(MockConfig {
        scenario,
        step: Duration::from_millis(300),
    })
    .await
    .unwrap()
}

/// A run's command and the file its outputs go to.
struct Run {
    cmd: assert_cmd::Command,
    outputs: PathBuf,
}

/// `command` (`preview` or `preview-delete`) against the mock, as a GitHub step writing outputs;
/// `preview` lists `api` and `worker`.
fn run(server: &MockServer, command_name: &str, name: Option<&str>, dir: &str) -> Run {
    let dir = temp_dir(dir);
    let outputs = dir.join("github_output");
    let mut cmd = command(&server.url());
    cmd.current_dir(&dir)
        .env("INPUT_COMMAND", command_name)
        .env("GITHUB_OUTPUT", &outputs);
    if command_name == "preview-delete" {
        // It reads no commit: an explicit one would be refused (one rule for unread inputs).
        cmd.env_remove("INPUT_COMMIT-SHA");
    }
    if command_name == "preview" {
        cmd.env("INPUT_APPLICATIONS", "api")
            .env("INPUT_CONTAINERS", "worker");
    }
    if let Some(name) = name {
        cmd.env("INPUT_PREVIEW-NAME", name);
    }
    Run { cmd, outputs }
}

impl Run {
    fn go(mut self) -> (std::process::Output, BTreeMap<String, String>) {
        let output = self.cmd.output().unwrap();
        (output, github_outputs(&self.outputs))
    }
}

fn requests(server: &MockServer, method: &str, path: &str) -> Vec<qovery_mock::RecordedRequest> {
    server
        .requests()
        .into_iter()
        .filter(|r| r.method == method && r.path == path)
        .collect()
}

fn clone_path() -> String {
    format!("/environment/{}/clone", ids::ENVIRONMENT)
}

fn named(server: &MockServer, name: &str) -> Option<MockEnvironment> {
    server.environments().into_iter().find(|e| e.name == name)
}

fn service_id(environment: &MockEnvironment, name: &str) -> String {
    environment
        .services
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, id)| id.clone())
        .unwrap()
}

/// Nothing but reads reached the blueprint (no deploy, no cancel, no delete on it).
fn blueprint_untouched(server: &MockServer) {
    let writes: Vec<String> = server
        .requests()
        .into_iter()
        .filter(|r| {
            r.method != "GET" && r.path != clone_path() && r.path.contains(ids::ENVIRONMENT)
        })
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(writes.is_empty(), "writes to the blueprint: {writes:?}");
}

#[tokio::test]
async fn create_then_deploy() {
    let server = mock(Scenario::Happy).await;
    let (output, outputs) = run(&server, "preview", Some("pr-12"), "preview-create").go();
    assert_exit(&output, 0);
    let out = stdout(&output);

    let preview = named(&server, "pr-12").expect("the preview exists");
    assert_eq!(preview.mode, "PREVIEW");
    let clones = requests(&server, "POST", &clone_path());
    assert_eq!(clones.len(), 1);
    assert_eq!(
        clones[0].body,
        Some(json!({"name": "pr-12", "mode": "PREVIEW", "apply_deployment_rule": false}))
    );
    // The clone's services took two reads to appear: the run waited for them.
    assert!(
        out.contains("waiting for the new environment's services: 0 of 2"),
        "{out}"
    );
    // A new environment was never deployed: no previous deployment to speak of.
    assert!(
        out.contains("queued: waiting for Qovery to start it (the environment is idle, READY)"),
        "{out}"
    );
    assert!(
        requests(
            &server,
            "GET",
            &format!("/environment/{}/services", preview.id)
        )
        .len()
            >= 3
    );
    // One deploy, to the preview, with the preview's own service ids.
    let deploys = requests(
        &server,
        "POST",
        &format!("/environment/{}/service/deploy", preview.id),
    );
    assert_eq!(deploys.len(), 1);
    let body = deploys[0].body.clone().unwrap();
    assert_eq!(
        body["applications"][0]["application_id"],
        service_id(&preview, "api")
    );
    assert_eq!(body["containers"][0]["id"], service_id(&preview, "worker"));
    assert_eq!(
        body["applications"][0]["git_commit_id"],
        crate::support::SHA
    );
    blueprint_untouched(&server);

    assert_eq!(outputs["result"], "success");
    assert_eq!(outputs["state"], "DEPLOYED");
    assert_eq!(outputs["created"], "true");
    assert_eq!(outputs["environment-id"], preview.id);
    assert_eq!(outputs["environment-name"], "pr-12");
    assert_eq!(outputs["execution-id"], format!("{}-1", preview.id));
    assert_eq!(
        outputs["url"],
        format!("{}/_mock/app/{}/api", server.url(), preview.id)
    );
    let urls: Value = serde_json::from_str(&outputs["urls"]).unwrap();
    assert_eq!(
        urls,
        json!({
            "api": format!("{}/_mock/app/{}/api", server.url(), preview.id),
            "web": format!("{}/_mock/app/{}/web", server.url(), preview.id),
        })
    );
    assert!(
        outputs["console-url"].contains(&format!("/environment/{}/deployment/", preview.id)),
        "{}",
        outputs["console-url"]
    );
    let services: Vec<Value> = serde_json::from_str(&outputs["services"]).unwrap();
    assert_eq!(services[0]["id"], service_id(&preview, "api"));
    assert!(
        out.contains(&format!(
            "preview environment: pr-12 ({}), created by this run",
            preview.id
        )),
        "{out}"
    );
    assert_mock_conforms(&server);
}

#[tokio::test]
async fn the_second_run_reuses_it_without_a_second_clone() {
    let server = mock(Scenario::Happy).await;
    let (first, _) = run(&server, "preview", Some("pr-3"), "preview-reuse-1").go();
    assert_exit(&first, 0);
    // Names are case-insensitive: a run naming it `PR-3` finds it too.
    let (second, outputs) = run(&server, "preview", Some("PR-3"), "preview-reuse-2").go();
    assert_exit(&second, 0);
    assert_eq!(requests(&server, "POST", &clone_path()).len(), 1);
    let preview = named(&server, "pr-3").unwrap();
    assert_eq!(server.environments().len(), 2);
    assert_eq!(outputs["created"], "false");
    assert_eq!(outputs["environment-id"], preview.id);
    assert_eq!(outputs["environment-name"], "pr-3");
    assert_eq!(outputs["execution-id"], format!("{}-2", preview.id));
    assert_eq!(
        requests(
            &server,
            "POST",
            &format!("/environment/{}/service/deploy", preview.id)
        )
        .len(),
        2
    );
    // Once found, it is called by its own name everywhere, and nothing claims it was cloned.
    let out = stdout(&second);
    assert!(
        out.contains(&format!(
            "reusing preview environment `pr-3` ({})",
            preview.id
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!("service(s) to environment pr-3 ({})", preview.id)),
        "{out}"
    );
    assert!(!out.contains("cloned from"), "{out}");
    // Only the header, printed before the lookup, names it as asked.
    assert_eq!(out.matches("PR-3").count(), 1, "{out}");
    assert!(!stdout(&second).contains("waiting for the new environment's services"));
    blueprint_untouched(&server);
    assert_mock_conforms(&server);
}

#[tokio::test]
async fn a_name_conflict_on_clone_reuses_what_the_concurrent_run_made() {
    let server = mock(Scenario::CloneRace).await;
    let (output, outputs) = run(&server, "preview", Some("pr-8"), "preview-race").go();
    assert_exit(&output, 0);
    let out = stdout(&output);
    assert!(out.contains("the clone answered 409"), "{out}");
    assert!(out.contains("created by a concurrent run"), "{out}");
    let preview = named(&server, "pr-8").unwrap();
    assert_eq!(server.environments().len(), 2, "one preview, not two");
    assert_eq!(requests(&server, "POST", &clone_path()).len(), 1);
    // The list was read before the clone and again after its 409.
    let lists = requests(
        &server,
        "GET",
        &format!("/project/{}/environment", ids::PROJECT),
    );
    assert_eq!(lists.len(), 2);
    assert_eq!(outputs["created"], "false");
    assert_eq!(outputs["result"], "success");
    assert_eq!(
        requests(
            &server,
            "POST",
            &format!("/environment/{}/service/deploy", preview.id)
        )
        .len(),
        1
    );
    assert_mock_conforms(&server);
}

#[tokio::test]
async fn blueprint_uuids_are_mapped_by_name() {
    let server = mock(Scenario::Happy).await;
    let mut uuids = run(&server, "preview", Some("pr-5"), "preview-uuids");
    uuids
        .cmd
        .env("INPUT_APPLICATIONS", ids::API.to_uppercase())
        .env("INPUT_CONTAINERS", "WORKER=2.0.0")
        .env("INPUT_HELMS", ids::INGRESS_NGINX);
    let (output, _) = uuids.go();
    assert_exit(&output, 0);
    let preview = named(&server, "pr-5").unwrap();
    let deploy = &requests(
        &server,
        "POST",
        &format!("/environment/{}/service/deploy", preview.id),
    )[0];
    let body = deploy.body.clone().unwrap();
    assert_eq!(
        body["applications"][0]["application_id"],
        service_id(&preview, "api")
    );
    assert_eq!(
        body["containers"][0],
        json!({"id": service_id(&preview, "worker"), "image_tag": "2.0.0"})
    );
    assert_eq!(
        body["helms"][0],
        json!({"id": service_id(&preview, "ingress-nginx")})
    );
    let sent = serde_json::to_string(&body).unwrap();
    for blueprint_id in [ids::API, ids::WORKER, ids::INGRESS_NGINX] {
        assert!(!sent.contains(blueprint_id), "{sent}");
    }
    assert_mock_conforms(&server);
}

#[tokio::test]
async fn delete_follows_it_until_it_is_gone() {
    let server = mock(Scenario::Happy).await;
    let (created, _) = run(&server, "preview", Some("pr-4"), "preview-delete-1").go();
    assert_exit(&created, 0);
    let preview = named(&server, "pr-4").unwrap();
    let (output, outputs) = run(&server, "preview-delete", Some("pr-4"), "preview-delete-2").go();
    assert_exit(&output, 0);
    assert_eq!(
        requests(&server, "DELETE", &format!("/environment/{}", preview.id)).len(),
        1
    );
    // DELETING for two reads, then 404 (the deploy's polls, before the delete, read the same
    // status).
    let deleted = requests(&server, "DELETE", &format!("/environment/{}", preview.id))[0].elapsed;
    let polls: Vec<_> = requests(
        &server,
        "GET",
        &format!("/environment/{}/status", preview.id),
    )
    .into_iter()
    .filter(|r| r.elapsed > deleted)
    .collect();
    assert_eq!(polls.len(), 3);
    assert!(named(&server, "pr-4").is_none());
    assert_eq!(outputs["result"], "success");
    assert_eq!(outputs["state"], "DELETED");
    assert_eq!(outputs["environment-id"], preview.id);
    assert_eq!(outputs["environment-name"], "pr-4");
    let out = stdout(&output);
    assert!(out.contains("environment: DELETING"), "{out}");
    assert!(out.contains("is deleted"), "{out}");
    blueprint_untouched(&server);
    assert_mock_conforms(&server);
}

#[tokio::test]
async fn deleting_nothing_succeeds_without_a_write() {
    let server = mock(Scenario::Happy).await;
    let (output, outputs) = run(
        &server,
        "preview-delete",
        Some("pr-99"),
        "preview-delete-none",
    )
    .go();
    assert_exit(&output, 0);
    assert!(
        stdout(&output).contains("nothing to delete"),
        "{}",
        stdout(&output)
    );
    assert!(server.requests().iter().all(|r| r.method == "GET"));
    assert_eq!(outputs["result"], "success");
    assert_eq!(outputs["environment-id"], "");
    assert_eq!(outputs["environment-name"], "pr-99");
    assert_mock_conforms(&server);
}

#[tokio::test]
async fn the_blueprint_is_never_deleted_nor_redeployed_as_a_preview() {
    let server = mock(Scenario::Happy).await;
    for (command_name, dir) in [
        ("preview-delete", "refuse-delete"),
        ("preview", "refuse-preview"),
    ] {
        let (output, outputs) = run(&server, command_name, Some("Staging"), dir).go();
        assert_exit(&output, 2);
        let err = stderr(&output);
        assert!(err.contains("input `preview-name`"), "{err}");
        assert!(
            err.contains(&format!("blueprint environment {}", ids::ENVIRONMENT)),
            "{err}"
        );
        assert_eq!(outputs["result"], "failure");
    }
    assert!(server.requests().iter().all(|r| r.method == "GET"));
}

/// A DEVELOPMENT environment named `dev-copy` in the project, made as another user would.
async fn other_environment(server: &MockServer, mode: &str) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let answer = reqwest::Client::new()
        .post(format!("{}{}", server.url(), clone_path()))
        .header("authorization", "Token x")
        .json(&json!({"name": "dev-copy", "mode": mode}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 202);
}

/// Requests other than reads and the one clone a test made itself.
fn writes_after_setup(server: &MockServer) -> Vec<String> {
    server
        .requests()
        .into_iter()
        .filter(|r| r.method != "GET")
        .skip(1)
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

#[tokio::test]
async fn a_non_preview_environment_is_neither_deleted_nor_deployed_to() {
    let server = mock(Scenario::Happy).await;
    other_environment(&server, "DEVELOPMENT").await;
    let dev = named(&server, "dev-copy").unwrap();
    for (command_name, what) in [
        ("preview-delete", "refusing to delete"),
        ("preview", "refusing to deploy a pull request to"),
    ] {
        let (output, _) = run(&server, command_name, Some("DEV-copy"), "refuse-mode").go();
        assert_exit(&output, 2);
        let err = stderr(&output);
        assert!(err.contains(&format!("`DEV-copy` ({})", dev.id)), "{err}");
        assert!(
            err.contains("DEVELOPMENT environment, not a PREVIEW one"),
            "{err}"
        );
        assert!(err.contains(what), "{err}");
    }
    assert_eq!(writes_after_setup(&server), Vec::<String>::new());
    assert!(named(&server, "dev-copy").is_some());
}

#[tokio::test]
async fn the_default_name_comes_from_the_github_pull_request_event() {
    let server = mock(Scenario::Happy).await;
    let dir = temp_dir("preview-github-event");
    let event = dir.join("event.json");
    std::fs::write(
        &event,
        json!({"action": "synchronize", "number": 34, "pull_request": {"number": 34, "body": "::error::x\n".repeat(1000)}}).to_string(),
    )
    .unwrap();
    let mut open = run(&server, "preview", None, "preview-github");
    open.cmd
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_EVENT_NAME", "pull_request")
        .env("GITHUB_EVENT_PATH", &event);
    let (output, outputs) = open.go();
    assert_exit(&output, 0);
    assert!(stdout(&output).contains("Preview environment `pr-34` (from pull request #34)"));
    assert_eq!(outputs["environment-name"], "pr-34");
    assert_eq!(
        requests(&server, "POST", &clone_path())[0]
            .body
            .as_ref()
            .unwrap()["name"],
        "pr-34"
    );
    // The same default deletes it when the pull request closes.
    let mut delete = run(&server, "preview-delete", None, "preview-github-close");
    delete
        .cmd
        .env("GITHUB_EVENT_NAME", "pull_request")
        .env("GITHUB_EVENT_PATH", &event);
    let (output, outputs) = delete.go();
    assert_exit(&output, 0);
    assert_eq!(outputs["state"], "DELETED");
    assert!(named(&server, "pr-34").is_none());
}

#[tokio::test]
async fn the_default_name_comes_from_gitlab_merge_request_variables() {
    let server = mock(Scenario::Happy).await;
    let dir = temp_dir("preview-gitlab");
    let output = command(&server.url())
        .current_dir(&dir)
        .env("INPUT_COMMAND", "preview")
        .env("INPUT_APPLICATIONS", "api")
        .env("GITLAB_CI", "true")
        .env("CI_MERGE_REQUEST_IID", "5")
        .env("CI_COMMIT_REF_SLUG", "feature-x")
        .output()
        .unwrap();
    assert_exit(&output, 0);
    let dotenv: BTreeMap<String, String> = dotenvy::from_path_iter(dir.join("qovery-deploy.env"))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let preview = named(&server, "mr-5").expect("named after the merge request");
    assert_eq!(dotenv["QOVERY_ENVIRONMENT_NAME"], "mr-5");
    assert_eq!(dotenv["QOVERY_ENVIRONMENT_ID"], preview.id);
    assert_eq!(dotenv["QOVERY_CREATED"], "true");
    assert_eq!(
        dotenv["QOVERY_URL"],
        format!("{}/_mock/app/{}/api", server.url(), preview.id)
    );
    assert_eq!(dotenv["QOVERY_RESULT"], "success");
    assert_mock_conforms(&server);
}

#[tokio::test]
async fn without_a_pull_request_or_a_name_nothing_is_sent() {
    let server = mock(Scenario::Happy).await;
    let mut push = run(&server, "preview", None, "preview-no-name");
    push.cmd.env("GITHUB_EVENT_NAME", "push");
    let (output, _) = push.go();
    assert_exit(&output, 2);
    assert!(
        stderr(&output).contains("input `preview-name`: not set"),
        "{}",
        stderr(&output)
    );
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn a_bad_entry_stops_before_anything_is_cloned() {
    let server = mock(Scenario::Happy).await;
    let mut bad = run(&server, "preview", Some("pr-6"), "preview-bad-entry");
    bad.cmd.env("INPUT_APPLICATIONS", "api,nope");
    let (output, _) = bad.go();
    assert_exit(&output, 2);
    assert!(
        stderr(&output).contains("entry `nope`"),
        "{}",
        stderr(&output)
    );
    assert!(server.requests().iter().all(|r| r.method == "GET"));
    assert_eq!(server.environments().len(), 1);
}

#[tokio::test]
async fn a_preview_being_deleted_is_waited_out_then_cloned_again() {
    let server = mock(Scenario::Happy).await;
    let (first, _) = run(&server, "preview", Some("pr-2"), "preview-again-1").go();
    assert_exit(&first, 0);
    let old = named(&server, "pr-2").unwrap();
    // The pull request is closed (delete without waiting), then reopened at once.
    let mut close = run(&server, "preview-delete", Some("pr-2"), "preview-again-2");
    close.cmd.env("INPUT_WAIT", "false");
    let (closed, outputs) = close.go();
    assert_exit(&closed, 0);
    assert_eq!(outputs["result"], "queued");
    let (reopened, outputs) = run(&server, "preview", Some("pr-2"), "preview-again-3").go();
    assert_exit(&reopened, 0);
    let out = stdout(&reopened);
    assert!(out.contains("is being deleted (DELETING)"), "{out}");
    let new = named(&server, "pr-2").unwrap();
    assert_ne!(new.id, old.id);
    assert_eq!(outputs["created"], "true");
    assert_eq!(outputs["environment-id"], new.id);
    assert_eq!(requests(&server, "POST", &clone_path()).len(), 2);
    // Nothing was deployed to the environment on its way out.
    assert_eq!(
        requests(
            &server,
            "POST",
            &format!("/environment/{}/service/deploy", old.id)
        )
        .len(),
        1
    );
    assert_mock_conforms(&server);
}

#[tokio::test]
async fn a_timeout_cancels_our_deployment_in_the_preview_not_in_the_blueprint() {
    let server = mock(Scenario::Stuck).await;
    let mut stuck = run(&server, "preview", Some("pr-11"), "preview-timeout");
    stuck.cmd.env("INPUT_TIMEOUT", "5s");
    let (output, outputs) = stuck.go();
    assert_exit(&output, 3);
    let preview = named(&server, "pr-11").unwrap();
    assert_eq!(
        requests(
            &server,
            "POST",
            &format!("/environment/{}/cancelDeployment", preview.id)
        )
        .len(),
        1
    );
    blueprint_untouched(&server);
    assert_eq!(outputs["result"], "timeout");
    assert_eq!(outputs["environment-id"], preview.id);
    assert_mock_conforms(&server);
}

#[tokio::test]
async fn sigterm_while_the_preview_deploys_cancels_it_there() {
    let server = mock(Scenario::Stuck).await;
    let mut cmd = spawnable(&server.url());
    cmd.env("INPUT_COMMAND", "preview")
        .env("INPUT_PREVIEW-NAME", "pr-13")
        .env("INPUT_APPLICATIONS", "api");
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let preview_deployed = || {
        server.environments().iter().any(|e| {
            e.name == "pr-13"
                && !requests(
                    &server,
                    "POST",
                    &format!("/environment/{}/service/deploy", e.id),
                )
                .is_empty()
        })
    };
    while !preview_deployed() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "never deployed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    let signalled = std::time::Instant::now();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            signalled.elapsed() < Duration::from_secs(8),
            "did not exit within 8s of SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        exit.code(),
        Some(5),
        "{}{}",
        stdout(&output),
        stderr(&output)
    );
    let preview = named(&server, "pr-13").unwrap();
    let cancels: usize = server
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("cancelDeployment"))
        .count();
    assert_eq!(cancels, 1);
    assert_eq!(
        requests(
            &server,
            "POST",
            &format!("/environment/{}/cancelDeployment", preview.id)
        )
        .len()
            + server
                .requests()
                .iter()
                .filter(|r| r.path.starts_with("/deploymentQueue/"))
                .count(),
        1
    );
    blueprint_untouched(&server);
}

#[tokio::test]
async fn the_mock_answers_what_the_spec_declares() {
    let server = mock(Scenario::Happy).await;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();
    let call = |method: reqwest::Method, path: String, body: Option<Value>| {
        let mut request = http
            .request(method, format!("{}{path}", server.url()))
            .header("authorization", "Token x");
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send()
    };
    let mut errors = Vec::new();
    let mut check = |method: &str, path: &str, status: u16, body: &[u8]| {
        errors.extend(spec().response_violations(method, path, status, body));
    };
    let answer = call(
        reqwest::Method::POST,
        clone_path(),
        Some(json!({"name": "pr-1", "mode": "PREVIEW"})),
    )
    .await
    .unwrap();
    let status = answer.status().as_u16();
    let body = answer.bytes().await.unwrap();
    check("POST", &clone_path(), status, &body);
    let id = serde_json::from_slice::<Value>(&body).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let answer = call(
        reqwest::Method::POST,
        clone_path(),
        Some(json!({"name": "PR-1", "mode": "PREVIEW"})),
    )
    .await
    .unwrap();
    assert_eq!(answer.status(), 409);
    for path in [
        format!("/project/{}/environment", ids::PROJECT),
        format!("/environment/{id}"),
        format!("/environment/{id}/status"),
        format!("/environment/{id}/statuses"),
        format!("/environment/{id}/services"),
        format!("/environment/{id}/link"),
        format!("/environment/{}/link", ids::ENVIRONMENT),
    ] {
        let answer = call(reqwest::Method::GET, path.clone(), None)
            .await
            .unwrap();
        let status = answer.status().as_u16();
        check("GET", &path, status, &answer.bytes().await.unwrap());
    }
    let answer = call(reqwest::Method::DELETE, format!("/environment/{id}"), None)
        .await
        .unwrap();
    let status = answer.status().as_u16();
    check(
        "DELETE",
        &format!("/environment/{id}"),
        status,
        &answer.bytes().await.unwrap(),
    );
    for _ in 0..2 {
        let path = format!("/environment/{id}/statuses");
        let answer = call(reqwest::Method::GET, path.clone(), None)
            .await
            .unwrap();
        let status = answer.status().as_u16();
        let body = answer.bytes().await.unwrap();
        assert_eq!(
            serde_json::from_slice::<Value>(&body).unwrap()["environment"]["state"],
            "DELETING"
        );
        check("GET", &path, status, &body);
    }
    assert!(
        errors.is_empty(),
        "answers that break the spec:\n{}",
        errors.join("\n")
    );
}

/// The steps of `examples/github-preview.yml` that use this action, in a job, run as the GitHub
/// runner would run them: every input of action.yml set (to the step's value, else its default),
/// the example's expressions replaced by test values, the event file of a pull request.
fn github_example_step(
    server: &MockServer,
    job: &str,
    dir: &std::path::Path,
    expressions: &BTreeMap<&str, String>,
) -> assert_cmd::Command {
    let root = env!("CARGO_MANIFEST_DIR");
    let example: serde_yaml_ng::Value = serde_yaml_ng::from_str(
        &std::fs::read_to_string(format!("{root}/examples/github-preview.yml")).unwrap(),
    )
    .unwrap();
    let action: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(format!("{root}/action.yml")).unwrap())
            .unwrap();
    let steps = example["jobs"][job]["steps"].as_sequence().unwrap();
    let step = steps
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("qovery-deploy/qovery-deploy@"))
        })
        .unwrap_or_else(|| panic!("job {job} runs the action"));
    let mut cmd = command(&server.url());
    cmd.current_dir(dir);
    for (name, input) in action["inputs"].as_mapping().unwrap() {
        let name = name.as_str().unwrap();
        let value = match step["with"].get(name) {
            Some(value) => {
                let mut text = match value {
                    serde_yaml_ng::Value::String(s) => s.clone(),
                    other => serde_yaml_ng::to_string(other).unwrap().trim().to_string(),
                };
                while let Some(start) = text.find("${{") {
                    let end = text[start..].find("}}").unwrap() + start;
                    let expression = text[start + 3..end].trim();
                    let replacement = expressions
                        .get(expression)
                        .unwrap_or_else(|| panic!("the test has no value for `{expression}`"));
                    text.replace_range(start..end + 2, replacement);
                }
                text
            }
            None => input["default"].as_str().unwrap_or_default().to_string(),
        };
        // The runner's spelling: INPUT_ + the name upper-cased, hyphens kept.
        cmd.env(format!("INPUT_{}", name.to_uppercase()), value);
    }
    // What only a local run must change: the mock's address, a quicker poll.
    cmd.env("INPUT_API-URL", server.url())
        .env("INPUT_POLL-INTERVAL", "1s")
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_EVENT_NAME", "pull_request")
        .env("GITHUB_EVENT_PATH", dir.join("event.json"))
        .env("GITHUB_OUTPUT", dir.join("output"))
        .env("GITHUB_STEP_SUMMARY", dir.join("summary"))
        .env("GITHUB_SHA", "9999999999999999999999999999999999999999");
    cmd
}

#[tokio::test]
async fn the_github_example_runs_its_pull_request_lifecycle() {
    let server = mock(Scenario::Happy).await;
    let dir = temp_dir("preview-github-example");
    let head = "4b1c0de4b1c0de4b1c0de4b1c0de4b1c0de4b1c0";
    std::fs::write(
        dir.join("event.json"),
        json!({"action": "opened", "number": 21, "pull_request": {"number": 21, "head": {"sha": head}}}).to_string(),
    )
    .unwrap();
    let expressions: BTreeMap<&str, String> = [
        (
            "secrets.QOVERY_API_TOKEN",
            crate::support::TOKEN.to_string(),
        ),
        (
            "vars.QOVERY_BLUEPRINT_ENVIRONMENT_ID",
            ids::ENVIRONMENT.to_string(),
        ),
        ("github.event.pull_request.head.sha", head.to_string()),
    ]
    .into_iter()
    .collect();

    let output = github_example_step(&server, "preview", &dir, &expressions)
        .output()
        .unwrap();
    assert_exit(&output, 0);
    let preview = named(&server, "pr-21").expect("named after the pull request");
    let outputs = github_outputs(&dir.join("output"));
    assert_eq!(outputs["created"], "true");
    assert_eq!(
        outputs["url"],
        format!("{}/_mock/app/{}/api", server.url(), preview.id)
    );
    // The pull request's own commit, not the merge commit GITHUB_SHA names.
    let deploy = &requests(
        &server,
        "POST",
        &format!("/environment/{}/service/deploy", preview.id),
    )[0];
    assert_eq!(
        deploy.body.as_ref().unwrap()["applications"][0]["git_commit_id"],
        head
    );
    assert_eq!(
        deploy.body.as_ref().unwrap()["containers"][0]["image_tag"],
        head
    );
    let summary = std::fs::read_to_string(dir.join("summary")).unwrap();
    assert!(
        summary.contains(&format!(
            // An http link (the mock's) is no autolink: it shows as code.
            "**Preview environment:** `pr-21` (created by this run) · `api` `{}/_mock/app/{}/api`",
            server.url(),
            preview.id
        )),
        "{summary}"
    );
    // The comment steps read only outputs the action declares.
    let example = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/github-preview.yml"
    ))
    .unwrap();
    for (at, _) in example.match_indices("outputs.") {
        let name: String = example[at + "outputs.".len()..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        assert!(
            qovery_deploy::report::OUTPUTS.contains(&name.as_str()),
            "outputs.{name}"
        );
    }

    // Closed: the delete job's step, every other input at its action.yml default.
    std::fs::write(
        dir.join("event.json"),
        json!({"action": "closed", "number": 21, "pull_request": {"number": 21}}).to_string(),
    )
    .unwrap();
    std::fs::remove_file(dir.join("output")).unwrap();
    let output = github_example_step(&server, "delete", &dir, &expressions)
        .output()
        .unwrap();
    assert_exit(&output, 0);
    let outputs = github_outputs(&dir.join("output"));
    assert_eq!(
        (outputs["result"].as_str(), outputs["state"].as_str()),
        ("success", "DELETED")
    );
    assert_eq!(outputs["environment-id"], preview.id);
    assert!(named(&server, "pr-21").is_none());
    assert_mock_conforms(&server);
}

/// A wiremock Qovery for the cases the stateful mock does not play: the blueprint, its services
/// and the project's list answering `lists` in turn.
mod odd_answers {
    use serde_json::json;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use crate::spec::assert_conforms;
    use crate::support::{
        ENV, ORG, PROJECT, Sequence, assert_exit, command, count, services, stderr, stdout,
    };

    const PREVIEW: &str = "e7000000-0000-4000-8000-000000000007";

    fn environment(id: &str, name: &str, mode: &str) -> serde_json::Value {
        json!({"id": id, "name": name, "mode": mode, "created_at": "2026-01-01T00:00:00Z",
               "cluster_id": ORG, "cloud_provider": {}, "organization": {"id": ORG}, "project": {"id": PROJECT}})
    }

    async fn qovery(lists: Vec<serde_json::Value>) -> MockServer {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(format!("/environment/{ENV}")))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(environment(ENV, "staging", "STAGING")),
            )
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path(format!("/environment/{ENV}/services")))
            .respond_with(ResponseTemplate::new(200).set_body_json(services()))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path(format!("/project/{PROJECT}/environment")))
            .respond_with(Sequence::json(
                lists.into_iter().map(|l| json!({"results": l})).collect(),
            ))
            .mount(&server)
            .await;
        server
    }

    fn preview(server: &MockServer) -> assert_cmd::Command {
        let mut cmd = command(&server.uri());
        cmd.env("INPUT_COMMAND", "preview")
            .env("INPUT_PREVIEW-NAME", "pr-7")
            .env("INPUT_APPLICATIONS", "api")
            .env("INPUT_TIMEOUT", "20s");
        cmd
    }

    #[tokio::test]
    async fn a_409_with_nothing_to_reuse_is_the_api_refusing() {
        let staging = environment(ENV, "staging", "STAGING");
        let server = qovery(vec![json!([staging])]).await;
        Mock::given(method("POST"))
            .and(path(format!("/environment/{ENV}/clone")))
            .respond_with(
                ResponseTemplate::new(409)
                    .set_body_json(json!({"message": "Operation is in progress"})),
            )
            .expect(1)
            .mount(&server)
            .await;
        let output = preview(&server).output().unwrap();
        assert_exit(&output, 4);
        assert!(
            stderr(&output).contains("conflict (409): Operation is in progress"),
            "{}",
            stderr(&output)
        );
        // Read again after the 409; nothing deployed.
        assert_eq!(
            count(&server, "GET", &format!("/project/{PROJECT}/environment")).await,
            2
        );
        assert_eq!(crate::support::writes(&server).await, 1);
        assert_conforms(&server).await;
    }

    #[tokio::test]
    async fn an_empty_202_on_clone_finds_the_environment_by_name() {
        let staging = environment(ENV, "staging", "STAGING");
        let made = environment(PREVIEW, "pr-7", "PREVIEW");
        let server = qovery(vec![json!([staging.clone()]), json!([staging, made])]).await;
        Mock::given(method("POST"))
            .and(path(format!("/environment/{ENV}/clone")))
            .respond_with(ResponseTemplate::new(202))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path(format!("/environment/{PREVIEW}/services")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"results": []})))
            .mount(&server)
            .await;
        // Its services never appear: the run times out before deploying anything.
        let output = preview(&server)
            .env("INPUT_TIMEOUT", "4s")
            .output()
            .unwrap();
        assert_exit(&output, 3);
        assert!(
            stderr(&output).contains("`pr-7` was not ready to deploy within the timeout"),
            "{}",
            stderr(&output)
        );
        assert!(
            stdout(&output).contains(&format!("cloned environment {ENV} into `pr-7` ({PREVIEW})"))
        );
        assert_eq!(crate::support::writes(&server).await, 1);
        assert_conforms(&server).await;
    }

    #[tokio::test]
    async fn a_reused_preview_without_a_listed_service_is_bad_input() {
        let staging = environment(ENV, "staging", "STAGING");
        let old = environment(PREVIEW, "PR-7", "PREVIEW");
        let server = qovery(vec![json!([staging, old])]).await;
        Mock::given(method("GET"))
            .and(path(format!("/environment/{PREVIEW}/services")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"results": [
                {"id": "f7000000-0000-4000-8000-000000000001", "name": "web", "service_type": "APPLICATION"}
            ]})))
            .mount(&server)
            .await;
        let output = preview(&server).output().unwrap();
        assert_exit(&output, 2);
        let err = stderr(&output);
        assert!(
            err.contains(&format!(
                "not in preview environment `PR-7` ({PREVIEW}): api"
            )),
            "{err}"
        );
        assert!(err.contains("preview-delete"), "{err}");
        assert_eq!(crate::support::writes(&server).await, 0);
        assert_conforms(&server).await;
    }
}
