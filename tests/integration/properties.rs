//! Property tests: every writer of the tool, fed arbitrary and hostile strings, read back by the
//! oracles in [`crate::oracle`]. No forged workflow command, no forged output, no report GitLab
//! would reject, no Markdown structure from outside, no fragment of the token.
//!
//! Tokens are drawn from the characters real ones use (letters, digits, `_`, `-`, `.`: Qovery
//! tokens and base64url JWTs); outside text from anything, biased towards what the runners and
//! renderers react to, with the token and fragments of it mixed in.

use std::collections::BTreeSet;

use proptest::prelude::*;
use qovery_deploy::ci::{self, DOTENV_LIMIT};
use qovery_deploy::inputs::Command;
use qovery_deploy::neutral::{self, Redactor};
use qovery_deploy::report::{Report, RunResult, ServiceReport};

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

/// A report whose every outside field comes from `texts` (cycled).
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
    report
}

const CONSOLE: &str = "https://console.qovery.com";

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
    fn github_outputs_are_exactly_ours_and_round_trip((token, texts) in token_and_texts(7)) {
        let r = Redactor::with(&token);
        let names = ["deployment-request-id", "execution-id", "state", "result",
                     "duration-seconds", "console-url", "services"];
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
        let keys: BTreeSet<&str> = variables.keys().map(String::as_str).collect();
        prop_assert_eq!(keys, BTreeSet::from([
            "QOVERY_CONSOLE_URL", "QOVERY_DEPLOYMENT_REQUEST_ID", "QOVERY_DURATION_SECONDS",
            "QOVERY_EXECUTION_ID", "QOVERY_RESULT", "QOVERY_SERVICES", "QOVERY_STATE",
        ]));
        prop_assert_eq!(variables["QOVERY_RESULT"].as_str(), report.result.as_str());
        prop_assert_eq!(text.lines().count(), 7);
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
        let seen = summary_check(&md);
        let expected = summary_check(&ci::summary_markdown(&benign, &r, Some(CONSOLE)));
        prop_assert!(seen.html.is_empty(), "{md}");
        prop_assert_eq!(&seen.headings, &expected.headings, "{}", md);
        prop_assert_eq!(seen.headings.len(), 1);
        prop_assert_eq!(&seen.strong, &expected.strong, "{}", md);
        prop_assert_eq!(&seen.links, &vec![format!("{CONSOLE}/organization/x")], "{}", md);
        prop_assert_eq!(&seen.plain, &expected.plain, "{}", md);
        prop_assert_eq!(seen.rows.len(), services);
        prop_assert!(seen.rows.iter().all(|row| row.len() == 5), "{md}");
        assert_no_fragment(&md, &token);
    }

    #[test]
    fn a_link_appears_only_under_the_console_base((token, texts) in token_and_texts(12)) {
        let r = Redactor::with(&token);
        let report = report(&texts, 1, RunResult::Failure, &texts[11]);
        let seen = summary_check(&ci::summary_markdown(&report, &r, Some(CONSOLE)));
        for link in &seen.links {
            prop_assert!(link.starts_with(&format!("{CONSOLE}/")) || link == CONSOLE, "{link}");
        }
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
