//! Talking to the CI platform: log lines, GitHub workflow commands (`::add-mask::`, `::group::`,
//! `::error::`), GitLab collapsible sections, and the step's files (`$GITHUB_OUTPUT`,
//! `$GITHUB_STEP_SUMMARY`, GitLab's dotenv report). Everything printed goes through the redactor.

use std::fmt::Write as _;
use std::fs::OpenOptions;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::{Instant, SystemTime};

use anyhow::Context;

use crate::inputs::Invocation;
use crate::report::{PreviewReport, Report, RunResult};

/// GitLab refuses dotenv reports larger than this.
pub const DOTENV_LIMIT: usize = 5 * 1024;
/// Longest `QOVERY_URLS` written to the dotenv report (bytes); longer, it is left empty.
const DOTENV_URLS_LIMIT: usize = 1024;
pub const DOTENV_FILE: &str = "qovery-deploy.env";

#[derive(Debug)]
pub struct Ci {
    github: bool,
    gitlab: bool,
    color: bool,
    start: Instant,
    secrets: Vec<String>,
    github_output: Option<PathBuf>,
    step_summary: Option<PathBuf>,
    dotenv: Option<PathBuf>,
    open_section: Option<String>,
    sections: u32,
    handover: crate::handover::Handover,
}

impl Ci {
    pub fn detect(invocation: &Invocation, start: Instant) -> Ci {
        let github = invocation.var("GITHUB_ACTIONS") == Some("true");
        let gitlab = invocation.var("GITLAB_CI").is_some();
        Ci {
            github,
            gitlab,
            color: std::io::stdout().is_terminal()
                && invocation.var("NO_COLOR").is_none()
                && !github,
            start,
            secrets: Vec::new(),
            github_output: invocation.var("GITHUB_OUTPUT").map(PathBuf::from),
            step_summary: invocation.var("GITHUB_STEP_SUMMARY").map(PathBuf::from),
            dotenv: gitlab.then(|| PathBuf::from(DOTENV_FILE)),
            open_section: None,
            sections: 0,
            handover: crate::handover::Handover::detect(invocation),
        }
    }

    /// Records the requests accepted so far for the step that runs after a killed one
    /// ([`crate::handover`]); a file that cannot be written is a warning (only that safety net
    /// is lost).
    pub fn hand_over(&self, environment_id: &str, request_ids: &[String]) {
        for failure in self.handover.accepted(environment_id, request_ids) {
            self.warning(&format!(
                "{failure}: a cancel after a killed step will not be possible"
            ));
        }
    }

    /// Marks the run as ended for the step that runs after it: nothing left to cancel.
    pub fn hand_over_ended(&self) {
        for failure in self.handover.ended() {
            self.warning(&failure);
        }
    }

    /// Registers a secret: GitHub masks it from here on, and this process never prints it.
    /// On GitHub this must be the first line of output.
    pub fn mask(&mut self, secret: &str) {
        if secret.is_empty() {
            return;
        }
        if self.github {
            println!("::add-mask::{}", escape_data(secret));
        }
        self.secrets.push(secret.to_string());
    }

    fn redact(&self, text: &str) -> String {
        self.secrets
            .iter()
            .fold(text.to_string(), |t, s| t.replace(s.as_str(), "***"))
    }

    fn paint(&self, text: &str, ansi: &str) -> String {
        if self.color {
            format!("\x1b[{ansi}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    pub fn elapsed(&self) -> u64 {
        self.start.elapsed().as_secs()
    }

    /// A plain log line.
    pub fn line(&self, text: &str) {
        println!("{}", self.redact(text));
    }

    /// A timestamped progress line: `[  42s] api: BUILDING -> DEPLOYING`.
    pub fn progress(&self, text: &str) {
        let stamp = self.paint(&format!("[{:>4}s]", self.elapsed()), "2");
        println!("{stamp} {}", self.redact(text));
    }

    pub fn warning(&self, text: &str) {
        let text = self.redact(text);
        if self.github {
            println!("::warning::{}", escape_data(&text));
        } else {
            eprintln!("{} {text}", self.paint("warning:", "33"));
        }
    }

    /// The failure reason: on stderr, and as an annotation on GitHub.
    pub fn error(&self, title: &str, text: &str) {
        let text = self.redact(text);
        eprintln!("{} {text}", self.paint("error:", "31;1"));
        if self.github {
            println!(
                "::error title={}::{}",
                escape_property(title),
                escape_data(&text)
            );
        }
    }

    /// Opens a collapsible section (GitHub group, GitLab section, a header elsewhere).
    pub fn begin_section(&mut self, title: &str) {
        self.end_section();
        let title = self.redact(title);
        if self.github {
            println!("::group::{}", escape_data(&title));
        } else if self.gitlab {
            self.sections += 1;
            let name = format!("qovery_deploy_{}", self.sections);
            println!("\x1b[0Ksection_start:{}:{name}\r\x1b[0K{title}", unix_now());
            self.open_section = Some(name);
            return;
        } else {
            println!("{}", self.paint(&format!("== {title}"), "1"));
        }
        self.open_section = Some(String::new());
    }

    pub fn end_section(&mut self) {
        let Some(name) = self.open_section.take() else {
            return;
        };
        if self.github {
            println!("::endgroup::");
        } else if self.gitlab {
            println!("\x1b[0Ksection_end:{}:{name}\r\x1b[0K", unix_now());
        }
    }

    /// Checks, before anything is sent, that the step's files can be written: a run that deploys and
    /// then cannot report is worse than one that stops early.
    pub fn check_files(&self) -> anyhow::Result<()> {
        for path in [&self.github_output, &self.step_summary, &self.dotenv]
            .into_iter()
            .flatten()
        {
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("cannot open {} for writing", path.display()))?;
        }
        Ok(())
    }

    /// Writes the outputs, the summary and the dotenv report, whichever apply.
    ///
    /// Each file is tried on its own: one that cannot be written (a full disk) does not keep the
    /// others from being written. Returns what failed, one error per file, each naming it.
    pub fn publish(&self, report: &Report) -> Vec<anyhow::Error> {
        let outputs = report.outputs();
        let mut failed = Vec::new();
        if let Some(path) = &self.github_output {
            if let Err(error) = append(path, &github_outputs(&outputs)) {
                failed.push(error.context("cannot write the step outputs ($GITHUB_OUTPUT)"));
            }
        }
        if let Some(path) = &self.step_summary {
            if let Err(error) = append(path, &self.redact(&summary_markdown(report))) {
                failed.push(error.context("cannot write the step summary ($GITHUB_STEP_SUMMARY)"));
            }
        }
        if let Some(path) = &self.dotenv {
            if let Err(error) = std::fs::write(path, dotenv(&outputs, report)) {
                failed.push(
                    anyhow::Error::new(error)
                        .context(format!("cannot write the dotenv report {}", path.display())),
                );
            }
        }
        failed
    }

    /// The block every run ends with, whatever the end, always in this order: the table of the
    /// services (when the run got as far as listing them), `result: …` (the `result` output, the
    /// final state, the duration), `console: …` (when there is a link), and last the `error` (with
    /// its hint and, on GitHub, its annotation) when the run did not succeed: the last lines of a
    /// log say what happened and what to do.
    pub fn print_final_block(&self, report: &Report, error: Option<(&str, &str)>) {
        if !report.services.is_empty() {
            let rows: Vec<[String; 5]> = report
                .services
                .iter()
                .map(|s| {
                    [
                        s.name.clone(),
                        s.kind.to_lowercase(),
                        s.version
                            .as_deref()
                            .map(short_version)
                            .or(s.stage.clone())
                            .unwrap_or_else(|| "-".into()),
                        service_state(s),
                        s.duration_seconds
                            .map(|d| format!("{d}s"))
                            .unwrap_or_else(|| "-".into()),
                    ]
                })
                .collect();
            let header = [
                "service",
                "type",
                if report.services.iter().any(|s| s.stage.is_some()) {
                    "stage"
                } else {
                    "version"
                },
                "state",
                "duration",
            ];
            let width = |i: usize| {
                rows.iter()
                    .map(|r| r[i].len())
                    .chain([header[i].len()])
                    .max()
                    .unwrap_or(0)
            };
            let widths = [width(0), width(1), width(2), width(3)];
            let line = |cells: [&str; 5], state: String| {
                format!(
                    "  {:<w0$}  {:<w1$}  {:<w2$}  {}  {}",
                    cells[0],
                    cells[1],
                    cells[2],
                    state,
                    cells[4],
                    w0 = widths[0],
                    w1 = widths[1],
                    w2 = widths[2]
                )
            };
            self.line(&line(header, format!("{:<w$}", header[3], w = widths[3])));
            for row in &rows {
                let padded = format!("{:<w$}", row[3], w = widths[3]);
                let state = if row[3].ends_with("_ERROR") || row[3] == "CANCELED" {
                    self.paint(&padded, "31")
                } else if report.result == RunResult::Success {
                    self.paint(&padded, "32")
                } else {
                    padded
                };
                self.line(&line([&row[0], &row[1], &row[2], &row[3], &row[4]], state));
            }
        }
        let result = if report.exit_code() == crate::error::code::SUCCESS {
            self.paint(report.result.as_str(), "32;1")
        } else {
            self.paint(report.result.as_str(), "31;1")
        };
        let state = report
            .state
            .as_deref()
            .map(|s| format!(" (state {s})"))
            .unwrap_or_default();
        self.line(&format!(
            "result: {result}{state} after {}s",
            report.duration.as_secs()
        ));
        if let Some(preview) = &report.preview {
            for line in preview_lines(preview) {
                self.line(&line);
            }
        }
        if let Some(url) = &report.console_url {
            self.line(&format!("console: {url}"));
        }
        if let Some((title, text)) = error {
            self.error(title, text);
        }
    }
}

/// The preview environment in the closing lines: its name, id, whether this run made it, and
/// where its services answer.
fn preview_lines(preview: &PreviewReport) -> Vec<String> {
    let id = preview
        .environment_id
        .as_deref()
        .map(|id| format!(" ({id})"))
        .unwrap_or_default();
    let how = match preview.created {
        Some(true) => ", created by this run",
        Some(false) => ", reused",
        None => "",
    };
    let mut lines = vec![format!(
        "preview environment: {}{id}{how}",
        preview.environment_name
    )];
    lines.extend(
        preview
            .urls
            .iter()
            .map(|(name, url)| format!("  {name}: {url}")),
    );
    lines
}

/// A full 40-character commit SHA is shortened to 12 for the log table; other versions stay whole.
fn short_version(version: &str) -> String {
    if version.len() == 40 && version.bytes().all(|b| b.is_ascii_hexdigit()) {
        version[..12].to_string()
    } else {
        version.to_string()
    }
}

/// A service's state for tables: its Qovery state, else its skip state (`skip`/`unskip`).
fn service_state(s: &crate::report::ServiceReport) -> String {
    s.state
        .clone()
        .or_else(|| {
            s.skipped.map(|k| {
                if k {
                    "skipped".into()
                } else {
                    "not skipped".into()
                }
            })
        })
        .unwrap_or_else(|| "-".into())
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

fn append(path: &PathBuf, text: &str) -> anyhow::Result<()> {
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("cannot write to {}", path.display()))
}

/// Workflow-command data escaping (`%`, `\r`, `\n`).
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Workflow-command property escaping: data escaping plus `:` and `,`.
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// `$GITHUB_OUTPUT` lines. Multi-line values (and `services`, always) use the heredoc form. The
/// delimiter need not be random (the OS may offer no randomness: an empty root has no
/// `/dev/urandom`); it must only be absent from the value, which is what makes injection impossible.
fn github_outputs(outputs: &[(&'static str, String)]) -> String {
    let mut text = String::new();
    for (name, value) in outputs {
        if *name != "services" && !value.contains(['\n', '\r']) {
            let _ = writeln!(text, "{name}={value}");
            continue;
        }
        let delimiter = (0u32..)
            .map(|n| format!("ghadelimiter_{}_{n}", std::process::id()))
            .find(|d| !value.contains(d.as_str()))
            .expect("some delimiter is absent from a finite value");
        let _ = write!(text, "{name}<<{delimiter}\n{value}\n{delimiter}\n");
    }
    text
}

/// GitLab's dotenv report: `QOVERY_NAME=value`, one line each, no quotes, under 5 KiB. The
/// `services` JSON can outgrow that, so it becomes `name:STATE` pairs, cut with a `+N more` tail.
fn dotenv(outputs: &[(&'static str, String)], report: &Report) -> String {
    let mut text = String::new();
    for (name, value) in outputs.iter().filter(|(n, _)| *n != "services") {
        let key = format!("QOVERY_{}", name.to_ascii_uppercase().replace('-', "_"));
        // Many links would crowd out the rest: QOVERY_URL keeps the first one.
        let value = if *name == "urls" && value.len() > DOTENV_URLS_LIMIT {
            ""
        } else {
            value
        };
        let _ = writeln!(text, "{key}={}", value.replace(['\n', '\r'], " "));
    }
    let budget =
        DOTENV_LIMIT.saturating_sub(text.len() + "QOVERY_SERVICES=\n".len() + " +9999 more".len());
    let mut services = String::new();
    for (i, s) in report.services.iter().enumerate() {
        let state = service_state(s).to_uppercase().replace(' ', "_");
        let item = format!("{}{}:{}", if i > 0 { "," } else { "" }, s.name, state);
        if services.len() + item.len() > budget {
            let _ = write!(services, " +{} more", report.services.len() - i);
            break;
        }
        services.push_str(&item);
    }
    let _ = writeln!(text, "QOVERY_SERVICES={services}");
    text
}

/// The Markdown summary for `$GITHUB_STEP_SUMMARY`.
pub fn summary_markdown(report: &Report) -> String {
    let icon = match report.result {
        RunResult::Success => "✅",
        RunResult::Queued => "⏳",
        RunResult::Timeout => "⏱️",
        RunResult::Cancelled => "🛑",
        RunResult::Failure => "❌",
    };
    let mut md = format!(
        "### {icon} Qovery {}: {}\n\n",
        report.command.name(),
        report.result.as_str()
    );
    if let Some(reason) = &report.reason {
        let _ = writeln!(md, "{}\n", md_cell(reason));
    }
    if !report.services.is_empty() {
        md.push_str("| Service | Type | Version | State | Duration |\n|---|---|---|---|---|\n");
        for s in &report.services {
            let state = service_state(s);
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} |",
                md_cell(&s.name),
                s.kind.to_lowercase(),
                s.version
                    .as_deref()
                    .or(s.stage.as_deref())
                    .map(|v| format!("`{}`", md_cell(v)))
                    .unwrap_or_else(|| "-".into()),
                md_cell(&state),
                s.duration_seconds
                    .map(|d| format!("{d}s"))
                    .unwrap_or_else(|| "-".into())
            );
        }
        md.push('\n');
    }
    let state = report
        .state
        .as_deref()
        .map(|s| format!(", final state `{s}`"))
        .unwrap_or_default();
    let _ = writeln!(
        md,
        "**Result:** `{}`{state}, {}s",
        report.result.as_str(),
        report.duration.as_secs()
    );
    if let Some(note) = &report.cancel_note {
        let _ = writeln!(md, "\n**Cancel:** {}", md_cell(note));
    }
    if !report.deployment_request_ids.is_empty() {
        let _ = writeln!(
            md,
            "\nDeployment request: `{}`",
            report.deployment_request_ids.join("`, `")
        );
    }
    if let Some(preview) = &report.preview {
        let how = match preview.created {
            Some(true) => " (created by this run)",
            Some(false) => " (reused)",
            None => "",
        };
        let _ = write!(
            md,
            "\n**Preview environment:** `{}`{how}",
            md_cell(&preview.environment_name).replace('`', "'")
        );
        for (name, url) in &preview.urls {
            // URLs were checked (`Link::web_url`): nothing in them can close the link.
            let _ = write!(md, " · [{}]({url})", md_cell(name).replace(['[', ']'], ""));
        }
        md.push('\n');
    }
    if let Some(url) = &report.console_url {
        let _ = writeln!(md, "\n[Open in the Qovery console]({url})");
    }
    md.push('\n');
    md
}

fn md_cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::Command;
    use crate::report::ServiceReport;

    fn report(n: usize) -> Report {
        let mut r = Report::new(Command::Deploy);
        r.result = RunResult::Success;
        r.state = Some("DEPLOYED".into());
        r.services = (0..n)
            .map(|i| ServiceReport {
                id: format!("a1000000-0000-4000-8000-{i:012}"),
                name: format!("service-number-{i}-with-a-rather-long-descriptive-name"),
                kind: "APPLICATION".into(),
                state: Some("DEPLOYED".into()),
                version: Some("3f8a1c2e9b7d4f6a0c5e8b1d2f4a6c8e0b2d4f6a".into()),
                ..Default::default()
            })
            .collect();
        r
    }

    #[test]
    fn github_outputs_use_heredoc_for_services() {
        let text = github_outputs(&report(2).outputs());
        assert!(text.contains("result=success\n"));
        let start = text.find("services<<").unwrap();
        let delimiter = text[start + 10..].lines().next().unwrap();
        assert!(delimiter.starts_with("ghadelimiter_"));
        assert!(text.ends_with(&format!("{delimiter}\n")));
    }

    #[test]
    fn a_value_never_contains_its_delimiter() {
        let taken = format!("ghadelimiter_{}_0", std::process::id());
        let text = github_outputs(&[("services", format!("[\"{taken}\"]"))]);
        assert!(
            text.starts_with(&format!(
                "services<<ghadelimiter_{}_1\n",
                std::process::id()
            )),
            "{text}"
        );
    }

    #[test]
    fn dotenv_stays_single_line_and_under_the_limit() {
        let text = dotenv(&report(100).outputs(), &report(100));
        assert!(text.len() <= DOTENV_LIMIT, "{}", text.len());
        assert!(
            text.lines()
                .all(|l| l.starts_with("QOVERY_") && l.contains('='))
        );
        assert!(text.contains("QOVERY_RESULT=success\n"));
        assert!(text.contains(" more\n"));
        let small = dotenv(&report(2).outputs(), &report(2));
        assert!(small.contains("QOVERY_SERVICES=service-number-0-with-a-rather-long-descriptive-name:DEPLOYED,service-number-1-with"));
    }

    #[test]
    fn workflow_command_escaping() {
        assert_eq!(escape_data("a%b\nc"), "a%25b%0Ac");
        assert_eq!(escape_property("a: b, c"), "a%3A b%2C c");
    }

    #[test]
    fn summary_has_a_row_per_service() {
        let md = summary_markdown(&report(3));
        assert_eq!(
            md.lines()
                .filter(|l| l.starts_with("| service-number-"))
                .count(),
            3
        );
    }
}
