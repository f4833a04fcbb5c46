//! Deployment stages: which stage each service is in, and whether it is skipped.

use crate::api::{DeploymentStage, DeploymentStageService, Reference};
use crate::fixtures::{self, CREATED_AT, SERVICES, STAGES, ids};

#[derive(Clone, Debug)]
struct Member {
    /// Index into [`SERVICES`].
    service: usize,
    is_skipped: bool,
}

#[derive(Clone, Debug)]
struct Stage {
    /// Index into [`STAGES`] (id, name, description).
    def: usize,
    members: Vec<Member>,
}

/// The stages of the fixture environment, in deployment order.
#[derive(Clone, Debug)]
pub(crate) struct Stages {
    stages: Vec<Stage>,
}

impl Default for Stages {
    fn default() -> Self {
        let stages = STAGES
            .iter()
            .enumerate()
            .map(|(def, stage)| Stage {
                def,
                members: stage
                    .members
                    .iter()
                    .filter_map(|(id, is_skipped)| {
                        Some(Member {
                            service: fixtures::service_index(id)?,
                            is_skipped: *is_skipped,
                        })
                    })
                    .collect(),
            })
            .collect();
        Stages { stages }
    }
}

impl Stages {
    /// Every stage, as `DeploymentStageResponse`s.
    pub(crate) fn all(&self) -> Vec<DeploymentStage> {
        self.stages
            .iter()
            .enumerate()
            .map(|(order, stage)| render(order, stage))
            .collect()
    }

    /// The stage holding a service.
    pub(crate) fn of_service(&self, service: usize) -> Option<DeploymentStage> {
        self.stages
            .iter()
            .enumerate()
            .find(|(_, stage)| stage.members.iter().any(|m| m.service == service))
            .map(|(order, stage)| render(order, stage))
    }

    /// Position of a stage id, if it exists.
    pub(crate) fn find(&self, stage_id: &str) -> Option<usize> {
        self.stages
            .iter()
            .position(|stage| STAGES[stage.def].id == stage_id)
    }

    /// Moves `service` into the stage at `target` (appending it) unless it is already there,
    /// and sets its skip flag.
    pub(crate) fn attach(&mut self, target: usize, service: usize, is_skipped: bool) {
        let already_there = self.stages[target]
            .members
            .iter()
            .any(|member| member.service == service);
        if !already_there {
            for stage in &mut self.stages {
                stage.members.retain(|member| member.service != service);
            }
            self.stages[target].members.push(Member {
                service,
                is_skipped,
            });
        }
        for member in &mut self.stages[target].members {
            if member.service == service {
                member.is_skipped = is_skipped;
            }
        }
    }
}

fn render(order: usize, stage: &Stage) -> DeploymentStage {
    let def = &STAGES[stage.def];
    DeploymentStage {
        id: def.id,
        created_at: CREATED_AT,
        updated_at: CREATED_AT,
        environment: Reference {
            id: ids::ENVIRONMENT,
        },
        name: def.name,
        description: def.description,
        deployment_order: order,
        services: stage
            .members
            .iter()
            .map(|member| DeploymentStageService {
                id: fixtures::stage_link_id(member.service),
                created_at: CREATED_AT,
                service_id: SERVICES[member.service].id,
                service_type: SERVICES[member.service].service_type.as_str(),
                is_skipped: member.is_skipped,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skipped(stages: &Stages, service_id: &str) -> Option<(&'static str, bool)> {
        let index = fixtures::service_index(service_id)?;
        let stage = stages.of_service(index)?;
        let member = stage.services.iter().find(|s| s.service_id == service_id)?;
        Some((stage.name, member.is_skipped))
    }

    #[test]
    fn initial_layout() {
        let stages = Stages::default();
        let names: Vec<_> = stages.all().iter().map(|s| s.name).collect();
        assert_eq!(names, ["databases", "backend", "frontend"]);
        assert_eq!(skipped(&stages, ids::REPORT), Some(("backend", true)));
        assert_eq!(skipped(&stages, ids::API), Some(("backend", false)));
        assert_eq!(skipped(&stages, ids::POSTGRES), Some(("databases", false)));
    }

    #[test]
    fn attach_skips_in_place_and_moves() {
        let mut stages = Stages::default();
        let api = fixtures::service_index(ids::API).unwrap();
        let backend = stages.find(ids::STAGE_BACKEND).unwrap();
        let frontend = stages.find(ids::STAGE_FRONTEND).unwrap();

        stages.attach(backend, api, true);
        assert_eq!(skipped(&stages, ids::API), Some(("backend", true)));
        assert_eq!(stages.all()[1].services.len(), 5);

        stages.attach(frontend, api, false);
        assert_eq!(skipped(&stages, ids::API), Some(("frontend", false)));
        assert_eq!(stages.all()[1].services.len(), 4);
        assert_eq!(
            stages.all()[2].services.last().unwrap().service_id,
            ids::API
        );
    }
}
