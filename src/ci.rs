//! Talking to the CI platform: log lines, GitHub workflow commands (`::add-mask::`, `::group::`,
//! `::error::`), GitLab collapsible sections, and the step's files (`$GITHUB_OUTPUT`,
//! `$GITHUB_STEP_SUMMARY`, GitLab's dotenv report).
//!
//! Every one of these sinks takes outside text through [`crate::neutral`]: redacted first, then
//! escaped for that sink, then cut. Nothing the API or a user wrote can start a workflow command,
//! write a step output or dotenv variable, or add Markdown structure to the summary.

use std::fmt::Write as _;
use std::fs::OpenOptions;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::{Instant, SystemTime};

use anyhow::Context;

use crate::inputs::Invocation;
use crate::neutral::{
    self, Redactor, command_data, command_property, defuse_line, dotenv_value, escape_data,
    log_fragment, log_text, md_block, md_code, md_link, output_value,
};
use crate::report::{PreviewReport, Report, RunResult, ServiceFailure};

/// The most `::error title=<service> failed::` annotations one run writes (GitHub shows at most
/// 10 error annotations per step).
const MAX_SERVICE_ANNOTATIONS: usize = 5;
/// Characters of a service's name in the title of its annotation.
const SERVICE_TITLE_CHARS: usize = 100;

/// GitLab accepts a dotenv report only when it is strictly smaller than this many bytes
/// (`artifact.file.size < 5.kilobytes` in its `ParseDotenvArtifactService`): at most 5119.
pub const DOTENV_LIMIT: usize = 5 * 1024;
/// Longest `QOVERY_URLS` written to the dotenv report (bytes); longer, it is left empty.
const DOTENV_URLS_LIMIT: usize = 1024;
pub const DOTENV_FILE: &str = "qovery-deploy.env";
/// The step summary stops adding service rows past this many bytes (GitHub refuses summaries over
/// 1 MiB, older runners over 128 KiB).
pub const SUMMARY_BUDGET: usize = 60 * 1024;
/// Characters of one outside value in a summary cell or a log table cell.
const CELL_MAX_CHARS: usize = 200;
/// Characters of the reason or the cancel note in the summary.
const NOTE_MAX_CHARS: usize = 4000;

#[derive(Debug)]
pub struct Ci {
    github: bool,
    gitlab: bool,
    color: bool,
    start: Instant,
    redactor: Redactor,
    /// The console's base URL: the summary links only to URLs under it.
    link_base: Option<String>,
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
            redactor: Redactor::new(),
            link_base: None,
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

    /// Registers a secret: GitHub masks it from here on (`::add-mask::`, for any non-empty value),
    /// and this process never prints it nor any fragment of 8 characters or more of it (for secrets
    /// of at least [`neutral::REDACT_MIN_CHARS`] characters; shorter ones would garble every
    /// message, and are refused as tokens). On GitHub this must be the first line of output.
    pub fn mask(&mut self, secret: &str) {
        if secret.is_empty() {
            return;
        }
        if self.github {
            println!("::add-mask::{}", escape_data(secret));
        }
        self.redactor.add(secret);
        neutral::redact_in_panics(secret);
    }

    /// The redactor every sink applies: for callers that write outside text elsewhere.
    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// Lets the summary link to URLs under `base` (the `console-url` input), and only there.
    pub fn trust_links_under(&mut self, base: &str) {
        self.link_base = Some(base.trim_end_matches('/').to_string());
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

    /// A plain log line (or several, split on `\n`): redacted, control characters escaped, never a
    /// workflow command ([`neutral::log_text`]). Escape outside fragments with
    /// [`neutral::inline`] before composing them into `text`, so their line breaks cannot fake lines.
    pub fn line(&self, text: &str) {
        println!("{}", log_text(&self.redactor, text));
    }

    /// A timestamped progress line: `[  42s] api: BUILDING -> DEPLOYING`.
    pub fn progress(&self, text: &str) {
        let stamp = self.paint(&format!("[{:>4}s]", self.elapsed()), "2");
        println!("{stamp} {}", log_text(&self.redactor, text));
    }

    pub fn warning(&self, text: &str) {
        if self.github {
            println!("::warning::{}", command_data(&self.redactor, text));
        } else {
            eprintln!(
                "{} {}",
                self.paint("warning:", "33"),
                log_text(&self.redactor, text)
            );
        }
    }

    /// The failure reason: on stderr, and as an annotation on GitHub.
    pub fn error(&self, title: &str, text: &str) {
        eprintln!(
            "{} {}",
            self.paint("error:", "31;1"),
            log_text(&self.redactor, text)
        );
        if self.github {
            println!("{}", annotation(&self.redactor, title, text));
        }
    }

    /// One service's failure, under the run's error: an annotation titled `title` on GitHub (the
    /// runner shows it in the log too), indented lines on stderr elsewhere (`  <title>: <text>`,
    /// its other lines indented once more). `title` and `text` go through
    /// [`neutral::command_property`] and [`neutral::command_data`] (on GitHub the API's text is only
    /// ever the data of that one workflow command), or [`neutral::log_text`]; escape outside
    /// fragments with [`neutral::inline`] before composing them.
    pub fn service_error(&self, title: &str, text: &str) {
        if self.github {
            println!("{}", annotation(&self.redactor, title, text));
        } else {
            for line in log_text(&self.redactor, &format!("{title}: {text}")).lines() {
                eprintln!("  {line}");
            }
        }
    }

    /// Opens a collapsible section (GitHub group, GitLab section, a header elsewhere).
    pub fn begin_section(&mut self, title: &str) {
        self.open(title, false);
    }

    /// Opens a section; on GitLab, `collapsed` folds it (GitHub groups are always folded).
    fn open(&mut self, title: &str, collapsed: bool) {
        self.end_section();
        if self.github {
            println!("::group::{}", command_data(&self.redactor, title));
        } else if self.gitlab {
            self.sections += 1;
            let name = format!("qovery_deploy_{}", self.sections);
            let options = if collapsed { "[collapsed=true]" } else { "" };
            let title = defuse_line(&log_fragment(&self.redactor, title)).into_owned();
            println!(
                "\x1b[0Ksection_start:{}:{name}{options}\r\x1b[0K{title}",
                unix_now()
            );
            self.open_section = Some(name);
            return;
        } else {
            let title = log_text(&self.redactor, title);
            println!("{}", self.paint(&format!("== {title}"), "1"));
        }
        self.open_section = Some(String::new());
    }

    /// Prints lines of an outside log (a deployment log, made into lines by
    /// [`neutral::log_excerpt`]) in a folded section titled `title`, each behind a `│` gutter and
    /// through [`neutral::log_text`]: redacted, escaped, and never a workflow command, so no line can
    /// close the group early (`::endgroup::`), mask, set an output or stop the commands.
    pub fn log_block(&mut self, title: &str, lines: &[String]) {
        self.open(title, true);
        if !lines.is_empty() {
            println!("{}", log_block_lines(&self.redactor, lines));
        }
        self.end_section();
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
            if let Err(error) = append(path, &github_outputs(&outputs, &self.redactor)) {
                failed.push(error.context("cannot write the step outputs ($GITHUB_OUTPUT)"));
            }
        }
        if let Some(path) = &self.step_summary {
            let summary = summary_markdown(report, &self.redactor, self.link_base.as_deref());
            if let Err(error) = append(path, &summary) {
                failed.push(error.context("cannot write the step summary ($GITHUB_STEP_SUMMARY)"));
            }
        }
        if let Some(path) = &self.dotenv {
            if let Err(error) = std::fs::write(path, dotenv(&outputs, report, &self.redactor)) {
                failed.push(
                    anyhow::Error::new(error)
                        .context(format!("cannot write the dotenv report {}", path.display())),
                );
            }
        }
        failed
    }

    /// One outside value of the log table: redacted, escaped, cut.
    fn cell(&self, text: &str) -> String {
        neutral::cut(&log_fragment(&self.redactor, text), CELL_MAX_CHARS).into_owned()
    }

    /// Prints a line composed by this module from [`Ci::cell`]s and its own colours.
    fn emit(&self, line: &str) {
        println!("{}", defuse_line(line));
    }

    /// The block every run ends with, whatever the end, always in this order: the table of the
    /// services (when the run got as far as listing them), `result: …` (the `result` output, the
    /// final state, the duration), `console: …` (when there is a link), `url:` and `links:` (where
    /// the services answer), and last the `error` (with its hint and, on GitHub, its annotation)
    /// when the run did not succeed, then each failing service's first error, hint and logs link
    /// ([`Report::failures`]): the last lines of a log say what happened and what to do.
    pub fn print_final_block(&self, report: &Report, error: Option<(&str, &str)>) {
        if !report.services.is_empty() {
            let timed = has_durations(report);
            let rows: Vec<[String; 5]> = report
                .services
                .iter()
                .map(|s| {
                    [
                        self.cell(&s.name),
                        self.cell(&s.kind.to_lowercase()),
                        self.cell(
                            &s.version
                                .as_deref()
                                .map(short_version)
                                .or(s.stage.clone())
                                .unwrap_or_else(|| "-".into()),
                        ),
                        self.cell(&service_state(s)),
                        if timed {
                            duration_cell(s)
                        } else {
                            String::new()
                        },
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
                if timed { "duration" } else { "" },
            ];
            let width = |i: usize| {
                rows.iter()
                    .map(|r| r[i].chars().count())
                    .chain([header[i].len()])
                    .max()
                    .unwrap_or(0)
            };
            let widths = [width(0), width(1), width(2), width(3)];
            let line = |cells: [&str; 5], state: String| {
                let text = format!(
                    "  {:<w0$}  {:<w1$}  {:<w2$}  {}  {}",
                    cells[0],
                    cells[1],
                    cells[2],
                    state,
                    cells[4],
                    w0 = widths[0],
                    w1 = widths[1],
                    w2 = widths[2]
                );
                text.trim_end().to_string()
            };
            self.emit(&line(header, format!("{:<w$}", header[3], w = widths[3])));
            for row in &rows {
                let padded = format!("{:<w$}", row[3], w = widths[3]);
                let state = if row[3].ends_with("_ERROR") || row[3] == "CANCELED" {
                    self.paint(&padded, "31")
                } else if report.result == RunResult::Success {
                    self.paint(&padded, "32")
                } else {
                    padded
                };
                self.emit(&line([&row[0], &row[1], &row[2], &row[3], &row[4]], state));
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
            .map(|s| format!(" (state {})", self.cell(s)))
            .unwrap_or_default();
        self.emit(&format!(
            "result: {result}{state} after {}s",
            report.duration.as_secs()
        ));
        if let Some(preview) = &report.preview {
            for line in preview_lines(preview, &report.urls) {
                self.line(&line);
            }
        }
        if let Some(url) = &report.console_url {
            self.emit(&format!("console: {}", log_fragment(&self.redactor, url)));
        }
        if let Some((title, text)) = error {
            self.error(title, text);
        }
        // Each failing service's first error, hint and logs link, under the run's error: an
        // annotation of its own on GitHub (at most 10 per step show), indented lines elsewhere.
        for failure in report.failures.iter().take(MAX_SERVICE_ANNOTATIONS) {
            // The name cut (after redaction) so that the verdict is always in the title.
            let name = neutral::excerpt(&self.redactor, &failure.service, SERVICE_TITLE_CHARS);
            self.service_error(
                &format!("{name} {}", failure.verdict),
                &failure_annotation(failure),
            );
        }
    }
}

/// The `::error title=TITLE::TEXT` annotation: the title through [`neutral::command_property`],
/// the text through [`neutral::command_data`] (redacted, escaped, cut): one line, one command.
pub fn annotation(redactor: &Redactor, title: &str, text: &str) -> String {
    format!(
        "::error title={}::{}",
        command_property(redactor, title),
        command_data(redactor, text)
    )
}

/// The body of [`Ci::log_block`]: each line behind a `│` gutter, through [`neutral::log_text`]
/// (redacted, escaped, defused), joined with `\n`. No line of it starts a workflow command.
pub fn log_block_lines(redactor: &Redactor, lines: &[String]) -> String {
    let lines: Vec<String> = lines
        .iter()
        .map(|line| log_text(redactor, &format!("  │ {line}")))
        .collect();
    lines.join("\n")
}

/// The preview environment in the closing lines: its name, id, whether this run made it, and
/// where its services answer.
fn preview_lines(preview: &PreviewReport, urls: &[(String, String)]) -> Vec<String> {
    // Outside text (the API's names and addresses) kept to one line each.
    let inline = |text: &str| neutral::inline(text).into_owned();
    let id = preview
        .environment_id
        .as_deref()
        .map(|id| format!(" ({})", inline(id)))
        .unwrap_or_default();
    let how = match preview.created {
        Some(true) => ", created by this run",
        Some(false) => ", reused",
        None => "",
    };
    let mut lines = vec![format!(
        "preview environment: {}{id}{how}",
        inline(&preview.environment_name)
    )];
    lines.extend(
        urls.iter()
            .map(|(name, url)| format!("  {}: {}", inline(name), inline(url))),
    );
    lines
}

/// A full 40-character commit SHA is shortened to 12 for the log table; other versions stay whole.
/// Whether the command's services have a duration column: the deploy commands do; `skip`,
/// `unskip` (and `cancel`, which lists none) deploy nothing, so the column would always say `-`.
fn has_durations(report: &Report) -> bool {
    !matches!(
        report.command,
        crate::inputs::Command::Skip | crate::inputs::Command::Unskip
    )
}

/// A service's duration cell: `42s`, or `-` when it is not known.
fn duration_cell(s: &crate::report::ServiceReport) -> String {
    s.duration_seconds
        .map(|d| format!("{d}s"))
        .unwrap_or_else(|| "-".into())
}

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

/// `$GITHUB_OUTPUT` text for `outputs`, as the runner reads it (`FileCommandManager`): `name=value`
/// for a value on one line, else (and for `services`, always) the heredoc form `name<<DELIMITER`,
/// the value, `DELIMITER`. Values are redacted ([`neutral::output_value`]). The delimiter need not
/// be random (the OS may offer no randomness: an empty root has no `/dev/urandom`); it is chosen
/// absent from the value, so no line of the value can end the heredoc early and no text in it can
/// set another output.
pub fn github_outputs(outputs: &[(&'static str, String)], redactor: &Redactor) -> String {
    let mut text = String::new();
    for (name, value) in outputs {
        let value = output_value(redactor, value);
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

/// Which dotenv variables keep their full value first when the report must be cut to fit
/// (`QOVERY_SERVICES` comes last of all).
const DOTENV_PRIORITY: [&str; 11] = [
    "QOVERY_RESULT",
    "QOVERY_DURATION_SECONDS",
    "QOVERY_STATE",
    "QOVERY_CONSOLE_URL",
    "QOVERY_ENVIRONMENT_ID",
    "QOVERY_ENVIRONMENT_NAME",
    "QOVERY_CREATED",
    "QOVERY_URL",
    "QOVERY_DEPLOYMENT_REQUEST_ID",
    "QOVERY_EXECUTION_ID",
    "QOVERY_URLS",
];
/// Values that are dropped rather than cut: a cut URL or JSON object would be wrong, not short.
const DOTENV_WHOLE: [&str; 4] = [
    "QOVERY_CONSOLE_URL",
    "QOVERY_ENVIRONMENT_ID",
    "QOVERY_URL",
    "QOVERY_URLS",
];

/// GitLab's dotenv report: `QOVERY_NAME=value`, one line each, every output always present, the
/// whole strictly under [`DOTENV_LIMIT`] bytes. GitLab's rules (`ParseDotenvArtifactService`): each
/// line is `KEY=VALUE` (a line without `=`, even an empty one, rejects the whole report), keys are
/// `[A-Za-z0-9_]`, values are stripped and later expanded (`$NAME`, `%NAME%`), the last value of a
/// key wins. So each value goes through [`neutral::dotenv_value`] (one line, `$` and `%` encoded). `services` becomes
/// `name:STATE` pairs with `%`, `,` and `:` percent-encoded in each part, so that no name can add a
/// pair. When the report would be too big, values are cut, the least important first: lists keep
/// whole items and end in `+N more`, the console URL is dropped rather than cut, `result` is never
/// cut.
pub fn dotenv(outputs: &[(&'static str, String)], report: &Report, redactor: &Redactor) -> String {
    let mut entries: Vec<(String, String)> = outputs
        .iter()
        .map(|(name, value)| {
            let key = format!("QOVERY_{}", name.to_ascii_uppercase().replace('-', "_"));
            let value = match *name {
                "services" => compact_services(report, redactor),
                // Many links would crowd out the rest: QOVERY_URL keeps the first one.
                "urls" if value.len() > DOTENV_URLS_LIMIT => String::new(),
                _ => dotenv_value(redactor, value),
            };
            (key, value)
        })
        .collect();
    let overhead: usize = entries.iter().map(|(key, _)| key.len() + "=\n".len()).sum();
    let mut budget = (DOTENV_LIMIT - 1).saturating_sub(overhead);
    let rank = |key: &str| {
        DOTENV_PRIORITY
            .iter()
            .position(|k| *k == key)
            .unwrap_or(if key == "QOVERY_SERVICES" {
                usize::MAX
            } else {
                DOTENV_PRIORITY.len()
            })
    };
    let mut order: Vec<usize> = (0..entries.len()).collect();
    order.sort_by_key(|&i| rank(&entries[i].0));
    for i in order {
        let (key, value) = &mut entries[i];
        *value = fit(value, budget, DOTENV_WHOLE.contains(&key.as_str()));
        budget -= value.len();
    }
    entries
        .iter()
        .map(|(key, value)| format!("{key}={value}\n"))
        .collect()
}

/// `name:STATE,…` for the dotenv report, each part made a dotenv value and percent-encoded.
fn compact_services(report: &Report, redactor: &Redactor) -> String {
    // `dotenv_value` has already written `%` as `%25`.
    // Redacted once more after the encoding, as in `dotenv_value`: an escape's hex digits next to
    // the text can complete a run of the token (`%3A` before `M_4_21_` makes `AM_4_21_`).
    let part = |text: &str| {
        let encoded = dotenv_value(redactor, text)
            .replace(',', "%2C")
            .replace(':', "%3A");
        redactor.redact(&encoded).into_owned()
    };
    let items: Vec<String> = report
        .services
        .iter()
        .map(|s| {
            let state = service_state(s).to_uppercase().replace(' ', "_");
            format!("{}:{}", part(&s.name), part(&state))
        })
        .collect();
    items.join(",")
}

/// `value` in at most `max` bytes: whole, else a comma list cut at an item with `+N more`, else
/// (`whole`) nothing, else cut with `...`. A cut never splits a percent-escape.
fn fit(value: &str, max: usize, whole: bool) -> String {
    if value.len() <= max {
        return value.to_string();
    }
    if whole {
        return String::new();
    }
    let items: Vec<&str> = value.split(',').collect();
    if items.len() > 1 {
        let more = |n: usize| format!(" +{n} more");
        let mut out = String::new();
        for (i, item) in items.iter().enumerate() {
            let rest = items.len() - i - 1;
            let tail = if rest > 0 { more(rest).len() } else { 0 };
            let sep = usize::from(i > 0);
            if out.len() + sep + item.len() + tail > max {
                let tail = more(items.len() - i);
                if out.len() + tail.len() <= max {
                    out.push_str(if out.is_empty() {
                        tail.trim_start()
                    } else {
                        tail.as_str()
                    });
                }
                return out;
            }
            if i > 0 {
                out.push(',');
            }
            out.push_str(item);
        }
        return out;
    }
    if max < 4 {
        return String::new();
    }
    let mut end = max - 3;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    let mut kept = &value[..end];
    // Not in the middle of a percent-escape (`%2` of `%24`).
    if let Some(percent) = kept
        .get(kept.len().saturating_sub(2)..)
        .and_then(|t| t.rfind('%'))
    {
        kept = &kept[..kept.len().saturating_sub(2) + percent];
    }
    format!("{kept}...")
}

/// The Markdown summary for `$GITHUB_STEP_SUMMARY`. Every outside value is a code span or a fenced
/// code block ([`neutral::md_code`], [`neutral::md_block`]), so nothing in it renders as Markdown or
/// HTML. Links, on purpose: the console link only under `console_base` ([`neutral::md_link`]), and
/// each service's public address as an autolink when it is a plain https URL
/// ([`neutral::md_autolink`], `service_links`), which shows where it goes.
/// Rows stop at [`SUMMARY_BUDGET`] bytes with a count of those left out.
pub fn summary_markdown(
    report: &Report,
    redactor: &Redactor,
    console_base: Option<&str>,
) -> String {
    let icon = match report.result {
        RunResult::Success => "✅",
        RunResult::Queued => "⏳",
        RunResult::Timeout => "⏱️",
        RunResult::Cancelled => "🛑",
        RunResult::Failure => "❌",
    };
    let code = |text: &str| md_code(redactor, text, CELL_MAX_CHARS);
    let mut md = format!(
        "### {icon} Qovery {}: {}\n\n",
        report.command.name(),
        report.result.as_str()
    );
    if let Some(reason) = &report.reason {
        let _ = writeln!(md, "{}", md_block(redactor, reason, NOTE_MAX_CHARS));
    }
    failures_markdown(&mut md, &report.failures, redactor, console_base);
    if !report.services.is_empty() {
        let column = if report.services.iter().any(|s| s.stage.is_some()) {
            "Stage"
        } else {
            "Version"
        };
        let timed = has_durations(report);
        let (duration_head, duration_rule, duration_gap) = if timed {
            (" Duration |", "---|", " |")
        } else {
            ("", "", "")
        };
        let _ = writeln!(
            md,
            "| Service | Type | {column} | State |{duration_head}\n|---|---|---|---|{duration_rule}"
        );
        for (i, s) in report.services.iter().enumerate() {
            if md.len() > SUMMARY_BUDGET {
                let _ = writeln!(
                    md,
                    "| {} more service(s) not shown | | | |{duration_gap}",
                    report.services.len() - i
                );
                break;
            }
            let duration = if timed {
                format!(" {} |", duration_cell(s))
            } else {
                String::new()
            };
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} |{duration}",
                code(&s.name),
                code(&s.kind.to_lowercase()),
                code(s.version.as_deref().or(s.stage.as_deref()).unwrap_or("")),
                code(&service_state(s)),
            );
        }
        md.push('\n');
    }
    let state = report
        .state
        .as_deref()
        .map(|s| format!(", final state {}", code(s)))
        .unwrap_or_default();
    let _ = writeln!(
        md,
        "**Result:** `{}`{state}, {}s",
        report.result.as_str(),
        report.duration.as_secs()
    );
    if let Some(note) = &report.cancel_note {
        let _ = writeln!(
            md,
            "\n**Cancel:**\n\n{}",
            md_block(redactor, note, NOTE_MAX_CHARS).trim_end()
        );
    }
    if !report.deployment_request_ids.is_empty() {
        let ids: Vec<String> = report
            .deployment_request_ids
            .iter()
            .map(|id| code(id))
            .collect();
        let _ = writeln!(md, "\nDeployment request: {}", ids.join(", "));
    }
    if let Some(preview) = &report.preview {
        let how = match preview.created {
            Some(true) => " (created by this run)",
            Some(false) => " (reused)",
            None => "",
        };
        let _ = write!(
            md,
            "\n**Preview environment:** {}{how}",
            code(&preview.environment_name)
        );
        for link in service_links(report, redactor) {
            let _ = write!(md, " · {link}");
        }
        md.push('\n');
    }
    if let Some(url) = &report.console_url {
        let link = console_base
            .filter(|_| output_value(redactor, url) == url.as_str())
            .and_then(|base| md_link("Open in the Qovery console", url, base));
        match link {
            Some(link) => {
                let _ = writeln!(md, "\n{link}");
            }
            None => {
                let _ = writeln!(md, "\nConsole: {}", code(url));
            }
        }
    }
    if report.preview.is_none() && !report.urls.is_empty() {
        let links = service_links(report, redactor).join(" · ");
        let _ = writeln!(md, "\n**Links:** {links}");
    }
    md.push('\n');
    md
}

/// Where the services answer, for the summary: `` `name` <https://…> `` per service. An autolink
/// shows the address it goes to ([`neutral::md_autolink`]); anything but a plain https URL is code.
fn service_links(report: &Report, redactor: &Redactor) -> Vec<String> {
    let code = |text: &str| md_code(redactor, text, CELL_MAX_CHARS);
    report
        .urls
        .iter()
        .map(|(name, url)| {
            let target = neutral::md_autolink(redactor, url).unwrap_or_else(|| code(url));
            format!("{} {target}", code(name))
        })
        .collect()
}

/// Qovery's documentation sites: a failure's documentation link is a link only under one of them.
const DOCS_BASES: [&str; 2] = ["https://www.qovery.com/docs", "https://hub.qovery.com/docs"];
/// Characters of a failure's message (a fenced block) and hint (a code span) in the summary.
const MESSAGE_MAX_CHARS: usize = 2000;

/// `[label](url)` when `url` is under one of `bases` and redaction leaves it whole
/// ([`neutral::md_link`]), else `label: `url`` (a code span).
fn md_link_under(redactor: &Redactor, label: &str, url: &str, bases: &[&str]) -> String {
    let link = bases
        .iter()
        .filter(|_| output_value(redactor, url) == url)
        .find_map(|base| md_link(label, url, base));
    link.unwrap_or_else(|| format!("{label}: {}", md_code(redactor, url, CELL_MAX_CHARS)))
}

/// The `::error title=<service> failed::` text of one failure: its message, hint and links. The
/// message and hint are [`neutral::log_excerpt`]s already; the state is escaped here; the whole
/// goes through the sink's own function ([`Ci::service_error`]).
pub fn failure_annotation(failure: &ServiceFailure) -> String {
    let mut text = failure
        .message
        .clone()
        .unwrap_or_else(|| match &failure.state {
            Some(state) => format!(
                "{}; the deployment log gives no error message",
                neutral::inline(state)
            ),
            None => "the deployment log gives no error message".to_string(),
        });
    if let Some(hint) = &failure.hint {
        let _ = write!(text, "\n  hint: {hint}");
    }
    if let Some(url) = &failure.logs_url {
        let _ = write!(text, "\n  logs: {url}");
    }
    if let Some(url) = &failure.docs {
        let _ = write!(text, "\n  docs: {url}");
    }
    text
}

/// The summary's account of the failures, under a heading of our own: per service, its name and
/// state (code spans), a link to its deployment logs (only under `console_base`), its first error
/// (a fenced block), hint (a code span) and documentation link (only under [`DOCS_BASES`]). No
/// text from the log can make a heading, a link, HTML or a table of it.
fn failures_markdown(
    md: &mut String,
    failures: &[ServiceFailure],
    redactor: &Redactor,
    console_base: Option<&str>,
) {
    if failures.is_empty() {
        return;
    }
    md.push_str("#### Why it failed\n\n");
    let code = |text: &str| md_code(redactor, text, CELL_MAX_CHARS);
    for (i, failure) in failures.iter().enumerate() {
        if md.len() > SUMMARY_BUDGET / 2 {
            let _ = writeln!(
                md,
                "{} more failing service(s) not shown\n",
                failures.len() - i
            );
            break;
        }
        let icon = if failure.verdict == "failed" {
            "❌"
        } else {
            "⏱️"
        };
        let state = failure
            .state
            .as_deref()
            .map(|s| format!(", state {}", code(s)))
            .unwrap_or_default();
        let logs = failure
            .logs_url
            .as_deref()
            .map(|url| {
                let bases: Vec<&str> = console_base.into_iter().collect();
                format!(
                    " · {}",
                    md_link_under(redactor, "Deployment logs", url, &bases)
                )
            })
            .unwrap_or_default();
        let _ = writeln!(
            md,
            "{icon} {} {}{state}{logs}\n",
            code(&failure.service),
            failure.verdict
        );
        if let Some(message) = &failure.message {
            let _ = writeln!(md, "{}", md_block(redactor, message, MESSAGE_MAX_CHARS));
        }
        if let Some(hint) = &failure.hint {
            let hint = md_code(redactor, hint, MESSAGE_MAX_CHARS);
            let _ = writeln!(md, "**Hint:** {hint}\n");
        }
        if let Some(url) = &failure.docs {
            let docs = md_link_under(redactor, "Documentation", url, &DOCS_BASES);
            let _ = writeln!(md, "{docs}\n");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::Command;
    use crate::report::{ServiceFailure, ServiceReport};

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
        let text = github_outputs(&report(2).outputs(), &Redactor::new());
        assert!(text.contains("result=success\n"));
        let start = text.find("services<<").unwrap();
        let delimiter = text[start + 10..].lines().next().unwrap();
        assert!(delimiter.starts_with("ghadelimiter_"));
        // The heredoc closes, and the outputs after it (url, urls) are plain lines.
        assert!(
            text[start..].contains(&format!("\n{delimiter}\nurl=\nurls=\n")),
            "{text}"
        );
    }

    #[test]
    fn a_value_never_contains_its_delimiter() {
        let taken = format!("ghadelimiter_{}_0", std::process::id());
        let text = github_outputs(&[("services", format!("[\"{taken}\"]"))], &Redactor::new());
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
        let text = dotenv(&report(100).outputs(), &report(100), &Redactor::new());
        assert!(text.len() < DOTENV_LIMIT, "{}", text.len());
        assert!(
            text.lines()
                .all(|l| l.starts_with("QOVERY_") && l.contains('='))
        );
        assert!(text.contains("QOVERY_RESULT=success\n"));
        assert!(text.contains(" more\n"));
        let small = dotenv(&report(2).outputs(), &report(2), &Redactor::new());
        assert!(small.contains("QOVERY_SERVICES=service-number-0-with-a-rather-long-descriptive-name:DEPLOYED,service-number-1-with"));
    }

    #[test]
    fn a_dotenv_report_is_never_5120_bytes_or_more() {
        // Around the limit: every report that would reach 5120 bytes is cut to at most 5119,
        // with every key kept and `result` whole.
        let mut closest = 0;
        for services in [40, 60, 80, 100] {
            for extra in 0..40 {
                let mut r = report(services);
                for (i, s) in r.services.iter_mut().enumerate() {
                    s.name = format!("{}{}", s.name, "x".repeat((i + extra) % 7));
                }
                r.deployment_request_ids =
                    vec!["11111111-1111-4111-8111-111111111111".into(); extra];
                let text = dotenv(&r.outputs(), &r, &Redactor::new());
                assert!(text.len() < DOTENV_LIMIT, "{}", text.len());
                assert!(text.contains("QOVERY_RESULT=success\n"));
                assert_eq!(text.lines().count(), crate::report::OUTPUTS.len());
                closest = closest.max(text.len());
            }
        }
        assert!(
            closest > DOTENV_LIMIT - 40,
            "the cut keeps close to the limit: {closest}"
        );
    }

    #[test]
    fn failures_in_the_summary_are_code_and_link_only_where_expected() {
        let console = "https://console.qovery.com";
        let logs = format!(
            "{console}/organization/o/project/p/environment/e/service/s/deployments/logs/x-1"
        );
        let mut r = report(1);
        r.result = RunResult::Failure;
        r.failures = vec![
            ServiceFailure {
                service: "api".into(),
                verdict: "failed",
                state: Some("BUILD_ERROR".into()),
                message: Some("npm ci failed <img src=x> [x](https://evil.example)".into()),
                hint: Some("run it **locally**".into()),
                docs: Some("https://www.qovery.com/docs/".into()),
                logs_url: Some(logs.clone()),
            },
            ServiceFailure {
                service: "# web\n::endgroup::".into(),
                verdict: "did not finish",
                state: None,
                message: Some("```\n# Result: success".into()),
                hint: None,
                docs: Some("https://evil.example/docs".into()),
                logs_url: Some("https://evil.example/logs".into()),
            },
        ];
        r.urls.push(("web".into(), "https://web.example".into()));
        r.urls.push(("api".into(), "http://127.0.0.1:1/api".into()));
        let md = summary_markdown(&r, &Redactor::new(), Some(console));
        assert!(md.contains("#### Why it failed\n"), "{md}");
        assert!(
            md.contains(&format!(
                "❌ `api` failed, state `BUILD_ERROR` · [Deployment logs]({logs})\n"
            )),
            "{md}"
        );
        assert!(
            md.contains("```text\nnpm ci failed <img src=x> [x](https://evil.example)\n```"),
            "{md}"
        );
        assert!(md.contains("**Hint:** `run it **locally**`"), "{md}");
        assert!(
            md.contains("[Documentation](https://www.qovery.com/docs/)"),
            "{md}"
        );
        // Not under the expected bases: shown, never linked.
        assert!(
            md.contains("⏱️ `# web\\n::endgroup::` did not finish · Deployment logs: `https://evil.example/logs`"),
            "{md}"
        );
        assert!(
            md.contains("Documentation: `https://evil.example/docs`"),
            "{md}"
        );
        assert!(
            md.contains("````text\n```\n# Result: success\n````"),
            "{md}"
        );
        assert!(
            md.contains("**Links:** `web` <https://web.example> · `api` `http://127.0.0.1:1/api`"),
            "{md}"
        );
        // Read as GitHub renders it: our two headings, our three links (the logs, the
        // documentation, the autolink of web), no HTML.
        use pulldown_cmark::{Event, Parser, Tag};
        let events: Vec<Event<'_>> = Parser::new(&md).collect();
        let count = |f: &dyn Fn(&Event<'_>) -> bool| events.iter().filter(|e| f(e)).count();
        assert_eq!(
            count(&|e| matches!(e, Event::Start(Tag::Heading { .. }))),
            2
        );
        assert_eq!(count(&|e| matches!(e, Event::Start(Tag::Link { .. }))), 3);
        assert_eq!(
            count(&|e| matches!(e, Event::Html(_) | Event::InlineHtml(_))),
            0
        );
        let note = failure_annotation(&r.failures[0]);
        assert_eq!(
            note,
            format!(
                "npm ci failed <img src=x> [x](https://evil.example)\n  hint: run it **locally**\n  logs: {logs}\n  docs: https://www.qovery.com/docs/"
            )
        );
        // Without a message, the state says what is known, escaped.
        let mut bare = r.failures[0].clone();
        bare.message = None;
        bare.hint = None;
        bare.state = Some("ERROR\n::set-output name=result::success".into());
        assert!(
            failure_annotation(&bare)
                .starts_with("ERROR\\n::set-output name=result::success; the deployment log gives no error message\n  logs: "),
        );
    }

    #[test]
    fn summary_has_a_row_per_service() {
        let md = summary_markdown(&report(3), &Redactor::new(), None);
        assert_eq!(
            md.lines()
                .filter(|l| l.starts_with("| `service-number-"))
                .count(),
            3
        );
    }
}
