//! TLS trust: a server signed by a private CA (a TLS-intercepting proxy, a self-hosted API) is
//! refused once, never retried, with a message saying what to set; `SSL_CERT_FILE` or
//! `SSL_CERT_DIR` pointing at that CA makes it trusted, besides the embedded roots, for the API
//! and for the health check of a service behind the same CA.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::support::*;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tls")
        .join(name)
}

/// An HTTPS server on 127.0.0.1 with a certificate from the test CA, answering every request
/// `401` (or the status line given). It counts TCP connections and completed requests.
struct TlsServer {
    port: u16,
    connections: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
}

impl TlsServer {
    fn start() -> TlsServer {
        TlsServer::answering("401 Unauthorized")
    }

    fn answering(status: &'static str) -> TlsServer {
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_file_iter(fixture("server.pem"))
                .unwrap()
                .map(Result::unwrap)
                .collect();
        let key = PrivateKeyDer::from_pem_file(fixture("server.key.pem")).unwrap();
        let config = Arc::new(
            rustls::ServerConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap(),
        );
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(AtomicUsize::new(0));
        let (seen, served) = (connections.clone(), requests.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                seen.fetch_add(1, Ordering::SeqCst);
                let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(10)));
                let connection = rustls::ServerConnection::new(config.clone()).unwrap();
                let mut tls = rustls::StreamOwned::new(connection, stream);
                let mut request = Vec::new();
                let mut buffer = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buffer) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => request.extend_from_slice(&buffer[..n]),
                    }
                }
                if request.windows(4).any(|w| w == b"\r\n\r\n") {
                    served.fetch_add(1, Ordering::SeqCst);
                    let answer = format!(
                        "HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    );
                    let _ = tls.write_all(answer.as_bytes());
                    let _ = tls.flush();
                }
            }
        });
        TlsServer {
            port,
            connections,
            requests,
        }
    }

    fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }
}

#[test]
fn a_private_ca_is_refused_once_with_what_to_set() {
    let server = TlsServer::start();
    let output = command(&server.url())
        .env("INPUT_APPLICATIONS", "api")
        .output()
        .unwrap();
    assert_exit(&output, 4);
    let err = stderr(&output);
    assert!(
        err.contains("the server's TLS certificate is not trusted (UnknownIssuer)"),
        "{err}"
    );
    assert!(err.contains("set SSL_CERT_FILE"), "{err}");
    assert!(
        !err.contains("retrying"),
        "a certificate error is not retried: {err}"
    );
    assert_eq!(server.connections.load(Ordering::SeqCst), 1);
    assert_eq!(
        server.requests.load(Ordering::SeqCst),
        0,
        "nothing was sent"
    );
}

#[test]
fn ssl_cert_file_or_dir_trusts_the_private_ca() {
    let dir = temp_dir("tls-dir");
    std::fs::copy(fixture("ca.pem"), dir.join("corporate-ca.pem")).unwrap();
    std::fs::write(dir.join("README"), "not a certificate").unwrap();
    for (variable, value) in [
        ("SSL_CERT_FILE", fixture("ca.pem").display().to_string()),
        ("SSL_CERT_DIR", dir.display().to_string()),
    ] {
        let server = TlsServer::start();
        let output = command(&server.url())
            .env("INPUT_APPLICATIONS", "api")
            .env(variable, value)
            .output()
            .unwrap();
        // TLS went through: the server's 401 is what stopped the run.
        assert_exit(&output, 4);
        assert!(
            stderr(&output).contains("the API token was refused (401"),
            "{variable}: {}",
            stderr(&output)
        );
        assert_eq!(server.requests.load(Ordering::SeqCst), 1, "{variable}");
    }
}

#[test]
fn an_unreadable_ssl_cert_file_is_bad_input_before_any_request() {
    let server = TlsServer::start();
    let output = command(&server.url())
        .env("INPUT_APPLICATIONS", "api")
        .env("SSL_CERT_FILE", "/nonexistent/corporate-ca.pem")
        .output()
        .unwrap();
    assert_exit(&output, 2);
    assert!(
        stderr(&output).contains("cannot read /nonexistent/corporate-ca.pem"),
        "{}",
        stderr(&output)
    );
    assert_eq!(server.connections.load(Ordering::SeqCst), 0);
}

/// A service behind the private CA (a corporate network): its health check trusts what the API
/// client trusts, and says what went wrong when it cannot.
#[tokio::test]
async fn the_health_check_trusts_the_same_private_ca() {
    use serde_json::json;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, ResponseTemplate};
    for trusted in [true, false] {
        let service = TlsServer::answering("200 OK");
        let qovery = qovery(vec![previous_deployed(), ours("DEPLOYED", "DEPLOYED")]).await;
        accept_deploy(&qovery).await;
        Mock::given(method("GET"))
            .and(path(format!("/environment/{ENV}/link")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"results": [
                {"service_id": API, "url": format!("{}/api", service.url()), "is_default": true}
            ]})))
            .mount(&qovery)
            .await;
        let mut cmd = command(&qovery.uri());
        cmd.env("INPUT_APPLICATIONS", "api")
            .env("INPUT_HEALTH-CHECK-PATH", "/healthz")
            .env("INPUT_TIMEOUT", "4s");
        if trusted {
            cmd.env("SSL_CERT_FILE", fixture("ca.pem"));
        }
        let output = cmd.output().unwrap();
        if trusted {
            assert_exit(&output, 0);
            assert_eq!(service.requests.load(Ordering::SeqCst), 1);
            assert!(
                stdout(&output).contains("/api/healthz answered HTTP 200 (attempt 1"),
                "{}",
                stdout(&output)
            );
        } else {
            assert_exit(&output, 1);
            assert_eq!(service.requests.load(Ordering::SeqCst), 0);
            let err = stderr(&output);
            assert!(err.contains("deployed but not answering"), "{err}");
            assert!(err.contains("UnknownIssuer"), "{err}");
        }
    }
}
