//! The fixed environment the mock serves: one organization, one project, one `staging`
//! environment with one service of every kind and source.

use serde_json::{Value, json};

/// Fixed ids of the fixture objects.
pub mod ids {
    /// The organization.
    pub const ORGANIZATION: &str = "3d5b5d1c-5a45-4b8e-9f0e-2f4f8c1a0b01";
    /// The project.
    pub const PROJECT: &str = "6a1f0f0e-8c2b-4d7e-a1b3-5c9d7e2f4a02";
    /// The `staging` environment.
    pub const ENVIRONMENT: &str = "b6a6a1c4-2f0e-4a44-9f4b-6f3e9d2c7a10";
    /// The cluster the environment runs on.
    pub const CLUSTER: &str = "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f";

    /// `api`: APPLICATION, git source.
    pub const API: &str = "a1000000-0000-4000-8000-000000000001";
    /// `web`: APPLICATION, git source.
    pub const WEB: &str = "a1000000-0000-4000-8000-000000000002";
    /// `worker`: CONTAINER (`acme/worker:1.4.0`).
    pub const WORKER: &str = "c1000000-0000-4000-8000-000000000001";
    /// `migrate`: LIFECYCLE JOB, image source (`acme/migrate:1.4.0`).
    pub const MIGRATE: &str = "b1000000-0000-4000-8000-000000000001";
    /// `report`: CRON JOB, docker (git) source. Skipped in its deployment stage initially.
    pub const REPORT: &str = "b1000000-0000-4000-8000-000000000002";
    /// `ingress-nginx`: HELM, Helm-repository source (chart 4.11.1).
    pub const INGRESS_NGINX: &str = "d1000000-0000-4000-8000-000000000001";
    /// `charts`: HELM, git source.
    pub const CHARTS: &str = "d1000000-0000-4000-8000-000000000002";
    /// `postgres`: DATABASE (POSTGRESQL, CONTAINER mode).
    pub const POSTGRES: &str = "e1000000-0000-4000-8000-000000000001";
    /// `infra`: TERRAFORM, git source.
    pub const INFRA: &str = "f1000000-0000-4000-8000-000000000001";

    /// Deployment stage `databases` (order 0).
    pub const STAGE_DATABASES: &str = "5a000000-0000-4000-8000-000000000001";
    /// Deployment stage `backend` (order 1).
    pub const STAGE_BACKEND: &str = "5a000000-0000-4000-8000-000000000002";
    /// Deployment stage `frontend` (order 2).
    pub const STAGE_FRONTEND: &str = "5a000000-0000-4000-8000-000000000003";

    /// The deployment request of the deployment that happened before the mock started.
    pub const PREVIOUS_DEPLOYMENT_REQUEST: &str = "9e000000-0000-4000-8000-000000000041";
    /// The execution id (`last_deployment_id`) of that previous deployment.
    pub const PREVIOUS_EXECUTION: &str = "b6a6a1c4-2f0e-4a44-9f4b-6f3e9d2c7a10-41";
    /// The other user's deployment request in the `queued` / `queued-stuck` scenarios.
    pub const OTHER_DEPLOYMENT_REQUEST: &str = "9e000000-0000-4000-8000-000000000042";
    /// `merged`: the request of the API token's user that waits in the queue, into which ours is
    /// merged.
    pub const SAME_USER_DEPLOYMENT_REQUEST: &str = "9e000000-0000-4000-8000-000000000043";
    /// `moved-on`: the other user's request that starts the instant ours ends.
    pub const FOLLOWING_DEPLOYMENT_REQUEST: &str = "9e000000-0000-4000-8000-000000000044";

    /// The container registry used by `worker` and `migrate`.
    pub const REGISTRY: &str = "7e000000-0000-4000-8000-000000000001";
    /// The Helm repository used by `ingress-nginx`.
    pub const HELM_REPOSITORY: &str = "7e000000-0000-4000-8000-000000000002";
}

/// The token `exec`/`demo` hand to the wrapped command when none is set.
pub const DEMO_TOKEN: &str = "qov_mock_demo_token";

pub(crate) const ENVIRONMENT_NAME: &str = "staging";
/// `created_at` of every fixture object.
pub(crate) const CREATED_AT: &str = "2025-01-15T10:00:00.000Z";
/// Execution counter of the previous deployment (the `41` in [`ids::PREVIOUS_EXECUTION`]).
pub(crate) const PREVIOUS_EXECUTION_NUMBER: u32 = 41;
/// `triggered_by` of deployments the mock starts on its own (previous and `queued` ones).
pub(crate) const OTHER_USER: &str = "someone@acme.dev";
/// `triggered_by` of deployments requested through the API.
pub(crate) const API_USER: &str = "qovery-mock";

/// A Qovery service type, in the order the deploy request (and the `fail` scenario) uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ServiceType {
    Application,
    Container,
    Job,
    Helm,
    Database,
    Terraform,
}

impl ServiceType {
    /// Canonical order: applications, containers, jobs, helms, databases, terraforms.
    pub(crate) const ORDER: [ServiceType; 6] = [
        ServiceType::Application,
        ServiceType::Container,
        ServiceType::Job,
        ServiceType::Helm,
        ServiceType::Database,
        ServiceType::Terraform,
    ];

    /// `ServiceTypeEnum` value.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ServiceType::Application => "APPLICATION",
            ServiceType::Container => "CONTAINER",
            ServiceType::Job => "JOB",
            ServiceType::Helm => "HELM",
            ServiceType::Database => "DATABASE",
            ServiceType::Terraform => "TERRAFORM",
        }
    }

    /// Name of the array holding this type in `DeployAllRequest` and `EnvironmentStatuses`.
    pub(crate) fn plural(self) -> &'static str {
        match self {
            ServiceType::Application => "applications",
            ServiceType::Container => "containers",
            ServiceType::Job => "jobs",
            ServiceType::Helm => "helms",
            ServiceType::Database => "databases",
            ServiceType::Terraform => "terraforms",
        }
    }
}

/// Where a service's code comes from; decides which version field a deploy may carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    /// Built from a git repository (`git_commit_id`).
    Git,
    /// A prebuilt container image (`image_tag`).
    Image,
    /// A chart from a Helm repository (`chart_version`).
    HelmRepository,
    /// Nothing to version (databases).
    Managed,
}

/// One fixture service.
#[derive(Debug)]
pub(crate) struct ServiceDef {
    pub id: &'static str,
    pub name: &'static str,
    pub service_type: ServiceType,
    pub source: Source,
    /// Commit, image tag or chart version deployed before the mock started.
    pub initial_version: &'static str,
}

impl ServiceDef {
    /// Git-sourced services go through a BUILDING phase.
    pub(crate) fn builds(&self) -> bool {
        self.source == Source::Git
    }

    /// `name (TYPE)`, for error messages.
    pub(crate) fn describe(&self) -> String {
        format!("`{}` ({})", self.name, self.service_type.as_str())
    }
}

/// Every fixture service, in canonical type order.
pub(crate) const SERVICES: [ServiceDef; 9] = [
    ServiceDef {
        id: ids::API,
        name: "api",
        service_type: ServiceType::Application,
        source: Source::Git,
        initial_version: "7d2f9a1b3c4e5f60718293a4b5c6d7e8f9012345",
    },
    ServiceDef {
        id: ids::WEB,
        name: "web",
        service_type: ServiceType::Application,
        source: Source::Git,
        initial_version: "7d2f9a1b3c4e5f60718293a4b5c6d7e8f9012345",
    },
    ServiceDef {
        id: ids::WORKER,
        name: "worker",
        service_type: ServiceType::Container,
        source: Source::Image,
        initial_version: "1.4.0",
    },
    ServiceDef {
        id: ids::MIGRATE,
        name: "migrate",
        service_type: ServiceType::Job,
        source: Source::Image,
        initial_version: "1.4.0",
    },
    ServiceDef {
        id: ids::REPORT,
        name: "report",
        service_type: ServiceType::Job,
        source: Source::Git,
        initial_version: "51c0e8d2a4b6c8e0f1a3b5c7d9e1f3a5b7c9d1e3",
    },
    ServiceDef {
        id: ids::INGRESS_NGINX,
        name: "ingress-nginx",
        service_type: ServiceType::Helm,
        source: Source::HelmRepository,
        initial_version: "4.11.1",
    },
    ServiceDef {
        id: ids::CHARTS,
        name: "charts",
        service_type: ServiceType::Helm,
        source: Source::Git,
        initial_version: "c4a7e1f0b2d3c5e6f7a8b9c0d1e2f3a4b5c6d7e8",
    },
    ServiceDef {
        id: ids::POSTGRES,
        name: "postgres",
        service_type: ServiceType::Database,
        source: Source::Managed,
        initial_version: "16",
    },
    ServiceDef {
        id: ids::INFRA,
        name: "infra",
        service_type: ServiceType::Terraform,
        source: Source::Git,
        initial_version: "e9b8a7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0",
    },
];

/// Index into [`SERVICES`] of the service with this id.
pub(crate) fn service_index(id: &str) -> Option<usize> {
    SERVICES.iter().position(|service| service.id == id)
}

/// A deployment stage as it starts: id, name, order, members as `(service id, is_skipped)`.
pub(crate) struct StageDef {
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub members: &'static [(&'static str, bool)],
}

/// Initial deployment stages, in deployment order.
pub(crate) const STAGES: [StageDef; 3] = [
    StageDef {
        id: ids::STAGE_DATABASES,
        name: "databases",
        description: "Data stores first",
        members: &[(ids::POSTGRES, false)],
    },
    StageDef {
        id: ids::STAGE_BACKEND,
        name: "backend",
        description: "APIs, workers, jobs and infrastructure",
        members: &[
            (ids::API, false),
            (ids::WORKER, false),
            (ids::MIGRATE, false),
            (ids::REPORT, true),
            (ids::INFRA, false),
        ],
    },
    StageDef {
        id: ids::STAGE_FRONTEND,
        name: "frontend",
        description: "Public-facing services",
        members: &[
            (ids::WEB, false),
            (ids::INGRESS_NGINX, false),
            (ids::CHARTS, false),
        ],
    },
];

/// Id of the link between a stage and a service (`DeploymentStageServiceResponse.id`):
/// `5b000000-0000-4000-8000-0000000000NN`, NN being the service's position in [`SERVICES`].
pub(crate) fn stage_link_id(service: usize) -> String {
    format!("5b000000-0000-4000-8000-{:012}", service + 1)
}

/// `GET /environment/{id}` body.
pub(crate) fn environment() -> Value {
    json!({
        "id": ids::ENVIRONMENT,
        "created_at": CREATED_AT,
        "updated_at": CREATED_AT,
        "name": ENVIRONMENT_NAME,
        "mode": "STAGING",
        "cluster_id": ids::CLUSTER,
        "cluster_name": "acme-eu-west-3",
        "cloud_provider": { "provider": "aws", "cluster": "eu-west-3" },
        "organization": { "id": ids::ORGANIZATION },
        "project": { "id": ids::PROJECT },
    })
}

/// One item of `GET /environment/{id}/services`, `version` being what is deployed now.
pub(crate) fn service(def: &ServiceDef, version: &str) -> Value {
    let mut body = json!({
        "id": def.id,
        "created_at": CREATED_AT,
        "updated_at": CREATED_AT,
        "name": def.name,
        "description": "",
        "service_type": def.service_type.as_str(),
        "environment": { "id": ids::ENVIRONMENT },
        "icon_uri": format!("app://qovery-console/{}", def.service_type.as_str().to_lowercase()),
    });
    let extra = match def.service_type {
        ServiceType::Application => json!({
            "git_repository": git_repository(def.name, version),
            "build_mode": "DOCKER",
            "dockerfile_path": "Dockerfile",
        }),
        ServiceType::Container => {
            let mut fields = image_source(def.name, version);
            fields["auto_deploy"] = json!(false);
            fields
        }
        ServiceType::Job => job_fields(def, version),
        ServiceType::Helm => helm_fields(def, version),
        ServiceType::Database => json!({
            "type": "POSTGRESQL",
            "version": version,
            "mode": "CONTAINER",
            "accessibility": "PRIVATE",
        }),
        ServiceType::Terraform => json!({
            "terraform_files_source": { "git": { "git_repository": git_repository(def.name, version) } },
            "auto_deploy": false,
            "timeout_sec": 600,
        }),
    };
    merge(&mut body, extra);
    body
}

fn job_fields(def: &ServiceDef, version: &str) -> Value {
    let source = if def.source == Source::Git {
        json!({ "docker": {
            "git_repository": git_repository(def.name, version),
            "dockerfile_path": "Dockerfile",
            "dockerfile_raw": null,
            "docker_target_build_stage": null,
        }})
    } else {
        json!({ "image": image_source(def.name, version) })
    };
    let (job_type, schedule) = if def.name == "report" {
        let cron = json!({ "cronjob": {
            "timezone": "Etc/UTC",
            "scheduled_at": "0 3 * * *",
            "arguments": [],
        }});
        ("CRON", cron)
    } else {
        let lifecycle = json!({
            "on_start": { "arguments": ["migrate", "up"] },
            "lifecycle_type": "GENERIC",
        });
        ("LIFECYCLE", lifecycle)
    };
    json!({ "job_type": job_type, "source": source, "schedule": schedule, "auto_deploy": false })
}

fn helm_fields(def: &ServiceDef, version: &str) -> Value {
    let source = if def.source == Source::HelmRepository {
        json!({ "repository": {
            "chart_name": def.name,
            "chart_version": version,
            "repository": {
                "id": ids::HELM_REPOSITORY,
                "name": "ingress-nginx",
                "url": "https://kubernetes.github.io/ingress-nginx",
            },
        }})
    } else {
        json!({ "git": { "git_repository": git_repository(def.name, version) } })
    };
    json!({
        "source": source,
        "arguments": [],
        "allow_cluster_wide_resources": false,
        "auto_preview": false,
        "auto_deploy": false,
        "values_override": { "set": [], "set_string": [], "set_json": [], "file": null },
    })
}

fn git_repository(repo: &str, commit: &str) -> Value {
    json!({
        "has_access": true,
        "provider": "GITHUB",
        "owner": "acme",
        "url": format!("https://github.com/acme/{repo}.git"),
        "name": format!("acme/{repo}"),
        "branch": "main",
        "root_path": "/",
        "deployed_commit_id": commit,
        "git_token_id": null,
        "git_token_name": null,
    })
}

fn image_source(name: &str, tag: &str) -> Value {
    json!({
        "image_name": format!("acme/{name}"),
        "tag": tag,
        "registry_id": ids::REGISTRY,
        "registry": {
            "id": ids::REGISTRY,
            "name": "Docker Hub",
            "url": "https://docker.io",
            "kind": "DOCKER_HUB",
        },
    })
}

fn merge(target: &mut Value, extra: Value) {
    if let (Value::Object(target), Value::Object(extra)) = (target, extra) {
        target.extend(extra);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_service_is_in_exactly_one_stage() {
        for service in &SERVICES {
            let count = STAGES
                .iter()
                .flat_map(|stage| stage.members)
                .filter(|(id, _)| *id == service.id)
                .count();
            assert_eq!(count, 1, "{}", service.name);
        }
    }

    #[test]
    fn services_are_in_canonical_type_order() {
        let positions: Vec<usize> = SERVICES
            .iter()
            .map(|s| {
                ServiceType::ORDER
                    .iter()
                    .position(|t| *t == s.service_type)
                    .unwrap_or(usize::MAX)
            })
            .collect();
        assert!(positions.is_sorted(), "{positions:?}");
    }

    #[test]
    fn sources_are_rendered_per_kind() {
        let migrate = service(&SERVICES[3], "2.0.0");
        assert_eq!(migrate["source"]["image"]["tag"], "2.0.0");
        assert_eq!(migrate["source"]["image"]["image_name"], "acme/migrate");
        assert_eq!(migrate["job_type"], "LIFECYCLE");
        let report = service(&SERVICES[4], "abc");
        assert_eq!(
            report["source"]["docker"]["git_repository"]["deployed_commit_id"],
            "abc"
        );
        assert_eq!(report["job_type"], "CRON");
        let nginx = service(&SERVICES[5], "4.11.1");
        assert_eq!(nginx["source"]["repository"]["chart_version"], "4.11.1");
        let infra = service(&SERVICES[8], "abc");
        assert!(infra["terraform_files_source"]["git"]["git_repository"].is_object());
        assert_eq!(stage_link_id(0), "5b000000-0000-4000-8000-000000000001");
    }
}
