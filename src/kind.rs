//! The kinds of Qovery service the tool deploys, and how each is named in inputs and in the API.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ServiceKind {
    Application,
    Container,
    Job,
    Helm,
    Database,
    Terraform,
}

impl ServiceKind {
    /// Every kind, in the order of the inputs (and of the `DeployAllRequest` fields we send).
    pub const ALL: [ServiceKind; 6] = [
        ServiceKind::Application,
        ServiceKind::Container,
        ServiceKind::Job,
        ServiceKind::Helm,
        ServiceKind::Database,
        ServiceKind::Terraform,
    ];

    /// The input that lists services of this kind.
    pub fn input(self) -> &'static str {
        match self {
            ServiceKind::Application => "applications",
            ServiceKind::Container => "containers",
            ServiceKind::Job => "jobs",
            ServiceKind::Helm => "helms",
            ServiceKind::Database => "databases",
            ServiceKind::Terraform => "terraforms",
        }
    }

    /// `service_type` in the API (`ServiceTypeEnum`).
    pub fn api_type(self) -> &'static str {
        match self {
            ServiceKind::Application => "APPLICATION",
            ServiceKind::Container => "CONTAINER",
            ServiceKind::Job => "JOB",
            ServiceKind::Helm => "HELM",
            ServiceKind::Database => "DATABASE",
            ServiceKind::Terraform => "TERRAFORM",
        }
    }

    /// Singular with its indefinite article, for sentences: "an application", "a container", …
    pub fn with_article(self) -> &'static str {
        match self {
            ServiceKind::Application => "an application",
            ServiceKind::Container => "a container",
            ServiceKind::Job => "a job",
            ServiceKind::Helm => "a helm",
            ServiceKind::Database => "a database",
            ServiceKind::Terraform => "a terraform",
        }
    }

    pub fn from_api_type(value: &str) -> Option<ServiceKind> {
        ServiceKind::ALL
            .into_iter()
            .find(|kind| kind.api_type().eq_ignore_ascii_case(value))
    }
}

impl fmt::Display for ServiceKind {
    /// Singular, lower-case: "application", "helm", …
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let input = self.input();
        f.write_str(&input[..input.len() - 1])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for kind in ServiceKind::ALL {
            assert_eq!(ServiceKind::from_api_type(kind.api_type()), Some(kind));
            assert_eq!(format!("{kind}s"), kind.input());
        }
        assert_eq!(ServiceKind::from_api_type("ARGOCD_APP"), None);
    }

    #[test]
    fn articles_follow_the_sound_of_the_name() {
        for kind in ServiceKind::ALL {
            let name = kind.to_string();
            let article = if name.starts_with(['a', 'e', 'i', 'o', 'u']) {
                "an"
            } else {
                "a"
            };
            assert_eq!(kind.with_article(), format!("{article} {name}"));
        }
    }
}
