//! Clones of the fixture environment (preview environments), the project's environment list and
//! deletion, over HTTP.

use std::time::{Duration, Instant};

use qovery_mock::{MockConfig, MockServer, Scenario, ids};
use reqwest::StatusCode;
use serde_json::{Value, json};

struct Api {
    server: MockServer,
    http: reqwest::Client,
}

impl Api {
    async fn start(scenario: Scenario) -> Api {
        let config = MockConfig {
            scenario,
            step: Duration::from_millis(100),
        };
        let server = MockServer::spawn(config).await.expect("mock starts");
        // See the rustls dev-dependency in Cargo.toml.
        let _ = rustls::crypto::ring::default_provider().install_default();
        Api {
            server,
            http: reqwest::Client::new(),
        }
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.server.url()))
            .header("Authorization", "Token qov_test");
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request sent");
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
        self.send(reqwest::Method::GET, path, None).await
    }

    async fn ok(&self, path: &str) -> Value {
        let (status, body) = self.get(path).await;
        assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
        body
    }

    async fn clone(&self, from: &str, body: Value) -> (StatusCode, Value) {
        self.send(
            reqwest::Method::POST,
            &format!("/environment/{from}/clone"),
            Some(body),
        )
        .await
    }

    async fn clone_ok(&self, name: &str) -> String {
        let (status, body) = self
            .clone(ids::ENVIRONMENT, json!({"name": name, "mode": "PREVIEW"}))
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        body["id"].as_str().expect("id").to_owned()
    }

    async fn delete(&self, id: &str) -> (StatusCode, Value) {
        self.send(reqwest::Method::DELETE, &format!("/environment/{id}"), None)
            .await
    }

    async fn list(&self) -> Vec<Value> {
        let body = self
            .ok(&format!("/project/{}/environment", ids::PROJECT))
            .await;
        body["results"].as_array().expect("results").clone()
    }

    /// Reads the clone's service list until its services show; returns them and the number of
    /// empty reads before.
    async fn services_when_ready(&self, id: &str) -> (Vec<Value>, usize) {
        let mut empty = 0;
        loop {
            let body = self.ok(&format!("/environment/{id}/services")).await;
            let services = body["results"].as_array().expect("results").clone();
            if !services.is_empty() {
                return (services, empty);
            }
            empty += 1;
            assert!(empty < 10, "the clone's services never showed");
        }
    }
}

fn names(list: &[Value]) -> Vec<&str> {
    list.iter().filter_map(|e| e["name"].as_str()).collect()
}

#[tokio::test]
async fn a_clone_is_a_new_preview_environment_with_new_service_ids() {
    let api = Api::start(Scenario::Happy).await;
    let (status, created) = api
        .clone(
            ids::ENVIRONMENT,
            json!({"name": "pr-42", "mode": "PREVIEW", "cluster_id": ids::CLUSTER, "apply_deployment_rule": true}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    assert_ne!(id, ids::ENVIRONMENT);
    assert_eq!(created["name"], "pr-42");
    assert_eq!(created["mode"], "PREVIEW");
    assert_eq!(created["cluster_id"], ids::CLUSTER);
    assert_eq!(created["project"]["id"], ids::PROJECT);
    assert_eq!(created["organization"]["id"], ids::ORGANIZATION);
    assert_eq!(api.ok(&format!("/environment/{id}")).await, created);

    let list = api.list().await;
    assert_eq!(names(&list), ["staging", "pr-42"]);
    assert_eq!(list[1], created);

    // Setup: the first reads list no service yet, and the statuses none either.
    let statuses = api.ok(&format!("/environment/{id}/statuses")).await;
    assert_eq!(statuses["applications"], json!([]));
    let (services, empty_reads) = api.services_when_ready(&id).await;
    assert_eq!(empty_reads, 2);
    let fixture = api
        .ok(&format!("/environment/{}/services", ids::ENVIRONMENT))
        .await;
    let fixture = fixture["results"].as_array().unwrap();
    assert_eq!(names(&services), names(fixture));
    for (ours, theirs) in services.iter().zip(fixture) {
        assert_ne!(ours["id"], theirs["id"], "{}", ours["name"]);
        assert_eq!(ours["environment"]["id"], id.as_str());
        assert_eq!(ours["service_type"], theirs["service_type"]);
    }
    let described = &api.server.environments()[1];
    assert_eq!(
        (described.name.as_str(), described.mode.as_str()),
        ("pr-42", "PREVIEW")
    );
    assert!(described.apply_deployment_rule);
    assert_eq!(described.services.len(), services.len());
    assert_eq!(
        described.services[0],
        (
            "api".to_owned(),
            services[0]["id"].as_str().unwrap().to_owned()
        )
    );
}

#[tokio::test]
async fn a_clone_starts_never_deployed_and_deploys_on_its_own() {
    let api = Api::start(Scenario::Happy).await;
    let id = api.clone_ok("pr-7").await;
    let (services, _) = api.services_when_ready(&id).await;
    let service_id = |name: &str| {
        services
            .iter()
            .find(|s| s["name"] == name)
            .and_then(|s| s["id"].as_str())
            .unwrap()
            .to_owned()
    };
    let status = api.ok(&format!("/environment/{id}/status")).await;
    assert_eq!(status["id"], id.as_str());
    assert_eq!(status["state"], "READY");
    assert_eq!(status["deployment_status"], "NEVER_DEPLOYED");
    assert!(status["last_deployment_id"].is_null() && status["deployment_request_id"].is_null());
    let statuses = api.ok(&format!("/environment/{id}/statuses")).await;
    let api_status = &statuses["applications"][0];
    assert_eq!(api_status["id"], service_id("api").as_str());
    assert_eq!(api_status["state"], "READY");
    assert_eq!(api_status["status_details"]["status"], "NEVER");
    assert!(api_status.get("execution_id").is_none());

    // The fixture's ids are unknown to the clone's deploy, its own are known.
    let (status, body) = api
        .send(
            reqwest::Method::POST,
            &format!("/environment/{id}/service/deploy"),
            Some(json!({"applications": [{"application_id": ids::API, "git_commit_id": "abc"}]})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, accepted) = api
        .send(
            reqwest::Method::POST,
            &format!("/environment/{id}/service/deploy"),
            Some(json!({"applications": [{"application_id": service_id("api"), "git_commit_id": "abc"}]})),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    assert_eq!(accepted["id"], id.as_str());
    let request = accepted["deployment_request_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let body = api
            .ok(&format!(
                "/environment/deploymentStatus?deploymentRequestId={request}"
            ))
            .await;
        assert_eq!(body["environment_id"], id.as_str());
        if body["status"] == "DEPLOYED" {
            break;
        }
        assert!(Instant::now() < deadline, "{body}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let status = api.ok(&format!("/environment/{id}/status")).await;
    assert_eq!(status["last_deployment_id"], format!("{id}-1"));
    assert_eq!(status["deployment_request_id"], request.as_str());
    let app = api
        .ok(&format!("/application/{}/status", service_id("api")))
        .await;
    assert_eq!(app["state"], "DEPLOYED");
    assert_eq!(app["execution_id"], format!("{id}-1"));
    // The fixture environment is untouched.
    let fixture = api
        .ok(&format!("/environment/{}/status", ids::ENVIRONMENT))
        .await;
    assert_eq!(fixture["last_deployment_id"], ids::PREVIOUS_EXECUTION);
    // Its links carry its own id.
    let links = api.ok(&format!("/environment/{id}/link")).await;
    let default = links["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["is_default"] == true && l["service_id"] == service_id("api").as_str())
        .unwrap();
    let url = format!("{}/_mock/app/{id}/api", api.server.url());
    assert_eq!(default["url"], url.as_str());
    // And the clone's service answers on it, recorded apart from the API.
    let answer = reqwest::get(format!("{url}/healthz")).await.unwrap();
    assert_eq!(answer.status(), reqwest::StatusCode::OK);
    assert_eq!(
        api.server.app_requests()[0].path,
        format!("/_mock/app/{id}/api/healthz")
    );
    // Its deployment stages have their own ids too.
    let stages = api.ok(&format!("/environment/{id}/deploymentStage")).await;
    let stage = &stages["results"][0];
    assert_eq!(stage["environment"]["id"], id.as_str());
    assert_ne!(stage["id"], ids::STAGE_DATABASES);
}

#[tokio::test]
async fn names_are_unique_in_the_project_case_insensitively() {
    let api = Api::start(Scenario::Happy).await;
    api.clone_ok("pr-1").await;
    for taken in ["PR-1", "Staging"] {
        let (status, body) = api
            .clone(ids::ENVIRONMENT, json!({"name": taken, "mode": "PREVIEW"}))
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{taken}: {body}");
        assert!(body["message"].as_str().unwrap().contains("already taken"));
    }
    assert_eq!(names(&api.list().await), ["staging", "pr-1"]);
}

#[tokio::test]
async fn clone_race_creates_the_environment_then_answers_409() {
    let api = Api::start(Scenario::CloneRace).await;
    let (status, _) = api
        .clone(ids::ENVIRONMENT, json!({"name": "pr-9", "mode": "PREVIEW"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let list = api.list().await;
    assert_eq!(names(&list), ["staging", "pr-9"]);
    assert_eq!(list[1]["mode"], "PREVIEW");
    // Another name plays the race once too; a name already there is a plain conflict.
    let (status, _) = api
        .clone(ids::ENVIRONMENT, json!({"name": "pr-9", "mode": "PREVIEW"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(api.list().await.len(), 2);
}

#[tokio::test]
async fn a_deleted_clone_shows_deleting_for_two_reads_then_is_gone() {
    let api = Api::start(Scenario::Happy).await;
    let id = api.clone_ok("pr-3").await;
    let (services, _) = api.services_when_ready(&id).await;
    let (status, body) = api.delete(&id).await;
    assert_eq!((status, body), (StatusCode::NO_CONTENT, Value::Null));
    assert!(api.server.environments()[1].deleting);
    // Listed while it is being deleted; the list is not a read of the environment.
    assert_eq!(names(&api.list().await), ["staging", "pr-3"]);
    // A write meanwhile is refused.
    let (status, _) = api
        .send(
            reqwest::Method::POST,
            &format!("/environment/{id}/service/deploy"),
            Some(json!({"applications": [{"application_id": services[0]["id"], "git_commit_id": "abc"}]})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let statuses = api.ok(&format!("/environment/{id}/statuses")).await;
    assert_eq!(statuses["environment"]["state"], "DELETING");
    assert_eq!(statuses["applications"][0]["state"], "DELETING");
    let status = api.ok(&format!("/environment/{id}/status")).await;
    assert_eq!(status["state"], "DELETING");
    let (status, body) = api.get(&format!("/environment/{id}/status")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(names(&api.list().await), ["staging"]);
    let (status, _) = api.get(&format!("/environment/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = api.delete(&id).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = api
        .get(&format!(
            "/application/{}/status",
            services[0]["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_fixture_environment_is_never_deleted() {
    let api = Api::start(Scenario::Happy).await;
    let (status, body) = api.delete(ids::ENVIRONMENT).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _) = api.delete("00000000-0000-4000-8000-000000000000").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(api.list().await.len(), 1);
}

#[tokio::test]
async fn bad_clone_requests_are_refused() {
    let api = Api::start(Scenario::Happy).await;
    for (body, expected) in [
        (json!({"mode": "PREVIEW"}), StatusCode::BAD_REQUEST),
        (
            json!({"name": "x", "mode": "preview"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"name": "x", "cluster_id": null}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"name": "x", "blueprint": "y"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"name": "x", "cluster_id": "00000000-0000-4000-8000-000000000000"}),
            StatusCode::NOT_FOUND,
        ),
    ] {
        let (status, answer) = api.clone(ids::ENVIRONMENT, body.clone()).await;
        assert_eq!(status, expected, "{body}: {answer}");
    }
    let (status, _) = api
        .clone("00000000-0000-4000-8000-000000000000", json!({"name": "x"}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = api
        .get("/project/00000000-0000-4000-8000-000000000000/environment")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Without a mode, the clone takes the fixture's.
    let (status, created) = api.clone(ids::ENVIRONMENT, json!({"name": "copy"})).await;
    assert_eq!(
        (status, created["mode"].as_str()),
        (StatusCode::ACCEPTED, Some("STAGING"))
    );
    assert_eq!(api.list().await.len(), 2);
}

#[tokio::test]
async fn requests_to_clones_are_recorded_as_sent_and_reset_forgets_clones() {
    let api = Api::start(Scenario::Happy).await;
    let id = api.clone_ok("pr-5").await;
    api.ok(&format!("/environment/{id}/status")).await;
    let paths: Vec<String> = api.server.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        [
            format!("/environment/{}/clone", ids::ENVIRONMENT),
            format!("/environment/{id}/status")
        ]
    );
    api.server.reset();
    assert_eq!(api.server.environments().len(), 1);
    let (status, _) = api.get(&format!("/environment/{id}/status")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_clone_of_a_clone_and_cancels_reach_the_right_environment() {
    let api = Api::start(Scenario::Stuck).await;
    let first = api.clone_ok("pr-1").await;
    let (status, second) = api
        .clone(&first, json!({"name": "pr-1-copy", "mode": "PREVIEW"}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{second}");
    let (services, _) = api.services_when_ready(&first).await;
    let (status, accepted) = api
        .send(
            reqwest::Method::POST,
            &format!("/environment/{first}/service/deploy"),
            Some(json!({"containers": [{"id": services[2]["id"], "image_tag": "2"}]})),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    // Still queued right after: cancel it from the queue, keyed by the request id alone.
    let request = accepted["deployment_request_id"].as_str().unwrap();
    let (status, body) = api
        .send(
            reqwest::Method::POST,
            &format!("/deploymentQueue/{request}/cancelDeployment"),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let body = api
        .ok(&format!(
            "/environment/deploymentStatus?deploymentRequestId={request}"
        ))
        .await;
    assert_eq!(
        (body["status"].as_str(), body["environment_id"].as_str()),
        (Some("CANCELED"), Some(first.as_str()))
    );
}
