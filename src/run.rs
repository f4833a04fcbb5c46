//! One run of the tool: read the inputs, mask the token, dispatch the command, publish the report,
//! and turn the outcome into an exit code.

use std::time::Instant;

use crate::api::Client;
use crate::ci::Ci;
use crate::commands::{self, Session};
use crate::error::{Error, code};
use crate::inputs::{self, Command, Config, Invocation, Request};
use crate::report::{Report, RunResult};
use crate::signal::Shutdown;

/// Runs the tool in a current-thread runtime (the work is a handful of sequential HTTP calls).
pub fn main(invocation: Invocation) -> u8 {
    let start = Instant::now();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return code::API;
        }
    };
    runtime.block_on(run(invocation, start))
}

pub async fn run(invocation: Invocation, start: Instant) -> u8 {
    let mut ci = Ci::detect(&invocation, start);
    // Before anything else can print: every value that may be the token is masked.
    for secret in inputs::token_candidates(&invocation) {
        ci.mask(&secret);
    }
    let raw = match inputs::read(&invocation) {
        Ok(Request::Run(raw)) => raw,
        Ok(Request::Help(command)) => {
            print!("{}", inputs::help(command));
            return code::SUCCESS;
        }
        Ok(Request::Version) => {
            println!("qovery-deploy {}", env!("CARGO_PKG_VERSION"));
            return code::SUCCESS;
        }
        Err(error) => {
            let mut report = Report::new(Command::Deploy);
            return conclude(&ci, &mut report, start, Some(Error::Input(error)));
        }
    };
    for name in &raw.unknown {
        let guess = inputs::suggest(&name[6..], inputs::INPUTS.iter().map(|def| def.name))
            .map(|input| format!("did you mean `{input}`? "))
            .unwrap_or_default();
        ci.warning(&format!(
            "ignoring {name}: no input has this name ({guess}run with --help for the list)"
        ));
    }
    let config = match Config::parse(&raw, &invocation) {
        Ok(config) => config,
        Err(error) => {
            let mut report = Report::new(command_named(&raw));
            let error = Error::Input(raw.attribute(error));
            return conclude(&ci, &mut report, start, Some(error));
        }
    };
    ci.trust_links_under(&config.console_url);
    let mut shutdown = match Shutdown::install() {
        Ok(shutdown) => shutdown,
        Err(error) => {
            ci.warning(&format!("cannot install signal handlers ({error}); a cancelled job will not cancel its deployment"));
            Shutdown::never()
        }
    };
    // `timeout` is at most 7 days (checked with the inputs): no overflow.
    let deadline = start.checked_add(config.timeout).unwrap_or(start);
    let mut report = Report::new(config.command);
    let outcome = execute(&config, &mut ci, &mut shutdown, deadline, &mut report).await;
    ci.end_section();
    let error = outcome.err().map(|error| match error {
        Error::Input(error) => Error::Input(raw.attribute(error)),
        other => other,
    });
    let code = conclude(&ci, &mut report, start, error);
    // The end is reached: the step that runs after this one has nothing to cancel, unless a
    // cancel of ours went unconfirmed (then it tries again) or the deploy request's outcome is
    // unknown (a deployment may exist).
    if !report.cancel_pending && !report.outcome_unknown {
        ci.hand_over_ended();
    }
    code
}

/// The command `raw` names, for the report of a run whose inputs are invalid (else `deploy`).
fn command_named(raw: &inputs::RawInputs) -> Command {
    let name = raw.get("command").unwrap_or("deploy");
    Command::NAMES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map_or(Command::Deploy, |(_, command)| *command)
}

async fn execute(
    config: &Config,
    ci: &mut Ci,
    shutdown: &mut Shutdown,
    deadline: Instant,
    report: &mut Report,
) -> Result<(), Error> {
    let client = Client::new(
        &config.api_url,
        &config.token,
        &config.extra_roots,
        deadline,
    )?;
    ci.check_files().map_err(Error::Output)?;
    let session = Session {
        config,
        client: &client,
        ci,
        shutdown,
        deadline,
    };
    commands::run(session, report).await
}

/// Ends every run the same way, success or not, and returns its exit code: `error` (what stopped
/// the run before an outcome, if anything) goes into the report (`result` `failure`, `timeout` for
/// a call cut by the deadline, or `cancelled` for a signal), the outputs are written (unless
/// writing them is what failed), and the final block is printed ([`Ci::print_final_block`]: table,
/// `result:`, `console:`, error). Each step file is tried on its own; one that cannot be written
/// gets an `::error` naming it, and the exit code stays the run's.
fn conclude(ci: &Ci, report: &mut Report, start: Instant, error: Option<Error>) -> u8 {
    report.duration = start.elapsed();
    if let Some(error) = &error {
        report.result = match error {
            Error::Interrupted(_) => RunResult::Cancelled,
            Error::Api(crate::api::ApiError::DeadlineReached { .. }) => RunResult::Timeout,
            _ => RunResult::Failure,
        };
        report.reason = Some(error.to_string());
        // The deploy request's outcome is unknown: the log says that a deployment may exist.
        if let (true, Some(note)) = (report.outcome_unknown, &report.cancel_note) {
            report.reason = Some(format!("{error}\n  {note}"));
        }
    }
    let exit = error.as_ref().map_or(report.exit_code(), Error::exit_code);
    let unwritten = match error {
        Some(Error::Output(_)) => Vec::new(),
        _ => ci.publish(report),
    };
    let title = match &error {
        Some(error) => error.title().to_string(),
        None => format!("qovery-deploy: {}", report.result.as_str()),
    };
    let reason = match (&report.reason, exit) {
        (_, code::SUCCESS) => None,
        (Some(reason), _) => Some(reason.clone()),
        (None, _) => Some(format!(
            "the run ended with result {}",
            report.result.as_str()
        )),
    };
    ci.print_final_block(report, reason.as_deref().map(|r| (title.as_str(), r)));
    report_unwritten(ci, unwritten);
    exit
}

/// One `::error` per step file that could not be written, naming it. The exit code stays the
/// deployment's: a deployment that succeeded did succeed, and one that failed must not read as
/// bad input.
fn report_unwritten(ci: &Ci, failed: Vec<anyhow::Error>) {
    for error in failed {
        ci.error(
            "qovery-deploy: cannot write a step file",
            &format!("{error:#}"),
        );
    }
}
