//! The image's layout, checked without building it: the Dockerfile's final stage (the release
//! path, musl on busybox) and its local twin `.ci/twin/Containerfile` (what `.ci/container` builds
//! and runs here, where no registry is reachable) declare the same files, entrypoint and
//! environment; the GitLab example and CI/CD component use what the image provides.

use std::collections::BTreeMap;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The environment of the busybox base image: Docker gives images built from scratch this PATH,
/// and busybox's official images carry it. The twin, built from scratch by buildah (which adds
/// none), declares it itself.
const BASE_ENV: [(&str, &str); 1] = [(
    "PATH",
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
)];

/// What one build stage declares about the image it produces.
#[derive(Debug, Default, PartialEq)]
struct Stage {
    /// The `FROM` image (without `AS name`).
    from: String,
    /// `COPY` instructions as (sources joined by a space, destination), in order; flags such as
    /// `--from=` and `--chmod=` are dropped.
    copies: Vec<(String, String)>,
    /// `ENV` pairs.
    env: BTreeMap<String, String>,
    /// The `ENTRYPOINT`, which must be exec form (a JSON array).
    entrypoint: Option<Vec<String>>,
    /// `USER`, `WORKDIR` and `CMD` as written.
    user: Option<String>,
    workdir: Option<String>,
    cmd: Option<String>,
}

/// Parses a Dockerfile into its stages: comments and blank lines dropped, `\` continuations
/// joined. Panics on a shell-form ENTRYPOINT or an `ENV` that is not `KEY=value`: both would make
/// the comparison meaningless.
fn stages(text: &str) -> Vec<Stage> {
    let mut logical = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if current.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        if let Some(head) = trimmed.strip_suffix('\\') {
            current.push_str(head);
            current.push(' ');
        } else if !trimmed.starts_with('#') {
            current.push_str(trimmed);
            logical.push(std::mem::take(&mut current));
        }
    }
    let mut stages: Vec<Stage> = Vec::new();
    for line in logical {
        let (instruction, args) = line.split_once(char::is_whitespace).unwrap_or((&line, ""));
        let args = args.trim();
        if instruction.eq_ignore_ascii_case("FROM") {
            let image = args.split_whitespace().next().unwrap_or_default();
            stages.push(Stage {
                from: image.to_string(),
                ..Stage::default()
            });
            continue;
        }
        let stage = stages
            .last_mut()
            .expect("an instruction before the first FROM");
        match instruction.to_ascii_uppercase().as_str() {
            "COPY" => {
                let words: Vec<&str> = args
                    .split_whitespace()
                    .filter(|w| !w.starts_with("--"))
                    .collect();
                let (dest, sources) = words.split_last().expect("COPY has a destination");
                assert!(!sources.is_empty(), "COPY without a source: {line}");
                stage.copies.push((sources.join(" "), dest.to_string()));
            }
            "ENV" => {
                for pair in args.split_whitespace() {
                    let (key, value) = pair.split_once('=').expect("ENV KEY=value");
                    stage
                        .env
                        .insert(key.to_string(), value.trim_matches('"').to_string());
                }
            }
            "ENTRYPOINT" => {
                let exec: Vec<String> = serde_json::from_str(args)
                    .unwrap_or_else(|_| panic!("ENTRYPOINT must be exec form: {line}"));
                stage.entrypoint = Some(exec);
            }
            "USER" => stage.user = Some(args.to_string()),
            "WORKDIR" => stage.workdir = Some(args.to_string()),
            "CMD" => stage.cmd = Some(args.to_string()),
            _ => {}
        }
    }
    stages
}

fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{ROOT}/{path}")).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The differences between the Dockerfile's final stage and the twin, one line each; empty when
/// they declare the same layout.
fn layout_differences(dockerfile: &str, twin: &str) -> Vec<String> {
    let release = stages(dockerfile)
        .pop()
        .expect("the Dockerfile has a stage");
    let twin = stages(twin).pop().expect("the twin has a stage");
    let mut diffs = Vec::new();
    if !(release.from.starts_with("busybox:") && release.from.ends_with("-musl")) {
        diffs.push(format!(
            "the release base is {}, the twin stands for busybox:*-musl",
            release.from
        ));
    }
    if twin.from != "scratch" {
        diffs.push(format!("the twin starts FROM {}, not scratch", twin.from));
    }
    // The twin's `COPY base/ /` stands for the busybox base; its other files are the release's.
    let (base, twin_files): (Vec<_>, Vec<_>) =
        twin.copies.iter().partition(|(_, dest)| dest == "/");
    if base.len() != 1 {
        diffs.push(format!(
            "the twin needs exactly one base copy to /, has {base:?}"
        ));
    }
    let release_dests: Vec<&str> = release.copies.iter().map(|(_, d)| d.as_str()).collect();
    let twin_dests: Vec<&str> = twin_files.iter().map(|(_, d)| d.as_str()).collect();
    if release_dests != twin_dests {
        diffs.push(format!(
            "files: release {release_dests:?}, twin {twin_dests:?}"
        ));
    }
    let mut expected_env: BTreeMap<String, String> = BASE_ENV
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    expected_env.extend(release.env.clone());
    if twin.env != expected_env {
        diffs.push(format!(
            "env: release (with the base's) {expected_env:?}, twin {:?}",
            twin.env
        ));
    }
    if release.entrypoint != twin.entrypoint {
        diffs.push(format!(
            "entrypoint: release {:?}, twin {:?}",
            release.entrypoint, twin.entrypoint
        ));
    }
    // A file copied to its path, or into a directory copied whole (`COPY bin/ /usr/local/bin/`).
    let copied = |path: &str| {
        release_dests
            .iter()
            .any(|dest| *dest == path || (dest.ends_with('/') && path.starts_with(dest)))
    };
    match &release.entrypoint {
        Some(exec) if exec.first().is_some_and(|bin| copied(bin)) => {}
        other => diffs.push(format!(
            "the entrypoint {other:?} is not a file the image copies"
        )),
    }
    for (what, release, twin) in [
        ("USER", &release.user, &twin.user),
        ("WORKDIR", &release.workdir, &twin.workdir),
        ("CMD", &release.cmd, &twin.cmd),
    ] {
        if release.is_some() || twin.is_some() {
            diffs.push(format!(
                "{what}: release {release:?}, twin {twin:?} (neither may set it)"
            ));
        }
    }
    diffs
}

#[test]
fn the_twin_declares_the_release_images_layout() {
    let diffs = layout_differences(&read("Dockerfile"), &read(".ci/twin/Containerfile"));
    assert!(
        diffs.is_empty(),
        "Dockerfile vs .ci/twin/Containerfile:\n{}",
        diffs.join("\n")
    );
}

#[test]
fn a_twin_that_drifts_is_caught() {
    let dockerfile = read("Dockerfile");
    let twin = read(".ci/twin/Containerfile");
    let drifted = [
        twin.replace("/usr/local/bin/qovery-deploy\"]", "/bin/qovery-deploy\"]"),
        twin.replace("COPY tini /sbin/tini\n", ""),
        twin.replace("ENV PATH=/usr/local/sbin:", "ENV PATH=/opt/bin:"),
        twin.replace("\nENTRYPOINT [", "\nUSER 10001\nENTRYPOINT ["),
        twin.replace("FROM scratch", "FROM debian:12"),
        format!("{twin}\nENV RUST_LOG=debug\n"),
    ];
    for (i, text) in drifted.iter().enumerate() {
        assert_ne!(text, &twin, "mutation {i} changed nothing");
        assert!(
            !layout_differences(&dockerfile, text).is_empty(),
            "mutation {i} not caught"
        );
    }
    // Continuation lines and flags are read like Docker does.
    let stage =
        stages("FROM a AS b\nCOPY --from=b --chmod=0755 \\\n  /x /y\nENTRYPOINT [\"/y\"]\n")
            .pop()
            .unwrap();
    assert_eq!(stage.copies, [("/x".to_string(), "/y".to_string())]);
}

/// The GitLab job as the README documents it and `.ci/container` proves: tini (shipped at
/// /sbin/tini) as PID 1 passing signals to the process group, and the tool exec'd by the script.
fn assert_gitlab_job(what: &str, job: &serde_yaml_ng::Value) {
    let entrypoint: Vec<&str> = job["image"]["entrypoint"]
        .as_sequence()
        .unwrap_or_else(|| panic!("{what}: image.entrypoint"))
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        entrypoint,
        ["/sbin/tini", "-g", "--"],
        "{what}: image.entrypoint"
    );
    let release = stages(&read("Dockerfile")).pop().unwrap();
    assert!(
        release.copies.iter().any(|(_, dest)| dest == entrypoint[0]),
        "{what}: the image ships no {}",
        entrypoint[0]
    );
    let script: Vec<&str> = job["script"]
        .as_sequence()
        .unwrap_or_else(|| panic!("{what}: script"))
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(script.last(), Some(&"exec qovery-deploy"), "{what}: script");
    // Issue 13 part 5: a job killed before the tool could cancel still cancels our request.
    assert_eq!(
        job["after_script"],
        serde_yaml_ng::Value::Sequence(vec!["qovery-deploy-cleanup".into()]),
        "{what}: after_script"
    );
    assert_eq!(
        job["artifacts"]["reports"]["dotenv"], "qovery-deploy.env",
        "{what}: dotenv report"
    );
}

#[test]
fn gitlab_example_component_and_readme_run_the_tool_so_that_a_cancel_reaches_it() {
    let example: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&read("examples/gitlab-ci.yml")).unwrap();
    assert_gitlab_job("examples/gitlab-ci.yml deploy", &example["deploy"]);

    let component = read("templates/qovery-deploy.yml");
    let documents: Vec<serde_yaml_ng::Value> = serde_yaml_ng::Deserializer::from_str(&component)
        .map(|doc| serde::Deserialize::deserialize(doc).unwrap())
        .collect();
    assert_eq!(
        documents.len(),
        2,
        "templates/qovery-deploy.yml: spec, then the job"
    );
    let jobs = documents[1].as_mapping().unwrap();
    assert_eq!(jobs.len(), 1, "the component adds one job");
    let job = jobs.values().next().unwrap();
    assert_gitlab_job("templates/qovery-deploy.yml", job);

    // The review apps (preview, preview-delete): the example's two jobs and the component's.
    let review: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&read("examples/gitlab-review-apps.yml")).unwrap();
    for job in ["review", "stop_review"] {
        assert_gitlab_job(
            &format!("examples/gitlab-review-apps.yml {job}"),
            &review[job],
        );
    }
    let component = read("templates/qovery-preview.yml");
    let documents: Vec<serde_yaml_ng::Value> = serde_yaml_ng::Deserializer::from_str(&component)
        .map(|doc| serde::Deserialize::deserialize(doc).unwrap())
        .collect();
    let jobs = documents[1].as_mapping().unwrap();
    assert_eq!(
        jobs.len(),
        2,
        "templates/qovery-preview.yml: the job and its stop job"
    );
    for job in jobs.values() {
        assert_gitlab_job("templates/qovery-preview.yml", job);
    }

    let readme = read("README.md");
    let section = readme
        .split("\n## GitLab CI\n")
        .nth(1)
        .expect("README: ## GitLab CI");
    let block = section
        .split("```yaml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("README: a yaml block under ## GitLab CI");
    let readme_job: serde_yaml_ng::Value = serde_yaml_ng::from_str(block).unwrap();
    assert_gitlab_job("README.md, GitLab CI", &readme_job["deploy"]);
}
