//! `command: deploy`: preflight (read-only), one batched deploy, the wait, and the cancel on timeout
//! or signal.

use crate::api::types::EnvironmentStatuses;
use crate::cancel;
use crate::commands::Session;
use crate::console::Console;
use crate::durations;
use crate::error::Error;
use crate::plan::{DeployPlan, Target};
use crate::preflight;
use crate::report::{Report, RunResult, ServiceReport};
use crate::wait::{self, ChangeLog, End, Pacer, Tracker, Watch};

/// Runs `command: deploy` (see the module docs).
pub async fn run(session: Session<'_>, report: &mut Report) -> Result<(), Error> {
    let environment_id = session.config.environment_id.to_string();
    let id = environment_id.as_str();

    session.ci.begin_section("Plan");
    let (environment, services, baseline) =
        preflight::environment(session.client, session.shutdown, id).await?;
    let plan = DeployPlan::new(session.config, &services)?;
    let console = Console::new(session.config, &environment);
    let destination = Destination {
        id,
        name: environment.name.as_deref(),
        baseline: &baseline,
        console: console.as_ref(),
    };
    deploy_planned(session, destination, &plan, report).await
}

/// Where a batched deploy goes, as its preflight read it.
pub struct Destination<'a> {
    /// The environment's id.
    pub id: &'a str,
    pub name: Option<&'a str>,
    /// Its statuses before the deploy: what the wait compares with.
    pub baseline: &'a EnvironmentStatuses,
    pub console: Option<&'a Console>,
}

/// Everything `deploy` does once its plan is made, in the "Plan" section the caller opened: prints
/// the plan, sends the one batched `POST /environment/{id}/service/deploy`, then (with `wait`)
/// follows our deployment request to its end, cancelling it on timeout or signal. `preview` runs
/// it on the preview environment.
///
/// Errors: an interrupt before the POST; the POST's refusal; an API failure that ends the wait.
pub async fn deploy_planned(
    session: Session<'_>,
    destination: Destination<'_>,
    plan: &DeployPlan,
    report: &mut Report,
) -> Result<(), Error> {
    let Session {
        config,
        client,
        ci,
        shutdown,
        deadline,
    } = session;
    let Destination {
        id,
        name,
        baseline,
        console,
    } = destination;
    ci.line(&format!(
        "Deploying {} service(s) to environment {} ({id}):",
        plan.targets.len(),
        name.unwrap_or("?"),
    ));
    ci.line(plan.describe().trim_end());
    report.services = plan.targets.iter().map(ServiceReport::new).collect();
    report.console_url = console.map(|c| c.deployment(None));
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
    if let Some(console) = console {
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
    let mut changes = ChangeLog::new(baseline, &plan.targets);
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
            cancel::after_stop(stop, config, client, id, ci, report, &[&tracker]).await;
            ours_last(report, &tracker, last)
        }
    };
    if let Some(statuses) = &statuses {
        fill_services(report, &plan.targets, statuses, &changes);
    }
    report.execution_ids = tracker
        .execution_id()
        .map(str::to_string)
        .into_iter()
        .collect();
    if let Some(console) = console {
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

/// The services' final states, from statuses that show our deployment, and their durations
/// ([`durations::service_seconds`]).
fn fill_services(
    report: &mut Report,
    targets: &[Target],
    statuses: &EnvironmentStatuses,
    changes: &ChangeLog,
) {
    for (service, target) in report.services.iter_mut().zip(targets) {
        let status = statuses.service(&target.id);
        if let Some(status) = status {
            service.state = Some(status.state.to_string());
        }
        service.duration_seconds = durations::service_seconds(status, changes.took(&target.id));
    }
}
