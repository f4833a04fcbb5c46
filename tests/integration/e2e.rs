//! End to end: the real binary against the bundled stateful mock (`qovery-mock`), which plays whole
//! deployments (queued, building, deploying, deployed) and the scenarios users rehearse with.

use std::collections::BTreeMap;
use std::time::Duration;

use qovery_mock::{MockConfig, MockServer, Scenario, ids};
use serde_json::Value;

use crate::support::{TOKEN, assert_exit, command, parse_github_output, stderr, stdout, temp_dir};

async fn mock(scenario: Scenario) -> MockServer {
    MockServer::spawn(MockConfig {
        scenario,
        step: Duration::from_millis(400),
    })
    .await
    .unwrap()
}

fn deploy(server: &MockServer) -> assert_cmd::Command {
    let mut cmd = command(&server.url());
    cmd.env("INPUT_ENVIRONMENT-ID", ids::ENVIRONMENT)
        .env("INPUT_APPLICATIONS", "api,web")
        .env("INPUT_CONTAINERS", "worker")
        .env("INPUT_JOBS", "migrate")
        .env("INPUT_HELMS", "ingress-nginx")
        .env("INPUT_DATABASES", "postgres")
        .env("INPUT_CHART-VERSION", "4.11.2");
    cmd
}

fn calls(server: &MockServer, method: &str, path: &str) -> usize {
    server
        .requests()
        .iter()
        .filter(|r| r.method == method && r.path == path)
        .count()
}

/// The environment's status as the mock shows it now.
async fn environment_status(server: &MockServer) -> Value {
    // The crate builds reqwest without a default crypto provider (it installs ring at startup).
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
        .get(format!(
            "{}/environment/{}/status",
            server.url(),
            ids::ENVIRONMENT
        ))
        .header("authorization", "Token x")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_clean_container_environment_gets_every_output_and_never_the_token() {
    let server = mock(Scenario::Happy).await;
    let workspace = temp_dir("e2e-github");
    let files = workspace.join("file_commands");
    std::fs::create_dir_all(&files).unwrap();
    // Only what a docker action's container gets (`env -i` plus the runner's variables).
    let output = deploy(&server)
        .current_dir(&workspace)
        .env("GITHUB_ACTIONS", "true")
        .env("CI", "true")
        .env("GITHUB_OUTPUT", files.join("set_output"))
        .env("GITHUB_STEP_SUMMARY", files.join("step_summary"))
        .env("GITHUB_WORKSPACE", &workspace)
        .output()
        .unwrap();
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}{}", stderr(&output));

    assert_eq!(
        calls(
            &server,
            "POST",
            &format!("/environment/{}/service/deploy", ids::ENVIRONMENT)
        ),
        1
    );
    // The request id the mock handed out, as its environment reports it now.
    let request_id = environment_status(&server).await["deployment_request_id"]
        .as_str()
        .unwrap()
        .to_string();
    let outputs = parse_github_output(&std::fs::read_to_string(files.join("set_output")).unwrap());
    let keys: Vec<&str> = outputs.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "console-url",
            "created",
            "deployment-request-id",
            "duration-seconds",
            "environment-id",
            "environment-name",
            "execution-id",
            "result",
            "services",
            "state",
            "url",
            "urls"
        ]
    );
    assert_eq!(outputs["result"], "success");
    assert_eq!(outputs["state"], "DEPLOYED");
    // The links the mock serves: api (listed first) and web.
    let app = format!("{}/_mock/app/{}", server.url(), ids::ENVIRONMENT);
    assert_eq!(outputs["url"], format!("{app}/api"));
    assert_eq!(
        outputs["urls"],
        format!(r#"{{"api":"{app}/api","web":"{app}/web"}}"#)
    );
    assert_eq!(outputs["execution-id"], format!("{}-42", ids::ENVIRONMENT));
    assert_eq!(outputs["deployment-request-id"], request_id);
    assert!(outputs["console-url"].ends_with(&format!(
        "/environment/{}/deployment/{}-42",
        ids::ENVIRONMENT,
        ids::ENVIRONMENT
    )));
    let services: Vec<Value> = serde_json::from_str(&outputs["services"]).unwrap();
    assert_eq!(services.len(), 6);
    for service in &services {
        assert_eq!(service["state"], "DEPLOYED", "{service}");
        assert_eq!(
            service["deployment_request_id"].as_str(),
            Some(outputs["deployment-request-id"].as_str())
        );
    }
    assert_eq!(
        services[5],
        serde_json::json!({"id": ids::POSTGRES, "name": "postgres", "type": "DATABASE", "state": "DEPLOYED", "deployment_request_id": outputs["deployment-request-id"]})
    );

    let summary = std::fs::read_to_string(files.join("step_summary")).unwrap();
    for name in [
        "api",
        "web",
        "worker",
        "migrate",
        "ingress-nginx",
        "postgres",
    ] {
        assert_eq!(
            summary
                .lines()
                .filter(|l| l.starts_with(&format!("| `{name}` |")))
                .count(),
            1,
            "{name}: {summary}"
        );
    }
    assert!(
        summary.contains(&format!("]({})", outputs["console-url"])),
        "{summary}"
    );

    assert_eq!(out.lines().next().unwrap(), format!("::add-mask::{TOKEN}"));
    assert_eq!(out.matches(TOKEN).count(), 1);
    assert!(!stderr(&output).contains(TOKEN));
    for file in ["set_output", "step_summary"] {
        assert!(
            !std::fs::read_to_string(files.join(file))
                .unwrap()
                .contains(TOKEN)
        );
    }
}

#[tokio::test]
async fn the_gitlab_dotenv_report_reads_back_to_the_same_values() {
    let server = mock(Scenario::Happy).await;
    let dir = temp_dir("e2e-gitlab");
    let output = deploy(&server)
        .current_dir(&dir)
        .env("GITLAB_CI", "true")
        .env("GITHUB_OUTPUT", dir.join("github_output"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = std::fs::read_to_string(dir.join("qovery-deploy.env")).unwrap();
    assert!(text.len() < 5 * 1024);
    // Read as GitLab reads it (`Ci::ParseDotenvArtifactService`): each line `^(.*?)=(.*)$`, both
    // parts stripped, no quote processing (a dotenv library would unquote the urls JSON).
    let dotenv: BTreeMap<String, String> = text
        .lines()
        .map(|line| {
            let (key, value) = line.split_once('=').expect("KEY=value");
            (key.trim().to_string(), value.trim().to_string())
        })
        .collect();
    let github = parse_github_output(&std::fs::read_to_string(dir.join("github_output")).unwrap());
    for (name, value) in github.iter().filter(|(n, _)| *n != "services") {
        let key = format!("QOVERY_{}", name.to_uppercase().replace('-', "_"));
        assert_eq!(dotenv.get(&key), Some(value), "{key}");
    }
    assert_eq!(
        dotenv["QOVERY_SERVICES"],
        "api:DEPLOYED,web:DEPLOYED,worker:DEPLOYED,migrate:DEPLOYED,ingress-nginx:DEPLOYED,postgres:DEPLOYED"
    );
    assert!(text.lines().all(|l| l.starts_with("QOVERY_")), "{text}");
    // GitLab collapsible sections instead of GitHub groups.
    assert!(stdout(&output).contains("section_start:") && !stdout(&output).contains("::group::"));
}

#[tokio::test]
async fn a_stale_deployed_is_waited_out() {
    let server = mock(Scenario::Stale).await;
    let output = deploy(&server).output().unwrap();
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}{}", stderr(&output));
    assert!(
        out.contains("queued: waiting for Qovery to start it"),
        "{out}"
    );
    // The previous deployment's DEPLOYED showed for 1.2 s: at least one poll saw it and went on.
    let polls = calls(
        &server,
        "GET",
        &format!("/environment/{}/statuses", ids::ENVIRONMENT),
    ) + calls(
        &server,
        "GET",
        &format!("/environment/{}/status", ids::ENVIRONMENT),
    );
    assert!(polls >= 3, "baseline, a stale poll, then ours: {polls}");
    assert!(
        out.contains(&format!("deployment/{}-42", ids::ENVIRONMENT)),
        "{out}"
    );
}

#[tokio::test]
async fn a_failing_service_exits_1_with_its_state() {
    let server = mock(Scenario::Fail).await;
    let output = deploy(&server).output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    assert!(
        stderr(&output).contains("deployment failed: api BUILD_ERROR"),
        "{}",
        stderr(&output)
    );
}

#[tokio::test]
async fn a_failing_service_is_explained_from_its_deployment_log() {
    let server = mock(Scenario::Fail).await;
    let dir = temp_dir("e2e-explain");
    let output = deploy(&server)
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", dir.join("summary"))
        .output()
        .unwrap();
    assert_exit(&output, 1);
    let out = stdout(&output);
    let message =
        "Cannot build the container image of api: `RUN npm ci --omit=dev` exited with code 1.";
    let hint = "The build fails in your Dockerfile: run `docker build .` on commit 3f8a1c2e9b7d to reproduce it, fix it and push again.";
    // In the group: the lines before the error, then the error and its hint.
    let group: Vec<&str> = out
        .lines()
        .skip_while(|l| !l.starts_with("::group::api failed (BUILD_ERROR): deployment log"))
        .take_while(|l| *l != "::endgroup::")
        .collect();
    assert!(
        group
            .iter()
            .any(|l| l.contains("npm ERR! ERESOLVE unable to resolve dependency tree")),
        "{out}"
    );
    assert!(
        group.iter().any(|l| l.ends_with(&format!(
            "✖ [BuilderDockerCannotBuildContainerImage] {message}"
        ))),
        "{out}"
    );
    assert!(
        group.iter().any(|l| l.ends_with(&format!("hint: {hint}"))),
        "{out}"
    );
    // Only api failed: no group for the others.
    assert_eq!(
        out.matches("::group::").count(),
        3,
        "plan, wait, api's log: {out}"
    );
    let logs_url = format!(
        "/environment/{}/service/{}/deployments/logs/{}-42",
        ids::ENVIRONMENT,
        ids::API,
        ids::ENVIRONMENT
    );
    let annotation = out
        .lines()
        .find(|l| l.starts_with("::error title=api failed::"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        annotation.contains(&format!(
            "{message}%0A  hint: {hint}%0A  logs: https://console.qovery.com/"
        )),
        "{annotation}"
    );
    assert!(annotation.contains(&logs_url), "{annotation}");
    let summary = std::fs::read_to_string(dir.join("summary")).unwrap();
    assert!(
        summary.contains(
            "❌ `api` failed, state `BUILD_ERROR` · [Deployment logs](https://console.qovery.com/"
        ),
        "{summary}"
    );
    assert!(
        summary.contains("Cannot build the container image of api"),
        "{summary}"
    );
    assert!(summary.contains(&logs_url), "{summary}");
    // One extra request: the log of our execution.
    let reads: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/logs"))
        .collect();
    assert_eq!(reads.len(), 1);
    assert_eq!(
        reads[0].query.as_deref(),
        Some(format!("version={}-42", ids::ENVIRONMENT).as_str())
    );
}

#[tokio::test]
async fn a_failing_job_is_explained_from_the_log_of_its_own_execution() {
    let server = mock(Scenario::Fail).await;
    let output = command(&server.url())
        .env("INPUT_ENVIRONMENT-ID", ids::ENVIRONMENT)
        .env("INPUT_COMMAND", "deploy-job")
        .env("INPUT_JOBS", "migrate")
        .env("INPUT_IMAGE-TAG", "2.0.0")
        .output()
        .unwrap();
    assert_exit(&output, 1);
    let out = stdout(&output);
    assert!(
        out.contains("== migrate failed (DEPLOYMENT_ERROR): deployment log"),
        "{out}"
    );
    assert!(
        out.contains("ERROR:  relation \"orders_customer_idx\" already exists"),
        "{out}"
    );
    assert!(
        stderr(&output)
            .contains("\n  migrate failed: Job migrate exited with code 1 (event START)."),
        "{}",
        stderr(&output)
    );
    let reads: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/logs"))
        .collect();
    assert_eq!(reads.len(), 1);
    assert_eq!(
        reads[0].query.as_deref(),
        Some(format!("version={}-42", ids::ENVIRONMENT).as_str())
    );
}

#[tokio::test]
async fn the_health_check_reaches_the_service_and_never_sends_the_token() {
    let server = mock(Scenario::Happy).await;
    let output = deploy(&server)
        .env("INPUT_HEALTH-CHECK-PATH", "/healthz")
        .output()
        .unwrap();
    assert_exit(&output, 0);
    let seen = server.app_requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].path,
        format!("/_mock/app/{}/api/healthz", ids::ENVIRONMENT)
    );
    assert_eq!(seen[0].authorization, None);

    let server = mock(Scenario::Unhealthy).await;
    let output = deploy(&server)
        .env("INPUT_HEALTH-CHECK-PATH", "/healthz")
        .env("INPUT_TIMEOUT", "6s")
        .output()
        .unwrap();
    assert_exit(&output, 1);
    assert!(
        stderr(&output).contains("deployed but not answering")
            && stderr(&output).contains("last seen: HTTP 503"),
        "{}",
        stderr(&output)
    );
    assert!(
        server
            .app_requests()
            .iter()
            .all(|r| r.authorization.is_none())
    );
}

#[tokio::test]
async fn the_mocks_logs_and_links_conform_to_the_spec() {
    let server = mock(Scenario::Fail).await;
    let output = deploy(&server).output().unwrap();
    assert_exit(&output, 1);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let get = |path: String| {
        let url = format!("{}{path}", server.url());
        async move {
            reqwest::Client::new()
                .get(url)
                .header("authorization", "Token x")
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let spec = crate::spec::spec();
    let logs = get(format!(
        "/environment/{}/logs?version={}-42",
        ids::ENVIRONMENT,
        ids::ENVIRONMENT
    ))
    .await;
    assert!(logs.as_array().is_some_and(|l| l.len() > 10), "{logs}");
    let violations = spec.violations(spec.schema("EnvironmentLogsResponseList"), &logs);
    assert!(violations.is_empty(), "{violations:#?}");
    let links = get(format!("/environment/{}/link", ids::ENVIRONMENT)).await;
    let violations = spec.violations(spec.schema("LinkResponseList"), &links);
    assert!(violations.is_empty(), "{violations:#?}");
    // The validator does catch a wrong answer.
    let wrong = serde_json::json!({"results": [{"service_id": "x", "url": ""}]});
    assert!(
        !spec
            .violations(spec.schema("LinkResponseList"), &wrong)
            .is_empty()
    );
}

#[tokio::test]
async fn a_stuck_deployment_is_cancelled_at_the_timeout() {
    let server = mock(Scenario::Stuck).await;
    let output = deploy(&server).env("INPUT_TIMEOUT", "3s").output().unwrap();
    assert_exit(&output, 3);
    assert_eq!(
        calls(
            &server,
            "POST",
            &format!("/environment/{}/cancelDeployment", ids::ENVIRONMENT)
        ),
        1
    );
    let state = environment_status(&server).await["state"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        ["CANCELING", "CANCELED"].contains(&state.as_str()),
        "{state}"
    );
}

#[tokio::test]
async fn queued_behind_someone_else_only_our_request_is_cancelled() {
    let server = mock(Scenario::QueuedStuck).await;
    let output = deploy(&server).env("INPUT_TIMEOUT", "3s").output().unwrap();
    assert_exit(&output, 3);
    assert_eq!(
        calls(
            &server,
            "POST",
            &format!("/environment/{}/cancelDeployment", ids::ENVIRONMENT)
        ),
        0
    );
    let ours = server
        .requests()
        .into_iter()
        .filter(|r| {
            r.path.starts_with("/deploymentQueue/") && r.path.ends_with("/cancelDeployment")
        })
        .count();
    assert_eq!(ours, 1);
    // The other deployment is untouched and still running.
    let status = environment_status(&server).await;
    assert_eq!(status["state"], "DEPLOYING");
    assert_eq!(
        status["deployment_request_id"],
        "9e000000-0000-4000-8000-000000000042"
    );
}

#[tokio::test]
async fn queued_behind_someone_else_then_ours_runs() {
    let server = mock(Scenario::Queued).await;
    let output = deploy(&server).output().unwrap();
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}{}", stderr(&output));
    assert!(out.contains("queued: the environment is busy with deployment request 9e000000-0000-4000-8000-000000000042"), "{out}");
}

#[tokio::test]
async fn transient_api_errors_are_retried() {
    let server = mock(Scenario::Flaky).await;
    let output = deploy(&server).output().unwrap();
    assert_exit(&output, 0);
    let err = stderr(&output);
    assert!(
        err.contains("HTTP 503") && err.contains("HTTP 429"),
        "{err}"
    );
}

/// The duration cell of `name`'s row: in the log table (last column) and in the step summary.
fn durations(log: &str, summary: &str, name: &str) -> (String, String) {
    // The last such line: the plan lists the services too, before.
    let row = log
        .lines()
        .rfind(|l| l.starts_with(&format!("  {name} ")))
        .unwrap_or_else(|| panic!("no {name} row in {log}"));
    let in_log = row.split_whitespace().last().unwrap().to_string();
    let row = summary
        .lines()
        .find(|l| l.starts_with(&format!("| `{name}` |")))
        .unwrap_or_else(|| panic!("no {name} row in {summary}"));
    let cells: Vec<&str> = row.trim_matches('|').split(" | ").map(str::trim).collect();
    (in_log, cells[4].to_string())
}

/// `12s` as 12.
fn seconds(cell: &str) -> u64 {
    cell.strip_suffix('s')
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("`{cell}` is no duration"))
}

#[tokio::test]
async fn durations_are_real_in_the_log_table_and_the_summary() {
    // One step = 1 s: each service is in progress for 2 s (BUILDING or QUEUED, then DEPLOYING).
    let server = MockServer::spawn(MockConfig {
        scenario: Scenario::Happy,
        step: Duration::from_millis(1000),
    })
    .await
    .unwrap();
    let dir = temp_dir("e2e-durations");
    let summary_file = dir.join("summary");
    let output = deploy(&server)
        .env("GITHUB_STEP_SUMMARY", &summary_file)
        .output()
        .unwrap();
    assert_exit(&output, 0);
    let (log, summary) = (
        stdout(&output),
        std::fs::read_to_string(&summary_file).unwrap(),
    );
    for name in [
        "api",
        "web",
        "worker",
        "migrate",
        "ingress-nginx",
        "postgres",
    ] {
        let (in_log, in_summary) = durations(&log, &summary, name);
        assert_eq!(in_log, in_summary, "{name}");
        // 2 s in progress, seen by 1 s polls: within one poll interval of it.
        let took = seconds(&in_log);
        assert!((1..=4).contains(&took), "{name}: {took}s\n{log}");
    }

    // A job run by deploy-job, timed the same way.
    server.reset();
    let output = command(&server.url())
        .env("INPUT_ENVIRONMENT-ID", ids::ENVIRONMENT)
        .env("GITHUB_STEP_SUMMARY", dir.join("job-summary"))
        .args(["deploy-job", "--jobs", "migrate", "--image-tag", "2.0.0"])
        .output()
        .unwrap();
    assert_exit(&output, 0);
    let summary = std::fs::read_to_string(dir.join("job-summary")).unwrap();
    let (in_log, in_summary) = durations(&stdout(&output), &summary, "migrate");
    assert_eq!(in_log, in_summary);
    assert!((1..=3).contains(&seconds(&in_log)), "{}", stdout(&output));
}
