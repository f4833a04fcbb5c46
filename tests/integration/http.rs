//! The HTTP client's contract: retries for transient failures only, `Retry-After`, no retry on refusals.

use std::time::{Duration, Instant};

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

#[tokio::test]
async fn a_503_then_a_429_with_retry_after_then_success() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/environment/{ENV}/services")))
        .respond_with(Sequence::of(vec![
            ResponseTemplate::new(503),
            ResponseTemplate::new(429).insert_header("retry-after", "2"),
            ResponseTemplate::new(200).set_body_json(services()),
        ]))
        .expect(3)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/environment/{ENV}")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"id": ENV, "name": "staging"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/environment/{ENV}/statuses")))
        .respond_with(Sequence::json(vec![
            previous_deployed(),
            ours("DEPLOYED", "DEPLOYED"),
        ]))
        .mount(&server)
        .await;
    accept_deploy(&server).await;

    let started = Instant::now();
    let output = command(&server.uri())
        .env("INPUT_APPLICATIONS", "api")
        .output()
        .unwrap();
    assert_exit(&output, 0);
    // The 429's Retry-After (2s) was honoured.
    assert!(started.elapsed() >= Duration::from_secs(2));
    let err = stderr(&output);
    assert!(
        err.contains("HTTP 503") && err.contains("HTTP 429"),
        "{err}"
    );
    assert!(err.contains("in 2.0s"), "Retry-After not used: {err}");
}

#[tokio::test]
async fn a_401_exits_4_after_a_single_request() {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(serde_json::json!({"message": "Unauthorized"})),
        )
        .mount(&server)
        .await;
    let output = command(&server.uri())
        .env("INPUT_APPLICATIONS", "api")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(4));
    assert_eq!(requests(&server).await.len(), 1);
    assert!(
        stderr(&output).contains("check that `api-token` holds a valid"),
        "{}",
        stderr(&output)
    );
}

#[tokio::test]
async fn refusals_are_never_retried() {
    for status in [400u16, 403, 404] {
        let server = MockServer::start().await;
        Mock::given(wiremock::matchers::any())
            .respond_with(ResponseTemplate::new(status))
            .mount(&server)
            .await;
        let output = command(&server.uri())
            .env("INPUT_APPLICATIONS", "api")
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(4), "{status}");
        assert_eq!(requests(&server).await.len(), 1, "{status} was retried");
    }
}

#[tokio::test]
async fn a_502_on_the_deploy_post_is_not_repeated() {
    // A gateway error may hide a deployment that was created: sending it again would queue a second.
    let server = qovery(vec![previous_deployed()]).await;
    Mock::given(method("POST"))
        .and(path(format!("/environment/{ENV}/service/deploy")))
        .respond_with(ResponseTemplate::new(502))
        .expect(1)
        .mount(&server)
        .await;
    let output = command(&server.uri())
        .env("INPUT_APPLICATIONS", "api")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(4));
}

#[tokio::test]
async fn an_unreachable_api_gives_up_within_the_timeout() {
    // Nothing listens on this port (bound, then closed).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = Instant::now();
    let output = command(&format!("http://127.0.0.1:{port}"))
        .env("INPUT_APPLICATIONS", "api")
        .env("INPUT_TIMEOUT", "4s")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(4));
    assert!(started.elapsed() < Duration::from_secs(8));
    assert!(
        stderr(&output).contains("gave up after"),
        "{}",
        stderr(&output)
    );
}
