//! `command: skip` / `unskip`: keep each listed service in its deployment stage and set whether
//! environment-level deployments skip it.
//!
//! Reads first, writes after: the environment is read for its name (`GET /environment/{id}`), the
//! services are resolved (`GET /environment/{id}/services`) and
//! every service's stage is read (`GET /service/{id}/deploymentStage`) before the first
//! `PUT /deploymentStage/{stageId}/service/{serviceId}`, so a bad name or a refused read changes
//! nothing. A service already in the wanted state is not written to.

use crate::api::types::DeploymentStage;
use crate::commands::Session;
use crate::error::Error;
use crate::inputs::Command;
use crate::plan::{self, Target};
use crate::preflight;
use crate::report::{Report, RunResult, ServiceReport};

/// Runs `command: skip` or `unskip` (see the module docs).
pub async fn run(session: Session<'_>, report: &mut Report) -> Result<(), Error> {
    let Session {
        config,
        client,
        ci,
        shutdown,
        ..
    } = session;
    let skip = config.command == Command::Skip;
    let environment_id = config.environment_id.to_string();
    let (environment, services) = preflight::read(shutdown, async {
        Ok((
            client.environment(&environment_id).await?,
            client.services(&environment_id).await?,
        ))
    })
    .await?;
    let targets: Vec<Target> = plan::resolve(&config.entries, &services)?
        .iter()
        .map(|(entry, service)| Target::bare(entry, service))
        .collect();
    let stages = preflight::read(shutdown, async {
        let mut stages = Vec::with_capacity(targets.len());
        for target in &targets {
            stages.push(client.service_stage(&target.id).await?);
        }
        Ok(stages)
    })
    .await?;
    ci.line(&format!(
        "{} {} service(s) in environment {} ({environment_id}):",
        if skip { "Skipping" } else { "Unskipping" },
        targets.len(),
        environment.name.as_deref().unwrap_or("?")
    ));

    if let Some(signal) = shutdown.received() {
        return Err(Error::Interrupted(signal));
    }
    for (target, stage) in targets.iter().zip(&stages) {
        let changed = stage.is_skipped(&target.id) != Some(skip);
        if changed {
            client.set_skipped(&stage.id, &target.id, skip).await?;
        }
        ci.progress(&describe(target, stage, skip, changed));
        report.services.push(ServiceReport {
            stage: Some(stage_name(stage).to_string()),
            skipped: Some(skip),
            ..ServiceReport::new(target)
        });
    }
    report.result = RunResult::Success;
    Ok(())
}

fn stage_name(stage: &DeploymentStage) -> &str {
    stage.name.as_deref().unwrap_or(&stage.id)
}

/// `api: skipped in stage `apps``, or `api: already skipped in stage `apps`; nothing sent`.
fn describe(target: &Target, stage: &DeploymentStage, skip: bool, changed: bool) -> String {
    let state = if skip { "skipped" } else { "not skipped" };
    let stage = stage_name(stage);
    if changed {
        format!("{}: {state} now, in stage `{stage}`", target.name)
    } else {
        format!(
            "{}: already {state}, in stage `{stage}`; nothing sent",
            target.name
        )
    }
}
