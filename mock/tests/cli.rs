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
