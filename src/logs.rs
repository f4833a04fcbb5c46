//! Why it failed, where the user already is: on a failure or a timeout, one
//! `GET /environment/{id}/logs?version=<our execution id>` and, per failing service, its error
//! entries and the last `log-lines` lines before the first one, in a folded section of the CI log.
//! The first error's message, hint and documentation link, with the console link to the service's
//! deployment logs, also go to the `::error title=<service> failed::` annotation and the summary
//! (through [`Report::failures`]).
//!
//! A service's entries are those its `details.transmitter.id` names (the console's own filter);
//! when a service has no error of its own, the environment's error entries
//! (`transmitter.type: Environment`) stand in. Entries of another execution are left out. The
//! entries are put in time order when every timestamp reads as RFC 3339, else kept in the API's.
//!
//! Log text is outside text: every line, message and hint is redacted first, then cut (at
//! [`LINE_CHARS`], [`MESSAGE_CHARS`]) saying how much was cut, then escaped, by
//! [`neutral::log_excerpt`]; the lines are printed by [`Ci::log_block`] (no line can start a
//! workflow command or close the group) and the failures by the sinks of [`crate::ci`], each
//! through [`crate::neutral`]. The run prints at most [`MAX_PRINTED_LINES`] lines of it, saying
//! how many were cut. Ids go into console links only once [`ids`] has checked their shape.
//! Reading the log is an extra ([`crate::extra`]): when it fails, one line says so and the exit
//! code stays the deployment's.

use crate::api::types::LogEntry;
use crate::api::{Client, ids};
use crate::ci::Ci;
use crate::console::Console;
use crate::extra::{self, Skipped};
use crate::inputs::Config;
use crate::links::valid_url;
use crate::neutral::{self, Redactor};
use crate::report::{Report, RunResult, ServiceFailure};
use crate::signal::Shutdown;

/// The longest log line printed, in characters; the rest is cut, saying how much.
pub const LINE_CHARS: usize = 1000;
/// The most error entries printed per service.
pub const MAX_ERRORS: usize = 10;
/// The most log lines one run prints, all services together.
pub const MAX_PRINTED_LINES: usize = 2000;
/// The longest error message and hint in the annotation and the summary, in characters (GitHub
/// cuts an annotation at 4096).
pub const MESSAGE_CHARS: usize = 1000;

/// A listed service that did not succeed: what the log is searched for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failing {
    pub id: String,
    pub name: String,
    /// Its final state, or where it stood when the run stopped.
    pub state: Option<String>,
    /// Its own execution id (`Status.execution_id`), for the console link to its logs.
    pub execution_id: Option<String>,
    /// The execution our request ran in (the environment's `last_deployment_id`), whose log is
    /// read; `None` when it never started.
    pub execution: Option<String>,
}

/// One error entry: every text a [`neutral::log_excerpt`] (redacted, cut, on one line).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorEntry {
    pub time: Option<String>,
    pub tag: Option<String>,
    pub message: Option<String>,
    pub hint: Option<String>,
    pub cause: Option<String>,
    pub docs: Option<String>,
}

/// One failing service's part of the log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Excerpt {
    /// The last lines before its first error (all of its lines when it has none), each a
    /// [`neutral::log_excerpt`].
    pub before: Vec<String>,
    /// Earlier lines not shown (beyond `log-lines`).
    pub omitted: usize,
    /// Its error entries, at most [`MAX_ERRORS`].
    pub errors: Vec<ErrorEntry>,
    /// Error entries beyond [`MAX_ERRORS`].
    pub errors_cut: usize,
    /// The errors are the environment's, not the service's own.
    pub environment_errors: bool,
}

impl Excerpt {
    pub fn is_empty(&self) -> bool {
        self.before.is_empty() && self.errors.is_empty() && self.omitted == 0
    }
}

/// A log entry's time of day, `HH:MM:SS`, when its timestamp reads as RFC 3339.
fn time_of_day(entry: &LogEntry) -> Option<String> {
    let ts = entry.timestamp.as_deref()?;
    rfc3339(ts)?;
    ts.get(11..19).map(str::to_string)
}

/// Seconds and nanoseconds since the Unix epoch of an RFC 3339 timestamp
/// (`2026-11-20T10:42:13.123Z`, `…+02:00`); `None` for anything else.
fn rfc3339(ts: &str) -> Option<(i64, u32)> {
    let b = ts.as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = ts.get(range)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    if second > 60 {
        return None;
    }
    let mut rest = &ts[19..];
    let mut nanos = 0u32;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let padded: String = fraction[..digits]
            .chars()
            .chain(std::iter::repeat('0'))
            .take(9)
            .collect();
        nanos = padded.parse().ok()?;
        rest = &fraction[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            if rest.len() != 6 || rest.as_bytes()[3] != b':' {
                return None;
            }
            let hours: i64 = rest[1..3].parse().ok()?;
            let minutes: i64 = rest[4..6].parse().ok()?;
            sign * (hours * 3600 + minutes * 60)
        }
    };
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((
        days * 86_400 + hour * 3600 + minute * 60 + second - offset,
        nanos,
    ))
}

/// Puts the entries in time order when every timestamp reads, else leaves the API's order.
pub fn in_time_order(entries: &mut [LogEntry]) {
    let keys: Option<Vec<(i64, u32)>> = entries
        .iter()
        .map(|e| e.timestamp.as_deref().and_then(rfc3339))
        .collect();
    if let Some(keys) = keys {
        let mut indexed: Vec<(usize, (i64, u32))> = keys.into_iter().enumerate().collect();
        indexed.sort_by_key(|(i, key)| (*key, *i));
        let sorted: Vec<LogEntry> = indexed
            .iter()
            .map(|(i, _)| std::mem::take(&mut entries[*i]))
            .collect();
        for (slot, entry) in entries.iter_mut().zip(sorted) {
            *slot = entry;
        }
    }
}

fn is_error(entry: &LogEntry) -> bool {
    entry.error.is_some()
        || entry
            .kind
            .as_deref()
            .is_some_and(|k| k.eq_ignore_ascii_case("error"))
}

fn transmitter_is(entry: &LogEntry, id: &str) -> bool {
    entry
        .details
        .as_ref()
        .and_then(|d| d.transmitter.as_ref())
        .and_then(|t| t.id.as_deref())
        .is_some_and(|t| t.eq_ignore_ascii_case(id))
}

fn is_environment(entry: &LogEntry, environment_id: &str) -> bool {
    let transmitter = entry.details.as_ref().and_then(|d| d.transmitter.as_ref());
    transmitter.is_some_and(|t| {
        t.kind
            .as_deref()
            .is_some_and(|k| k.eq_ignore_ascii_case("environment"))
            || t.id
                .as_deref()
                .is_some_and(|id| id.eq_ignore_ascii_case(environment_id))
    })
}

/// Whether the entry belongs to our execution (an entry that does not say is kept).
pub fn of_execution(entry: &LogEntry, execution_id: &str) -> bool {
    entry
        .details
        .as_ref()
        .and_then(|d| d.execution_id.as_deref())
        .is_none_or(|e| e.eq_ignore_ascii_case(execution_id))
}

/// Outside text as lines, each redacted, cut at [`LINE_CHARS`] and escaped
/// ([`neutral::log_excerpt`]); blank lines left out.
fn text_lines<'a>(redactor: &'a Redactor, text: &'a str) -> impl Iterator<Item = String> + 'a {
    text.lines()
        .map(|line| neutral::log_excerpt(redactor, line, LINE_CHARS))
        .filter(|line| !line.trim().is_empty())
}

/// The lines of one entry, `HH:MM:SS ` first when its time is known.
fn entry_lines(entry: &LogEntry, redactor: &Redactor) -> Vec<String> {
    let text = entry
        .message
        .as_ref()
        .and_then(|m| m.safe_message.as_deref())
        .unwrap_or_default();
    let time = time_of_day(entry);
    text_lines(redactor, text)
        .map(|line| match &time {
            Some(time) => format!("{time} {line}"),
            None => line,
        })
        .collect()
}

fn error_entry(entry: &LogEntry, redactor: &Redactor) -> ErrorEntry {
    let error = entry.error.clone().unwrap_or_default();
    let cut = |text: Option<&str>, max: usize| {
        text.map(|t| neutral::log_excerpt(redactor, t.trim(), max))
            .filter(|t| !t.is_empty())
    };
    let field = |text: Option<&str>| cut(text, MESSAGE_CHARS);
    let message = field(error.user_log_message.as_deref()).or_else(|| {
        field(
            entry
                .message
                .as_ref()
                .and_then(|m| m.safe_message.as_deref()),
        )
    });
    ErrorEntry {
        time: time_of_day(entry),
        tag: cut(error.tag.as_deref(), 100),
        message,
        hint: field(error.hint_message.as_deref()),
        cause: field(
            error
                .underlying_error
                .as_ref()
                .and_then(|u| u.message.as_deref()),
        ),
        docs: error
            .link
            .as_deref()
            .and_then(|l| valid_url(l).ok())
            .map(str::to_string),
    }
}

/// One failing service's part of `entries` (already of our execution, in order).
pub fn excerpt(
    entries: &[LogEntry],
    environment_id: &str,
    service_id: &str,
    log_lines: usize,
    redactor: &Redactor,
) -> Excerpt {
    let own: Vec<&LogEntry> = entries
        .iter()
        .filter(|e| transmitter_is(e, service_id))
        .collect();
    let first_error = own.iter().position(|e| is_error(e));
    let before_error = &own[..first_error.unwrap_or(own.len())];
    let mut lines: Vec<String> = before_error
        .iter()
        .flat_map(|e| entry_lines(e, redactor))
        .collect();
    let omitted = lines.len().saturating_sub(log_lines);
    lines.drain(..omitted);
    let mut environment_errors = false;
    let mut errors: Vec<&LogEntry> = own.iter().copied().filter(|e| is_error(e)).collect();
    if errors.is_empty() {
        errors = entries
            .iter()
            .filter(|e| is_error(e) && is_environment(e, environment_id))
            .collect();
        environment_errors = !errors.is_empty();
    }
    let errors_cut = errors.len().saturating_sub(MAX_ERRORS);
    Excerpt {
        before: lines,
        omitted,
        errors: errors
            .iter()
            .take(MAX_ERRORS)
            .map(|e| error_entry(e, redactor))
            .collect(),
        errors_cut,
        environment_errors,
    }
}

/// The lines of an excerpt's block, within `budget` lines (the errors first claim their share, then
/// the lines closest to the first error); `budget` is what the run may still print. `service` is
/// escaped here; the lines still go through their sink ([`Ci::log_block`]).
pub fn render(excerpt: &Excerpt, service: &str, log_lines: usize, budget: usize) -> Vec<String> {
    let mut errors = Vec::new();
    if excerpt.environment_errors {
        errors.push(format!(
            "(no error entry of {} itself; the environment's errors:)",
            neutral::inline(service)
        ));
    }
    for error in &excerpt.errors {
        let time = error
            .time
            .as_deref()
            .map(|t| format!("{t} "))
            .unwrap_or_default();
        let tag = error
            .tag
            .as_deref()
            .map(|t| format!("[{t}] "))
            .unwrap_or_default();
        let message = error.message.as_deref().unwrap_or("(no message)");
        errors.push(format!("{time}✖ {tag}{message}"));
        for (label, value) in [
            ("hint", &error.hint),
            ("cause", &error.cause),
            ("docs", &error.docs),
        ] {
            if let Some(value) = value {
                errors.push(format!("    {label}: {value}"));
            }
        }
    }
    if excerpt.errors_cut > 0 {
        errors.push(format!(
            "… {} more error entries not shown (at most {MAX_ERRORS} per service)",
            excerpt.errors_cut
        ));
    }
    let mut lines = Vec::new();
    if excerpt.omitted > 0 {
        lines.push(format!(
            "… {} earlier lines not shown (log-lines: {log_lines})",
            excerpt.omitted
        ));
    }
    // One line is kept for the note of what was cut.
    let room = budget.saturating_sub(lines.len() + errors.len() + 1);
    let shown = excerpt.before.len().min(room);
    let mut cut = excerpt.before.len() - shown;
    lines.extend(excerpt.before[cut..].iter().cloned());
    let errors_room = budget.saturating_sub(lines.len() + 1);
    if errors.len() > errors_room {
        cut += errors.len() - errors_room;
        errors.truncate(errors_room);
    }
    lines.extend(errors);
    if cut > 0 {
        lines.push(format!(
            "… {cut} lines cut: at most {MAX_PRINTED_LINES} log lines are printed per run"
        ));
    }
    lines
}

/// Explains the failing services of environment `environment_id` (see the module docs): their
/// logs in the CI log, their first error in `report.failures`. One log read per execution the failing services ran in (one for
/// `deploy`; one per job for jobs run in executions of their own).
#[allow(clippy::too_many_arguments)]
pub async fn explain(
    client: Result<Client, Skipped>,
    shutdown: &mut Shutdown,
    ci: &mut Ci,
    config: &Config,
    environment_id: &str,
    console: Option<&Console>,
    failing: &[Failing],
    report: &mut Report,
) {
    let verdict = match report.result {
        RunResult::Timeout => "did not finish",
        _ => "failed",
    };
    // Only an execution id of its shape goes into the log read's query or a console link.
    let execution_of = |f: &Failing| f.execution.clone().filter(|e| ids::is_execution_id(e));
    // A service whose deployment never started has no log, and nothing to say beyond the run's
    // own error: one line, no annotation of its own.
    let (failing, never): (Vec<&Failing>, Vec<&Failing>) =
        failing.iter().partition(|f| execution_of(f).is_some());
    if !never.is_empty() && config.log_lines > 0 {
        let names: Vec<String> = never
            .iter()
            .map(|f| neutral::inline(&f.name).into())
            .collect();
        ci.line(&format!(
            "No deployment log to show for {}: not started",
            names.join(", ")
        ));
    }
    report.failures = failing
        .iter()
        .map(|f| ServiceFailure {
            service: f.name.clone(),
            verdict,
            state: f.state.clone(),
            // A link only from ids of their shape (the service's own execution, else ours).
            logs_url: console
                .filter(|_| ids::is_uuid(&f.id))
                .zip(execution_of(f))
                .map(|(console, execution)| {
                    let own = f.execution_id.clone().filter(|e| ids::is_execution_id(e));
                    console.service(&f.id, Some(&own.unwrap_or(execution)))
                }),
            ..Default::default()
        })
        .collect();
    if failing.is_empty() || config.log_lines == 0 {
        return;
    }
    let mut executions: Vec<String> = Vec::new();
    for execution in failing.iter().filter_map(|f| execution_of(f)) {
        if !executions.contains(&execution) {
            executions.push(execution);
        }
    }
    if executions.is_empty() {
        return;
    }
    let client = match client {
        Ok(client) => client,
        Err(why) => return not_read(ci, console, &executions[0], &why),
    };
    let mut budget = MAX_PRINTED_LINES;
    for execution in &executions {
        let read = client.environment_logs(environment_id, execution);
        let answer = match extra::read(shutdown, read).await {
            Ok(answer) => answer,
            Err(why) => {
                not_read(ci, console, execution, &why);
                if matches!(why, Skipped::Interrupted(_)) {
                    return;
                }
                continue;
            }
        };
        let total = answer.len();
        let mut entries: Vec<LogEntry> = answer
            .into_iter()
            .filter_map(|e| e.ok())
            .filter(|e| of_execution(e, execution))
            .collect();
        let unreadable = total - entries.len();
        in_time_order(&mut entries);
        let here = failing
            .iter()
            .zip(report.failures.iter_mut())
            .filter(|(f, _)| execution_of(f).as_ref() == Some(execution));
        for (failing, failure) in here {
            let found = excerpt(
                &entries,
                environment_id,
                &failing.id,
                config.log_lines,
                ci.redactor(),
            );
            if let Some(first) = found.errors.first() {
                failure.message.clone_from(&first.message);
                failure.hint.clone_from(&first.hint);
                failure.docs.clone_from(&first.docs);
            }
            let service = neutral::inline(&failure.service).into_owned();
            if found.is_empty() {
                ci.line(&format!(
                    "{service}: the deployment log of execution {execution} has no entry for this service"
                ));
                continue;
            }
            let lines = render(&found, &failure.service, config.log_lines, budget);
            budget = budget.saturating_sub(lines.len());
            let state = failure
                .state
                .as_deref()
                .map(|s| format!(" ({})", neutral::inline(s)))
                .unwrap_or_default();
            ci.log_block(
                &format!("{service} {}{state}: deployment log", failure.verdict),
                &lines,
            );
        }
        if unreadable > 0 {
            ci.line(&format!(
                "{unreadable} of the {total} log entries of execution {execution} were not read (not a log entry, or of another execution)"
            ));
        }
    }
}

/// The one line that says a log was not read, and where to see it instead.
fn not_read(ci: &Ci, console: Option<&Console>, execution: &str, why: &Skipped) {
    let link = console
        .map(|c| {
            format!(
                "; see them in the console: {}",
                c.deployment(Some(execution))
            )
        })
        .unwrap_or_default();
    ci.warning(&format!(
        "could not read the deployment logs, so they are not shown (the result is the deployment's): {why}{link}"
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ENV: &str = "e0000000-0000-4000-8000-000000000001";
    const API: &str = "a1000000-0000-4000-8000-000000000001";

    fn entry(service: &str, second: u32, text: &str) -> LogEntry {
        serde_json::from_value(json!({
            "type": "info",
            "timestamp": format!("2026-11-20T10:42:{second:02}.000Z"),
            "details": {"execution_id": "x-1", "transmitter": {"id": service, "name": "api", "type": "Application"}, "stage": {"step": "Build"}},
            "message": {"safe_message": text}
        }))
        .unwrap()
    }

    fn error(service: &str, kind: &str, second: u32, message: &str) -> LogEntry {
        serde_json::from_value(json!({
            "type": "error",
            "timestamp": format!("2026-11-20T10:42:{second:02}Z"),
            "details": {"execution_id": "x-1", "transmitter": {"id": service, "name": "n", "type": kind}},
            "error": {"tag": "BuildError", "user_log_message": message, "hint_message": "check it",
                      "link": "https://www.qovery.com/docs", "underlying_error": {"message": "exit 1"}}
        }))
        .unwrap()
    }

    #[test]
    fn timestamps_order_the_entries_and_bad_ones_keep_the_api_order() {
        assert_eq!(rfc3339("1970-01-01T00:00:00Z"), Some((0, 0)));
        assert_eq!(
            rfc3339("2026-11-20T10:42:13.5+01:00"),
            Some((1_795_167_733, 500_000_000))
        );
        assert_eq!(
            rfc3339("2026-11-20T10:42:13.123Z").map(|k| k.1),
            Some(123_000_000)
        );
        for bad in [
            "",
            "yesterday",
            "2026-13-20T10:42:13Z",
            "2026-11-20T10:42:13",
        ] {
            assert_eq!(rfc3339(bad), None, "{bad}");
        }
        // `.5Z` sorts after `Z` as text, before it in time.
        let mut entries = vec![entry(API, 2, "b"), entry(API, 1, "a")];
        entries[0].timestamp = Some("2026-11-20T10:42:01Z".into());
        entries[1].timestamp = Some("2026-11-20T10:42:00.500Z".into());
        in_time_order(&mut entries);
        assert_eq!(entry_lines(&entries[0], &Redactor::new()), ["10:42:00 a"]);
        let mut entries = vec![entry(API, 2, "b"), entry(API, 1, "a")];
        entries[0].timestamp = Some("soon".into());
        in_time_order(&mut entries);
        assert_eq!(entry_lines(&entries[0], &Redactor::new()), ["b"]);
    }

    #[test]
    fn the_lines_before_the_first_error_then_the_errors() {
        let mut entries: Vec<LogEntry> = (0..40)
            .map(|i| entry(API, i, &format!("line {i}")))
            .collect();
        entries.insert(10, entry("other", 0, "not ours"));
        entries.push(error(API, "Application", 50, "build failed"));
        entries.push(entry(API, 51, "after the error"));
        entries.push(error(API, "Application", 52, "second error"));
        let found = excerpt(&entries, ENV, API, 5, &Redactor::new());
        assert_eq!(found.omitted, 35);
        assert_eq!(found.before.first().unwrap(), "10:42:35 line 35");
        assert_eq!(found.before.len(), 5);
        assert_eq!(found.errors.len(), 2);
        let first = &found.errors[0];
        assert_eq!(first.message.as_deref(), Some("build failed"));
        assert_eq!(first.hint.as_deref(), Some("check it"));
        assert_eq!(first.docs.as_deref(), Some("https://www.qovery.com/docs"));
        let lines = render(&found, "api", 5, MAX_PRINTED_LINES);
        assert_eq!(lines[0], "… 35 earlier lines not shown (log-lines: 5)");
        assert!(
            lines
                .iter()
                .any(|l| l == "10:42:50 ✖ [BuildError] build failed")
        );
        assert!(lines.iter().any(|l| l == "    cause: exit 1"));
        assert!(
            !lines
                .iter()
                .any(|l| l.contains("not ours") || l.contains("after the error"))
        );
    }

    #[test]
    fn without_an_error_of_its_own_the_environments_errors_stand_in() {
        let entries = vec![
            entry(API, 1, "starting"),
            error(ENV, "Environment", 2, "the environment failed"),
            error("z", "Application", 3, "someone else's"),
        ];
        let found = excerpt(&entries, ENV, API, 30, &Redactor::new());
        assert!(found.environment_errors);
        assert_eq!(found.errors.len(), 1);
        assert_eq!(
            found.errors[0].message.as_deref(),
            Some("the environment failed")
        );
        assert_eq!(found.before, ["10:42:01 starting"]);
    }

    #[test]
    fn the_caps_hold_and_say_what_was_cut() {
        let long = "x".repeat(5000);
        let mut entries: Vec<LogEntry> = (0..59).map(|i| entry(API, i, &long)).collect();
        for i in 0..15 {
            entries.push(error(API, "Application", 59, &format!("error {i}")));
        }
        let found = excerpt(&entries, ENV, API, 1000, &Redactor::new());
        assert_eq!(found.errors.len(), MAX_ERRORS);
        assert_eq!(found.errors_cut, 5);
        assert!(found.before[0].ends_with("… (4000 characters cut)"));
        assert!(found.before[0].chars().count() < LINE_CHARS + 40);
        let lines = render(&found, "api", 1000, 20);
        assert_eq!(lines.len(), 20);
        assert!(
            lines.last().unwrap().starts_with("… ")
                && lines
                    .last()
                    .unwrap()
                    .contains("lines cut: at most 2000 log lines"),
            "{lines:?}"
        );
        // The errors are kept before the context lines.
        assert!(lines.iter().any(|l| l.contains("error 0")));
        let none = render(&found, "api", 1000, 0);
        assert!(none.len() <= 1, "{none:?}");
    }

    #[test]
    fn log_text_is_redacted_cut_and_escaped() {
        const TOKEN: &str = "qov_SECRET_test_token_5f0c1d9e";
        let r = Redactor::with(TOKEN);
        let e = entry(
            API,
            1,
            &format!(
                "\u{1b}[31mred\u{1b}[0m\tand\u{7}bell\r\n::endgroup::\n{TOKEN}{}",
                "y".repeat(1200)
            ),
        );
        assert_eq!(
            entry_lines(&e, &r),
            [
                "10:42:01 red\\tand\\u{7}bell".to_string(),
                "10:42:01 ::endgroup::".to_string(),
                format!("10:42:01 ***{}… (203 characters cut)", "y".repeat(997)),
            ]
        );
        // The token echoed in an error's message and hint, longer than the cut: redacted first.
        let mut echo = error(
            API,
            "Application",
            1,
            &format!("{}{TOKEN}", "m".repeat(990)),
        );
        echo.error.as_mut().unwrap().hint_message = Some(format!("Authorization: Token {TOKEN}"));
        let found = error_entry(&echo, &r);
        assert_eq!(
            found.message.as_deref(),
            Some(format!("{}***", "m".repeat(990)).as_str())
        );
        assert_eq!(found.hint.as_deref(), Some("Authorization: Token ***"));
        let mut bad = error(API, "Application", 1, "m");
        bad.error.as_mut().unwrap().link = Some("javascript:alert(1)".into());
        assert_eq!(error_entry(&bad, &r).docs, None);
        let other: LogEntry = serde_json::from_value(json!({
            "type": "info", "timestamp": "t", "details": {"execution_id": "x-2"}
        }))
        .unwrap();
        assert!(!of_execution(&other, "x-1") && of_execution(&other, "X-2"));
    }
}
