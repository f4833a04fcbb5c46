//! Fault injection over real HTTP: what a client sees for each kind of fault, and what the mock
//! records.

use std::time::{Duration, Instant};

use qovery_mock::{Endpoint, Fault, FaultBody, HeaderTemplate, MockServer, Preset, Scenario, ids};
use reqwest::StatusCode;
use serde_json::{Value, json};

const TOKEN: &str = "Token qov_test";

fn client() -> reqwest::Client {
    // See the rustls dev-dependency in Cargo.toml.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// A mock with these faults, whose deployments stay queued (a step of a minute): what a request
/// created can be seen in the queue.
async fn start(faults: Vec<Fault>) -> MockServer {
    MockServer::builder()
        .step(Duration::from_secs(60))
        .faults(faults)
        .spawn()
        .await
        .expect("mock starts")
}

fn statuses_path() -> String {
    format!("/environment/{}/statuses", ids::ENVIRONMENT)
}

fn deploy_path() -> String {
    format!("/environment/{}/service/deploy", ids::ENVIRONMENT)
}

async fn get(server: &MockServer, path: &str) -> reqwest::Response {
    client()
        .get(format!("{}{path}", server.url()))
        .header("authorization", TOKEN)
        .send()
        .await
        .expect("answered")
}

async fn deploy(server: &MockServer) -> reqwest::Response {
    client()
        .post(format!("{}{}", server.url(), deploy_path()))
        .header("authorization", TOKEN)
        .json(&json!({"databases": [ids::POSTGRES]}))
        .send()
        .await
        .expect("answered")
}

async fn queued_requests(server: &MockServer) -> usize {
    let queue = get(
        server,
        &format!("/environment/{}/deploymentQueue", ids::ENVIRONMENT),
    )
    .await;
    let body: Value = queue.json().await.expect("JSON");
    body["results"].as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn a_status_fault_answers_its_code_headers_and_a_json_message() {
    let server = start(vec![
        Fault::on(Endpoint::statuses())
            .status(429)
            .retry_after(u64::MAX)
            .rate_limit_reset(HeaderTemplate::UnixTime(-60))
            .header("x-request-id", "abc"),
    ])
    .await;
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let response = get(&server, &statuses_path()).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let header = |name: &str| {
        response.headers()[name]
            .to_str()
            .expect("ASCII header")
            .to_owned()
    };
    assert_eq!(header("retry-after"), "18446744073709551615");
    let reset: u64 = header("x-ratelimit-reset").parse().expect("a Unix time");
    assert!(
        (started - 62..=started - 58).contains(&reset),
        "{reset} vs {started}"
    );
    assert_eq!(header("x-request-id"), "abc");
    assert_eq!(header("content-type"), "application/json");
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"message": "Too Many Requests"})
    );
    // Other endpoints are untouched.
    let status = get(
        &server,
        &format!("/environment/{}/status", ids::ENVIRONMENT),
    )
    .await;
    assert_eq!(status.status(), StatusCode::OK);

    let recorded = server.requests();
    assert_eq!(recorded.len(), 2);
    assert_eq!(recorded[0].status, Some(429));
    assert_eq!(
        recorded[0].fault.as_deref(),
        Some(
            "statuses:429,retry-after=18446744073709551615,x-ratelimit-reset=unix-60,header=x-request-id:abc"
        )
    );
    assert_eq!(recorded[1].status, Some(200));
    assert_eq!(recorded[1].fault, None);
    assert!(recorded[0].elapsed <= recorded[1].elapsed);
}

#[tokio::test]
async fn http_dates_in_the_past() {
    let server = start(vec![
        "any:429,retry-after=date-3600".parse().expect("valid spec"),
    ])
    .await;
    let response = get(&server, &statuses_path()).await;
    let value = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .to_owned();
    // IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`.
    let parts: Vec<&str> = value.split(' ').collect();
    assert_eq!(parts.len(), 6, "{value}");
    assert!(parts[0].ends_with(',') && parts[5] == "GMT", "{value}");
    assert!(parts[3].parse::<u32>().unwrap() >= 2024, "{value}");
}

#[tokio::test]
async fn windows_from_the_kth_call_for_n_calls() {
    let server = start(vec![
        Fault::on(Endpoint::statuses()).status(503).from(2).times(2),
    ])
    .await;
    let mut codes = Vec::new();
    for _ in 0..5 {
        codes.push(get(&server, &statuses_path()).await.status().as_u16());
    }
    assert_eq!(codes, [200, 503, 503, 200, 200]);
    let faults = server.faults();
    assert_eq!((faults[0].counted, faults[0].applied), (5, 2));

    // A reset restarts the count; the fault stays.
    server.reset();
    let codes: Vec<u16> = [
        get(&server, &statuses_path()).await.status().as_u16(),
        get(&server, &statuses_path()).await.status().as_u16(),
    ]
    .into();
    assert_eq!(codes, [200, 503]);
}

#[tokio::test]
async fn after_counts_only_calls_made_after_the_deploy() {
    let server = start(vec![
        Fault::on(Endpoint::reads())
            .after(Endpoint::deploys())
            .status(500)
            .times(2),
    ])
    .await;
    assert_eq!(get(&server, &statuses_path()).await.status(), 200);
    assert_eq!(get(&server, &statuses_path()).await.status(), 200);
    assert_eq!(deploy(&server).await.status(), StatusCode::ACCEPTED);
    assert_eq!(get(&server, &statuses_path()).await.status(), 500);
    let request_status = "/environment/deploymentStatus?deploymentRequestId=x";
    assert_eq!(get(&server, request_status).await.status(), 500);
    assert_eq!(get(&server, &statuses_path()).await.status(), 200);
}

#[tokio::test]
async fn an_empty_body_keeps_the_processing_and_the_status() {
    let server = start(vec![Fault::on(Endpoint::deploy()).body(FaultBody::Empty)]).await;
    let response = deploy(&server).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert!(response.headers().get("content-type").is_none());
    assert_eq!(response.bytes().await.unwrap().len(), 0);
    assert_eq!(queued_requests(&server).await, 1, "the deployment exists");
}

#[tokio::test]
async fn a_replaced_status_is_not_processed_unless_asked() {
    let server = start(vec![
        "deploy:502,times=1".parse().unwrap(),
        "deploy:502,processed,times=1".parse().unwrap(),
    ])
    .await;
    // Both faults count each deploy; the first one's window is the 1st call, the second one's
    // also the 1st: the first listed wins, so the second applies to nothing.
    assert_eq!(deploy(&server).await.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(queued_requests(&server).await, 0, "nothing was queued");

    let server = start(vec!["deploy:502,processed".parse().unwrap()]).await;
    let response = deploy(&server).await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["state"], "DEPLOYMENT_QUEUED",
        "the normal answer under a gateway status"
    );
    assert_eq!(
        queued_requests(&server).await,
        1,
        "a deployment was created"
    );
}

#[tokio::test]
async fn html_truncated_and_dropped_bodies() {
    let server = start(vec![
        "statuses:body=html,times=1".parse().unwrap(),
        "statuses:body=truncated,from=2,times=1".parse().unwrap(),
        "statuses:body=dropped,from=3,times=1".parse().unwrap(),
    ])
    .await;
    let html = get(&server, &statuses_path()).await;
    assert_eq!(html.status(), StatusCode::OK);
    assert!(
        html.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(html.text().await.unwrap().starts_with("<!DOCTYPE html>"));

    let truncated = get(&server, &statuses_path()).await;
    let length: usize = truncated.headers()["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let text = truncated.text().await.unwrap();
    assert_eq!(text.len(), length);
    assert!(text.starts_with("{\"environment\""), "{text}");
    assert!(serde_json::from_str::<Value>(&text).is_err());

    let full = get(&server, &statuses_path()).await; // 3rd: dropped
    let announced: usize = full.headers()["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(announced > 1000);
    assert!(
        full.bytes().await.is_err(),
        "the connection is cut before the announced length"
    );
    // The next call is whole again.
    let whole: Value = get(&server, &statuses_path()).await.json().await.unwrap();
    assert_eq!(whole["environment"]["id"], ids::ENVIRONMENT);
}

#[tokio::test]
async fn an_oversized_body_is_valid_json_of_the_announced_size() {
    let size = 3 << 20;
    let server = start(vec![
        Fault::on(Endpoint::statuses()).body(FaultBody::Oversized(size)),
    ])
    .await;
    let response = get(&server, &statuses_path()).await;
    assert_eq!(
        response.headers()["content-length"].to_str().unwrap(),
        size.to_string()
    );
    let bytes = response.bytes().await.unwrap();
    assert_eq!(bytes.len() as u64, size);
    let body: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(
        body["environment"]["state"], "DEPLOYED",
        "the normal fields"
    );
    assert!(body["padding"].as_str().unwrap().len() > 3_000_000);
}

#[tokio::test]
async fn an_endless_body_never_ends() {
    let server = start(vec![
        Fault::on(Endpoint::statuses()).body(FaultBody::Endless),
    ])
    .await;
    let mut response = get(&server, &statuses_path()).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().get("content-length").is_none());
    let mut read = 0usize;
    let started = Instant::now();
    while read < 64 << 20 {
        let chunk = response
            .chunk()
            .await
            .expect("readable")
            .expect("never the end");
        if read == 0 {
            assert!(chunk.starts_with(b"{\"environment\""));
        }
        read += chunk.len();
    }
    assert!(started.elapsed() < Duration::from_secs(30));
    drop(response);
    // The server is fine afterwards.
    assert_eq!(
        get(
            &server,
            &format!("/environment/{}/status", ids::ENVIRONMENT)
        )
        .await
        .status(),
        200
    );
}

#[tokio::test]
async fn delays_and_hangs() {
    let server = start(vec![
        "status:delay=400ms".parse().unwrap(),
        "statuses:hang".parse().unwrap(),
    ])
    .await;
    let started = Instant::now();
    let status = get(
        &server,
        &format!("/environment/{}/status", ids::ENVIRONMENT),
    )
    .await;
    assert_eq!(status.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(400));

    let started = Instant::now();
    let hung = client()
        .get(format!("{}{}", server.url(), statuses_path()))
        .header("authorization", TOKEN)
        .timeout(Duration::from_millis(500))
        .send()
        .await;
    assert!(hung.is_err_and(|e| e.is_timeout()));
    assert!(started.elapsed() < Duration::from_secs(5));
    // A hanging request does not block the others.
    let queue = format!("/environment/{}/deploymentQueue", ids::ENVIRONMENT);
    assert_eq!(get(&server, &queue).await.status(), 200);
    let recorded = server.requests();
    let hung = recorded
        .iter()
        .find(|r| r.path == statuses_path())
        .expect("recorded");
    assert_eq!(hung.status, None, "never answered");
    assert_eq!(hung.fault.as_deref(), Some("statuses:hang"));
}

#[tokio::test]
async fn a_hanging_deploy_can_still_be_processed() {
    // A long step: the request stays in the queue, where it can be seen.
    let server = MockServer::builder()
        .step(Duration::from_secs(60))
        .fault("deploy:hang,processed".parse().unwrap())
        .spawn()
        .await
        .unwrap();
    let lost = client()
        .post(format!("{}{}", server.url(), deploy_path()))
        .header("authorization", TOKEN)
        .json(&json!({"databases": [ids::POSTGRES]}))
        .timeout(Duration::from_millis(500))
        .send()
        .await;
    assert!(lost.is_err());
    assert_eq!(queued_requests(&server).await, 1);
}

#[tokio::test]
async fn a_redirect_on_a_write_queues_nothing() {
    let target = format!("/environment/{}/status", ids::ENVIRONMENT);
    let server = start(vec![Fault::on(Endpoint::deploy()).redirect(302, &target)]).await;
    let response = deploy(&server).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(response.headers()["location"].to_str().unwrap(), target);
    assert_eq!(queued_requests(&server).await, 0);
}

#[tokio::test]
async fn faults_can_be_managed_over_http() {
    let server = start(Vec::new()).await;
    let hooks = format!("{}/_mock/faults", server.url());
    let http = client();
    let added = http
        .post(&hooks)
        .json(&json!({"faults": ["statuses:503,times=1", "slow-cancel"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 200);
    assert_eq!(added.json::<Value>().await.unwrap()["added"], 2);
    assert_eq!(get(&server, &statuses_path()).await.status(), 503);
    let listed: Value = http.get(&hooks).send().await.unwrap().json().await.unwrap();
    assert_eq!(
        listed,
        json!({"faults": [
            {"spec": "statuses:503,times=1", "counted": 1, "applied": 1},
            {"spec": "cancels:delay=30s", "counted": 0, "applied": 0},
        ]})
    );
    let bad = http
        .post(&hooks)
        .json(&json!({"faults": ["statuses:503", "statuses:nope"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let message = bad.json::<Value>().await.unwrap()["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("unknown item `nope`"), "{message}");
    assert_eq!(server.faults().len(), 2, "all or nothing");
    assert_eq!(http.delete(&hooks).send().await.unwrap().status(), 200);
    assert!(server.faults().is_empty());
    // The log of requests shows fault and answer.
    let log: Value = http
        .get(format!("{}/_mock/requests", server.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(log[0]["status"], 503);
    assert_eq!(log[0]["fault"], "statuses:503,times=1");
    assert!(log[0]["elapsed_ms"].is_u64());
}

#[tokio::test]
async fn injected_at_runtime_after_the_start() {
    let server = start(Vec::new()).await;
    assert_eq!(get(&server, &statuses_path()).await.status(), 200);
    server.inject(Fault::on(Endpoint::statuses()).status(500).times(1));
    assert_eq!(get(&server, &statuses_path()).await.status(), 500);
    assert_eq!(get(&server, &statuses_path()).await.status(), 200);
    server.clear_faults();
    assert!(server.faults().is_empty());
}

#[tokio::test]
async fn every_preset_is_playable() {
    for preset in qovery_mock::PRESETS {
        let server = MockServer::builder()
            .step(Duration::from_millis(50))
            .faults(Preset::find(preset.name).expect("found").faults())
            .spawn()
            .await
            .expect("starts");
        assert_eq!(server.faults().len(), preset.specs.len(), "{}", preset.name);
    }
}

#[tokio::test]
async fn deployed_error_scenario_reports_a_deployed_service_in_error() {
    let server = MockServer::builder()
        .scenario(Scenario::DeployedError)
        .step(Duration::from_millis(50))
        .spawn()
        .await
        .unwrap();
    let accepted: Value = deploy(&server).await.json().await.unwrap();
    let request_id = accepted["deployment_request_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let status: Value = get(
            &server,
            &format!("/environment/deploymentStatus?deploymentRequestId={request_id}"),
        )
        .await
        .json()
        .await
        .unwrap();
        if status["status"] == "DEPLOYMENT_ERROR" {
            break;
        }
        assert!(Instant::now() < deadline, "{status}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let statuses: Value = get(&server, &statuses_path()).await.json().await.unwrap();
    assert_eq!(statuses["environment"]["state"], "DEPLOYMENT_ERROR");
    let postgres = &statuses["databases"][0];
    assert_eq!(postgres["state"], "DEPLOYED");
    assert_eq!(postgres["status_details"]["status"], "ERROR");
}
