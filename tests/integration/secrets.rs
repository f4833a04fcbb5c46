//! The token never appears in anything the tool prints or writes, except GitHub's `::add-mask::`.

use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::support::*;

#[tokio::test]
async fn the_token_never_leaks() {
    let mut failed = ours("DEPLOYMENT_ERROR", "DEPLOYED");
    failed["applications"][0]["state"] = json!("BUILD_ERROR");
    let server = qovery(vec![previous_deployed(), failed]).await;
    // An API that echoes the token back in an error must not get it printed either.
    Mock::given(method("POST"))
        .and(path(format!("/environment/{ENV}/service/deploy")))
        .respond_with(ResponseTemplate::new(202).set_body_json(env_status(
            "DEPLOYMENT_QUEUED",
            Some(OURS),
            &format!("{ENV}-41"),
        )))
        .mount(&server)
        .await;
    for (case, extra) in [
        ("deploy", vec![]),
        ("bad-input", vec![("INPUT_TIMEOUT", TOKEN)]),
        ("echo", vec![("INPUT_APPLICATIONS", TOKEN)]),
    ] {
        let dir = temp_dir(&format!("secret-{case}"));
        let mut cmd = command(&server.uri());
        cmd.current_dir(&dir)
            .env("INPUT_APPLICATIONS", "api")
            .env("GITHUB_ACTIONS", "true")
            .env("GITLAB_CI", "true")
            .env("GITHUB_OUTPUT", dir.join("output"))
            .env("GITHUB_STEP_SUMMARY", dir.join("summary"));
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let output = cmd.output().unwrap();
        let out = stdout(&output);
        assert_eq!(
            out.lines().next(),
            Some(format!("::add-mask::{TOKEN}").as_str()),
            "{case}: mask must come first"
        );
        assert_eq!(out.matches(TOKEN).count(), 1, "{case}: {out}");
        assert!(
            !stderr(&output).contains(TOKEN),
            "{case}: {}",
            stderr(&output)
        );
        for file in std::fs::read_dir(&dir).unwrap() {
            let path = file.unwrap().path();
            assert!(
                !std::fs::read_to_string(&path).unwrap().contains(TOKEN),
                "{case}: {}",
                path.display()
            );
        }
    }
}
