//! `command: deploy`: preflight (read-only), one batched deploy, the wait, and the cancel on timeout
//! or signal.

use std::time::{Duration, Instant};

use crate::api::Client;
use crate::api::types::{Environment, EnvironmentStatuses};
use crate::cancel::{Cancelled, cancel_own};
use crate::ci::Ci;
use crate::error::Error;
use crate::inputs::Config;
use crate::plan::{DeployPlan, Target};
use crate::report::{Report, RunResult, ServiceReport};
use crate::signal::Shutdown;
use crate::wait::{self, ChangeLog, End, Tracker, Watch};

/// How long a cancel may take after the timeout passed: the step's budget is spent, but leaving our
/// deployment running would be worse.
pub const CANCEL_BUDGET_AFTER_TIMEOUT: Duration = Duration::from_secs(20);
/// GitHub sends SIGTERM 7.5 s after SIGINT and kills 2.5 s later: the cancel must fit well inside.
pub const CANCEL_BUDGET_AFTER_SIGNAL: Duration = Duration::from_secs(6);

/// Links into the Qovery console (notes §11).
#[derive(Debug, Clone)]
pub struct Console {
    environment: String,
}

impl Console {
    pub fn new(config: &Config, environment: &Environment) -> Option<Console> {
        let organization = &environment.organization.as_ref()?.id;
        let project = &environment.project.as_ref()?.id;
        Some(Console {
            environment: format!(
                "{}/organization/{organization}/project/{project}/environment/{}",
                config.console_url, config.environment_id
            ),
        })
    }

    pub fn deployment(&self, execution_id: Option<&str>) -> String {
        match execution_id {
            Some(execution) => format!("{}/deployment/{execution}", self.environment),
            None => format!("{}/deployments", self.environment),
        }
    }

    pub fn environment(&self) -> &str {
        &self.environment
    }
}

/// Reads what the run needs before writing anything; a signal here stops the run with nothing sent.
pub async fn preflight<T>(
    shutdown: &mut Shutdown,
    work: impl Future<Output = Result<T, crate::api::ApiError>>,
) -> Result<T, Error> {
    tokio::select! {
        result = work => Ok(result?),
        signal = shutdown.wait() => Err(Error::Interrupted(signal)),
    }
}

pub async fn run(
    config: &Config,
    client: &Client,
    ci: &mut Ci,
    shutdown: &mut Shutdown,
    deadline: Instant,
    report: &mut Report,
) -> Result<(), Error> {
    let environment_id = config.environment_id.to_string();
    let id = environment_id.as_str();

    ci.begin_section("Plan");
    // One after the other: a refused token stops at the first request instead of three.
    let (environment, services, baseline) = preflight(shutdown, async {
        Ok((
            client.environment(id).await?,
            client.services(id).await?,
            client.statuses(id).await?,
        ))
    })
    .await?;
    let plan = DeployPlan::new(config, &services)?;
    let console = Console::new(config, &environment);
    ci.line(&format!(
        "Deploying {} service(s) to environment {}{}:",
        plan.targets.len(),
        environment.name.as_deref().unwrap_or("?"),
        format_args!(" ({id})")
    ));
    ci.line(plan.describe().trim_end());
    report.services = plan.targets.iter().map(service_report).collect();
    report.console_url = console.as_ref().map(|c| c.deployment(None));
    ci.end_section();

    if let Some(signal) = shutdown.received() {
        return Err(Error::Interrupted(signal));
    }
    // From here on a deployment may exist: the POST is not interrupted, so that a signal during it
    // still learns the request id it has to cancel.
    let accepted = client.deploy_services(id, &plan.request()).await?;
    let request_id = accepted.deployment_request_id.clone();
    report.deployment_request_ids = request_id.iter().cloned().collect();
    for service in &mut report.services {
        service.deployment_request_id = request_id.clone();
    }
    report.state = Some(accepted.state.to_string());
    ci.progress(&format!(
        "deployment request {} accepted ({})",
        request_id.as_deref().unwrap_or("(no id returned)"),
        accepted.state
    ));
    if let Some(console) = &console {
        ci.line(&format!(
            "Follow it in the console: {}",
            console.deployment(None)
        ));
    }

    if !config.wait && shutdown.received().is_none() {
        report.result = RunResult::Queued;
        return Ok(());
    }

    ci.begin_section("Waiting for the deployment");
    let mut tracker = Tracker::new(request_id, baseline.environment.last_deployment_id.clone());
    let mut changes = ChangeLog::new(&baseline, &plan.targets);
    let mut last = None;
    let watch = Watch {
        client,
        environment_id: id,
        poll_interval: config.poll_interval,
        deadline,
    };
    let end = match shutdown.received() {
        Some(signal) => End::Interrupted(signal),
        None => {
            wait::wait(
                &watch,
                &mut tracker,
                &plan.targets,
                &mut changes,
                shutdown,
                ci,
                &mut last,
            )
            .await?
        }
    };
    ci.end_section();

    // The statuses the services' final states are read from, when they show our deployment.
    let statuses = match end {
        End::Finished { state, statuses } => {
            let verdict = wait::judge(&state, &plan.targets, &statuses, false)
                .expect("an impatient judge always decides");
            if let Some(warning) = &verdict.warning {
                ci.warning(warning);
            }
            report.result = verdict.result;
            report.reason = verdict.reason;
            report.state = Some(state.to_string());
            Some(*statuses)
        }
        End::TimedOut => {
            report.result = RunResult::Timeout;
            report.reason = Some(format!(
                "the deployment did not finish within the timeout ({}s)",
                config.timeout.as_secs()
            ));
            if config.cancel_on_timeout {
                let outcome = cancel(
                    client,
                    id,
                    &tracker,
                    config.force_cancel,
                    CANCEL_BUDGET_AFTER_TIMEOUT,
                    false,
                )
                .await;
                note_cancel(ci, report, &outcome);
            } else {
                let note =
                    "cancel-on-timeout is false: the deployment was left running".to_string();
                ci.warning(&note);
                report.cancel_note = Some(note);
            }
            ours_last(report, &tracker, last)
        }
        End::Interrupted(signal) => {
            // Cancel first: the runner kills us a few seconds after the signal.
            let outcome = cancel(
                client,
                id,
                &tracker,
                config.force_cancel,
                CANCEL_BUDGET_AFTER_SIGNAL,
                true,
            )
            .await;
            report.result = RunResult::Cancelled;
            report.reason = Some(format!("the CI job was cancelled ({signal}) while waiting"));
            note_cancel(ci, report, &outcome);
            ours_last(report, &tracker, last)
        }
    };
    if let Some(statuses) = &statuses {
        fill_services(report, &plan.targets, statuses);
    }
    report.execution_ids = tracker
        .execution_id()
        .map(str::to_string)
        .into_iter()
        .collect();
    if let Some(console) = &console {
        report.console_url = Some(console.deployment(tracker.execution_id()));
    }
    Ok(())
}

/// The last statuses, if they show our deployment; its environment state becomes the `state` output.
fn ours_last(
    report: &mut Report,
    tracker: &Tracker,
    last: Option<EnvironmentStatuses>,
) -> Option<EnvironmentStatuses> {
    let last = last.filter(|s| tracker.holds(&s.environment))?;
    report.state = Some(last.environment.state.to_string());
    Some(last)
}

async fn cancel(
    client: &Client,
    id: &str,
    tracker: &Tracker,
    force: bool,
    budget: Duration,
    hurry: bool,
) -> Cancelled {
    let client = client.with_deadline(Instant::now() + budget);
    let client = if hurry {
        client.without_retries()
    } else {
        client
    };
    cancel_own(&client, id, tracker, force).await
}

pub fn note_cancel(ci: &Ci, report: &mut Report, outcome: &Cancelled) {
    match outcome {
        Cancelled::Unconfirmed(text) => ci.warning(text),
        Cancelled::Requested(text) | Cancelled::NothingToCancel(text) => {
            ci.progress(&format!("cancel: {text}"))
        }
    }
    report.cancel_note = Some(outcome.describe().to_string());
}

fn service_report(target: &Target) -> ServiceReport {
    ServiceReport {
        id: target.id.clone(),
        name: target.name.clone(),
        kind: target.kind.api_type().to_string(),
        version: target.version.clone(),
        ..Default::default()
    }
}

/// The services' final states, from statuses that show our deployment.
fn fill_services(report: &mut Report, targets: &[Target], statuses: &EnvironmentStatuses) {
    for (service, target) in report.services.iter_mut().zip(targets) {
        if let Some(status) = statuses.service(&target.id) {
            service.state = Some(status.state.to_string());
            service.duration_seconds = status.steps.as_ref().and_then(|s| s.total_duration_sec);
        }
    }
}
