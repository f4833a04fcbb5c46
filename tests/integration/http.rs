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
    mount_polls(
        &server,
        vec![previous_deployed(), ours("DEPLOYED", "DEPLOYED")],
    )
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
    // The wait after the 429 is at least its Retry-After (our own backoff may be longer).
    let waits: Vec<f64> = err
        .lines()
        .filter(|line| line.contains("retrying") && line.contains("(HTTP 429)"))
        .filter_map(|line| line.split(" in ").nth(1)?.split('s').next()?.parse().ok())
        .collect();
    assert!(
        waits.len() == 1 && waits[0] >= 2.0,
        "Retry-After not used: {err}"
    );
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

#[test]
fn an_api_url_where_nothing_listens_fails_in_seconds_naming_api_url() {
    // Nothing listens on this port (bound, then closed). The timeout is the default 30 minutes:
    // before, six retries over 100 s ended in "gave up after 7 attempts" and no hint.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    let output = command(&url)
        .env("INPUT_APPLICATIONS", "api")
        .output()
        .unwrap();
    assert_exit(&output, 4);
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
    let err = stderr(&output);
    assert!(err.contains(&format!("cannot connect to {url}")), "{err}");
    assert!(err.contains("hint: check the `api-url` input"), "{err}");
    assert!(err.matches("retrying").count() <= 2, "{err}");
}

#[test]
fn https_to_a_plain_http_server_says_the_scheme_may_be_wrong() {
    // A plain-http server: every connection is answered in clear text.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            use std::io::Write;
            let mut stream = stream;
            let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n");
        }
    });
    let output = command(&format!("https://127.0.0.1:{port}"))
        .env("INPUT_APPLICATIONS", "api")
        .output()
        .unwrap();
    assert_exit(&output, 4);
    let err = stderr(&output);
    assert!(
        err.contains(&format!(
            "hint: check the `api-url` input (https://127.0.0.1:{port}): the server there does not speak TLS, so the scheme may be wrong; for a plain-http server such as a local mock on a loopback address, write http://127.0.0.1:{port}"
        )),
        "{err}"
    );
    assert!(
        !err.contains("nothing there accepted a connection"),
        "{err}"
    );
}

/// A Qovery on a plain socket, one request per connection (`Connection: close`), so that it can
/// stop listening: once the deploy was accepted and `polls_before` polls showed ours `DEPLOYING`,
/// connections are refused for `outage`; then the same port listens again and ours is `DEPLOYED`.
fn flaky_listener(outage: Duration, polls_before: usize) -> (String, std::thread::JoinHandle<()>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let handle = std::thread::spawn(move || {
        let mut listener = Some(listener);
        let (mut deployed, mut polls_after_deploy, mut was_down) = (false, 0, false);
        while let Some(Ok((mut stream, _))) = listener.as_ref().map(|l| l.accept()) {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut head = String::new();
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap_or(0);
                }
                head.push_str(&line);
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let target = head.split(' ').nth(1).unwrap_or_default().to_string();
            let finished = polls_after_deploy >= polls_before && was_down;
            let (code, json) = if target.ends_with("/service/deploy") {
                deployed = true;
                (
                    202,
                    env_status("DEPLOYMENT_QUEUED", Some(OURS), &format!("{ENV}-41")),
                )
            } else if target.ends_with("/statuses") && !deployed {
                (200, previous_deployed())
            } else if target.ends_with("/statuses") {
                polls_after_deploy += 1;
                match finished {
                    true => (200, ours("DEPLOYED", "DEPLOYED")),
                    false => (200, ours("DEPLOYING", "DEPLOYING")),
                }
            } else if target.ends_with("/status") {
                // The small status each tick reads while nothing changes.
                polls_after_deploy += 1;
                match finished {
                    true => (200, ours("DEPLOYED", "DEPLOYED")["environment"].clone()),
                    false => (200, ours("DEPLOYING", "DEPLOYING")["environment"].clone()),
                }
            } else if target.ends_with("/services") {
                (200, services())
            } else {
                (200, serde_json::json!({"id": ENV, "name": "staging"}))
            };
            let body = json.to_string();
            let _ = write!(
                stream,
                "HTTP/1.1 {code} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            drop(stream);
            if finished && target.ends_with("/statuses") {
                break;
            }
            if deployed && polls_after_deploy == polls_before && !was_down {
                // Down: connections are refused until the same port listens again.
                drop(listener.take());
                std::thread::sleep(outage);
                listener = Some(std::net::TcpListener::bind(address).unwrap());
                was_down = true;
            }
        }
    });
    (format!("http://{address}"), handle)
}

#[test]
fn once_the_api_has_answered_a_refused_connection_is_retried_through_an_outage() {
    let (url, server) = flaky_listener(Duration::from_secs(3), 1);
    let started = Instant::now();
    let output = command(&url)
        .env("INPUT_APPLICATIONS", "api")
        .output()
        .unwrap();
    assert_exit(&output, 0);
    let err = stderr(&output);
    let out = stdout(&output);
    assert!(started.elapsed() >= Duration::from_secs(3), "{err}");
    // During the wait a poll is one attempt: the outage is a missed tick (issue 13), counted.
    assert!(
        out.contains("missed tick: GET /environment/") && out.contains("the API answers again"),
        "{out}{err}"
    );
    assert!(
        !err.contains("api-url") && !out.contains("api-url"),
        "{out}{err}"
    );
    server.join().unwrap();
}
