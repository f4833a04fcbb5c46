//! Property tests: every writer of the tool, fed arbitrary and hostile strings, read back by the
//! oracles in [`crate::oracle`]. No forged workflow command, no forged output, no report GitLab
//! would reject, no Markdown structure from outside, no fragment of the token.
//!
//! Tokens are drawn from the characters real ones use (letters, digits, `_`, `-`, `.`: Qovery
//! tokens and base64url JWTs); outside text from anything, biased towards what the runners and
//! renderers react to, with the token and fragments of it mixed in.

use std::collections::BTreeSet;

use proptest::prelude::*;
use qovery_deploy::api::types::LogEntry;
use qovery_deploy::ci::{self, DOTENV_LIMIT};
use qovery_deploy::inputs::Command;
use qovery_deploy::links;
use qovery_deploy::logs;
use qovery_deploy::neutral::{self, Redactor};
use qovery_deploy::report::{OUTPUTS, Report, RunResult, ServiceFailure, ServiceReport};

use crate::oracle::*;

/// Pieces that mean something to a runner, a shell, a dotenv parser or a Markdown renderer.
const HOSTILE: &[&str] = &[
    "::",
    "##[",
    "\n",
    "\r",
    "\r\n",
    " ",
    "\t",
    "\u{3000}",
    "\u{a0}",
    "\u{200B}",
    "\u{FEFF}",
    "\u{202E}",
    "\u{2028}",
    "\u{85}",
    "\u{1b}[31m",
    "\u{1b}]8;;https://evil.example\u{7}",
    "::set-output name=result::success",
    "::stop-commands::qd",
    "::add-mask::DEPLOYED",
    "::error title=x,file=y::forged",
    "##[set-output name=result;]success",
    "\nQOVERY_RESULT=success",
    "QOVERY_RESULT=success",
    "=",
    "<<",
    "EOF",
    "ghadelimiter_",
    "|",
    "\\|",
    "`",
    "```",
    "~~~",
    "**Result:** success",
    "# heading",
    "<img src=x onerror=alert(1)>",
    "</code>",
    "[link](https://evil.example)",
    "https://evil.example/x",
    "www.evil.example",
    "a@evil.example",
    "@someone",
    ":rocket:",
    "$CI_JOB_TOKEN",
    "${CI_JOB_TOKEN}",
    "%CI_JOB_TOKEN%",
    "%0A",
    "%25",
    "%3A",
    ",",
    ":",
    "\\",
    "\0",
    "é",
    "日本",
    "🚀",
];

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_.-]{8,64}"
}

/// Outside text: hostile pieces, plain words, any character, the token and fragments of it.
fn outside(token: String) -> impl Strategy<Value = String> {
    let delimiter = format!("ghadelimiter_{}_0", std::process::id());
    let fragments: Vec<String> = (8..=token.len())
        .flat_map(|len| {
            let t = token.clone();
            (0..=t.len() - len).map(move |start| t[start..start + len].to_string())
        })
        .collect();
    let piece = prop_oneof![
        4 => proptest::sample::select(HOSTILE).prop_map(str::to_string),
        2 => "[a-zA-Z0-9 ._-]{1,8}",
        2 => any::<char>().prop_map(String::from),
        1 => Just(token.clone()),
        1 => proptest::sample::select(fragments),
        1 => Just(delimiter),
    ];
    proptest::collection::vec(piece, 0..12).prop_map(|pieces| pieces.concat())
}

fn token_and_texts(n: usize) -> impl Strategy<Value = (String, Vec<String>)> {
    token().prop_flat_map(move |t| {
        (
            Just(t.clone()),
            proptest::collection::vec(outside(t), n..=n),
        )
    })
}

fn assert_no_fragment(text: &str, token: &str) {
    assert!(
        !holds_fragment(text, token),
        "a fragment of the token survived in {text:?}"
    );
}

fn result_of(i: u8) -> RunResult {
    [
        RunResult::Success,
        RunResult::Failure,
        RunResult::Timeout,
        RunResult::Cancelled,
        RunResult::Queued,
    ][usize::from(i % 5)]
}

/// A report whose every outside field comes from `texts` (cycled): names, states, ids, the
/// services' links (`url`, `urls`), and each failing service's message, hint and documentation
/// link from its log. The links to its logs are under
/// `console` (the tool builds them from checked ids).
fn report(texts: &[String], services: usize, result: RunResult, console: &str) -> Report {
    let text = |i: usize| texts[i % texts.len()].clone();
    let mut report = Report::new(Command::DeployJob);
    report.result = result;
    report.state = Some(text(0));
    report.reason = Some(text(1));
    report.cancel_note = Some(text(2));
    report.deployment_request_ids = vec![text(3), text(4)];
    report.execution_ids = vec![text(5)];
    report.console_url = Some(console.to_string());
    report.services = (0..services)
        .map(|i| ServiceReport {
            id: text(6 + i),
            name: text(7 + i),
            kind: "JOB".into(),
            state: Some(text(8 + i)),
            version: Some(text(9 + i)),
            deployment_request_id: Some(text(10 + i)),
            ..Default::default()
        })
        .collect();
    report.url = Some(text(11));
    report.urls = (0..services.min(4))
        .map(|i| (text(7 + i), text(11 + i)))
        .collect();
    report.failures = (0..services.min(3))
        .map(|i| ServiceFailure {
            service: text(7 + i),
            verdict: if i % 2 == 0 {
                "failed"
            } else {
                "did not finish"
            },
            state: Some(text(8 + i)),
            // Log excerpts in the tool; any text here: the summary must hold anything.
            message: Some(text(2 + i)),
            hint: Some(text(3 + i)),
            docs: Some(text(4 + i)),
            logs_url: Some(format!("{console}/service/s{i}/deployments/logs/e-{i}")),
        })
        .collect();
    report
}

const CONSOLE: &str = "https://console.qovery.com";

/// The documented form of `state`: an upper-case enum word.
fn enum_word(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

/// The documented form of `url` and `urls`' values (README, "Outputs"): `http(s)://`, printable
/// ASCII without whitespace, quotes, brackets, braces, backticks, `|` or `\\`; safe inside `<…>`
/// and a Markdown table cell.
fn plain_url(text: &str) -> bool {
    (text.starts_with("https://") || text.starts_with("http://"))
        && text.len() <= 2048
        && text
            .chars()
            .all(|c| c.is_ascii_graphic() && !"\"'<>()[]{}`|\\".contains(c))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn log_lines_never_carry_a_command_a_control_character_or_the_token(
        (token, texts) in token_and_texts(3)
    ) {
        let r = Redactor::with(&token);
        // The tool's own message shape: lines of its own, outside text inside them.
        let own = format!("{}\n  {}: {}\n", texts[0], texts[1], texts[2]);
        for out in [
            neutral::log_text(&r, &own),
            neutral::defuse_line(&format!(
                "  {}  {}",
                neutral::log_fragment(&r, &texts[0]),
                neutral::log_fragment(&r, &texts[1])
            ))
            .into_owned(),
        ] {
            prop_assert!(command_like_lines(&out).is_empty(), "{out:?}");
            prop_assert!(github_commands(&out).is_empty(), "{out:?}");
            prop_assert!(
                !out.chars().any(|c| (c.is_control() && c != '\n') || neutral::is_invisible(c)),
                "{out:?}"
            );
            assert_no_fragment(&out, &token);
        }
    }

    #[test]
    fn annotations_are_one_command_with_only_our_properties(
        (token, texts) in token_and_texts(2)
    ) {
        let r = Redactor::with(&token);
        let line = format!(
            "::error title={}::{}",
            neutral::command_property(&r, &texts[0]),
            neutral::command_data(&r, &texts[1])
        );
        prop_assert!(!line.contains(['\n', '\r']));
        let commands = github_commands(&line);
        prop_assert_eq!(commands.len(), 1);
        prop_assert_eq!(commands[0].name.as_str(), "error");
        // The runner drops an empty property; whatever is left is the title, and only it.
        prop_assert!(commands[0].properties.keys().all(|k| k == "title"));
        prop_assert!(commands[0].data.chars().count() <= neutral::ANNOTATION_MAX_CHARS);
        assert_no_fragment(&commands[0].data, &token);
        if let Some(title) = commands[0].properties.get("title") {
            assert_no_fragment(title, &token);
        }
        let group = format!("::group::{}", neutral::command_data(&r, &texts[0]));
        prop_assert_eq!(github_commands(&group).len(), 1);
    }

    #[test]
    fn annotation_text_round_trips_when_nothing_needs_escaping(text in "[ -~]{0,200}") {
        prop_assume!(!text.contains("##["));
        let line = format!("::warning::{}", neutral::command_data(&Redactor::new(), &text));
        prop_assert_eq!(&github_commands(&line)[0].data, &text);
    }

    #[test]
    fn the_machine_outputs_keep_their_documented_safe_forms(
        (token, texts) in token_and_texts(12),
        services in 0usize..6,
        result in any::<u8>(),
    ) {
        // `state` is what workflows compare and render in code spans; `url`/`urls` what they
        // render as links: whatever the API sent, the written outputs keep the README's forms.
        let r = Redactor::with(&token);
        let mut report = report(&texts, services, result_of(result), CONSOLE);
        // url/urls come only through links::valid_url in the tool; feed them the same way.
        report.url = report.url.as_deref().and_then(|u| links::valid_url(u).ok()).map(str::to_string);
        report.urls = report
            .urls
            .iter()
            .filter_map(|(name, u)| Some((name.clone(), links::valid_url(u).ok()?.to_string())))
            .collect();
        let file = ci::github_outputs(&report.outputs(), &r);
        let parsed = github_output_file(&file).map_err(TestCaseError::fail)?;
        let names: Vec<&str> = parsed.iter().map(|(n, _)| n.as_str()).collect();
        prop_assert_eq!(names, OUTPUTS.to_vec());
        let value = |name: &str| parsed.iter().find(|(n, _)| n == name).unwrap().1.clone();
        let state = value("state");
        // (A state that is a run of the token is redacted like every value.)
        let expected = match texts[0].as_str() {
            "" => String::new(),
            word if enum_word(word) => word.to_string(),
            _ => "UNKNOWN".to_string(),
        };
        prop_assert_eq!(&state, &r.redact(&expected).into_owned());
        prop_assert!(["success", "failure", "timeout", "cancelled", "queued"].contains(&value("result").as_str()));
        prop_assert!(value("duration-seconds").bytes().all(|b| b.is_ascii_digit()));
        let mut urls = vec![value("url")];
        if !value("urls").is_empty() {
            let map: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(&value("urls")).map_err(|e| TestCaseError::fail(e.to_string()))?;
            urls.extend(map.values().map(|v| v.as_str().unwrap().to_string()));
        }
        for url in urls.iter().filter(|u| !u.is_empty()) {
            prop_assert!(plain_url(url), "{url:?}");
        }
        prop_assert_eq!(value("environment-id"), "");
        prop_assert_eq!(value("environment-name"), "");
        prop_assert_eq!(value("created"), "");
    }

    #[test]
    fn github_outputs_are_exactly_ours_and_round_trip((token, texts) in token_and_texts(9)) {
        let r = Redactor::with(&token);
        let names = ["deployment-request-id", "execution-id", "state", "result",
                     "duration-seconds", "console-url", "services", "url", "urls"];
        let outputs: Vec<(&'static str, String)> =
            names.iter().zip(&texts).map(|(n, v)| (*n, v.clone())).collect();
        let file = ci::github_outputs(&outputs, &r);
        let parsed = github_output_file(&file).map_err(TestCaseError::fail)?;
        prop_assert_eq!(
            parsed.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
            names.to_vec()
        );
        for ((_, value), (_, written)) in outputs.iter().zip(&parsed) {
            prop_assert_eq!(written, &r.redact(value).into_owned());
        }
        assert_no_fragment(&file, &token);
    }

    #[test]
    fn dotenv_reports_are_accepted_and_tell_the_real_result(
        (token, texts) in token_and_texts(12),
        services in 0usize..120,
        result in any::<u8>(),
    ) {
        let r = Redactor::with(&token);
        let report = report(&texts, services, result_of(result), CONSOLE);
        let text = ci::dotenv(&report.outputs(), &report, &r);
        prop_assert!(text.len() < DOTENV_LIMIT);
        let variables = gitlab_dotenv(text.as_bytes()).map_err(TestCaseError::fail)?;
        // Every declared output, whatever the command (deploy-job here: no preview environment).
        let keys: BTreeSet<&str> = variables.keys().map(String::as_str).collect();
        let declared: Vec<String> = OUTPUTS
            .iter()
            .map(|o| format!("QOVERY_{}", o.to_uppercase().replace('-', "_")))
            .collect();
        prop_assert_eq!(keys, declared.iter().map(String::as_str).collect::<BTreeSet<_>>());
        prop_assert_eq!(variables["QOVERY_RESULT"].as_str(), report.result.as_str());
        prop_assert_eq!(text.lines().count(), OUTPUTS.len());
        // The state keeps its safe form through the report: an enum word, UNKNOWN, or cut away.
        let state = variables["QOVERY_STATE"].as_str();
        prop_assert!(
            state.is_empty() || state == "UNKNOWN" || enum_word(state) || state.contains("***"),
            "{state:?}"
        );
        for value in variables.values() {
            prop_assert!(gitlab_literal(value).is_some(), "GitLab would expand {value:?}");
        }
        // Each pair is `name:STATE`: no name can add a pair.
        let listed = variables["QOVERY_SERVICES"].split(',').filter(|i| !i.is_empty()).count();
        prop_assert!(listed <= services.max(1));
        assert_no_fragment(&text, &token);
    }

    #[test]
    fn the_summary_has_the_same_structure_whatever_the_api_says(
        (token, texts) in token_and_texts(12),
        services in 0usize..15,
        result in any::<u8>(),
    ) {
        let r = Redactor::with(&token);
        let result = result_of(result);
        let hostile = report(&texts, services, result, &format!("{CONSOLE}/organization/x"));
        // The same report with every outside text replaced by a harmless one of the same emptiness.
        let tame: Vec<String> = texts
            .iter()
            .map(|t| if t.is_empty() { String::new() } else { "x".into() })
            .collect();
        let benign = report(&tame, services, result, &format!("{CONSOLE}/organization/x"));
        let md = ci::summary_markdown(&hostile, &r, Some(CONSOLE));
        let mut seen = summary_check(&md);
        let expected = summary_check(&ci::summary_markdown(&benign, &r, Some(CONSOLE)));
        // A service's address may be an autolink (it shows where it goes): set those apart.
        let addresses: Vec<&String> = hostile.urls.iter().map(|(_, url)| url).collect();
        let autolinks: Vec<String> = seen
            .links
            .iter()
            .filter(|link| addresses.contains(link))
            .cloned()
            .collect();
        seen.links.retain(|link| !autolinks.contains(link));
        seen.plain.retain(|text| !autolinks.contains(text));
        prop_assert!(seen.html.is_empty(), "{md}");
        prop_assert_eq!(&seen.headings, &expected.headings, "{}", md);
        // Ours, and "Why it failed" when a service failed.
        prop_assert_eq!(seen.headings.len(), 1 + usize::from(services > 0));
        prop_assert_eq!(&seen.strong, &expected.strong, "{}", md);
        // The console, and each failing service's logs under it.
        prop_assert_eq!(&seen.links, &expected.links, "{}", md);
        prop_assert_eq!(seen.links.len(), 1 + services.min(3));
        prop_assert_eq!(&seen.plain, &expected.plain, "{}", md);
        prop_assert_eq!(seen.rows.len(), services);
        prop_assert!(seen.rows.iter().all(|row| row.len() == 5), "{md}");
        assert_no_fragment(&md, &token);
    }

    #[test]
    fn a_link_appears_only_under_the_expected_bases((token, texts) in token_and_texts(12)) {
        let r = Redactor::with(&token);
        let report = report(&texts, 3, RunResult::Failure, &texts[11]);
        let seen = summary_check(&ci::summary_markdown(&report, &r, Some(CONSOLE)));
        for link in &seen.links {
            let autolink = report.urls.iter().any(|(_, url)| url == link)
                && link.starts_with("https://")
                && !link.contains(char::is_whitespace);
            prop_assert!(
                link.starts_with(&format!("{CONSOLE}/"))
                    || link == CONSOLE
                    || link.starts_with("https://www.qovery.com/docs")
                    || link.starts_with("https://hub.qovery.com/docs")
                    || autolink,
                "{link}"
            );
            assert_no_fragment(link, &token);
        }
    }

    #[test]
    fn a_deployment_log_block_never_closes_its_group_or_forges_a_command(
        (token, texts) in token_and_texts(8),
        log_lines in 0usize..40,
    ) {
        let r = Redactor::with(&token);
        let (environment, service) = (
            "b6a6a1c4-2f0e-4a44-9f4b-6f3e9d2c7a10",
            "a1000000-0000-4000-8000-000000000001",
        );
        let entry = |text: &str| serde_json::json!({
            "type": "info", "timestamp": "2026-11-20T10:42:01Z",
            "details": {"transmitter": {"id": service}}, "message": {"safe_message": text}
        });
        let mut entries: Vec<serde_json::Value> = texts[..5].iter().map(|t| entry(t)).collect();
        entries.push(serde_json::json!({
            "type": "error", "timestamp": texts[5],
            "details": {"transmitter": {"id": service}},
            "error": {"tag": texts[6], "user_log_message": texts[7], "hint_message": texts[0],
                      "link": texts[1], "underlying_error": {"message": texts[2]}}
        }));
        let entries: Vec<LogEntry> = serde_json::from_value(serde_json::Value::Array(entries))
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let found = logs::excerpt(&entries, environment, service, log_lines, &r);
        let lines = logs::render(&found, &texts[3], log_lines, logs::MAX_PRINTED_LINES);
        // As the runner sees the group: its start, the lines, its end.
        let group = format!(
            "::group::{}\n{}\n::endgroup::",
            neutral::command_data(&r, &format!("{} failed: deployment log", neutral::inline(&texts[3]))),
            ci::log_block_lines(&r, &lines)
        );
        let commands: Vec<String> = github_commands(&group).into_iter().map(|c| c.name).collect();
        prop_assert_eq!(commands, vec!["group".to_string(), "endgroup".to_string()], "{}", group);
        prop_assert_eq!(command_like_lines(&group).len(), 2, "{}", group);
        prop_assert!(
            !group.chars().any(|c| (c.is_control() && c != '\n') || neutral::is_invisible(c)),
            "{group:?}"
        );
        prop_assert!(lines.iter().all(|l| l.chars().count() <= 2 * logs::LINE_CHARS), "{lines:?}");
        assert_no_fragment(&group, &token);

        // The service's annotation: one command, our title only, no token.
        let failure = ServiceFailure {
            service: texts[3].clone(),
            verdict: "failed",
            state: Some(texts[4].clone()),
            message: found.errors.first().and_then(|e| e.message.clone()),
            hint: found.errors.first().and_then(|e| e.hint.clone()),
            docs: found.errors.first().and_then(|e| e.docs.clone()),
            logs_url: Some(format!("{CONSOLE}/organization/x")),
        };
        let line = ci::annotation(
            &r,
            &format!("{} failed", neutral::inline(&failure.service)),
            &ci::failure_annotation(&failure),
        );
        prop_assert!(!line.contains(['\n', '\r']));
        let commands = github_commands(&line);
        prop_assert_eq!(commands.len(), 1);
        prop_assert_eq!(commands[0].name.as_str(), "error");
        prop_assert!(commands[0].properties.keys().all(|k| k == "title"));
        assert_no_fragment(&line, &token);
    }

    #[test]
    fn redaction_leaves_no_fragment((token, texts) in token_and_texts(1)) {
        let r = Redactor::with(&token);
        let out = r.redact(&texts[0]);
        assert_no_fragment(&out, &token);
        prop_assert_eq!(r.redact(&out), out.clone());
        // Redacted first, cut after: any cut of an excerpt is clean too.
        for max in [0usize, 7, 8, 50, 300] {
            assert_no_fragment(&neutral::excerpt(&r, &texts[0], max), &token);
        }
    }
}

proptest! {
    // Each case runs the real binary twice against wiremock: tens of cases, not hundreds.
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// The binary, on GitHub and GitLab at once, against an API whose deployment log (lines,
    /// error message, hint, documentation link, tag) and services' links are arbitrary and hostile
    /// text with the token mixed in: no forged command or output, a dotenv report GitLab accepts
    /// with the real result, no link but the expected ones, no fragment of the token.
    #[test]
    fn the_binary_forges_nothing_from_arbitrary_logs_and_links((token, texts) in token_and_texts(8)) {
        use crate::hostile::{assert_nothing_forged, failing_with_log, log_error, log_line, run_everywhere};
        use crate::support::*;
        use wiremock::matchers::{method, path};
        use wiremock::{Mock, ResponseTemplate};
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();

        // A failure, explained from the log.
        let log = serde_json::json!([
            log_line(API, 1, &texts[0]),
            log_line(API, 2, &format!("{}\n{}", texts[1], texts[2])),
            log_error(API, &texts[3], &texts[4], &texts[5]),
        ]);
        let server = runtime.block_on(failing_with_log(log));
        let run = run_everywhere(
            "prop-logs",
            &server.uri(),
            &token,
            &[("INPUT_APPLICATIONS", "api".into())],
        );
        prop_assert_eq!(run.exit, Some(1), "{}{}", run.stdout, run.stderr);
        assert_nothing_forged(&run, &token, "failure");
        prop_assert!(run.stdout.contains("::group::api failed (BUILD_ERROR): deployment log"));

        // A success, with arbitrary links.
        let server = runtime.block_on(async {
            let server = qovery(vec![previous_deployed(), ours("DEPLOYED", "DEPLOYED")]).await;
            accept_deploy(&server).await;
            Mock::given(method("GET"))
                .and(path(format!("/environment/{ENV}/link")))
                .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"results": [
                    {"service_id": API, "url": texts[5], "is_default": true},
                    {"service_id": WEB, "url": format!("https://{}", texts[6]), "is_default": true},
                    {"service_id": WORKER, "url": format!("https://w.example/{}", texts[7])},
                ]})))
                .mount(&server)
                .await;
            server
        });
        let run = run_everywhere(
            "prop-links",
            &server.uri(),
            &token,
            &[
                ("INPUT_APPLICATIONS", format!("{API},{WEB}")),
                ("INPUT_CONTAINERS", WORKER.to_string()),
            ],
        );
        prop_assert_eq!(run.exit, Some(0), "{}{}", run.stdout, run.stderr);
        assert_nothing_forged(&run, &token, "success");
    }
}

// --- The answers the busy-environment wait reads: `/status` and `deploymentHistoryV2` -----------

const UUIDS: [&str; 3] = [
    "a1000000-0000-4000-8000-000000000001",
    "a1000000-0000-4000-8000-000000000002",
    "B6A6A1C4-2F0E-4A44-9F4B-6F3E9D2C7A10",
];

/// An id as an API could send it: well-shaped (a UUID or an execution id), or a well-shaped one
/// with outside text around it, or outside text alone.
fn api_id(token: String) -> impl Strategy<Value = String> {
    let uuid = proptest::sample::select(UUIDS.to_vec()).prop_map(str::to_string);
    let execution = (proptest::sample::select(UUIDS.to_vec()), 0u64..100_000)
        .prop_map(|(uuid, n)| format!("{uuid}-{n}"));
    let well = prop_oneof![uuid, execution];
    prop_oneof![
        3 => well.clone(),
        2 => (well, outside(token.clone()), any::<bool>()).prop_map(|(id, text, before)| {
            if before { format!("{text}{id}") } else { format!("{id}{text}") }
        }),
        1 => outside(token),
    ]
}

fn ids_and_texts(
    ids: usize,
    texts: usize,
) -> impl Strategy<Value = (String, Vec<String>, Vec<String>)> {
    token().prop_flat_map(move |t| {
        (
            Just(t.clone()),
            proptest::collection::vec(api_id(t.clone()), ids..=ids),
            proptest::collection::vec(outside(t), texts..=texts),
        )
    })
}

fn printable(text: &str) -> bool {
    !text
        .chars()
        .any(|c| c.is_control() || neutral::is_invisible(c))
}

/// A history entry whose ids and text come from `ids` and `texts`, listing `services` services.
fn history_entry(ids: &[String], texts: &[String], services: usize) -> serde_json::Value {
    let text = |i: usize| texts[i % texts.len()].clone();
    let id = |i: usize| ids[i % ids.len()].clone();
    let services: Vec<serde_json::Value> = (0..services)
        .map(|i| {
            serde_json::json!({
                "identifier": {"service_id": id(1 + i), "name": text(i), "service_type": text(i + 1)},
                "status": text(i + 2),
                "status_details": {"action": text(i + 3), "status": text(i + 4), "sub_action": "NONE"},
                "details": {"commit": {"git_commit_id": text(i + 5)}, "image_name": text(i + 6),
                            "tag": text(i + 7), "repository": {"chart_name": text(i), "chart_version": text(i + 8)}}
            })
        })
        .collect();
    serde_json::json!({
        "identifier": {"execution_id": id(0)},
        "status": text(0), "trigger_action": text(1), "action_status": text(2),
        "auditing_data": {"created_at": text(3), "triggered_by": text(4), "origin": text(5)},
        "stages": [{"name": text(6), "services": services}]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// `GET /environment/{id}/status`: an answer is usable only when its request id is a UUID and
    /// its execution id `<uuid>-<n>` (or they are absent); its state is printable on arrival.
    #[test]
    fn a_status_answer_is_usable_only_with_well_shaped_ids(
        (_token, ids, texts) in ids_and_texts(2, 3)
    ) {
        use qovery_deploy::api::ids::{is_execution_id, is_uuid};
        use qovery_deploy::api::types::EnvironmentStatus;
        let body = serde_json::json!({
            "id": UUIDS[2], "state": texts[0], "last_deployment_state": texts[1],
            "deployment_request_id": ids[0], "last_deployment_id": ids[1], "triggered_by": texts[2]
        });
        let mut status: EnvironmentStatus = serde_json::from_value(body).unwrap();
        prop_assert!(printable(status.state.as_str()), "{:?}", status.state);
        let fits = (ids[0].is_empty() || is_uuid(&ids[0]))
            && (ids[1].is_empty() || is_execution_id(&ids[1]));
        match status.check_ids() {
            Ok(()) => {
                prop_assert!(fits, "{ids:?}");
                prop_assert!(status.deployment_request_id.as_deref().is_none_or(is_uuid));
                prop_assert!(status.last_deployment_id.as_deref().is_none_or(is_execution_id));
            }
            Err(problem) => {
                prop_assert!(!fits, "{ids:?}");
                // The message quotes the id escaped, on one line.
                prop_assert!(printable(&problem.to_string()), "{problem}");
            }
        }
    }

    /// `GET /environment/{id}/deploymentHistoryV2`: after the checks, every execution id left is
    /// `<uuid>-<n>`, every service id a UUID, and every text printable; nothing with an id of
    /// another shape survives, nothing well-shaped is lost.
    #[test]
    fn history_pages_keep_only_well_shaped_ids_and_printable_text(
        (_token, ids, texts) in ids_and_texts(8, 9),
        entries in 1usize..4,
        services in 0usize..4,
    ) {
        use qovery_deploy::api::ids::{is_execution_id, is_uuid};
        use qovery_deploy::api::types::HistoryPage;
        let results: Vec<serde_json::Value> = (0..entries)
            .map(|e| {
                let ids: Vec<String> = ids.iter().cycle().skip(e * 3).take(ids.len()).cloned().collect();
                history_entry(&ids, &texts, services)
            })
            .collect();
        let raw = serde_json::json!({"results": results});
        let mut page: HistoryPage = serde_json::from_value(raw.clone()).unwrap();
        page.check_ids();
        let expected_entries = raw["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| {
                let id = e["identifier"]["execution_id"].as_str().unwrap();
                id.is_empty() || is_execution_id(id)
            })
            .count();
        prop_assert_eq!(page.results.len(), expected_entries);
        for execution in &page.results {
            prop_assert!(execution.execution_id().is_none_or(is_execution_id));
            for service in execution.services() {
                prop_assert!(service.service_id().is_none_or(is_uuid));
                let identifier = service.identifier.as_ref().unwrap();
                let details = service.details.as_ref().unwrap();
                for text in [
                    identifier.name.as_deref(),
                    identifier.service_type.as_deref(),
                    service.status.as_ref().map(|s| s.as_str()),
                    details.commit.as_ref().and_then(|c| c.git_commit_id.as_deref()),
                    details.tag.as_deref(),
                    details.image_name.as_deref(),
                    details.repository.as_ref().and_then(|r| r.chart_version.as_deref()),
                ]
                .into_iter()
                .flatten()
                {
                    prop_assert!(printable(text), "{text:?}");
                }
            }
            for text in [
                execution.status.as_ref().map(|s| s.as_str()),
                execution.trigger_action.as_deref(),
                execution.action_status.as_deref(),
                execution.stages[0].name.as_deref(),
            ]
            .into_iter()
            .flatten()
            {
                prop_assert!(printable(text), "{text:?}");
            }
        }
    }

    /// What the proof says from a hostile record (a deployed version, a state), in every sink:
    /// no command, no control character, no output or variable of its own, no token.
    #[test]
    fn the_proofs_words_from_a_hostile_record_forge_nothing(
        (token, ids, texts) in ids_and_texts(2, 9),
    ) {
        use qovery_deploy::api::types::HistoryPage;
        use qovery_deploy::history;
        use qovery_deploy::kind::ServiceKind;
        use qovery_deploy::plan::{Target, VersionField};
        let r = Redactor::with(&token);
        // Ours, well-shaped, with the hostile text in every field the proof reads.
        let ids = vec![format!("{}-42", UUIDS[2]), UUIDS[0].to_string(), ids[0].clone(), ids[1].clone()];
        let raw = serde_json::json!({"results": [history_entry(&ids, &texts, 3)]});
        let mut page: HistoryPage = serde_json::from_value(raw).unwrap();
        page.check_ids();
        let targets: Vec<Target> = [VersionField::GitCommit, VersionField::ImageTag, VersionField::ChartVersion]
            .into_iter()
            .enumerate()
            .map(|(i, field)| Target {
                id: UUIDS[i % 2].to_string(),
                name: neutral::inline(&texts[i]).into_owned(),
                kind: ServiceKind::Application,
                field,
                version: Some("3f8a1c2e9b7d".into()),
            })
            .collect();
        let proof = history::prove(&page.results[0], &targets);
        let words = [proof.failures(), proof.cancelled(), proof.gaps()].concat().join("; ");
        let log = neutral::log_text(&r, &format!("error: {words}"));
        prop_assert!(command_like_lines(&log).is_empty(), "{log:?}");
        prop_assert_eq!(log.lines().count(), 1, "one line: {:?}", log);
        let annotation = format!("::error title=qovery-deploy%3A failure::{}", neutral::command_data(&r, &words));
        let commands = github_commands(&annotation);
        prop_assert_eq!(commands.len(), 1);
        prop_assert!(commands[0].properties.keys().all(|k| k == "title"));
        let dotenv = format!("QOVERY_STATE={}\n", neutral::dotenv_value(&r, &words));
        let variables = gitlab_dotenv(dotenv.as_bytes()).map_err(TestCaseError::fail)?;
        prop_assert_eq!(variables.len(), 1);
        prop_assert!(gitlab_literal(&variables["QOVERY_STATE"]).is_some());
        for out in [&log, &annotation, &dotenv, &neutral::md_code(&r, &words, 300)] {
            assert_no_fragment(out, &token);
        }
    }
}
