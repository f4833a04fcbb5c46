//! Tests of the `qovery-mock` binary.

use std::process::Command;

fn mock() -> Command {
    Command::new(env!("CARGO_BIN_EXE_qovery-mock"))
}

#[test]
fn exec_hands_the_mock_to_the_command() {
    let output = mock()
        // Through a shell, as a wrapped CI script would run: the variables must survive it.
        .args(["--step-ms", "50", "exec", "--", "sh", "-c", "env"])
        .env_remove("INPUT_API_TOKEN")
        .env("INPUT_ENVIRONMENT-ID", "preset")
        .env("INPUT_API-URL", "https://api.qovery.com")
        .output()
        .expect("runs");
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("INPUT_API_URL=http://127.0.0.1:"),
        "{stdout}"
    );
    assert!(
        stdout.contains("INPUT_API_TOKEN=qov_mock_demo_token"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("INPUT_ENVIRONMENT_ID="),
        "a preset in another spelling is not doubled: {stdout}"
    );
    assert!(
        !stdout.contains("INPUT_API-URL="),
        "other spelling removed: {stdout}"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("(scenario: happy)"), "{stderr}");
}

#[test]
fn exec_exits_with_the_command_code_and_shows_requests() {
    let output = mock()
        .args(["--show-requests", "exec", "--", "sh", "-c", "exit 7"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(7), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("0 request(s) received"), "{stderr}");
}

#[test]
fn bad_arguments_exit_2() {
    let output = mock()
        .args(["--scenario", "nope", "serve"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("unknown scenario `nope`") && stderr.contains("queued-stuck"),
        "{stderr}"
    );
    assert_eq!(mock().output().expect("runs").status.code(), Some(2));
}

#[test]
fn help_lists_the_scenarios() {
    let output = mock().arg("--help").output().expect("runs");
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("queued-stuck") && stdout.contains("exec -- CMD"),
        "{stdout}"
    );
}

#[tokio::test]
async fn serve_plays_the_faults_given_and_shows_them_with_the_requests() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let mut child = mock()
        .args([
            "--show-requests",
            "--fault",
            "statuses:503,retry-after=7,times=1",
            "--fault",
            "slow-cancel",
            "serve",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
    let mut header = String::new();
    while !header.contains("fault: cancels:delay=30s") {
        let mut line = String::new();
        assert_ne!(
            stdout.read_line(&mut line).expect("readable"),
            0,
            "{header}"
        );
        header.push_str(&line);
    }
    assert!(
        header.contains("fault: statuses:503,retry-after=7,times=1"),
        "{header}"
    );
    let url = header
        .split_whitespace()
        .find(|word| word.starts_with("http://"))
        .expect("the URL is printed")
        .to_owned();

    let _ = rustls::crypto::ring::default_provider().install_default();
    let statuses = format!(
        "{url}/environment/{}/statuses",
        qovery_mock::ids::ENVIRONMENT
    );
    let http = reqwest::Client::new();
    let first = http
        .get(&statuses)
        .header("authorization", "Token t")
        .send()
        .await
        .expect("answered");
    assert_eq!(first.status().as_u16(), 503);
    assert_eq!(first.headers()["retry-after"], "7");
    let second = http
        .get(&statuses)
        .header("authorization", "Token t")
        .send()
        .await
        .expect("answered");
    assert_eq!(second.status().as_u16(), 200);

    // Ctrl-C stops `serve`, which then prints the requests.
    let interrupted = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(interrupted.success());
    let output = child.wait_with_output().expect("exits");
    assert!(output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("2 request(s) received"), "{stderr}");
    assert!(
        stderr.contains("/statuses -> 503 [fault statuses:503,retry-after=7,times=1]"),
        "{stderr}"
    );
    assert!(stderr.contains("/statuses -> 200\n"), "{stderr}");
}

#[test]
fn a_bad_fault_exits_2_naming_it() {
    let output = mock()
        .args(["--fault", "statuses:hang,body=enormous", "serve"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("bad fault `statuses:hang,body=enormous`: unknown body `enormous`"),
        "{stderr}"
    );
}

#[test]
fn the_readme_documents_every_preset_and_scenario() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("mock/README.md");
    for preset in qovery_mock::PRESETS {
        let row = readme
            .lines()
            .find(|line| line.starts_with(&format!("| `{}` |", preset.name)))
            .unwrap_or_else(|| panic!("no README row for preset {}", preset.name));
        let first = preset.specs[0]
            .split(",location=")
            .next()
            .unwrap_or_default();
        assert!(row.contains(first), "{row} vs {first}");
    }
    for scenario in qovery_mock::Scenario::ALL {
        assert!(
            readme.contains(&format!("| `{scenario}` |")),
            "no README row for scenario {scenario}"
        );
    }
}
