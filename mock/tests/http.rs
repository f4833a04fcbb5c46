//! End-to-end tests of the mock over HTTP.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use qovery_mock::{MockConfig, MockServer, Scenario, ids};
use reqwest::StatusCode;
use serde_json::{Value, json};

const TOKEN: &str = "Token qov_test";

struct Api {
    server: MockServer,
    http: reqwest::Client,
}

impl Api {
    async fn start(scenario: Scenario, step_ms: u64) -> Api {
        let config = MockConfig {
            scenario,
            step: Duration::from_millis(step_ms),
        };
        let server = MockServer::spawn(config).await.expect("mock starts");
        Api {
            server,
            http: {
                // See the rustls dev-dependency in Cargo.toml.
                let _ = rustls::crypto::ring::default_provider().install_default();
                reqwest::Client::new()
            },
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.url())
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let response = request
            .header("Authorization", TOKEN)
            .send()
            .await
            .expect("request sent");
        let status = response.status();
        let text = response.text().await.expect("body read");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
        };
        (status, body)
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(self.http.get(self.url(path))).await
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(self.http.post(self.url(path)).json(&body)).await
    }

    async fn put(&self, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let request = self.http.put(self.url(path));
        let request = match body {
            Some(body) => request.json(&body),
            None => request,
        };
        self.send(request).await
    }

    async fn ok(&self, path: &str) -> Value {
        let (status, body) = self.get(path).await;
        assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
        body
    }

    async fn env_status(&self) -> Value {
        self.ok(&format!("/environment/{}/status", ids::ENVIRONMENT))
            .await
    }

    async fn statuses(&self) -> Value {
        self.ok(&format!("/environment/{}/statuses", ids::ENVIRONMENT))
            .await
    }

    async fn deploy(&self, body: Value) -> (StatusCode, Value) {
        self.post(
            &format!("/environment/{}/service/deploy", ids::ENVIRONMENT),
            body,
        )
        .await
    }

    /// Deploys and returns the deployment request id.
    async fn deploy_ok(&self, body: Value) -> String {
        let (status, reply) = self.deploy(body).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{reply}");
        assert_eq!(reply["state"], "DEPLOYMENT_QUEUED");
        reply["deployment_request_id"]
            .as_str()
            .expect("deployment_request_id")
            .to_owned()
    }

    async fn request_status(&self, request_id: &str) -> String {
        let body = self
            .ok(&format!(
                "/environment/deploymentStatus?deploymentRequestId={request_id}"
            ))
            .await;
        body["status"].as_str().expect("status").to_owned()
    }

    /// Polls the request's status until it is `wanted`; returns every distinct status seen.
    async fn wait_request(&self, request_id: &str, wanted: &str) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut seen: Vec<String> = Vec::new();
        loop {
            let status = self.request_status(request_id).await;
            if seen.last() != Some(&status) {
                seen.push(status.clone());
            }
            if status == wanted {
                return seen;
            }
            assert!(
                Instant::now() < deadline,
                "never reached {wanted}; saw {seen:?}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn wait_job(&self, job: &str, wanted: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let status = self.ok(&format!("/job/{job}/status")).await;
            if status["state"] == wanted {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "never reached {wanted}: {status}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

fn service<'a>(statuses: &'a Value, kind: &str, id: &str) -> &'a Value {
    statuses[kind]
        .as_array()
        .and_then(|list| list.iter().find(|s| s["id"] == id))
        .unwrap_or_else(|| panic!("{id} not in {kind}"))
}

fn full_deploy() -> Value {
    json!({
        "applications": [{"application_id": ids::API, "git_commit_id": "3f8a1c2e"}],
        "containers": [{"id": ids::WORKER, "image_tag": "1.5.0"}],
        "jobs": [{"id": ids::MIGRATE, "image_tag": "1.5.0"}],
        "helms": [{"id": ids::INGRESS_NGINX, "chart_version": "4.11.2"}],
        "databases": [ids::POSTGRES],
    })
}

#[tokio::test]
async fn happy_deploy_progresses_and_is_recorded() {
    let api = Api::start(Scenario::Happy, 200).await;
    let before = api.env_status().await;
    assert_eq!(before["state"], "DEPLOYED");
    assert_eq!(before["last_deployment_id"], ids::PREVIOUS_EXECUTION);

    let request_id = api.deploy_ok(full_deploy()).await;
    assert_ne!(request_id, ids::PREVIOUS_DEPLOYMENT_REQUEST);

    // The stale trap: right after the POST the previous deployment is still reported.
    let stale = api.env_status().await;
    assert_eq!(stale["state"], "DEPLOYED");
    assert_eq!(
        stale["deployment_request_id"],
        ids::PREVIOUS_DEPLOYMENT_REQUEST
    );
    let statuses = api.statuses().await;
    let api_status = service(&statuses, "applications", ids::API);
    assert_eq!(api_status["deployment_request_id"], request_id.as_str());
    assert_eq!(api_status["deployment_requests_count"], 1);
    let queue = api
        .ok(&format!(
            "/environment/{}/deploymentQueue",
            ids::ENVIRONMENT
        ))
        .await;
    assert_eq!(
        queue["results"][0]["identifier"]["deployment_request_id"],
        request_id.as_str()
    );
    assert_eq!(queue["results"][0]["trigger_action"], "DEPLOY");

    let seen = api.wait_request(&request_id, "DEPLOYED").await;
    assert_eq!(seen, ["QUEUED", "BUILDING", "DEPLOYING", "DEPLOYED"]);

    let statuses = api.statuses().await;
    let env = &statuses["environment"];
    assert_eq!(env["state"], "DEPLOYED");
    assert_eq!(env["last_deployment_state"], "DEPLOYED");
    assert_eq!(env["deployment_request_id"], request_id.as_str());
    assert_eq!(
        env["last_deployment_id"],
        format!("{}-42", ids::ENVIRONMENT)
    );
    assert_eq!(env["origin"], "API");
    for (kind, id) in [
        ("applications", ids::API),
        ("containers", ids::WORKER),
        ("jobs", ids::MIGRATE),
        ("helms", ids::INGRESS_NGINX),
        ("databases", ids::POSTGRES),
    ] {
        let status = service(&statuses, kind, id);
        assert_eq!(status["state"], "DEPLOYED", "{status}");
        assert_eq!(status["status_details"]["status"], "SUCCESS");
        assert_eq!(status["is_part_last_deployment"], true);
        assert_eq!(status["deployment_request_id"], request_id.as_str());
        assert_eq!(status["deployment_requests_count"], 0);
    }
    let web = service(&statuses, "applications", ids::WEB);
    assert_eq!(web["is_part_last_deployment"], false);
    assert_eq!(web["execution_id"], ids::PREVIOUS_EXECUTION);
    assert_eq!(statuses["terraforms"].as_array().map(Vec::len), Some(1));

    let services = api
        .ok(&format!("/environment/{}/services", ids::ENVIRONMENT))
        .await;
    let results = services["results"].as_array().expect("results");
    assert_eq!(results.len(), 9);
    assert_eq!(
        results[0]["git_repository"]["deployed_commit_id"],
        "3f8a1c2e"
    );
    let nginx = results
        .iter()
        .find(|s| s["id"] == ids::INGRESS_NGINX)
        .expect("ingress-nginx");
    assert_eq!(nginx["source"]["repository"]["chart_version"], "4.11.2");

    let recorded = api.server.requests();
    let post = recorded
        .iter()
        .find(|r| r.method == "POST")
        .expect("the deploy was recorded");
    assert_eq!(
        post.path,
        format!("/environment/{}/service/deploy", ids::ENVIRONMENT)
    );
    assert_eq!(post.body.as_ref(), Some(&full_deploy()));
    assert_eq!(post.authorization.as_deref(), Some(TOKEN));
    assert_eq!(post.content_type.as_deref(), Some("application/json"));
    assert_eq!(
        recorded[0].path,
        format!("/environment/{}/status", ids::ENVIRONMENT)
    );
    assert!(
        recorded
            .iter()
            .any(|r| r.query.as_deref() == Some(&*format!("deploymentRequestId={request_id}")))
    );
}

#[tokio::test]
async fn stale_scenario_reports_the_previous_deployment_for_longer() {
    let api = Api::start(Scenario::Stale, 200).await;
    let request_id = api.deploy_ok(json!({"databases": [ids::POSTGRES]})).await;
    // Past one step (when `happy` would have picked it up) but well before three.
    tokio::time::sleep(Duration::from_millis(250)).await;
    let env = api.env_status().await;
    assert_eq!(env["state"], "DEPLOYED");
    assert_eq!(env["last_deployment_id"], ids::PREVIOUS_EXECUTION);
    assert_eq!(
        env["deployment_request_id"],
        ids::PREVIOUS_DEPLOYMENT_REQUEST
    );
    let seen = api.wait_request(&request_id, "DEPLOYED").await;
    assert_eq!(seen.first().map(String::as_str), Some("QUEUED"));
    let env = api.env_status().await;
    assert_eq!(env["deployment_request_id"], request_id.as_str());
}

#[tokio::test]
async fn fail_scenario_fails_the_first_service() {
    let api = Api::start(Scenario::Fail, 50).await;
    let request_id = api
        .deploy_ok(json!({
            "containers": [{"id": ids::WORKER}],
            "applications": [{"application_id": ids::API, "git_commit_id": "abc"}],
        }))
        .await;
    api.wait_request(&request_id, "DEPLOYMENT_ERROR").await;
    let statuses = api.statuses().await;
    assert_eq!(statuses["environment"]["state"], "DEPLOYMENT_ERROR");
    let failed = service(&statuses, "applications", ids::API);
    assert_eq!(failed["state"], "BUILD_ERROR");
    assert_eq!(failed["status_details"]["status"], "ERROR");
    assert_eq!(
        service(&statuses, "containers", ids::WORKER)["state"],
        "DEPLOYED"
    );
}

/// The deployment log of an execution, as the mock serves it now.
async fn logs(api: &Api, version: &str) -> Vec<Value> {
    let body = api
        .ok(&format!(
            "/environment/{}/logs?version={version}",
            ids::ENVIRONMENT
        ))
        .await;
    body.as_array().expect("an array").clone()
}

#[tokio::test]
async fn the_deployment_log_grows_with_the_execution_and_explains_a_failure() {
    let api = Api::start(Scenario::Fail, 300).await;
    let request_id = api
        .deploy_ok(json!({
            "applications": [{"application_id": ids::API, "git_commit_id": "3f8a1c2e9b7d4f6a0c5e8b1d2f4a6c8e0b2d4f6a"}],
            "containers": [{"id": ids::WORKER, "image_tag": "1.5.0"}],
        }))
        .await;
    let execution = format!("{}-42", ids::ENVIRONMENT);
    assert!(
        logs(&api, &execution).await.is_empty(),
        "queued: nothing yet"
    );
    api.wait_request(&request_id, "BUILDING").await;
    let early = logs(&api, &execution).await;
    assert!(!early.is_empty());
    assert!(
        early.iter().all(|e| e["type"] == "info"),
        "no error before the end"
    );
    api.wait_request(&request_id, "DEPLOYMENT_ERROR").await;
    let entries = logs(&api, &execution).await;
    assert!(entries.len() > early.len());
    let timestamps: Vec<&str> = entries
        .iter()
        .map(|e| e["timestamp"].as_str().unwrap())
        .collect();
    let mut sorted = timestamps.clone();
    sorted.sort_unstable();
    assert_eq!(timestamps, sorted, "in time order");
    for entry in &entries {
        assert_eq!(entry["details"]["execution_id"], execution.as_str());
        assert_eq!(entry["details"]["organization_id"], ids::ORGANIZATION);
    }
    let errors: Vec<&Value> = entries.iter().filter(|e| e["type"] == "error").collect();
    let api_error = errors
        .iter()
        .find(|e| e["details"]["transmitter"]["id"] == ids::API)
        .expect("api's error");
    assert_eq!(api_error["details"]["transmitter"]["type"], "Application");
    assert_eq!(api_error["details"]["stage"]["name"], "backend");
    let message = api_error["error"]["user_log_message"].as_str().unwrap();
    assert!(
        message.contains("Cannot build the container image of api"),
        "{message}"
    );
    assert!(
        api_error["error"]["hint_message"]
            .as_str()
            .unwrap()
            .contains("3f8a1c2e9b7d")
    );
    assert!(
        api_error["error"]["link"]
            .as_str()
            .unwrap()
            .starts_with("https://")
    );
    // The line that says why, before the error.
    assert!(entries.iter().any(|e| {
        e["message"]["safe_message"]
            .as_str()
            .is_some_and(|m| m.contains("npm ERR! ERESOLVE"))
    }));
    // worker deployed: no error of its own; the environment's error names api.
    assert!(
        !errors
            .iter()
            .any(|e| e["details"]["transmitter"]["id"] == ids::WORKER)
    );
    assert!(
        errors
            .iter()
            .any(|e| e["details"]["transmitter"]["type"] == "Environment")
    );
    // No version: the current execution; an unknown one: nothing.
    assert_eq!(
        api.ok(&format!("/environment/{}/logs", ids::ENVIRONMENT))
            .await,
        Value::Array(entries)
    );
    assert!(logs(&api, "nope").await.is_empty());
    assert!(
        logs(&api, &format!("{}-41", ids::ENVIRONMENT))
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn links_point_at_services_played_by_the_mock() {
    let api = Api::start(Scenario::Happy, 50).await;
    let body = api
        .ok(&format!("/environment/{}/link", ids::ENVIRONMENT))
        .await;
    let links = body["results"].as_array().unwrap();
    assert_eq!(links.len(), 4);
    let default_api = links
        .iter()
        .find(|l| l["service_id"] == ids::API && l["is_default"] == true)
        .unwrap();
    let url = default_api["url"].as_str().unwrap();
    let app = format!("/_mock/app/{}", ids::ENVIRONMENT);
    assert_eq!(url, api.url(&format!("{app}/api")));
    let port_link = links
        .iter()
        .find(|l| l["service_id"] == ids::API && l["is_default"] == false)
        .unwrap();
    assert_eq!(port_link["url"], api.url(&format!("{app}/api/p8080")));
    // The service answers without any token, and is recorded apart from the API.
    let answer = api.http.get(format!("{url}/healthz")).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let seen = api.server.app_requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].path, format!("{app}/api/healthz"));
    assert_eq!(seen[0].authorization, None);
    assert!(
        !api.server
            .requests()
            .iter()
            .any(|r| r.path.starts_with("/_mock/app"))
    );
    let elsewhere = api
        .http
        .get(api.url("/_mock/app/00000000-0000-4000-8000-000000000000/api"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        elsewhere.status(),
        StatusCode::NOT_FOUND,
        "an unknown environment"
    );
    let unknown = api
        .http
        .get(api.url(&format!("{app}/postgres")))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);

    let sick = Api::start(Scenario::Unhealthy, 50).await;
    let answer = sick
        .http
        .get(sick.url(&format!("{app}/web/healthz")))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn cancel_a_running_deployment() {
    let api = Api::start(Scenario::Stuck, 50).await;
    let cancel = format!("/environment/{}/cancelDeployment", ids::ENVIRONMENT);
    let (status, body) = api.post(&cancel, json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "nothing is running: {body}");
    assert_eq!(
        body["message"],
        "Environment deployment is already cancelled or an operation is in progress"
    );

    let request_id = api.deploy_ok(json!({"databases": [ids::POSTGRES]})).await;
    api.wait_request(&request_id, "DEPLOYING").await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(api.request_status(&request_id).await, "DEPLOYING", "stuck");

    let (status, body) = api.post(&cancel, json!({"force_cancel": true})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["state"], "CANCELING");
    let (status, _) = api.post(&cancel, json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "already cancelling");

    api.wait_request(&request_id, "CANCELED").await;
    let statuses = api.statuses().await;
    assert_eq!(statuses["environment"]["state"], "CANCELED");
    let postgres = service(&statuses, "databases", ids::POSTGRES);
    assert_eq!(postgres["state"], "CANCELED");
    assert_eq!(postgres["status_details"]["status"], "CANCELED");
}

#[tokio::test]
async fn cancel_a_queued_deployment() {
    let api = Api::start(Scenario::QueuedStuck, 50).await;
    let env = api.env_status().await;
    assert_eq!(env["deployment_request_id"], ids::OTHER_DEPLOYMENT_REQUEST);
    assert_eq!(env["triggered_by"], "someone@acme.dev");

    let request_id = api.deploy_ok(json!({"databases": [ids::POSTGRES]})).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(api.request_status(&request_id).await, "QUEUED");
    let queue_path = format!("/environment/{}/deploymentQueue", ids::ENVIRONMENT);
    let queue = api.ok(&queue_path).await;
    assert_eq!(queue["results"].as_array().map(Vec::len), Some(1));

    let cancel = format!("/deploymentQueue/{request_id}/cancelDeployment");
    let (status, body) = api.post(&cancel, json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(body, Value::Null, "202 without a body");
    assert_eq!(api.request_status(&request_id).await, "CANCELED");
    assert_eq!(api.ok(&queue_path).await["results"], json!([]));

    let (status, _) = api.post(&cancel, json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let running = format!(
        "/deploymentQueue/{}/cancelDeployment",
        ids::OTHER_DEPLOYMENT_REQUEST
    );
    assert_eq!(api.post(&running, json!({})).await.0, StatusCode::CONFLICT);
    let unknown = "/deploymentQueue/00000000-0000-4000-8000-000000000000/cancelDeployment";
    assert_eq!(api.post(unknown, json!({})).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn queued_scenario_waits_behind_the_other_deployment() {
    let api = Api::start(Scenario::Queued, 200).await;
    let request_id = api.deploy_ok(json!({"databases": [ids::POSTGRES]})).await;
    let seen = api.wait_request(&request_id, "DEPLOYED").await;
    assert_eq!(seen, ["QUEUED", "BUILDING", "DEPLOYING", "DEPLOYED"]);
    assert_eq!(
        api.request_status(ids::OTHER_DEPLOYMENT_REQUEST).await,
        "DEPLOYED"
    );
    assert_eq!(
        api.env_status().await["last_deployment_id"],
        format!("{}-43", ids::ENVIRONMENT)
    );
}

#[tokio::test]
async fn job_deploy_with_force_event_stop() {
    let api = Api::start(Scenario::Happy, 200).await;
    let path = format!("/job/{}/deploy?forceEvent=STOP", ids::MIGRATE);
    let (status, body) = api.post(&path, json!({"image_tag": "1.5.0"})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["id"], ids::MIGRATE);
    assert_eq!(body["state"], "DEPLOYMENT_QUEUED");
    assert_eq!(body["status_details"]["status"], "QUEUED");
    assert_eq!(body["deployment_requests_count"], 1);
    let request_id = body["deployment_request_id"]
        .as_str()
        .expect("id")
        .to_owned();

    let executing = api.wait_job(ids::MIGRATE, "EXECUTING").await;
    assert_eq!(executing["status_details"]["status"], "EXECUTING");
    let stopped = api.wait_job(ids::MIGRATE, "STOPPED").await;
    assert_eq!(stopped["status_details"]["status"], "SUCCESS");
    assert_eq!(stopped["status_details"]["action"], "STOP");
    assert_eq!(stopped["deployment_request_id"], request_id.as_str());
    assert_eq!(api.request_status(&request_id).await, "DEPLOYED");

    let redeploy = format!("/job/{}/redeploy", ids::REPORT);
    let (status, body) = api.post(&redeploy, json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["status_details"]["action"], "DEPLOY");
    api.wait_job(ids::REPORT, "DEPLOYED").await;

    for (path, body, expected) in [
        (
            format!("/job/{}/deploy?forceEvent=RESTART", ids::MIGRATE),
            json!({}),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("/job/{}/deploy", ids::MIGRATE),
            json!({"image_tag": "1", "git_commit_id": "a"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("/job/{}/deploy", ids::MIGRATE),
            json!({"git_commit_id": "a"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("/job/{}/deploy", ids::API),
            json!({}),
            StatusCode::NOT_FOUND,
        ),
        (
            format!("/job/{}/redeploy", ids::MIGRATE),
            json!({"image_tag": "1"}),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let (status, reply) = api.post(&path, body).await;
        assert_eq!(status, expected, "{path}: {reply}");
    }
    assert_eq!(
        api.get(&format!("/job/{}/status", ids::WORKER)).await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn skip_and_move_through_deployment_stages() {
    let api = Api::start(Scenario::Happy, 50).await;
    let stages = api
        .ok(&format!(
            "/environment/{}/deploymentStage",
            ids::ENVIRONMENT
        ))
        .await;
    let names: Vec<_> = stages["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|s| s["name"].clone())
        .collect();
    assert_eq!(names, ["databases", "backend", "frontend"]);

    let report = api
        .ok(&format!("/service/{}/deploymentStage", ids::REPORT))
        .await;
    assert_eq!(report["id"], ids::STAGE_BACKEND);
    let member = |stage: &Value, id: &str| -> Value {
        stage["services"]
            .as_array()
            .and_then(|list| list.iter().find(|s| s["service_id"] == id).cloned())
            .unwrap_or(Value::Null)
    };
    assert_eq!(member(&report, ids::REPORT)["is_skipped"], true);

    let skip = format!(
        "/deploymentStage/{}/service/{}",
        ids::STAGE_BACKEND,
        ids::API
    );
    let (status, body) = api.put(&skip, Some(json!({"is_skipped": true}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(member(&body["results"][1], ids::API)["is_skipped"], true);
    let stage = api
        .ok(&format!("/service/{}/deploymentStage", ids::API))
        .await;
    assert_eq!(stage["name"], "backend");
    assert_eq!(member(&stage, ids::API)["is_skipped"], true);
    assert_eq!(member(&stage, ids::API)["service_type"], "APPLICATION");

    let moving = format!(
        "/deploymentStage/{}/service/{}",
        ids::STAGE_FRONTEND,
        ids::API
    );
    let (status, body) = api.put(&moving, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(member(&body["results"][1], ids::API), Value::Null);
    assert_eq!(member(&body["results"][2], ids::API)["is_skipped"], false);

    let unknown_stage = format!(
        "/deploymentStage/00000000-0000-4000-8000-000000000000/service/{}",
        ids::API
    );
    assert_eq!(api.put(&unknown_stage, None).await.0, StatusCode::NOT_FOUND);
    let (status, _) = api.put(&skip, Some(json!({"is_skipped": "yes"}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn authentication_is_required() {
    let api = Api::start(Scenario::Happy, 50).await;
    let path = api.url(&format!("/environment/{}/status", ids::ENVIRONMENT));
    for authorization in [None, Some("Token "), Some("qov_abc"), Some("Basic abc")] {
        let mut request = api.http.get(&path);
        if let Some(value) = authorization {
            request = request.header("Authorization", value);
        }
        let response = request.send().await.expect("sent");
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "{authorization:?}"
        );
        let body: Value = response.json().await.expect("json");
        assert_eq!(body, json!({"message": "Unauthorized"}));
    }
    let bearer = api
        .http
        .get(&path)
        .header("Authorization", "Bearer eyJhbGciOi.x.y")
        .send()
        .await
        .expect("sent");
    assert_eq!(bearer.status(), StatusCode::OK);
    let recorded = api.server.requests();
    assert_eq!(recorded.len(), 5, "rejected requests are recorded too");
    assert_eq!(recorded[0].authorization, None);

    let locked = Api::start(Scenario::Unauthorized, 50).await;
    let (status, body) = locked
        .get(&format!("/environment/{}/status", ids::ENVIRONMENT))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["message"], "Unauthorized");
}

#[tokio::test]
async fn deploy_bodies_are_validated() {
    let api = Api::start(Scenario::Happy, 50).await;
    let path = api.url(&format!("/environment/{}/service/deploy", ids::ENVIRONMENT));
    let raw = api
        .http
        .post(&path)
        .header("Authorization", TOKEN)
        .header("Content-Type", "text/plain")
        .body(r#"{"databases":["e1000000-0000-4000-8000-000000000001"]}"#)
        .send()
        .await
        .expect("sent");
    assert_eq!(raw.status(), StatusCode::BAD_REQUEST);
    let body: Value = raw.json().await.expect("json");
    assert_eq!(body["status"], 400);
    assert_eq!(body["error"], "Bad Request");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("Content-Type")),
        "{body}"
    );

    for (body, needle) in [
        (json!({}), "nothing to deploy"),
        (
            json!({"applications": [], "containers": []}),
            "nothing to deploy",
        ),
        (json!({"apps": []}), "unknown field"),
        (
            json!({"containers": [{"id": ids::API, "image_tag": "1"}]}),
            "is not of type CONTAINER",
        ),
        (
            json!({"applications": [{"application_id": ids::API, "git_commit_id": ""}]}),
            "non-empty",
        ),
        (
            json!({"helms": [{"id": ids::INGRESS_NGINX, "git_commit_id": "abc"}]}),
            "chart_version",
        ),
        (
            json!({"helms": [{"id": ids::CHARTS, "chart_version": "1.0.0"}]}),
            "git_commit_id",
        ),
        (
            json!({"jobs": [{"id": ids::MIGRATE, "image_tag": "1", "git_commit_id": "a"}]}),
            "mutually exclusive",
        ),
    ] {
        let (status, reply) = api.deploy(body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {reply}");
        let message = reply["message"].as_str().unwrap_or_default();
        assert!(message.contains(needle), "{body}: {message}");
    }
    let queue = api
        .ok(&format!(
            "/environment/{}/deploymentQueue",
            ids::ENVIRONMENT
        ))
        .await;
    assert_eq!(queue["results"], json!([]), "nothing was queued");
}

#[tokio::test]
async fn busy_scenario_refuses_deployments() {
    let api = Api::start(Scenario::Busy, 50).await;
    let (status, body) = api.deploy(json!({"databases": [ids::POSTGRES]})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body, json!({"message": "Operation is in progress"}));
    let (status, _) = api
        .post(&format!("/job/{}/redeploy", ids::MIGRATE), json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn flaky_scenario_injects_errors() {
    let api = Api::start(Scenario::Flaky, 50).await;
    let path = api.url(&format!("/environment/{}/status", ids::ENVIRONMENT));
    let mut statuses = Vec::new();
    for _ in 0..7 {
        let response = api
            .http
            .get(&path)
            .header("Authorization", TOKEN)
            .send()
            .await
            .expect("sent");
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(
                response
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok()),
                Some("1")
            );
        }
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 503, 200, 429, 503, 200]);
}

#[tokio::test]
async fn unknown_things_are_404_json() {
    let api = Api::start(Scenario::Happy, 50).await;
    let (status, body) = api.get("/organization").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["status"], 404);
    let unknown_env = "/environment/00000000-0000-4000-8000-000000000000/status";
    assert_eq!(api.get(unknown_env).await.0, StatusCode::NOT_FOUND);
    let unknown_request =
        "/environment/deploymentStatus?deploymentRequestId=00000000-0000-4000-8000-000000000000";
    assert_eq!(api.get(unknown_request).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        api.request_status(ids::PREVIOUS_DEPLOYMENT_REQUEST).await,
        "DEPLOYED"
    );
    let (status, body) = api
        .get(&format!("/environment/{}/service/deploy", ids::ENVIRONMENT))
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{body}");
    let environment = api.ok(&format!("/environment/{}", ids::ENVIRONMENT)).await;
    assert_eq!(environment["name"], "staging");
    assert_eq!(environment["organization"]["id"], ids::ORGANIZATION);
    assert_eq!(environment["project"]["id"], ids::PROJECT);
}

#[tokio::test]
async fn test_hooks_reset_state_and_expose_the_log() {
    let api = Api::start(Scenario::Happy, 50).await;
    let request_id = api.deploy_ok(json!({"databases": [ids::POSTGRES]})).await;
    api.wait_request(&request_id, "DEPLOYED").await;

    let log: Value = api
        .http
        .get(api.url("/_mock/requests"))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    let log = log.as_array().expect("array");
    assert_eq!(log.len(), api.server.requests().len());
    assert_eq!(log[0]["method"], "POST");
    assert_eq!(log[0]["body"], json!({"databases": [ids::POSTGRES]}));

    let reset = api
        .http
        .post(api.url("/_mock/reset"))
        .send()
        .await
        .expect("sent");
    assert_eq!(reset.status(), StatusCode::OK);
    assert!(api.server.requests().is_empty());
    let env = api.env_status().await;
    assert_eq!(
        env["deployment_request_id"],
        ids::PREVIOUS_DEPLOYMENT_REQUEST
    );
    assert_eq!(
        api.get(&format!(
            "/environment/deploymentStatus?deploymentRequestId={request_id}"
        ))
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(api.server.requests().len(), 2, "hooks are not recorded");
}

/// The server runs on its own thread: a current-thread test runtime that blocks on
/// synchronous I/O still gets answers.
#[tokio::test(flavor = "current_thread")]
async fn serves_while_the_caller_blocks() {
    let server = MockServer::spawn(MockConfig::default())
        .await
        .expect("mock starts");
    let mut stream = std::net::TcpStream::connect(server.addr()).expect("connects");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout set");
    let request = format!(
        "GET /environment/{}/status HTTP/1.1\r\nHost: localhost\r\nAuthorization: {TOKEN}\r\nConnection: close\r\n\r\n",
        ids::ENVIRONMENT
    );
    stream.write_all(request.as_bytes()).expect("written");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"DEPLOYED\""), "{response}");
    assert!(server.url().starts_with("http://127.0.0.1:"));
    drop(server);
}
