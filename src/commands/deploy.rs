//! `command: deploy`: preflight (read-only), one batched deploy, the wait, and the cancel on timeout
//! or signal.

use crate::api::ApiError;
use crate::api::ids::{self, Shape};
use crate::api::types::{EnvironmentStatuses, ServiceInfo, StateClass};
use crate::commands::Session;
use crate::console::Console;
use crate::durations;
use crate::error::Error;
use crate::logs::Failing;
use crate::plan::{self, DeployPlan, Target};
use crate::report::{Report, RunResult, ServiceReport};
use crate::signal::Shutdown;
use crate::wait::{self, ChangeLog, End, Pacer, Tracker, Watch};
use crate::{cancel, extra, health, links, logs, preflight};

/// How long the answer of a deploy already sent is awaited after a signal: it names the request
/// to cancel. Counted from the signal; the cancel then fits in what is left of
/// [`crate::signal::AFTER_SIGNAL`].
pub const POST_GRACE: std::time::Duration = std::time::Duration::from_secs(3);

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
        services: &services,
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
    /// Its services (names the links' services).
    pub services: &'a [ServiceInfo],
    /// Its statuses before the deploy: what the wait compares with.
    pub baseline: &'a EnvironmentStatuses,
    pub console: Option<&'a Console>,
}

/// Everything `deploy` does once its plan is made, in the "Plan" section the caller opened: prints
/// the plan, sends the one batched `POST /environment/{id}/service/deploy`, then (with `wait`)
/// follows our deployment request to its end, cancelling it on timeout or signal; after the end,
/// explains a failure from the deployment log, or reads where the services answer (`url`, `urls`)
/// and runs the health check. `preview` runs it on the preview environment.
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
        services,
        baseline,
        console,
    } = destination;
    ci.line(&format!(
        "Deploying {} service(s) to environment {} ({id}):",
        plan.targets.len(),
        name.unwrap_or("?"),
    ));
    ci.line(plan.describe().trim_end());
    let (commit, commit_warning) = plan::commit_notes(config, &plan.targets);
    if let Some(line) = commit {
        ci.line(&line);
    }
    if let Some(warning) = commit_warning {
        ci.warning(&warning);
    }
    report.services = plan.targets.iter().map(ServiceReport::new).collect();
    report.console_url = console.map(|c| c.deployment(None));
    ci.end_section();

    if let Some(signal) = shutdown.received() {
        return Err(Error::Interrupted(signal));
    }
    // From here on a deployment may exist. A signal during the POST gives its answer a short grace
    // (it names the request to cancel), never more.
    let Some(mut accepted) = post(
        shutdown,
        client.deploy_services(id, &plan.request()),
        report,
    )
    .await?
    else {
        return Ok(());
    };
    // Accepted: the deployment exists. An id of the wrong shape is dropped, never used in a path.
    let malformed = ids::take_malformed(
        "deployment request id",
        Shape::Uuid,
        &mut accepted.deployment_request_id,
    );
    let request_id = accepted.deployment_request_id.clone();
    report.deployment_request_ids = request_id.iter().cloned().collect();
    ci.hand_over(id, &report.deployment_request_ids);
    for service in &mut report.services {
        service.deployment_request_id = request_id.clone();
    }
    report.state = Some(accepted.state.to_string()).filter(|s| !s.is_empty());
    if let Some(problem) = &malformed {
        ci.warning(&format!("Qovery accepted the deployment, but {problem}; it is followed by its new execution id instead"));
    } else if request_id.is_none() {
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
    let waited = wait::wait(
        &mut pacer,
        &mut tracker,
        &plan.targets,
        &mut changes,
        ci,
        &mut last,
    )
    .await;
    ci.end_section();

    let scope = cancel::Scope {
        config,
        client,
        environment_id: id,
    };
    let end = match waited {
        Ok(end) => end,
        Err(error) => {
            // An answer proving the wait cannot go on: what was seen stays reported, the cancel
            // is tried, and the error is the run's.
            note_seen(report, &tracker, console);
            cancel::after_failure(&error, scope, ci, shutdown, report, &[&tracker]).await;
            return Err(error.into());
        }
    };
    // The statuses the services' final states are read from, when they show our deployment.
    let stopped = match end {
        End::Stopped(stop) => Some(stop),
        End::Finished(_) => None,
    };
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
            cancel::after_stop(stop, scope, ci, shutdown, report, &[&tracker]).await;
            ours_last(report, &tracker, last)
        }
    };
    if let Some(statuses) = &statuses {
        fill_services(report, &plan.targets, statuses, &changes);
    }
    note_seen(report, &tracker, console);

    // After the end, extras that never change the exit code: why it failed, or where it runs.
    let extra = extra::client(client, deadline, stopped);
    match report.result {
        RunResult::Failure | RunResult::Timeout => {
            let failing = failing(&plan.targets, statuses.as_ref(), tracker.execution_id());
            logs::explain(extra, shutdown, ci, config, id, console, &failing, report).await;
        }
        RunResult::Success => {
            let targets = &plan.targets;
            let links = links::publish(extra, shutdown, ci, id, services, targets, report).await;
            if let Some(path) = &config.health_check_path {
                let roots = &config.extra_roots;
                let links = links.as_ref();
                health::gate(path, links, roots, deadline, shutdown, ci, report).await;
            }
        }
        RunResult::Cancelled | RunResult::Queued => {}
    }
    Ok(())
}

/// Sends the deploy, giving its answer [`POST_GRACE`] after a signal. `Ok(None)` when the answer
/// never came (abandoned after a signal, or cut by the deadline): the report then says that a
/// deployment may have been created, which cannot be cancelled without its id.
///
/// Errors: the POST's own failure (refused, or failed for good).
pub async fn post<T>(
    shutdown: &mut Shutdown,
    work: impl Future<Output = Result<T, ApiError>>,
    report: &mut Report,
) -> Result<Option<T>, Error> {
    let may_exist = |report: &Report| {
        format!(
            "the deploy request was sent but its answer never came: a deployment may have been created and cannot be identified to cancel it; check the Qovery console{}",
            report
                .console_url
                .as_deref()
                .map(|url| format!(": {url}"))
                .unwrap_or_default()
        )
    };
    match shutdown.within(POST_GRACE, work).await {
        Some(Ok(accepted)) => Ok(Some(accepted)),
        Some(Err(ApiError::DeadlineReached { .. })) => {
            report.result = RunResult::Timeout;
            report.reason = Some(format!("the timeout passed while {}", may_exist(report)));
            Ok(None)
        }
        Some(Err(error @ ApiError::Transport { .. })) => {
            // Sent, then the connection failed: it may have been processed.
            report.cancel_note = Some(may_exist(report));
            Err(error.into())
        }
        Some(Err(error)) => Err(error.into()),
        None => {
            let signal = shutdown.received().unwrap_or("a signal");
            report.result = RunResult::Cancelled;
            report.interrupted_by = shutdown.received();
            report.reason = Some(format!(
                "the CI job was cancelled ({signal}) and {}",
                may_exist(report)
            ));
            Ok(None)
        }
    }
}

/// What the wait saw of ours: the last state (never the 202's `DEPLOYMENT_QUEUED` once more was
/// seen), the execution id and its console link.
fn note_seen(report: &mut Report, tracker: &Tracker, console: Option<&crate::console::Console>) {
    if let Some(state) = tracker.last_state() {
        report.state = Some(state.to_string());
    }
    report.execution_ids = tracker
        .execution_id()
        .map(str::to_string)
        .into_iter()
        .collect();
    if let Some(console) = console {
        report.console_url = Some(console.deployment(tracker.execution_id()));
    }
}

/// The listed services that did not succeed, with what the statuses say of them: a failed state,
/// or (after a timeout) where they stood. Services that were not part of the deployment and did
/// not fail have no log to show.
fn failing(
    targets: &[Target],
    statuses: Option<&EnvironmentStatuses>,
    execution: Option<&str>,
) -> Vec<Failing> {
    targets
        .iter()
        .filter_map(|target| {
            let status = statuses.and_then(|s| s.service(&target.id));
            let class = status.map(|s| s.state.class());
            let skipped = status.is_some_and(|s| s.is_part_last_deployment == Some(false));
            if class == Some(StateClass::Success) || (skipped && class != Some(StateClass::Failure))
            {
                return None;
            }
            Some(Failing {
                id: target.id.clone(),
                name: target.name.clone(),
                state: status.map(|s| s.state.to_string()),
                execution_id: status.and_then(|s| s.execution_id.clone()),
                execution: execution.map(str::to_string),
            })
        })
        .collect()
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
