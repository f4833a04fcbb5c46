//! Links into the Qovery console (notes §11): the environment's deployments, one execution, or one
//! service's deployments and logs. Built from the environment read in the preflight; `None` when
//! the API did not say which organization and project the environment belongs to.

use crate::api::ids;
use crate::api::types::Environment;
use crate::inputs::Config;

/// The console's page of one environment; every link is under it.
#[derive(Debug, Clone)]
pub struct Console {
    environment: String,
}

impl Console {
    /// The links of `environment`: its own id when the API gave a UUID (a preview environment's),
    /// else `environment-id`. `None` when it lacks its organization or project id, or either is not
    /// a UUID ([`ids`]): no link is built from an id of the wrong shape. The execution and service
    /// ids given to the methods below come from answers whose ids were checked on arrival.
    pub fn new(config: &Config, environment: &Environment) -> Option<Console> {
        let organization = &environment.organization.as_ref()?.id;
        let project = &environment.project.as_ref()?.id;
        if !ids::is_uuid(organization) || !ids::is_uuid(project) {
            return None;
        }
        let id = uuid::Uuid::try_parse(&environment.id).unwrap_or(config.environment_id);
        Some(Console {
            environment: format!(
                "{}/organization/{organization}/project/{project}/environment/{id}",
                config.console_url
            ),
        })
    }

    /// The environment's page.
    pub fn environment(&self) -> &str {
        &self.environment
    }

    /// The environment's deployments, or one execution of them.
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
