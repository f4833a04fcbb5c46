//! The interface contract, checked mechanically: the README's tables, action.yml and the code agree,
//! and the fields the client reads exist in the spec.

use qovery_deploy::inputs::INPUTS;
use serde_json::Value;

use crate::spec::spec;

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap()
}

/// action.yml, in document order (a YAML mapping keeps it; a JSON map would sort the keys).
fn action() -> serde_yaml_ng::Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/action.yml")).unwrap();
    serde_yaml_ng::from_str(&text).unwrap()
}

/// The rows of the first table under `## {heading}`: (first column without backticks, second column).
fn readme_table(heading: &str) -> Vec<(String, String)> {
    let text = readme();
    let section = text
        .split(&format!("\n## {heading}\n"))
        .nth(1)
        .expect("section exists");
    let section = section.split("\n## ").next().unwrap();
    section
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .map(|row| {
            let cells: Vec<&str> = row.trim_matches('|').split(" | ").map(str::trim).collect();
            (cells[0].trim_matches('`').to_string(), cells[1].to_string())
        })
        .collect()
}

/// A literal default: exactly one backticked value that is not a variable reference.
fn literal(cell: &str) -> Option<&str> {
    let inner = cell.strip_prefix('`')?.strip_suffix('`')?;
    (!inner.contains('`') && !inner.starts_with('$')).then_some(inner)
}

#[test]
fn readme_action_yml_and_code_agree_on_inputs() {
    let readme = readme_table("Inputs");
    let action = action();
    let action_inputs = action["inputs"].as_mapping().unwrap();
    let code: Vec<&str> = INPUTS.iter().map(|d| d.name).collect();
    let readme_names: Vec<&str> = readme.iter().map(|(n, _)| n.as_str()).collect();
    let action_names: Vec<&str> = action_inputs.keys().filter_map(|k| k.as_str()).collect();
    assert_eq!(
        readme_names, code,
        "README inputs table vs src/inputs/table.rs"
    );
    assert_eq!(
        action_names, code,
        "action.yml inputs vs src/inputs/table.rs"
    );
    for (def, (_, readme_default)) in INPUTS.iter().zip(&readme) {
        let action_default = action_inputs[def.name]["default"]
            .as_str()
            .unwrap_or_default();
        assert_eq!(
            literal(readme_default),
            def.default,
            "README default of {}",
            def.name
        );
        assert_eq!(
            action_default,
            def.default.unwrap_or(""),
            "action.yml default of {}",
            def.name
        );
        assert!(
            action_inputs[def.name]["description"]
                .as_str()
                .is_some_and(|d| !d.is_empty()),
            "{}",
            def.name
        );
    }
}

#[test]
fn readme_action_yml_and_code_agree_on_outputs() {
    use qovery_deploy::inputs::Command;
    use qovery_deploy::report::{OUTPUTS, Report};
    let written = |command| -> Vec<&str> {
        Report::new(command)
            .outputs()
            .into_iter()
            .map(|(n, _)| n)
            .collect()
    };
    // Every command writes a prefix of the contract's list, `preview` all of it.
    let deploy = written(Command::Deploy);
    assert_eq!(deploy, OUTPUTS[..deploy.len()]);
    let code = written(Command::Preview);
    assert_eq!(code, OUTPUTS);
    let action = action();
    let action_outputs: Vec<&str> = action["outputs"]
        .as_mapping()
        .unwrap()
        .keys()
        .filter_map(|k| k.as_str())
        .collect();
    let readme: Vec<String> = readme_table("Outputs")
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(action_outputs, code);
    assert_eq!(readme, code);
}

#[test]
fn action_yml_runs_a_prebuilt_image() {
    let action = action();
    assert_eq!(action["runs"]["using"], "docker");
    assert!(
        action["runs"]["image"]
            .as_str()
            .unwrap()
            .starts_with("docker://"),
        "a Dockerfile would compile Rust on every run"
    );
    // Issue 13 part 5: the post step cancels what a killed step recorded; the image ships the
    // link (checked by .ci/container, and the Dockerfile's build stage makes it).
    assert_eq!(
        action["runs"]["post-entrypoint"],
        "/usr/local/bin/qovery-deploy-cleanup"
    );
    let dockerfile =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Dockerfile")).unwrap();
    assert!(dockerfile.contains("ln -s qovery-deploy /out/bin/qovery-deploy-cleanup"));
}

#[test]
fn the_fields_the_client_reads_exist_in_the_spec() {
    let spec = spec();
    let has = |schema: &str, fields: &[&str]| {
        let properties = spec.properties(schema);
        assert!(!properties.is_empty(), "{schema} has properties");
        for field in fields {
            assert!(
                properties.iter().any(|p| p == field),
                "{schema}.{field} is not in the spec"
            );
        }
    };
    has(
        "EnvironmentStatus",
        &[
            "state",
            "last_deployment_state",
            "last_deployment_id",
            "deployment_request_id",
            "total_deployment_duration_in_seconds",
            "triggered_by",
        ],
    );
    has(
        "EnvironmentStatuses",
        &[
            "environment",
            "applications",
            "containers",
            "jobs",
            "databases",
            "helms",
            "terraforms",
        ],
    );
    has(
        "Status",
        &[
            "id",
            "state",
            "status_details",
            "is_part_last_deployment",
            "deployment_request_id",
            "execution_id",
            "steps",
        ],
    );
    has("StatusDetails", &["action", "status"]);
    has("ServiceStepMetrics", &["total_duration_sec"]);
    has("EnvDeploymentStatus", &["status"]);
    has("DeploymentStageResponse", &["id", "name", "services"]);
    has(
        "DeploymentStageServiceResponse",
        &["service_id", "is_skipped"],
    );
    has(
        "QueuedDeploymentRequestWithStages",
        &["identifier", "stages"],
    );
    has(
        "DeploymentHistoryEnvironmentPaginatedResponseListV2",
        &["results"],
    );
    has(
        "DeploymentHistoryEnvironmentV2",
        &[
            "identifier",
            "auditing_data",
            "status",
            "trigger_action",
            "action_status",
            "stages",
        ],
    );
    has("DeploymentHistoryStage", &["name", "services"]);
    has(
        "DeploymentHistoryService",
        &["identifier", "status", "status_details", "details"],
    );
    has(
        "DeploymentHistoryAuditingData",
        &["created_at", "triggered_by", "origin"],
    );
    has("Commit", &["git_commit_id"]);
    // The version fields, in the branches of the details' oneOf.
    let details: Vec<String> = spec.schema("DeploymentHistoryServiceDetails")["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|branch| branch["properties"].as_object().unwrap().keys().cloned())
        .collect();
    for field in ["commit", "image_name", "tag", "repository"] {
        assert!(details.iter().any(|d| d == field), "details.{field}");
    }
    let identifiers = |schema: &str| {
        spec.schema(schema)["properties"]["identifier"]["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<Vec<_>>()
    };
    assert!(identifiers("DeploymentHistoryEnvironmentV2").contains(&"execution_id".to_string()));
    for field in ["service_id", "name", "service_type", "execution_id"] {
        assert!(
            identifiers("DeploymentHistoryService").contains(&field.to_string()),
            "{field}"
        );
    }
    // The failure report and the links.
    has(
        "EnvironmentLogs",
        &["type", "timestamp", "details", "error", "message"],
    );
    let logs = spec.schema("EnvironmentLogs");
    let inline = |path: &[&str]| -> Vec<String> {
        let mut at = logs;
        for part in path {
            at = &at["properties"][*part];
        }
        at["properties"]
            .as_object()
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default()
    };
    for (path, fields) in [
        (
            &["details"][..],
            &["execution_id", "transmitter", "stage"][..],
        ),
        (&["details", "transmitter"], &["id", "name", "type"]),
        (&["details", "stage"], &["step"]),
        (
            &["error"],
            &[
                "tag",
                "user_log_message",
                "link",
                "hint_message",
                "underlying_error",
            ],
        ),
        (&["error", "underlying_error"], &["message"]),
        (&["message"], &["safe_message"]),
    ] {
        let properties = inline(path);
        for field in fields {
            assert!(
                properties.iter().any(|p| p == field),
                "EnvironmentLogs.{}.{field} is not in the spec",
                path.join(".")
            );
        }
    }
    has(
        "Link",
        &[
            "service_id",
            "service_type",
            "url",
            "is_default",
            "is_qovery_domain",
        ],
    );
    has("LinkResponseList", &["results"]);
    assert_eq!(
        spec.schema("EnvironmentLogsResponseList")["type"],
        "array",
        "the log answer is a bare array"
    );
    // The states the wait classifies by name are all spec values (an unknown one is still handled).
    let states: Vec<&str> = spec.schema("StateEnum")["enum"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for state in [
        "DEPLOYED",
        "BUILDING",
        "DEPLOYING",
        "EXECUTING",
        "CANCELED",
        "CANCELING",
        "BUILD_ERROR",
        "DEPLOYMENT_ERROR",
        "DEPLOYMENT_QUEUED",
        "QUEUED",
        "RESTARTED",
        "STOPPED",
        "DELETED",
    ] {
        assert!(states.contains(&state), "{state} is not a StateEnum value");
    }
}

/// The rehearsal in the README ("Local use and rehearsal") runs as written and exits as the README
/// says: no placeholder to fill in by hand, the mock's own `--port`, and the exit code stated.
#[tokio::test]
async fn the_readme_rehearsal_runs_as_written_and_exits_as_it_says() {
    use crate::support::{SHA, command, stdout};

    let text = readme();
    let section = text
        .split("\n## Local use and rehearsal\n")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("the section exists");
    let (_, rest) = section.split_once("```sh\n").expect("a shell block");
    let (block, after) = rest.split_once("```").unwrap();
    assert!(
        !block
            .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
            .any(|word| word == "PORT"),
        "a placeholder to fill in by hand:\n{block}"
    );
    let mut lines = block.lines();
    // `cargo run -q -p qovery-mock -- ARGS   # comment`
    let mock_line = lines.next().unwrap();
    let (_, mock_args) = mock_line
        .split('#')
        .next()
        .unwrap()
        .split_once(" -- ")
        .unwrap();
    let mock_args: Vec<&str> = mock_args.split_whitespace().collect();
    let after_flag = |flag: &str| {
        let i = mock_args.iter().position(|a| *a == flag);
        i.and_then(|i| mock_args.get(i + 1)).copied()
    };
    assert_eq!(mock_args.last(), Some(&"serve"), "{mock_line}");
    let port: u16 = after_flag("--port")
        .expect("the mock's --port")
        .parse()
        .unwrap();
    let scenario: qovery_mock::Scenario =
        after_flag("--scenario").unwrap_or("happy").parse().unwrap();
    // Then `NAME=value … \` lines and the command.
    let run = lines.collect::<Vec<_>>().join(" ").replace('\\', " ");
    let vars: Vec<(&str, &str)> = run
        .split_whitespace()
        .filter_map(|word| word.split_once('='))
        .filter(|(name, _)| name.starts_with("INPUT_"))
        .collect();
    let var = |name: &str| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
    assert_eq!(
        var("INPUT_API_URL").map(str::to_string),
        Some(format!("http://127.0.0.1:{port}")),
        "api-url points at the mock's port: {run}"
    );
    // The exit code the README announces after the block.
    let stated: i32 = after
        .split("**exits ")
        .nth(1)
        .and_then(|s| s.split("**").next())
        .expect("the README says how the run exits")
        .parse()
        .unwrap();

    // The same mock (in-process, on a free port: the README's may be taken here), the same inputs.
    let server = qovery_mock::MockServer::spawn(qovery_mock::MockConfig {
        scenario,
        step: std::time::Duration::from_millis(300),
    })
    .await
    .unwrap();
    let mut cmd = command(&server.url());
    for inherited in [
        "INPUT_API-TOKEN",
        "INPUT_ENVIRONMENT-ID",
        "INPUT_API-URL",
        "INPUT_COMMIT-SHA",
    ] {
        cmd.env_remove(inherited);
    }
    for (name, value) in &vars {
        let value = match *name {
            "INPUT_API_URL" => server.url(),
            _ if value.starts_with("$(") => SHA.to_string(),
            _ => value.to_string(),
        };
        cmd.env(name, value);
    }
    let output = cmd.output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(stated),
        "the README says it exits {stated}:\n{}",
        stdout(&output)
    );
}

/// Outputs that may carry text from the API (service names in `services` and `urls`' keys) or that
/// the README lists as checked by this rule: a workflow's own `run` step that prints them must do so
/// between `::stop-commands::<random token>` and `::<token>::`, or a name such as
/// `::error::…` would become a workflow command of the user's step.
const GUARDED_OUTPUTS: [&str; 5] = ["services", "urls", "url", "state", "environment-name"];

/// The `run` steps of `steps` that print a [`GUARDED_OUTPUTS`] output outside a stop-commands
/// guard, as `"<step name>: <why>"`. An output is printed when the script names it directly
/// (`outputs.services`) or through an `env:` variable whose value names it (`$SERVICES`,
/// `${SERVICES}`). The guard: a token drawn at random (`openssl rand`, `uuidgen` or
/// `/dev/urandom`), `echo "::stop-commands::${token}"` before every line that uses such an output,
/// `echo "::${token}::"` after them.
fn unguarded(steps: &[serde_yaml_ng::Value]) -> Vec<String> {
    let mut found = Vec::new();
    for step in steps {
        let Some(run) = step["run"].as_str() else {
            continue;
        };
        let name = step["name"].as_str().unwrap_or("(unnamed step)");
        let names_output = |text: &str| {
            GUARDED_OUTPUTS.iter().any(|o| {
                text.match_indices(&format!("outputs.{o}")).any(|(i, m)| {
                    !text[i + m.len()..]
                        .starts_with(|c: char| c.is_ascii_alphanumeric() || c == '-')
                })
            })
        };
        let tainted_vars: Vec<&str> = step["env"]
            .as_mapping()
            .into_iter()
            .flatten()
            .filter(|(_, value)| value.as_str().is_some_and(names_output))
            .filter_map(|(key, _)| key.as_str())
            .collect();
        let uses = |line: &str| {
            names_output(line)
                || tainted_vars
                    .iter()
                    .any(|v| line.contains(&format!("${v}")) || line.contains(&format!("${{{v}}}")))
        };
        let lines: Vec<&str> = run.lines().collect();
        let using: Vec<usize> = (0..lines.len()).filter(|&i| uses(lines[i])).collect();
        let Some((&first, &last)) = using.first().zip(using.last()) else {
            continue;
        };
        let random = lines.iter().position(|l| {
            l.trim_start().starts_with("token=")
                && ["openssl rand", "uuidgen", "/dev/urandom"]
                    .iter()
                    .any(|r| l.contains(r))
        });
        let stop = lines
            .iter()
            .position(|l| l.trim() == r#"echo "::stop-commands::${token}""#);
        let resume = lines
            .iter()
            .rposition(|l| l.trim() == r#"echo "::${token}::""#);
        match (random, stop, resume) {
            (Some(r), Some(s), Some(e)) if r < s && s < first && last < e => {}
            _ => found.push(format!(
                "{name}: prints {:?} outside a ::stop-commands:: guard",
                lines[first].trim()
            )),
        }
    }
    found
}

/// Every GitHub workflow the project ships or shows: the examples (their jobs' steps) and the
/// README's GitHub snippets (a YAML list of steps). GitLab files are not workflows of GitHub's
/// runner: their `script` lines have no workflow commands to forge.
fn github_steps() -> Vec<(String, Vec<serde_yaml_ng::Value>)> {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut all = Vec::new();
    for entry in std::fs::read_dir(format!("{root}/examples")).unwrap() {
        let path = entry.unwrap().path();
        let file = path.file_name().unwrap().to_string_lossy().to_string();
        if !file.starts_with("github-") {
            continue;
        }
        let workflow: serde_yaml_ng::Value =
            serde_yaml_ng::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for (job, body) in workflow["jobs"].as_mapping().unwrap() {
            let steps = body["steps"].as_sequence().cloned().unwrap_or_default();
            all.push((format!("{file} {}", job.as_str().unwrap()), steps));
        }
    }
    let readme = readme();
    for (i, block) in readme.split("```yaml\n").skip(1).enumerate() {
        let block = block.split("\n```").next().unwrap();
        if let Ok(serde_yaml_ng::Value::Sequence(steps)) = serde_yaml_ng::from_str(block) {
            all.push((format!("README yaml block {}", i + 1), steps));
        }
    }
    all
}

#[test]
fn github_examples_print_api_text_only_behind_stop_commands() {
    let all = github_steps();
    let files: std::collections::BTreeSet<&str> = all
        .iter()
        .map(|(name, _)| name.split(' ').next().unwrap())
        .collect();
    assert!(
        files.contains("github-workflow.yml") && files.contains("github-preview.yml"),
        "{files:?}"
    );
    let checked: usize = all
        .iter()
        .flat_map(|(_, steps)| steps)
        .filter(|s| s["run"].is_string())
        .count();
    assert!(checked >= 3, "the examples' run steps are found: {checked}");
    let faults: Vec<String> = all
        .iter()
        .flat_map(|(file, steps)| {
            unguarded(steps)
                .into_iter()
                .map(move |f| format!("{file}: {f}"))
        })
        .collect();
    assert!(faults.is_empty(), "{}", faults.join("\n"));
}

#[test]
fn the_guard_check_catches_what_the_testers_found() {
    let steps =
        |text: &str| -> Vec<serde_yaml_ng::Value> { serde_yaml_ng::from_str(text).unwrap() };
    // The Report step as it was: names at line start in the user's own step.
    let report = steps(
        r#"
- name: Report
  env:
    SERVICES: ${{ steps.deploy.outputs.services }}
  run: |
    echo "${SERVICES}" | jq -r '.[] | "\(.name)"'
"#,
    );
    assert_eq!(unguarded(&report).len(), 1);
    // Through fromJSON, a direct expression, and a guard that ends too early.
    let smoke = steps(
        r#"
- name: Smoke
  env:
    NAMES: ${{ join(fromJSON(steps.deploy.outputs.services).*.name, ' ') }}
  run: echo "Deployed $NAMES"
- name: Direct
  run: echo "${{ steps.deploy.outputs.url }}"
- name: Early
  env:
    STATE: ${{ steps.deploy.outputs.state }}
  run: |
    token="$(openssl rand -hex 16)"
    echo "::stop-commands::${token}"
    echo "::${token}::"
    echo "$STATE"
- name: Fixed token
  env:
    STATE: ${{ steps.deploy.outputs.state }}
  run: |
    token=abc
    echo "::stop-commands::${token}"
    echo "$STATE"
    echo "::${token}::"
"#,
    );
    assert_eq!(unguarded(&smoke).len(), 4, "{:?}", unguarded(&smoke));
    // Guarded, and outputs of the tool's own words (result, console-url), pass.
    let fine = steps(
        r#"
- name: Guarded
  env:
    SERVICES: ${{ steps.deploy.outputs.services }}
    RESULT: ${{ steps.deploy.outputs.result }}
  run: |
    echo "$RESULT"
    token="$(openssl rand -hex 16)"
    echo "::stop-commands::${token}"
    echo "${SERVICES}"
    echo "::${token}::"
- name: Own words
  env:
    URL: ${{ steps.deploy.outputs.console-url }}
  run: echo "$URL"
"#,
    );
    assert!(unguarded(&fine).is_empty(), "{:?}", unguarded(&fine));
}
