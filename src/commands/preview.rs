//! `command: preview` and `preview-delete`: one preview environment per pull or merge request,
//! cloned from the environment `environment-id` names (the blueprint).
//!
//! `preview`:
//! 1. Read-only: `GET /environment/{blueprint}` (its project and name) and
//!    `GET /environment/{blueprint}/services`. The listed services are resolved and planned against
//!    the blueprint, so a bad entry stops the run (exit 2) before anything exists. A UUID listed is
//!    a blueprint service's and is mapped to its name: the preview's services are the blueprint's
//!    under new ids.
//! 2. `GET /project/{project}/environment`: an environment with the preview's name (compared
//!    case-insensitively, as Qovery does) is reused, once checked to be a `PREVIEW` environment other
//!    than the blueprint. Otherwise `POST /environment/{blueprint}/clone` (`mode: PREVIEW`,
//!    `cluster_id`, `apply_deployment_rule`). A 409 means a concurrent run (a push while the previous
//!    run still deploys) made it first, or an operation holds the blueprint: the list is read again
//!    and the environment reused if it is there now; otherwise the 409 is the run's error.
//! 3. `GET /environment/{preview}/services` until every listed service is there (a new clone's
//!    services take a moment to appear), then `GET /environment/{preview}/statuses`, the baseline.
//!    A reused environment being deleted (a pull request closed and reopened) is waited out, then
//!    cloned again.
//! 4. The batched deploy and its wait, exactly as `deploy` ([`deploy::deploy_planned`]): our
//!    deployment request only, cancelled on timeout and signal.
//! 5. On success, `GET /environment/{preview}/link` for the `url` and `urls` outputs.
//!
//! `preview-delete`: `GET /environment/{blueprint}`, `GET /project/{project}/environment`; no
//! environment by that name is success (a closed pull request may never have had one). The
//! blueprint, or an environment whose mode is not `PREVIEW`, is refused (exit 2), naming it.
//! Otherwise `DELETE /environment/{id}`, and with `wait`, `GET /environment/{id}/status` once per
//! poll until it answers 404.

use crate::api::types::{
    CloneEnvironmentRequest, Environment, EnvironmentMode, EnvironmentStatus, ServiceInfo,
};
use crate::api::{ApiError, Call, Client};
use crate::ci::Ci;
use crate::commands::Session;
use crate::commands::deploy::{self, Destination};
use crate::console::Console;
use crate::error::Error;
use crate::inputs::{Command, Config, Entry, InputError, PreviewName, Reference};
use crate::plan::{self, DeployPlan};
use crate::preflight;
use crate::report::{PreviewReport, Report, RunResult};
use crate::wait::{ChangeLog, End, Halt, Pacer, Reading, Stop, Watch};

/// States of an environment on its way out: a preview found so is waited out, then cloned anew.
const DELETING: [&str; 4] = ["DELETE_QUEUED", "DELETING", "WAITING_DELETING", "DELETED"];

/// Runs `command: preview` or `preview-delete` (see the module docs).
pub async fn run(session: Session<'_>, report: &mut Report) -> Result<(), Error> {
    match session.config.command {
        Command::PreviewDelete => delete(session, report).await,
        _ => preview(session, report).await,
    }
}

/// How the preview environment came to be used by this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// This run cloned it.
    Cloned,
    /// It was there before this run.
    Existing,
    /// A concurrent run cloned it while this one tried to (the clone's 409).
    Concurrent,
}

async fn preview(session: Session<'_>, report: &mut Report) -> Result<(), Error> {
    let Session {
        config,
        client,
        ci,
        shutdown,
        deadline,
    } = session;
    let name = preview_name(config)?;
    let blueprint_id = config.environment_id.to_string();
    report.preview = Some(PreviewReport {
        environment_name: name.name.clone(),
        ..PreviewReport::default()
    });

    ci.begin_section("Preview environment");
    ci.line(&format!(
        "Preview environment `{}` ({}), blueprint environment {blueprint_id}",
        name.name, name.source
    ));
    let (blueprint, blueprint_services) = preflight::read(shutdown, async {
        Ok((
            client.environment(&blueprint_id).await?,
            client.services(&blueprint_id).await?,
        ))
    })
    .await?;
    refuse_blueprint_name(name, &blueprint, &blueprint_id)?;
    // Every entry resolved and its version checked in the blueprint before anything is created.
    DeployPlan::new(config, &blueprint_services)?;
    let entries = named_as_in(&config.entries, &blueprint_services)?;
    let project = project_of(&blueprint, &blueprint_id)?;

    let mut found = preflight::read(shutdown, find(client, &project, &name.name)).await?;
    let mut rounds = 0;
    let (environment, origin, services, baseline) = loop {
        rounds += 1;
        let (environment, origin) = match found.take() {
            Some(environment) => {
                check_reusable(
                    &environment,
                    &blueprint_id,
                    name,
                    "deploy a pull request to",
                )?;
                (environment, Origin::Existing)
            }
            None => {
                if let Some(signal) = shutdown.received() {
                    return Err(Error::Interrupted(signal));
                }
                clone(config, client, ci, &blueprint_id, &project, name).await?
            }
        };
        let id = checked_id(&environment, "/project/{projectId}/environment")?;
        note_environment(report, &environment, &id, origin);
        // Once found, the environment is called by its own name (`pr-1` for a `PR-1` asked for).
        let called = own_name(&environment, &name.name);
        ci.progress(&match origin {
            Origin::Cloned => format!("cloned environment {blueprint_id} into `{called}` ({id})"),
            Origin::Concurrent => format!(
                "`{called}` ({id}) was created by a concurrent run a moment ago; reusing it"
            ),
            Origin::Existing => format!("reusing preview environment `{called}` ({id})"),
        });

        let mut pacer = Pacer::new(Watch::new(client, &id, config, deadline), shutdown);
        let services = match ready(&mut pacer, &entries, origin, &called, ci).await {
            Ok(services) => services?,
            Err(halt) => return stopped_before_deploy(halt, config, report, ci),
        };
        let baseline = pacer.call(client.statuses(&id)).await;
        let baseline = match baseline {
            Ok(baseline) => baseline,
            Err(halt) => return stopped_before_deploy(halt, config, report, ci),
        };
        if origin == Origin::Existing && is_deleting(&baseline.environment) && rounds == 1 {
            ci.progress(&format!(
                "`{}` ({id}) is being deleted ({}): waiting for it to be gone, then cloning it again",
                called, baseline.environment.state
            ));
            let mut changes = ChangeLog::default();
            match End::from_wait(follow_deletion(&mut pacer, &id, ci, &mut changes).await)? {
                End::Finished(Gone::Deleted) => {}
                End::Finished(Gone::Failed(state)) => {
                    report.result = RunResult::Failure;
                    report.reason = Some(format!(
                        "`{}` ({id}) was being deleted and its deletion failed ({state}); it can neither be reused nor cloned again under this name",
                        called
                    ));
                    return Ok(());
                }
                End::Stopped(stop) => {
                    return stopped_before_deploy(Halt::Stop(stop), config, report, ci);
                }
            }
            continue;
        }
        break (environment, origin, services, baseline);
    };
    let id = checked_id(&environment, "/project/{projectId}/environment")?;
    let called = own_name(&environment, &name.name);
    let plan = DeployPlan::from_entries(config, &entries, &services)?;
    let console = Console::new(config, &environment);
    ci.end_section();

    ci.begin_section("Plan");
    let destination = Destination {
        id: &id,
        name: Some(&called),
        services: &services,
        baseline: &baseline,
        console: console.as_ref(),
    };
    let session = Session {
        config,
        client,
        ci: &mut *ci,
        shutdown: &mut *shutdown,
        deadline,
    };
    // On success, deploy_planned also reads where the services answer (`url`, `urls`).
    deploy::deploy_planned(session, destination, &plan, report).await?;
    if origin == Origin::Concurrent {
        concurrent_note(ci, &called);
    }
    Ok(())
}

/// The concurrent run that made the environment may still deploy to it: both deployments are
/// queued by Qovery, one after the other; say so once.
fn concurrent_note(ci: &Ci, name: &str) {
    ci.line(&format!(
        "note: another run created `{name}` at the same time; Qovery runs both runs' deployments one after the other"
    ));
}

/// The preview's name from the configuration (always there for the preview commands).
fn preview_name(config: &Config) -> Result<&PreviewName, Error> {
    config.preview.as_ref().ok_or_else(|| {
        Error::Input(InputError::new(
            "preview-name",
            "not set (no pull or merge request to name the preview after)",
        ))
    })
}

/// `preview` never redeploys the blueprint: a name equal to the blueprint's is refused.
fn refuse_blueprint_name(
    name: &PreviewName,
    blueprint: &Environment,
    blueprint_id: &str,
) -> Result<(), Error> {
    if blueprint.is_named(&name.name) {
        return Err(Error::Input(
            InputError::new(
                "preview-name",
                format!(
                    "`{}` is the name of the blueprint environment {blueprint_id} itself",
                    name.name
                ),
            )
            .hint("a preview environment needs a name of its own; set `preview-name`, or run on a pull or merge request"),
        ));
    }
    Ok(())
}

/// Refuses an environment found by the preview's name that is the blueprint, or not a `PREVIEW`
/// environment: the preview commands never touch those. `what` completes "refusing to …".
fn check_reusable(
    environment: &Environment,
    blueprint_id: &str,
    name: &PreviewName,
    what: &str,
) -> Result<(), Error> {
    let id = &environment.id;
    // The name asked for: the API's matches it but for case, and is outside text.
    let called = &name.name;
    if id.eq_ignore_ascii_case(blueprint_id) {
        return Err(Error::Input(
            InputError::new(
                "preview-name",
                format!(
                    "`{called}` ({id}) is the blueprint environment itself: refusing to {what} it"
                ),
            )
            .hint("a preview environment needs a name of its own; set `preview-name`"),
        ));
    }
    if !environment.is_preview() {
        // Outside text: printed only when it looks like an `EnvironmentModeEnum` value.
        let mode = environment
            .mode
            .as_deref()
            .filter(|m| {
                !m.is_empty()
                    && m.len() <= 32
                    && m.bytes().all(|b| b.is_ascii_uppercase() || b == b'_')
            })
            .unwrap_or("unknown");
        return Err(Error::Input(
            InputError::new(
                "preview-name",
                format!(
                    "environment `{called}` ({id}) is a {mode} environment, not a PREVIEW one: refusing to {what} it"
                ),
            )
            .hint("choose a `preview-name` that no other environment of the project uses"),
        ));
    }
    Ok(())
}

/// The listed entries with each service named as in the blueprint (a listed UUID is a blueprint
/// service's; the preview's has another id).
fn named_as_in(entries: &[Entry], blueprint: &[ServiceInfo]) -> Result<Vec<Entry>, Error> {
    Ok(plan::resolve(entries, blueprint)?
        .into_iter()
        .map(|(entry, service)| Entry {
            reference: Reference::Name(service.name),
            ..entry
        })
        .collect())
}

/// The blueprint's project id, which the environment list is read from.
fn project_of(blueprint: &Environment, blueprint_id: &str) -> Result<String, Error> {
    blueprint
        .project
        .as_ref()
        .and_then(|p| uuid::Uuid::try_parse(&p.id).ok())
        .map(|id| id.to_string())
        .ok_or_else(|| {
            Error::Api(ApiError::Decode {
                call: get(format!("/environment/{blueprint_id}")),
                message: "the environment's answer names no project (`project.id`), so its preview environments cannot be listed".into(),
            })
        })
}

/// The id of an environment from an answer, checked to be a UUID before it goes into a path.
fn checked_id(environment: &Environment, path: &str) -> Result<String, Error> {
    uuid::Uuid::try_parse(&environment.id)
        .map(|id| id.to_string())
        .map_err(|_| {
            Error::Api(ApiError::Decode {
                call: get(path.to_string()),
                message: "the environment found has no valid id (not a UUID)".to_string(),
            })
        })
}

fn get(path: String) -> Call {
    Call {
        method: reqwest::Method::GET,
        path,
    }
}

/// The project's environment named `name` (case-insensitively), if any.
async fn find(client: &Client, project: &str, name: &str) -> Result<Option<Environment>, ApiError> {
    let environments = client.project_environments(project).await?;
    Ok(environments.into_iter().find(|e| e.is_named(name)))
}

/// `POST /environment/{blueprint}/clone`; a 409 reads the list again for a concurrent run's.
async fn clone(
    config: &Config,
    client: &Client,
    ci: &mut Ci,
    blueprint_id: &str,
    project: &str,
    name: &PreviewName,
) -> Result<(Environment, Origin), Error> {
    let request = CloneEnvironmentRequest {
        name: name.name.clone(),
        mode: EnvironmentMode::Preview,
        cluster_id: config.cluster_id.map(|id| id.to_string()),
        apply_deployment_rule: config.apply_deployment_rule,
    };
    // Not raced against signals, as the deploy POST: the answer says what exists now.
    match client.clone_environment(blueprint_id, &request).await {
        Ok(environment) if uuid::Uuid::try_parse(&environment.id).is_ok() => {
            Ok((environment, Origin::Cloned))
        }
        Ok(_) => {
            // Accepted without a usable body: find it by name.
            match find(client, project, &name.name).await? {
                Some(environment) => Ok((environment, Origin::Cloned)),
                None => Err(Error::Api(ApiError::Decode {
                    call: Call {
                        method: reqwest::Method::POST,
                        path: format!("/environment/{blueprint_id}/clone"),
                    },
                    message: format!(
                        "the clone was accepted, but no environment named `{}` is in the project",
                        name.name
                    ),
                })),
            }
        }
        Err(error) if error.is_conflict() => {
            ci.progress(&format!(
                "the clone answered 409 ({}); reading the project's environments again",
                error_reason(&error)
            ));
            match find(client, project, &name.name).await? {
                Some(environment) => {
                    check_reusable(&environment, blueprint_id, name, "deploy a pull request to")?;
                    Ok((environment, Origin::Concurrent))
                }
                None => Err(Error::Api(error)),
            }
        }
        Err(error) => Err(Error::Api(error)),
    }
}

/// The message of an API error, without its hint, for a one-line note.
fn error_reason(error: &ApiError) -> String {
    error
        .to_string()
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Records the preview environment in the report as soon as it is known, so that every end of the
/// run (error included) outputs it.
fn note_environment(report: &mut Report, environment: &Environment, id: &str, origin: Origin) {
    if let Some(preview) = &mut report.preview {
        preview.environment_id = Some(id.to_string());
        preview.environment_name = own_name(environment, &preview.environment_name);
        preview.created = Some(origin == Origin::Cloned);
    }
}

/// The environment's name as Qovery spells it (`PR-3` for a `pr-3` asked for), trimmed, when it
/// is the name asked for but for case: then it is made of the same, checked, characters. Anything
/// else from the API is outside text, and the name asked for is kept.
fn own_name(environment: &Environment, asked: &str) -> String {
    environment
        .name
        .as_deref()
        .map(str::trim)
        .filter(|own| environment.is_named(asked) && !own.chars().any(char::is_control))
        .unwrap_or(asked)
        .to_string()
}

/// Whether an environment status says it is on its way out.
fn is_deleting(status: &EnvironmentStatus) -> bool {
    DELETING.contains(&status.state.as_str().to_ascii_uppercase().as_str())
}

/// The listed entries not (yet) in `services`, by name, for messages.
fn missing(entries: &[Entry], services: &[ServiceInfo]) -> Vec<String> {
    entries
        .iter()
        .filter(|entry| plan::resolve(std::slice::from_ref(entry), services).is_err())
        .map(|entry| match &entry.reference {
            Reference::Name(name) => name.clone(),
            Reference::Id(id) => id.to_string(),
        })
        .collect()
}

/// The preview's services once every listed one is there: a new clone's take a few reads to
/// appear, so it is read once per poll; an environment that existed before is read once (a listed
/// service missing there is bad input: it was cloned before the service was added).
async fn ready(
    pacer: &mut Pacer<'_>,
    entries: &[Entry],
    origin: Origin,
    name: &str,
    ci: &Ci,
) -> Result<Result<Vec<ServiceInfo>, Error>, Halt> {
    let id = pacer.watch.environment_id;
    let client = pacer.poller();
    let mut changes = ChangeLog::default();
    loop {
        // A transient failure is a missed poll (issue 13), as in every wait.
        let Some(services) = pacer
            .read(ci, Reading::Environment, client.services(id))
            .await?
        else {
            pacer.pause().await?;
            continue;
        };
        let absent = missing(entries, &services);
        if absent.is_empty() {
            return Ok(Ok(services));
        }
        if origin == Origin::Existing {
            return Ok(Err(Error::Input(
                InputError::new(
                    entries
                        .first()
                        .map(|e| e.kind.input())
                        .unwrap_or("applications"),
                    format!(
                        "not in preview environment `{name}` ({id}): {}",
                        absent.join(", ")
                    ),
                )
                .hint("it was cloned before these services were added to the blueprint (or they were removed from it); delete it (`command: preview-delete`) so that the next run clones the blueprint again"),
            )));
        }
        changes.line(
            ci,
            "setup",
            format!(
                "waiting for the new environment's services: {} of {} listed there yet",
                entries.len() - absent.len(),
                entries.len()
            ),
        );
        pacer.pause().await?;
    }
}

/// The run stopped (timeout, signal, or an API failure) after the preview environment was found or
/// made, but before anything was deployed: nothing of ours runs, nothing to cancel.
fn stopped_before_deploy(
    halt: Halt,
    config: &Config,
    report: &mut Report,
    ci: &Ci,
) -> Result<(), Error> {
    let name = report
        .preview
        .as_ref()
        .map(|p| p.environment_name.clone())
        .unwrap_or_default();
    match halt {
        Halt::Api(error) => Err(Error::Api(error)),
        Halt::Stop(Stop::TimedOut) => {
            report.result = RunResult::Timeout;
            report.reason = Some(format!(
                "the preview environment `{name}` was not ready to deploy within the timeout ({}s); nothing was deployed",
                config.timeout.as_secs()
            ));
            Ok(())
        }
        Halt::Stop(Stop::Interrupted(signal)) => {
            ci.progress(&format!(
                "interrupted by {signal} before the deploy: nothing was deployed (the preview environment `{name}` stays)"
            ));
            report.result = RunResult::Cancelled;
            report.reason = Some(format!(
                "the CI job was cancelled ({signal}) before anything was deployed to `{name}`"
            ));
            report.interrupted_by = Some(signal);
            Ok(())
        }
    }
}

// ---------------------------------------------------------------------------------------------
// preview-delete

/// How a followed deletion ended.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Gone {
    /// The environment answers 404.
    Deleted,
    /// It reached an error state (`DELETE_ERROR`).
    Failed(String),
}

async fn delete(session: Session<'_>, report: &mut Report) -> Result<(), Error> {
    let Session {
        config,
        client,
        ci,
        shutdown,
        deadline,
    } = session;
    let name = preview_name(config)?;
    let blueprint_id = config.environment_id.to_string();
    report.preview = Some(PreviewReport {
        environment_name: name.name.clone(),
        ..PreviewReport::default()
    });

    ci.begin_section("Preview environment");
    ci.line(&format!(
        "Deleting preview environment `{}` ({}), blueprint environment {blueprint_id}",
        name.name, name.source
    ));
    let blueprint = preflight::read(shutdown, client.environment(&blueprint_id)).await?;
    if blueprint.is_named(&name.name) {
        return Err(Error::Input(
            InputError::new(
                "preview-name",
                format!(
                    "`{}` is the name of the blueprint environment {blueprint_id} itself: refusing to delete it",
                    name.name
                ),
            )
            .hint("preview-delete deletes preview environments only; check `preview-name`"),
        ));
    }
    let project = project_of(&blueprint, &blueprint_id)?;
    let found = preflight::read(shutdown, find(client, &project, &name.name)).await?;
    let Some(environment) = found else {
        ci.progress(&format!(
            "no environment named `{}` in the project: nothing to delete",
            name.name
        ));
        report.result = RunResult::Success;
        return Ok(());
    };
    check_reusable(&environment, &blueprint_id, name, "delete")?;
    let id = checked_id(&environment, "/project/{projectId}/environment")?;
    let called = own_name(&environment, &name.name);
    if let Some(preview) = &mut report.preview {
        preview.environment_id = Some(id.clone());
        preview.environment_name = called.clone();
    }
    report.console_url = Console::new(config, &environment).map(|c| c.environment().to_string());
    if let Some(signal) = shutdown.received() {
        return Err(Error::Interrupted(signal));
    }
    // Not raced against signals: once sent, the answer says whether the deletion started.
    match client.delete_environment(&id).await {
        Ok(()) => ci.progress(&format!("deletion of `{}` ({id}) requested", called)),
        Err(error) if error.status() == Some(404) => {
            ci.progress(&format!("`{}` ({id}) is already gone", called));
            report.result = RunResult::Success;
            report.state = Some("DELETED".into());
            return Ok(());
        }
        Err(error) => return Err(Error::Api(error)),
    }
    ci.end_section();
    if !config.wait && shutdown.received().is_none() {
        report.result = RunResult::Queued;
        return Ok(());
    }

    ci.begin_section("Waiting for the deletion");
    let mut pacer = Pacer::new(Watch::new(client, &id, config, deadline), shutdown);
    let mut changes = ChangeLog::default();
    let end = End::from_wait(follow_deletion(&mut pacer, &id, ci, &mut changes).await)?;
    ci.end_section();
    match end {
        End::Finished(Gone::Deleted) => {
            ci.progress(&format!("`{}` ({id}) is deleted", called));
            report.result = RunResult::Success;
            report.state = Some("DELETED".into());
            // Its console page is gone with it.
            report.console_url = None;
        }
        End::Finished(Gone::Failed(state)) => {
            report.result = RunResult::Failure;
            report.reason = Some(format!("the deletion of `{}` failed: {state}", called));
            report.state = Some(state);
        }
        End::Stopped(Stop::TimedOut) => {
            report.result = RunResult::Timeout;
            report.reason = Some(format!(
                "`{}` was not gone within the timeout ({}s); its deletion goes on in Qovery",
                called,
                config.timeout.as_secs()
            ));
        }
        End::Stopped(Stop::Interrupted(signal)) => {
            report.result = RunResult::Cancelled;
            report.reason = Some(format!(
                "the CI job was cancelled ({signal}) while waiting; the deletion of `{}` goes on in Qovery (a deletion cannot be cancelled)",
                called
            ));
            report.interrupted_by = Some(signal);
        }
    }
    Ok(())
}

/// Follows a deleted environment: `GET /environment/{id}/status` once per poll until it answers
/// 404 (gone) or shows an error state. A state change is printed once. Failures that may pass (429,
/// 5xx, network, after the client's own retries) are a missed poll; a refused token ends it.
async fn follow_deletion(
    pacer: &mut Pacer<'_>,
    id: &str,
    ci: &Ci,
    changes: &mut ChangeLog,
) -> Result<Gone, Halt> {
    let client = pacer.watch.client;
    loop {
        let read = pacer
            .call(async {
                match client.status(id).await {
                    Ok(status) => Ok(Some(Ok(status))),
                    Err(error) if error.status() == Some(404) => Ok(None),
                    Err(error) if matches!(error.status(), Some(401 | 403)) => Err(error),
                    Err(error) => Ok(Some(Err(error))),
                }
            })
            .await?;
        match read {
            None => return Ok(Gone::Deleted),
            Some(Ok(status)) => {
                changes.state(ci, "environment", "environment", status.state.as_str());
                if status.state.class() == crate::api::types::StateClass::Failure {
                    return Ok(Gone::Failed(status.state.to_string()));
                }
            }
            Some(Err(error)) => changes.line(
                ci,
                "missed",
                format!(
                    "could not read the status ({}); trying again at the next poll",
                    error_reason(&error)
                ),
            ),
        }
        pacer.pause().await?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::NameSource;
    use crate::kind::ServiceKind;
    use crate::plan::VersionField;

    fn services() -> Vec<ServiceInfo> {
        serde_json::from_value(serde_json::json!([
            {"id": "a1000000-0000-4000-8000-000000000001", "name": "API", "service_type": "APPLICATION"},
            {"id": "a1000000-0000-4000-8000-000000000002", "name": "web", "service_type": "APPLICATION"},
            {"id": "c1000000-0000-4000-8000-000000000001", "name": "worker", "service_type": "CONTAINER"},
        ]))
        .unwrap()
    }

    fn entry(kind: ServiceKind, reference: Reference) -> Entry {
        Entry {
            kind,
            raw: "x".into(),
            reference,
            version: None,
        }
    }

    fn name(text: &str) -> PreviewName {
        PreviewName {
            name: text.into(),
            source: NameSource::Input,
        }
    }

    fn environment(json: serde_json::Value) -> Environment {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn listed_uuids_are_mapped_to_the_blueprint_names() {
        let id = uuid::Uuid::parse_str("a1000000-0000-4000-8000-000000000001").unwrap();
        let entries = vec![
            entry(ServiceKind::Application, Reference::Id(id)),
            entry(ServiceKind::Container, Reference::Name("WORKER".into())),
        ];
        let named = named_as_in(&entries, &services()).unwrap();
        assert_eq!(named[0].reference, Reference::Name("API".into()));
        assert_eq!(named[1].reference, Reference::Name("worker".into()));
        assert_eq!(named[0].raw, "x");
        let unknown = uuid::Uuid::parse_str("a1000000-0000-4000-8000-00000000000f").unwrap();
        let error = named_as_in(
            &[entry(ServiceKind::Application, Reference::Id(unknown))],
            &services(),
        )
        .unwrap_err();
        assert!(
            matches!(error, Error::Input(ref e) if e.input == "applications"),
            "{error}"
        );
    }

    #[test]
    fn missing_names_the_listed_services_not_there() {
        let entries = vec![
            entry(ServiceKind::Application, Reference::Name("api".into())),
            entry(ServiceKind::Container, Reference::Name("worker".into())),
            entry(ServiceKind::Container, Reference::Name("web".into())),
        ];
        assert_eq!(missing(&entries, &services()), ["web"]);
        assert_eq!(missing(&entries, &[]), ["api", "worker", "web"]);
    }

    #[test]
    fn only_a_preview_other_than_the_blueprint_is_reused_or_deleted() {
        let blueprint = "b6a6a1c4-2f0e-4a44-9f4b-6f3e9d2c7a10";
        let ok = environment(
            serde_json::json!({"id": "e0000000-0000-4000-8000-000000000001", "name": "pr-1", "mode": "preview"}),
        );
        assert!(check_reusable(&ok, blueprint, &name("pr-1"), "delete").is_ok());
        for (json, why) in [
            (
                serde_json::json!({"id": blueprint, "name": "pr-1", "mode": "PREVIEW"}),
                "blueprint environment itself",
            ),
            (
                serde_json::json!({"id": "e1", "name": "pr-1", "mode": "PRODUCTION"}),
                "PRODUCTION environment, not a PREVIEW",
            ),
            (
                serde_json::json!({"id": "e1", "name": "pr-1"}),
                "unknown environment",
            ),
            (
                serde_json::json!({"id": "e1", "name": "pr-1", "mode": "STAGING\n::error::forged"}),
                "unknown environment",
            ),
        ] {
            let Err(Error::Input(error)) = check_reusable(
                &environment(json.clone()),
                blueprint,
                &name("pr-1"),
                "delete",
            ) else {
                panic!("{json} was accepted");
            };
            assert_eq!(error.input, "preview-name");
            assert!(error.problem.contains(why), "{}", error.problem);
            assert!(!error.problem.contains("::error"), "{}", error.problem);
            assert!(
                error.problem.contains("refusing to delete"),
                "{}",
                error.problem
            );
        }
        let staging = environment(serde_json::json!({"id": blueprint, "name": "Staging"}));
        assert!(refuse_blueprint_name(&name("staging"), &staging, blueprint).is_err());
        assert!(refuse_blueprint_name(&name("staging-2"), &staging, blueprint).is_ok());
    }

    #[test]
    fn the_name_qovery_spells_is_kept_only_when_it_is_ours_but_for_case() {
        let env = |name: &str| environment(serde_json::json!({"id": "e", "name": name}));
        assert_eq!(own_name(&env(" PR-3 "), "pr-3"), "PR-3");
        assert_eq!(own_name(&env("pr-3\n::error::x"), "pr-3"), "pr-3");
        assert_eq!(own_name(&env("other"), "pr-3"), "pr-3");
        assert_eq!(own_name(&Environment::default(), "pr-3"), "pr-3");
    }

    #[test]
    fn ids_from_answers_must_be_uuids() {
        let bad = environment(serde_json::json!({"id": "../../organization", "name": "pr-1"}));
        assert!(matches!(checked_id(&bad, "/x"), Err(Error::Api(_))));
        let good = environment(serde_json::json!({"id": "E0000000-0000-4000-8000-000000000001"}));
        assert_eq!(
            checked_id(&good, "/x").unwrap(),
            "e0000000-0000-4000-8000-000000000001"
        );
        let no_project =
            environment(serde_json::json!({"id": "e", "project": {"id": "not-a-uuid"}}));
        assert!(project_of(&no_project, "b").is_err());
    }

    #[test]
    fn deleting_states_are_recognised() {
        let status = |state: &str| EnvironmentStatus {
            state: crate::api::types::State::new(state),
            ..Default::default()
        };
        for state in ["DELETING", "delete_queued", "WAITING_DELETING", "DELETED"] {
            assert!(is_deleting(&status(state)), "{state}");
        }
        for state in ["DEPLOYED", "READY", "DELETE_ERROR", "STOPPED"] {
            assert!(!is_deleting(&status(state)), "{state}");
        }
    }

    #[test]
    fn urls_put_the_listed_services_first_and_prefer_default_links() {
        let target = |id: &str, name: &str| crate::plan::Target {
            id: id.into(),
            name: name.into(),
            kind: ServiceKind::Application,
            field: VersionField::GitCommit,
            version: None,
        };
        let link = |service: &str, url: &str, default: bool| crate::api::types::Link {
            service_id: Some(service.into()),
            url: Some(url.into()),
            is_default: Some(default),
            ..Default::default()
        };
        let services = services();
        let links = vec![
            link(
                "a1000000-0000-4000-8000-000000000001",
                "https://p8080-api.example",
                false,
            ),
            link(
                "A1000000-0000-4000-8000-000000000001",
                "https://api.example",
                true,
            ),
            link(
                "a1000000-0000-4000-8000-000000000002",
                "https://web.example",
                true,
            ),
            link(
                "c1000000-0000-4000-8000-000000000001",
                "javascript:alert(1)",
                true,
            ),
        ];
        let targets = [target("a1000000-0000-4000-8000-000000000002", "web")];
        assert_eq!(
            crate::links::pick(&links, &services, &targets).urls,
            [
                ("web".to_string(), "https://web.example".to_string()),
                ("API".to_string(), "https://api.example".to_string()),
            ]
        );
        assert!(crate::links::pick(&[], &services, &targets).urls.is_empty());
    }
}
