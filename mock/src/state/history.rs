//! `GET /environment/{id}/deploymentHistoryV2`: one `DeploymentHistoryEnvironmentV2` per
//! execution (the previous deployment and every request that started), newest first, with each
//! service's state, status details and the version it deployed.

use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Value, json};

use super::{
    DeploymentRequest, Outcome, PREVIOUS_DEPLOYMENT_AGE, PREVIOUS_DEPLOYMENT_SECONDS, Progress,
    World, busy, environment_state, execution_id,
};
use crate::api::{Action, ActionStatus, Origin, State, StatusDetails};
use crate::fixtures::{self, SERVICES, ServiceType, Source, ids};

/// `DeploymentHistoryEnvironmentPaginatedResponseListV2`.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct HistoryPage {
    pub page: u32,
    pub page_size: u32,
    pub results: Vec<Value>,
}

/// `DeploymentHistoryActionStatus` of a request at this progress.
fn action_status(progress: Progress) -> &'static str {
    match progress {
        Progress::Queued => "QUEUED",
        Progress::Running(_) => "ONGOING",
        Progress::Canceling => "CANCELING",
        Progress::Done(Outcome::Success) => "SUCCESS",
        Progress::Done(Outcome::Failure) => "ERROR",
        Progress::Done(Outcome::Canceled) => "CANCELED",
    }
}

/// `StageStatusEnum` of a stage whose services have these action statuses.
fn stage_status(statuses: &[ActionStatus]) -> &'static str {
    let any = |wanted: &[ActionStatus]| statuses.iter().any(|s| wanted.contains(s));
    if any(&[ActionStatus::Error]) {
        "ERROR"
    } else if any(&[ActionStatus::Canceled]) {
        "CANCELED"
    } else if statuses.iter().all(|s| *s == ActionStatus::Success) {
        "DONE"
    } else if statuses.iter().all(|s| *s == ActionStatus::Queued) {
        "QUEUED"
    } else {
        "ONGOING"
    }
}

/// An ISO 8601 duration (`format: duration`): `PT42S`.
fn duration(length: Duration) -> String {
    format!("PT{}S", length.as_secs())
}

fn trigger_action(action: Action) -> &'static str {
    match action {
        Action::Deploy => "DEPLOY",
        Action::Stop => "STOP",
        Action::Delete => "DELETE",
    }
}

fn origin(origin: Origin) -> &'static str {
    match origin {
        Origin::Api => "API",
        Origin::Console => "CONSOLE",
    }
}

/// `DeploymentHistoryServiceDetails` of a service deployed at `version` in execution `execution`:
/// the branch of the oneOf for its type.
fn details(service: usize, version: &str, execution: &str, created_at: &str) -> Value {
    let def = &SERVICES[service];
    let commit = || {
        json!({
            "created_at": created_at,
            "git_commit_id": version,
            "tag": version.chars().take(7).collect::<String>(),
            "message": format!("Deploy {} at {}", def.name, version),
            "author_name": fixtures::API_USER,
        })
    };
    let image = || format!("acme/{}", def.name);
    match def.service_type {
        ServiceType::Application => json!({
            "commit": commit(),
            "build_pod_name": format!("build-{execution}-0"),
        }),
        ServiceType::Container => json!({
            "image_name": image(),
            "tag": version,
            "arguments": [],
        }),
        ServiceType::Job => {
            let job_type = if def.id == ids::REPORT {
                "CRON"
            } else {
                "LIFECYCLE"
            };
            match def.source {
                Source::Git => json!({
                    "image_name": image(),
                    "tag": version.chars().take(12).collect::<String>(),
                    "commit": commit(),
                    "job_type": job_type,
                    "build_pod_name": format!("build-{execution}-0"),
                }),
                _ => json!({ "image_name": image(), "tag": version, "job_type": job_type }),
            }
        }
        ServiceType::Helm => match def.source {
            Source::HelmRepository => json!({
                "repository": { "chart_name": def.name, "chart_version": version },
            }),
            _ => json!({ "commit": commit() }),
        },
        // Terraform sources are git: the commit, in the branch without required fields.
        ServiceType::Terraform => json!({ "commit": commit() }),
        ServiceType::Database => json!({}),
    }
}

/// One service of one execution.
struct Entry {
    service: usize,
    state: State,
    status: ActionStatus,
    action: Action,
    version: String,
}

impl World {
    /// `QueuedDeploymentRequestWithStages.stages` of a queued request: its services, grouped by
    /// deployment stage, all `QUEUED`.
    pub(super) fn queued_stages(&self, request: &DeploymentRequest) -> Vec<Value> {
        self.stages()
            .all()
            .into_iter()
            .filter_map(|stage| {
                let services: Vec<Value> = request
                    .targets
                    .iter()
                    .map(|t| &SERVICES[t.service])
                    .filter(|def| stage.services.iter().any(|s| s.service_id == def.id))
                    .map(|def| {
                        json!({
                            "identifier": {
                                "service_id": def.id,
                                "service_type": def.service_type.as_str(),
                                "name": def.name,
                            },
                            "status": "QUEUED",
                        })
                    })
                    .collect();
                (!services.is_empty()).then(
                    || json!({ "name": stage.name, "status": "QUEUED", "services": services }),
                )
            })
            .collect()
    }

    /// The history page: the `page_size` newest executions.
    pub(crate) fn history(&self, now: Instant, page_size: u32) -> HistoryPage {
        let mut results = Vec::new();
        // Versions as each execution found them, replayed in execution order.
        let mut versions: Vec<String> = SERVICES
            .iter()
            .map(|s| s.initial_version.to_owned())
            .collect();
        if self.has_history {
            results.push(self.previous_execution(&versions));
        }
        let mut started: Vec<&DeploymentRequest> =
            self.requests.iter().filter(|r| r.run().is_some()).collect();
        started.sort_by_key(|r| r.run().map(|run| run.execution));
        for request in started {
            results.push(self.execution(request, now, &mut versions));
        }
        results.reverse();
        results.truncate(page_size as usize);
        HistoryPage {
            page: 1,
            page_size,
            results,
        }
    }

    /// The deployment that happened before the mock started: every service, `DEPLOYED`.
    fn previous_execution(&self, versions: &[String]) -> Value {
        let at = self.clock.date_before_epoch(PREVIOUS_DEPLOYMENT_AGE);
        let entries = (0..SERVICES.len())
            .map(|service| Entry {
                service,
                state: State::Deployed,
                status: ActionStatus::Success,
                action: Action::Deploy,
                version: versions[service].clone(),
            })
            .collect();
        self.render(
            ids::PREVIOUS_EXECUTION,
            (&at, &at),
            (Origin::Console, fixtures::OTHER_USER),
            (State::Deployed, "SUCCESS", Action::Deploy),
            Duration::from_secs(PREVIOUS_DEPLOYMENT_SECONDS),
            entries,
        )
    }

    /// One started request, its versions taken from (and, once it succeeded, written to) `versions`.
    fn execution(
        &self,
        request: &DeploymentRequest,
        now: Instant,
        versions: &mut [String],
    ) -> Value {
        let Some(run) = request.run() else {
            return Value::Null;
        };
        let progress = request.progress(now);
        let id = execution_id(run.execution);
        let entries: Vec<Entry> = request
            .targets
            .iter()
            .enumerate()
            .map(|(position, target)| {
                let (state, status) = request.service_view(target.service, progress);
                let asked = target
                    .version
                    .clone()
                    .filter(|_| busy::applies_version(self.scenario, request, position));
                Entry {
                    service: target.service,
                    state,
                    status,
                    action: request.kind.action(),
                    version: asked.unwrap_or_else(|| versions[target.service].clone()),
                }
            })
            .collect();
        if let Progress::Done(outcome) = progress {
            if outcome != Outcome::Canceled {
                for entry in &entries {
                    if !request.fails(entry.service) {
                        versions[entry.service].clone_from(&entry.version);
                    }
                }
            }
        }
        let end = run.finished.map_or(now, |(at, _)| at);
        let created = self.clock.date(run.started_at);
        let updated = self.clock.date(end);
        self.render(
            &id,
            (&created, &updated),
            (request.origin, request.triggered_by),
            (
                environment_state(progress),
                action_status(progress),
                request.kind.action(),
            ),
            end.saturating_duration_since(run.started_at),
            entries,
        )
    }

    /// A `DeploymentHistoryEnvironmentV2`, services grouped by their deployment stage.
    fn render(
        &self,
        execution: &str,
        (created, updated): (&str, &str),
        (who_origin, who): (Origin, &str),
        (state, status, action): (State, &str, Action),
        length: Duration,
        entries: Vec<Entry>,
    ) -> Value {
        let auditing = json!({
            "created_at": created,
            "updated_at": updated,
            "triggered_by": who,
            "origin": origin(who_origin),
        });
        let mut stages: Vec<(String, Vec<Value>, Vec<ActionStatus>)> = Vec::new();
        for stage in self.stages().all() {
            let members: Vec<&Entry> = entries
                .iter()
                .filter(|e| {
                    stage
                        .services
                        .iter()
                        .any(|s| s.service_id == SERVICES[e.service].id)
                })
                .collect();
            if members.is_empty() {
                continue;
            }
            let services = members
                .iter()
                .map(|e| {
                    let def = &SERVICES[e.service];
                    json!({
                        "identifier": {
                            "name": def.name,
                            "service_id": def.id,
                            "service_type": def.service_type.as_str(),
                            "execution_id": execution,
                        },
                        "status": e.state,
                        "auditing_data": auditing,
                        "details": details(e.service, &e.version, execution, created),
                        "status_details": StatusDetails::new(e.action, e.status),
                        "icon_uri": format!("https://console.qovery.com/assets/services/{}.svg", def.service_type.as_str().to_lowercase()),
                        "total_duration": duration(length),
                    })
                })
                .collect();
            let statuses = members.iter().map(|e| e.status).collect();
            stages.push((stage.name.to_owned(), services, statuses));
        }
        let stages: Vec<Value> = stages
            .into_iter()
            .map(|(name, services, statuses)| {
                json!({
                    "name": name,
                    "status": stage_status(&statuses),
                    "duration": duration(length),
                    "services": services,
                })
            })
            .collect();
        json!({
            "identifier": { "execution_id": execution, "environment_id": ids::ENVIRONMENT },
            "auditing_data": auditing,
            "status": state,
            "trigger_action": trigger_action(action),
            "total_duration": duration(length),
            "stages": stages,
            "action_status": status,
        })
    }
}
