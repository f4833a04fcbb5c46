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
        Err(error) => return fail(&ci, Error::Input(error), None),
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
            let error = raw.attribute(error);
            return fail(
                &ci,
                Error::Input(error),
                Some(&mut Report::new(Command::Deploy)),
            );
        }
    };
    let mut shutdown = match Shutdown::install() {
        Ok(shutdown) => shutdown,
        Err(error) => {
            ci.warning(&format!("cannot install signal handlers ({error}); a cancelled job will not cancel its deployment"));
            Shutdown::never()
        }
    };
    let deadline = start + config.timeout;
    let mut report = Report::new(config.command);
    let outcome = execute(&config, &mut ci, &mut shutdown, deadline, &mut report).await;
    ci.end_section();
    report.duration = start.elapsed();
    match outcome {
        Ok(()) => finish(&ci, &mut report),
        Err(error) => fail(&ci, error, Some(&mut report)),
    }
}

async fn execute(
    config: &Config,
    ci: &mut Ci,
    shutdown: &mut Shutdown,
    deadline: Instant,
    report: &mut Report,
) -> Result<(), Error> {
    let client = Client::new(&config.api_url, &config.token, deadline)?;
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

/// Publishes a finished run and returns its exit code.
fn finish(ci: &Ci, report: &mut Report) -> u8 {
    let exit = report.exit_code();
    if let (Some(reason), false) = (&report.reason, exit == code::SUCCESS) {
        ci.error(
            &format!("qovery-deploy: {}", report.result.as_str()),
            reason,
        );
    }
    ci.print_summary(report);
    if let Err(error) = ci.publish(report) {
        let error = Error::Output(error);
        ci.error(error.title(), &error.to_string());
        return exit.max(error.exit_code());
    }
    exit
}

/// Reports an error; the outputs still say `result=failure` when they can be written.
fn fail(ci: &Ci, error: Error, report: Option<&mut Report>) -> u8 {
    ci.error(error.title(), &error.to_string());
    if let (Some(report), false) = (report, matches!(error, Error::Output(_))) {
        report.result = match error {
            Error::Interrupted(_) => RunResult::Cancelled,
            _ => RunResult::Failure,
        };
        report.reason = Some(error.to_string());
        if let Err(output) = ci.publish(report) {
            ci.error(
                "qovery-deploy: cannot write step outputs",
                &format!("{output:#}"),
            );
        }
    }
    error.exit_code()
}
