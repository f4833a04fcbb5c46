//! `command: deploy`: preflight (read-only), one batched deploy, the wait, and the cancel on timeout
//! or signal.

use std::time::Instant;

use crate::api::Client;
use crate::api::types::{Environment, EnvironmentStatuses, ServiceInfo};
use crate::cancel::{Cancelled, cancel_all, cancel_client};
use crate::ci::Ci;
use crate::error::Error;
use crate::inputs::Config;
use crate::plan::{DeployPlan, Target};
use crate::report::{Report, RunResult, ServiceReport};
use crate::signal::Shutdown;
use crate::wait::{self, ChangeLog, End, Pacer, Stop, Tracker, Watch};

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

    /// One service's deployments, or the logs of one of its executions.
    pub fn service(&self, service_id: &str, execution_id: Option<&str>) -> String {
        let base = format!("{}/service/{service_id}/deployments", self.environment);
        match execution_id {
            Some(execution) => format!("{base}/logs/{execution}"),
            None => base,
        }
    }
}

/// Reads what the run needs before writing anything; a signal here stops the run with nothing sent.
pub async fn preflight<T>(
    shutdown: &mut Shutdown,
    work: impl Future<Output = Result<T, crate::api::ApiError>>,
) -> Result<T, Error> {
    Ok(shutdown.race(work).await.map_err(Error::Interrupted)??)
}

/// The preflight of the deploy commands: the environment (for links), its services (to resolve
/// names) and their statuses (the baseline the wait compares with). One after the other: a refused
/// token stops at the first request instead of three.
pub async fn read_environment(
    client: &Client,
    shutdown: &mut Shutdown,
    id: &str,
) -> Result<(Environment, Vec<ServiceInfo>, EnvironmentStatuses), Error> {
    preflight(shutdown, async {
        Ok((
            client.environment(id).await?,
            client.services(id).await?,
            client.statuses(id).await?,
        ))
    })
    .await
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
    let (environment, services, baseline) = read_environment(client, shutdown, id).await?;
    let plan = DeployPlan::new(config, &services)?;
    let console = Console::new(config, &environment);
    ci.line(&format!(
        "Deploying {} service(s) to environment {} ({id}):",
        plan.targets.len(),
        environment.name.as_deref().unwrap_or("?"),
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
    report.state = Some(accepted.state.to_string()).filter(|s| !s.is_empty());
    if request_id.is_none() {
        ci.warning("Qovery accepted the deployment without a deployment request id; it is followed by its new execution id instead");
    }
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
    let mut pacer = Pacer::new(Watch::new(client, id, config, deadline), shutdown);
    let end = wait::wait(
        &mut pacer,
        &mut tracker,
        &plan.targets,
        &mut changes,
        ci,
        &mut last,
    )
    .await?;
    ci.end_section();

    // The statuses the services' final states are read from, when they show our deployment.
    let statuses = match end {
        End::Finished(done) => {
            let verdict = wait::judge(&done.state, &plan.targets, &done.statuses, false)
                .expect("an impatient judge always decides");
            if let Some(warning) = &verdict.warning {
                ci.warning(warning);
            }
            report.result = verdict.result;
            report.reason = verdict.reason;
            report.state = Some(done.state.to_string());
            Some(*done.statuses)
        }
        End::Stopped(stop) => {
            cancel_after_stop(stop, config, client, ci, report, &[&tracker]).await;
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

/// A wait stopped before our request(s) ended: cancel them (on a signal always, on the timeout when
/// `cancel-on-timeout`), then record why. The cancel goes first: after a signal the runner kills
/// us within seconds.
pub async fn cancel_after_stop(
    stop: Stop,
    config: &Config,
    client: &Client,
    ci: &Ci,
    report: &mut Report,
    trackers: &[&Tracker],
) {
    let cancel = matches!(stop, Stop::Interrupted(_)) || config.cancel_on_timeout;
    let outcomes = if cancel {
        let client = cancel_client(client, stop);
        let id = config.environment_id.to_string();
        cancel_all(&client, &id, trackers, config.force_cancel).await
    } else {
        Vec::new()
    };
    match stop {
        Stop::TimedOut => {
            report.result = RunResult::Timeout;
            report.reason = Some(format!(
                "the deployment did not finish within the timeout ({}s)",
                config.timeout.as_secs()
            ));
        }
        Stop::Interrupted(signal) => {
            report.result = RunResult::Cancelled;
            report.reason = Some(format!("the CI job was cancelled ({signal}) while waiting"));
            report.interrupted_by = Some(signal);
        }
    }
    if cancel {
        note_cancel(ci, report, &outcomes);
    } else {
        let note = "cancel-on-timeout is false: the deployment was left running".to_string();
        ci.warning(&note);
        report.cancel_note = Some(note);
    }
}

/// Logs what each cancel did and keeps it for the summary.
pub fn note_cancel(ci: &Ci, report: &mut Report, outcomes: &[Cancelled]) {
    for outcome in outcomes {
        match outcome {
            Cancelled::Unconfirmed(text) => ci.warning(text),
            Cancelled::Requested(text) | Cancelled::NothingToCancel(text) => {
                ci.progress(&format!("cancel: {text}"))
            }
        }
    }
    let notes: Vec<&str> = outcomes.iter().map(Cancelled::describe).collect();
    report.cancel_note = Some(notes.join("; "));
}

pub fn service_report(target: &Target) -> ServiceReport {
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
