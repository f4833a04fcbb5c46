//! The deployment log the mock serves, `GET /environment/{id}/logs?version=<execution id>`: the
//! lines an execution writes as it goes (the environment's, then each service's build and
//! deploy), as `EnvironmentLogs` entries. In the `fail` scenario the failing service writes what
//! a user has to read: a Docker build that breaks on `npm ci` (git-built services), a pod in
//! `CrashLoopBackOff` (the others), or a migration job that exits 1, each ending in an error entry
//! with `user_log_message`, `hint_message` and `link`.
//!
//! Entries are only served once their time has come, in time order.

use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use crate::fixtures::{SERVICES, ServiceType, ids};
use crate::state::{RequestKind, RunEnd, RunLog, World};

/// Documentation link of the mock's error entries.
const DOCS: &str = "https://www.qovery.com/docs/";

/// The execution number of a `version` (`<environment id>-<n>`).
pub(crate) fn execution_number(version: &str) -> Option<u32> {
    version
        .strip_prefix(ids::ENVIRONMENT)?
        .strip_prefix('-')?
        .parse()
        .ok()
}

/// Who writes an entry.
#[derive(Clone, Copy)]
enum Who {
    Environment,
    Service(usize),
}

struct Writer<'a> {
    world: &'a World,
    execution_id: String,
    entries: Vec<(Instant, u32, Value)>,
}

impl Writer<'_> {
    fn details(&self, who: Who, step: &str) -> Value {
        let (transmitter, stage) = match who {
            Who::Environment => (
                json!({"id": ids::ENVIRONMENT, "name": "staging", "type": "Environment"}),
                json!({"step": step}),
            ),
            Who::Service(index) => {
                let def = &SERVICES[index];
                let kind = match def.service_type {
                    ServiceType::Application => "Application",
                    ServiceType::Container => "Container",
                    ServiceType::Job => "Job",
                    ServiceType::Helm => "Helm",
                    ServiceType::Database => "Database",
                    ServiceType::Terraform => "Terraform",
                };
                let mut stage = Map::new();
                stage.insert("step".into(), step.into());
                if let Some(found) = self.world.stages().of_service(index) {
                    stage.insert("id".into(), found.id.into());
                    stage.insert("name".into(), found.name.into());
                }
                (
                    json!({"id": def.id, "name": def.name, "type": kind}),
                    Value::Object(stage),
                )
            }
        };
        json!({
            "organization_id": ids::ORGANIZATION,
            "cluster_id": ids::CLUSTER,
            "execution_id": self.execution_id,
            "transmitter": transmitter,
            "stage": stage,
        })
    }

    fn push(&mut self, at: Instant, mut entry: Value) {
        // Entries written at the same instant keep their order: a millisecond apart.
        let same = self.entries.iter().filter(|(t, _, _)| *t == at).count() as u32;
        entry["timestamp"] = self
            .world
            .date(at + Duration::from_millis(u64::from(same)))
            .into();
        self.entries.push((at, same, entry));
    }

    fn info(&mut self, at: Instant, who: Who, step: &str, lines: &[String]) {
        for line in lines {
            let entry = json!({
                "type": "info",
                "details": self.details(who, step),
                "message": {"safe_message": line},
            });
            self.push(at, entry);
        }
    }

    fn error(&mut self, at: Instant, who: Who, step: &str, error: Value) {
        let entry = json!({"type": "error", "details": self.details(who, step), "error": error});
        self.push(at, entry);
    }
}

/// A commit is shown as 12 characters, other versions whole.
fn short(version: &str) -> &str {
    if version.len() == 40 && version.bytes().all(|b| b.is_ascii_hexdigit()) {
        &version[..12]
    } else {
        version
    }
}

fn lines(texts: &[&str]) -> Vec<String> {
    texts.iter().map(|t| (*t).to_string()).collect()
}

/// The entries of one execution written by `now`, in time order.
pub(crate) fn entries(world: &World, log: &RunLog, now: Instant) -> Vec<Value> {
    let mut w = Writer {
        world,
        execution_id: format!("{}-{}", ids::ENVIRONMENT, log.execution),
        entries: Vec::new(),
    };
    let names: Vec<&str> = log
        .targets
        .iter()
        .map(|t| SERVICES[t.service].name)
        .collect();
    let start = log.started_at;
    w.info(
        start,
        Who::Environment,
        "Deploy",
        &[format!(
            "Deployment of execution {} started: {}",
            w.execution_id,
            names.join(", ")
        )],
    );
    let half = log.step / 2;
    let finish = log.finished.map(|(at, _)| at);
    let failed = |service: usize| {
        log.failing == Some(service) && matches!(log.finished, Some((_, RunEnd::Failure)))
    };
    for target in &log.targets {
        let index = target.service;
        let def = &SERVICES[index];
        let who = Who::Service(index);
        let version = target
            .version
            .clone()
            .unwrap_or_else(|| world.version(index).to_string());
        let version = short(&version);
        let name = def.name;
        if let RequestKind::Job(event) = log.kind {
            let event = event.map_or("START".to_string(), |e| format!("{e:?}").to_uppercase());
            w.info(
                start,
                who,
                "Deploy",
                &[format!(
                    "Job {name}: running acme/{name}:{version} for event {event}"
                )],
            );
            w.info(
                start + half,
                who,
                "Deploy",
                &lines(&["Applying migration 0042_add_orders_customer_index"]),
            );
            if failed(index) {
                w.info(
                    start + half,
                    who,
                    "Deploy",
                    &lines(&[
                        "ERROR:  relation \"orders_customer_idx\" already exists",
                        "Migration 0042_add_orders_customer_index failed; rolled back",
                    ]),
                );
                if let Some(at) = finish {
                    w.error(
                        at,
                        who,
                        "Deploy",
                        json!({
                            "tag": "JobFailure",
                            "user_log_message": format!("Job {name} exited with code 1 (event {event})."),
                            "hint_message": "A lifecycle job must exit 0 for the deployment to go on: read its output above, fix the job and deploy again.",
                            "link": DOCS,
                            "underlying_error": {"message": "container exited with code 1"},
                        }),
                    );
                }
            } else if let Some((at, RunEnd::Success)) = log.finished {
                w.info(
                    at,
                    who,
                    "Deploy",
                    &[format!("Job {name} ended with exit code 0")],
                );
            }
            continue;
        }
        // The build phase.
        if def.builds() {
            w.info(
                start,
                who,
                "Build",
                &[
                    format!("Cloning github.com/acme/{name} at {version}"),
                    format!("Building the container image of {name} with its Dockerfile"),
                    "#1 [internal] load build definition from Dockerfile".into(),
                    "#5 [build 2/5] COPY package.json package-lock.json ./".into(),
                    "#6 [build 3/5] RUN npm ci --omit=dev".into(),
                ],
            );
            if failed(index) {
                w.info(
                    start + half,
                    who,
                    "Build",
                    &lines(&[
                        "#6 npm ERR! code ERESOLVE",
                        "#6 npm ERR! ERESOLVE unable to resolve dependency tree",
                        "#6 npm ERR! Could not resolve dependency: peer react@\"^17.0.0\" from react-router-dom@5.3.4",
                        "#6 ERROR: process \"/bin/sh -c npm ci --omit=dev\" did not complete successfully: exit code: 1",
                    ]),
                );
                if let Some(at) = finish {
                    w.error(
                        at,
                        who,
                        "Build",
                        json!({
                            "tag": "BuilderDockerCannotBuildContainerImage",
                            "user_log_message": format!("Cannot build the container image of {name}: `RUN npm ci --omit=dev` exited with code 1."),
                            "hint_message": format!("The build fails in your Dockerfile: run `docker build .` on commit {version} to reproduce it, fix it and push again."),
                            "link": DOCS,
                            "underlying_error": {"message": "docker build exited with status 1"},
                        }),
                    );
                }
                continue;
            }
            w.info(
                start + half,
                who,
                "Build",
                &[
                    "#9 exporting to image".into(),
                    format!("Image registry.acme.dev/{name}:{version} built and pushed"),
                ],
            );
        } else {
            let text = match def.service_type {
                ServiceType::Helm => format!("Fetching chart {name} {version}"),
                ServiceType::Database => {
                    format!("Database {name}: POSTGRESQL {version}, container mode")
                }
                _ => format!("Mirroring image acme/{name}:{version} to the cluster's registry"),
            };
            w.info(start, who, "Build", &[text]);
        }
        // The deploy phase.
        let Some(deploy_at) = log.deploy_at else {
            continue;
        };
        w.info(
            deploy_at,
            who,
            "Deploy",
            &[
                format!("Deploying {name} ({version})"),
                format!("Waiting for {name} to be ready (0/1 pods)"),
            ],
        );
        let pod = format!("{name}-7c9d5b6f4-x2k8p");
        if failed(index) {
            w.info(
                deploy_at + half,
                who,
                "Deploy",
                &[
                    format!("Pod {pod}: container {name} exited with code 1"),
                    format!("Pod {pod}: Error: connect ECONNREFUSED 10.0.12.7:5432"),
                    format!("Pod {pod}: Back-off restarting failed container (CrashLoopBackOff)"),
                ],
            );
            if let Some(at) = finish {
                w.error(
                    at,
                    who,
                    "Deploy",
                    json!({
                        "tag": "K8sDeploymentFailed",
                        "user_log_message": format!("{name} did not start: pod {pod} is in CrashLoopBackOff (its container exited with code 1)."),
                        "hint_message": "The application crashes at start: read its output above (or the live logs in the console), and check its environment variables and the services it connects to.",
                        "link": DOCS,
                        "underlying_error": {"message": "deployment rollout did not complete: 0/1 pods ready"},
                    }),
                );
            }
        } else if let Some((at, RunEnd::Success | RunEnd::Failure)) = log.finished {
            w.info(
                at,
                who,
                "Deploy",
                &[format!("{name} deployed: 1/1 pods ready")],
            );
        }
    }
    if let Some(at) = log.cancel_at {
        w.info(
            at,
            Who::Environment,
            "Deploy",
            &lines(&["Cancelling the deployment, as requested"]),
        );
    }
    match log.finished {
        Some((at, RunEnd::Success)) => w.info(
            at,
            Who::Environment,
            "Deploy",
            &[format!(
                "Deployment of execution {} ended: DEPLOYED",
                w.execution_id
            )],
        ),
        Some((at, RunEnd::Failure)) => {
            let failing = log.failing.map_or("a service", |s| SERVICES[s].name);
            let message = format!(
                "Deployment of execution {} failed: {failing} did not deploy.",
                w.execution_id
            );
            w.error(
                at,
                Who::Environment,
                "Deploy",
                json!({"tag": "EnvironmentDeploymentFailed", "user_log_message": message,
                       "hint_message": format!("See the error of {failing} above."), "link": DOCS}),
            );
        }
        Some((at, RunEnd::Canceled)) => w.info(
            at,
            Who::Environment,
            "Deploy",
            &lines(&["Deployment cancelled"]),
        ),
        None => {}
    }
    let mut entries: Vec<(Instant, u32, Value)> = w
        .entries
        .into_iter()
        .filter(|(at, _, _)| *at <= now)
        .collect();
    entries.sort_by_key(|(at, same, _)| (*at, *same));
    entries.into_iter().map(|(_, _, entry)| entry).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_name_executions_of_the_fixture_environment() {
        assert_eq!(
            execution_number(&format!("{}-42", ids::ENVIRONMENT)),
            Some(42)
        );
        assert_eq!(execution_number("42"), None);
        assert_eq!(execution_number(&format!("{}-x", ids::ENVIRONMENT)), None);
        assert_eq!(
            short("3f8a1c2e9b7d4f6a0c5e8b1d2f4a6c8e0b2d4f6a"),
            "3f8a1c2e9b7d"
        );
        assert_eq!(short("1.4.2"), "1.4.2");
    }
}
