//! From the listed entries and the environment's services to what will be sent: each entry resolved
//! to one service of the kind it was listed under, with the version field its source takes.

use std::fmt::Write as _;

use crate::api::types::{
    ApplicationDeploy, ContainerDeploy, DeployAllRequest, HelmDeploy, JobDeploy, ServiceInfo,
    Source, TerraformDeploy,
};
use crate::inputs::{Config, Entry, InputError, Reference, TerraformAction, VersionForm};
use crate::kind::ServiceKind;

/// Which field of the request carries a service's version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionField {
    GitCommit,
    ImageTag,
    ChartVersion,
    None,
}

impl VersionField {
    pub fn label(self) -> &'static str {
        match self {
            VersionField::GitCommit => "commit",
            VersionField::ImageTag => "image tag",
            VersionField::ChartVersion => "chart version",
            VersionField::None => "-",
        }
    }
}

/// One listed service, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub id: String,
    pub name: String,
    pub kind: ServiceKind,
    pub field: VersionField,
    /// The version to send, when there is one.
    pub version: Option<String>,
}

impl Target {
    /// A listed service with no version to send (`redeploy-job`, `skip`, `unskip`).
    pub fn bare(entry: &Entry, service: &ServiceInfo) -> Target {
        Target {
            id: service.id.clone(),
            name: service.name.clone(),
            kind: entry.kind,
            field: VersionField::None,
            version: None,
        }
    }

    /// The version, if it goes in `field`.
    fn version_in(&self, field: VersionField) -> Option<String> {
        self.version.clone().filter(|_| self.field == field)
    }

    /// The `JobDeployRequest` for this job: `image_tag` or `git_commit_id`, never both (the field
    /// comes from the job's source). Without the id, as `POST /job/{id}/deploy` takes it.
    pub fn job_body(&self) -> JobDeploy {
        JobDeploy {
            id: None,
            image_tag: self.version_in(VersionField::ImageTag),
            git_commit_id: self.version_in(VersionField::GitCommit),
        }
    }
}

/// A name folded for a case-insensitive comparison, Unicode included (`CAFÉ` = `café`, `STRASSE` =
/// `straße`): upper-cased, then lower-cased, so that one-to-many mappings meet. Qovery's schemas
/// call names "case insensitive" without saying how; this is the closest std gives.
fn fold(name: &str) -> String {
    name.to_uppercase().to_lowercase()
}

/// Whether two service names are the same, case-insensitively (see `fold` below).
pub fn same_name(a: &str, b: &str) -> bool {
    a == b || fold(a) == fold(b)
}

/// A name a list entry cannot spell: `,` separates entries and `=` starts a version.
fn unlistable(name: &str) -> bool {
    name.contains([',', '='])
}

/// The hint for a name that cannot be written in a list: list the service by id.
fn list_by_id(service: &ServiceInfo) -> String {
    let character = if service.name.contains(',') { ',' } else { '=' };
    format!(
        "`{}` contains `{character}`, which cannot be written in a list (`,` separates entries, `=` starts a version): list it by id, `{}`",
        service.name, service.id
    )
}

/// A service whose name has a `,` or `=` and would explain why `entry` matched nothing: its name
/// is the whole entry, or contains the name the entry was cut down to.
fn cut_name<'a>(entry: &Entry, services: &'a [ServiceInfo]) -> Option<&'a ServiceInfo> {
    let Reference::Name(name) = &entry.reference else {
        return None;
    };
    let (name, raw) = (fold(name), fold(&entry.raw));
    services.iter().filter(|s| unlistable(&s.name)).find(|s| {
        let folded = fold(&s.name);
        folded == raw
            || folded
                .split([',', '='])
                .any(|part| part.trim() == name.as_str())
    })
}

/// Resolves every entry against `GET /environment/{id}/services`: ids and case-insensitive names
/// (Unicode too), the kind each entry was listed under, no service twice. A name with `,` or `=`
/// gets a hint to list the service by id.
pub fn resolve(
    entries: &[Entry],
    services: &[ServiceInfo],
) -> Result<Vec<(Entry, ServiceInfo)>, InputError> {
    let mut resolved: Vec<(Entry, ServiceInfo)> = Vec::with_capacity(entries.len());
    for entry in entries {
        let input = entry.kind.input();
        let matches: Vec<&ServiceInfo> = match &entry.reference {
            Reference::Id(id) => services
                .iter()
                .filter(|s| s.id.eq_ignore_ascii_case(&id.to_string()))
                .collect(),
            Reference::Name(name) => services
                .iter()
                .filter(|s| same_name(&s.name, name))
                .collect(),
        };
        // `a=b` read as the service `a` at version `b`, while a service is named `a=b`: ambiguous.
        if let (Some(_), Some(whole)) = (
            &entry.version,
            services.iter().find(|s| same_name(&s.name, &entry.raw)),
        ) {
            return Err(InputError::new(
                input,
                format!(
                    "`{}` is read as `{}` at version `{}`, but a service is named `{}`",
                    entry.raw,
                    match &entry.reference {
                        Reference::Name(name) => name.clone(),
                        Reference::Id(id) => id.to_string(),
                    },
                    entry.version.as_deref().unwrap_or_default(),
                    whole.name
                ),
            )
            .entry(&entry.raw)
            .hint(list_by_id(whole)));
        }
        // A name may be shared by services of different kinds; the kind it was listed under decides.
        let of_kind: Vec<&ServiceInfo> = matches
            .iter()
            .copied()
            .filter(|s| s.kind() == Some(entry.kind))
            .collect();
        let service = match (of_kind.as_slice(), matches.as_slice()) {
            ([one], _) => *one,
            ([], []) => {
                let hint = match (cut_name(entry, services), joined_names(entry, services)) {
                    (Some(service), _) => list_by_id(service),
                    (None, Some(fixed)) => format!(
                        "entries are separated by commas or newlines, not spaces: write `{fixed}`"
                    ),
                    (None, None) => available(entry.kind, services),
                };
                return Err(InputError::new(
                    input,
                    format!(
                        "no {} with this {} in the environment",
                        entry.kind,
                        reference_label(entry)
                    ),
                )
                .entry(&entry.raw)
                .hint(hint));
            }
            ([], [other, ..]) => {
                let actual = other
                    .kind()
                    .map(|k| format!("{}; list it under `{}`", k.with_article(), k.input()))
                    .unwrap_or_else(|| {
                        format!(
                            "of type {}, which this tool does not deploy",
                            other.service_type.as_deref().unwrap_or("unknown")
                        )
                    });
                return Err(InputError::new(
                    input,
                    format!("`{}` is not {}", other.name, entry.kind.with_article()),
                )
                .entry(&entry.raw)
                .hint(format!("`{}` is {actual}", other.name)));
            }
            (_, _) => {
                return Err(InputError::new(
                    input,
                    format!("several {}s are named like this", entry.kind),
                )
                .entry(&entry.raw)
                .hint("list it by id instead"));
            }
        };
        if let Some((previous, _)) = resolved
            .iter()
            .find(|(_, s)| s.id.eq_ignore_ascii_case(&service.id))
        {
            return Err(
                InputError::new(input, format!("`{}` is listed twice", service.name))
                    .entry(&entry.raw)
                    .hint(if previous.raw == entry.raw {
                        "keep one entry".to_string()
                    } else {
                        format!(
                            "`{}` and `{}` name the same {}; keep one entry",
                            previous.raw, entry.raw, entry.kind
                        )
                    }),
            );
        }
        resolved.push((entry.clone(), service.clone()));
    }
    Ok(resolved)
}

/// `api,web` when the entry `api web` is several known service names run together with
/// whitespace (the list separators are commas and newlines).
fn joined_names(entry: &Entry, services: &[ServiceInfo]) -> Option<String> {
    let Reference::Name(name) = &entry.reference else {
        return None;
    };
    let words: Vec<&str> = name.split_whitespace().collect();
    let known = |word: &&str| services.iter().any(|s| same_name(&s.name, word));
    (words.len() > 1 && words.iter().all(known)).then(|| words.join(","))
}

fn reference_label(entry: &Entry) -> &'static str {
    match entry.reference {
        Reference::Id(_) => "id",
        Reference::Name(_) => "name",
    }
}

fn available(kind: ServiceKind, services: &[ServiceInfo]) -> String {
    let names: Vec<String> = services
        .iter()
        .filter(|s| s.kind() == Some(kind))
        .map(|s| {
            if unlistable(&s.name) {
                format!("{} (list it by id: {})", s.name, s.id)
            } else {
                s.name.clone()
            }
        })
        .collect();
    if names.is_empty() {
        format!("the environment has no {kind}s; check `environment-id`")
    } else {
        format!("{}s in this environment: {}", kind, names.join(", "))
    }
}

/// Picks the version field from the service's source, and the version from the entry's `=VALUE`
/// or the inputs (`commit-sha`, `image-tag`, `chart-version`).
pub fn target(config: &Config, entry: &Entry, service: &ServiceInfo) -> Result<Target, InputError> {
    let input = entry.kind.input();
    let (field, default) = match service.source() {
        Source::Git => (
            VersionField::GitCommit,
            config.commit_sha.as_deref().map(|v| ("commit-sha", v)),
        ),
        Source::Image => (
            VersionField::ImageTag,
            config.image_tag.as_deref().map(|v| ("image-tag", v)),
        ),
        Source::HelmRepository => (
            VersionField::ChartVersion,
            config
                .chart_version
                .as_deref()
                .map(|v| ("chart-version", v)),
        ),
        Source::None => (VersionField::None, None),
        Source::Ambiguous => {
            return Err(InputError::new(input, format!("`{}` has both an image and a git source", service.name))
                .entry(&entry.raw)
                .hint("Qovery takes either `image_tag` or `git_commit_id` for a job, never both; check the job's source in the Qovery console (job settings → General)"));
        }
        Source::Unknown => {
            return Err(InputError::new(input, format!("cannot tell where `{}` gets its code from", service.name))
                .entry(&entry.raw)
                .hint("the API described a source this version of qovery-deploy does not know; please report it"));
        }
    };
    // A `=VERSION` was checked against the forms its kind allows; now the source says which one.
    let form = match field {
        VersionField::GitCommit => Some(VersionForm::Commit),
        VersionField::ImageTag => Some(VersionForm::ImageTag),
        VersionField::ChartVersion => Some(VersionForm::ChartVersion),
        VersionField::None => None,
    };
    if let (Some(version), Some(form)) = (&entry.version, form) {
        if !form.fits(version) {
            return Err(InputError::new(
                input,
                format!(
                    "`{}` takes a {}, and `{version}` is not {}",
                    service.name,
                    field.label(),
                    form.rule()
                ),
            )
            .entry(&entry.raw)
            .hint("the service's source in Qovery decides the field: git → commit SHA, image → image tag, Helm repository → chart version"));
        }
    }
    let version = entry
        .version
        .clone()
        .or_else(|| default.map(|(_, v)| v.to_string()));
    match (field, &version) {
        (VersionField::GitCommit, None) => Err(InputError::new(input, format!("no commit to deploy for `{}`", service.name))
            .entry(&entry.raw)
            .hint(format!("set `commit-sha` (GITHUB_SHA and CI_COMMIT_SHA are used when present) or write `{}=<sha>`", entry.raw))),
        (VersionField::ImageTag, None) => Err(InputError::new(input, format!("no image tag to deploy for `{}`", service.name))
            .entry(&entry.raw)
            .hint(format!("set `image-tag` or `commit-sha`, or write `{}=<tag>`", entry.raw))),
        // A chart from a Helm repository keeps its version unless one is given.
        _ => Ok(Target {
            id: service.id.clone(),
            name: service.name.clone(),
            kind: entry.kind,
            field,
            version,
        }),
    }
}

/// The batched deploy: every listed service, one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployPlan {
    pub targets: Vec<Target>,
    pub terraform_action: Option<TerraformAction>,
}

impl DeployPlan {
    pub fn new(config: &Config, services: &[ServiceInfo]) -> Result<DeployPlan, InputError> {
        DeployPlan::from_entries(config, &config.entries, services)
    }

    /// The plan for `entries` instead of the listed ones, with the inputs' versions: `preview`
    /// plans the listed services named as in the blueprint, in the preview environment.
    pub fn from_entries(
        config: &Config,
        entries: &[Entry],
        services: &[ServiceInfo],
    ) -> Result<DeployPlan, InputError> {
        let targets = resolve(entries, services)?
            .iter()
            .map(|(entry, service)| target(config, entry, service))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(DeployPlan {
            targets,
            terraform_action: config.terraform_action,
        })
    }

    /// The `DeployAllRequest` body, exactly: absent versions omitted.
    pub fn request(&self) -> DeployAllRequest {
        let mut request = DeployAllRequest::default();
        for t in &self.targets {
            let id = t.id.clone();
            match t.kind {
                ServiceKind::Application => request.applications.push(ApplicationDeploy {
                    application_id: id,
                    git_commit_id: t.version_in(VersionField::GitCommit),
                }),
                ServiceKind::Container => request.containers.push(ContainerDeploy {
                    id,
                    image_tag: t.version_in(VersionField::ImageTag),
                }),
                ServiceKind::Job => request.jobs.push(JobDeploy {
                    id: Some(id),
                    ..t.job_body()
                }),
                ServiceKind::Helm => request.helms.push(HelmDeploy {
                    id,
                    chart_version: t.version_in(VersionField::ChartVersion),
                    git_commit_id: t.version_in(VersionField::GitCommit),
                }),
                ServiceKind::Database => request.databases.push(id),
                ServiceKind::Terraform => request.terraforms.push(TerraformDeploy {
                    id,
                    git_commit_id: t.version_in(VersionField::GitCommit),
                    action: self.terraform_action,
                }),
            }
        }
        request
    }

    /// The plan as a table, for the log.
    pub fn describe(&self) -> String {
        describe(&self.targets)
    }
}

/// Where the commit sent came from, when a listed service takes it (as its commit, or as the image
/// tag that defaults to it): `Commit 3f8a…: the pull request's head commit (…)`. The second value is
/// the warning of [`Config::commit_warning`], when the commit is used.
pub fn commit_notes(config: &Config, targets: &[Target]) -> (Option<String>, Option<String>) {
    let Some(sha) = config.commit_sha.as_deref() else {
        return (None, None);
    };
    let used = targets.iter().any(|t| {
        matches!(t.field, VersionField::GitCommit | VersionField::ImageTag)
            && t.version.as_deref() == Some(sha)
    });
    if !used {
        return (None, None);
    }
    let why = config.commit_why.as_deref().unwrap_or("the default");
    (
        Some(format!("Commit {sha}: {why}")),
        config.commit_warning.clone(),
    )
}

/// Listed services as a table, for the log: name, kind, id and the version sent.
pub fn describe(targets: &[Target]) -> String {
    let width = targets
        .iter()
        .map(|t| t.name.len())
        .max()
        .unwrap_or(0)
        .max(4);
    let mut text = String::new();
    for t in targets {
        let version = match &t.version {
            Some(v) => format!("{} {v}", t.field.label()),
            None if t.field == VersionField::ChartVersion => "chart version unchanged".to_string(),
            None => String::new(),
        };
        let _ = writeln!(
            text,
            "  {:<width$}  {:<11}  {}  {}",
            t.name,
            t.kind.to_string(),
            t.id,
            version
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::{Invocation, RawInputs};

    fn services() -> Vec<ServiceInfo> {
        serde_json::from_value(serde_json::json!([
            {"id": "a1000000-0000-4000-8000-000000000001", "name": "API", "service_type": "APPLICATION"},
            {"id": "c1000000-0000-4000-8000-000000000001", "name": "worker", "service_type": "CONTAINER"},
            {"id": "b1000000-0000-4000-8000-000000000001", "name": "migrate", "service_type": "JOB", "source": {"image": {"tag": "1"}}},
            {"id": "b1000000-0000-4000-8000-000000000002", "name": "report", "service_type": "JOB", "source": {"docker": {}}},
            {"id": "b1000000-0000-4000-8000-000000000003", "name": "both", "service_type": "JOB", "source": {"image": {}, "docker": {}}},
            {"id": "d1000000-0000-4000-8000-000000000001", "name": "ingress", "service_type": "HELM", "source": {"repository": {}}},
            {"id": "e1000000-0000-4000-8000-000000000001", "name": "pg", "service_type": "DATABASE"},
            {"id": "f1000000-0000-4000-8000-000000000001", "name": "infra", "service_type": "TERRAFORM"},
            {"id": "99000000-0000-4000-8000-000000000001", "name": "argo", "service_type": "ARGOCD_APP"},
        ]))
        .unwrap()
    }

    fn config(pairs: &[(&'static str, &str)]) -> Config {
        let mut raw = RawInputs::default()
            .with("api-token", "qov_token_1")
            .with("environment-id", "b6a6a1c4-2f0e-4a44-9f4b-6f3e9d2c7a10")
            .with("commit-sha", "abc1234");
        for (k, v) in pairs {
            raw = raw.with(k, v);
        }
        Config::parse(&raw, &Invocation::default()).unwrap()
    }

    #[test]
    fn names_are_case_insensitive_and_versions_follow_the_source() {
        let c = config(&[
            ("applications", "api"),
            ("jobs", "migrate,report=def5678"),
            ("helms", "ingress"),
            ("databases", "pg"),
        ]);
        let plan = DeployPlan::new(&c, &services()).unwrap();
        let body = serde_json::to_value(plan.request()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "applications": [{"application_id": "a1000000-0000-4000-8000-000000000001", "git_commit_id": "abc1234"}],
                "jobs": [
                    {"id": "b1000000-0000-4000-8000-000000000001", "image_tag": "abc1234"},
                    {"id": "b1000000-0000-4000-8000-000000000002", "git_commit_id": "def5678"}
                ],
                "helms": [{"id": "d1000000-0000-4000-8000-000000000001"}],
                "databases": ["e1000000-0000-4000-8000-000000000001"]
            })
        );
    }

    #[test]
    fn wrong_kind_unknown_name_and_duplicates_are_input_errors() {
        let err = DeployPlan::new(&config(&[("applications", "worker")]), &services()).unwrap_err();
        assert_eq!(
            (err.input.as_str(), err.entry.as_deref()),
            ("applications", Some("worker"))
        );
        assert!(err.hint.unwrap().contains("containers"));
        let err = DeployPlan::new(&config(&[("applications", "apii")]), &services()).unwrap_err();
        assert!(err.hint.unwrap().contains("API"));
        let err = DeployPlan::new(
            &config(&[("applications", "api,a1000000-0000-4000-8000-000000000001")]),
            &services(),
        )
        .unwrap_err();
        assert!(err.problem.contains("twice"));
        assert_eq!(
            err.hint.as_deref(),
            Some(
                "`api` and `a1000000-0000-4000-8000-000000000001` name the same application; keep one entry"
            )
        );
        let err = DeployPlan::new(&config(&[("containers", "argo")]), &services()).unwrap_err();
        assert!(err.hint.unwrap().contains("ARGOCD_APP"));
        let err = DeployPlan::new(&config(&[("jobs", "both")]), &services()).unwrap_err();
        assert!(
            err.problem.contains("both an image and a git source"),
            "{err}"
        );
    }

    #[test]
    fn names_run_together_with_spaces_are_told_the_separators() {
        let err =
            DeployPlan::new(&config(&[("applications", "api worker")]), &services()).unwrap_err();
        assert_eq!(err.entry.as_deref(), Some("api worker"));
        assert_eq!(
            err.hint.as_deref(),
            Some("entries are separated by commas or newlines, not spaces: write `api,worker`")
        );
        // An unknown word among them: the usual list of names.
        let err =
            DeployPlan::new(&config(&[("applications", "api nope")]), &services()).unwrap_err();
        assert!(
            err.hint
                .unwrap()
                .starts_with("applications in this environment")
        );
    }

    #[test]
    fn a_version_must_have_the_form_of_its_field() {
        // `api==x` sent `git_commit_id: "=x"`.
        let raw = RawInputs::default()
            .with("api-token", "qov_token_1")
            .with("environment-id", "b6a6a1c4-2f0e-4a44-9f4b-6f3e9d2c7a10")
            .with("applications", "api==x");
        let err = Config::parse(&raw, &Invocation::default()).unwrap_err();
        assert_eq!(err.entry.as_deref(), Some("api==x"));
        assert!(err.problem.contains("`=x` is not a commit SHA"), "{err}");
        // A job's `=VERSION` may be a tag or a commit until its source is known.
        let c = config(&[("jobs", "report=1.4.2")]);
        let err = DeployPlan::new(&c, &services()).unwrap_err();
        assert!(
            err.problem
                .contains("`report` takes a commit, and `1.4.2` is not a commit SHA"),
            "{err}"
        );
        assert!(DeployPlan::new(&config(&[("jobs", "migrate=1.4.2")]), &services()).is_ok());
        let err =
            DeployPlan::new(&config(&[("helms", "ingress=3f8a1c2")]), &services()).unwrap_err();
        assert!(err.problem.contains("is not a chart version"), "{err}");
        for (input, value) in [
            ("commit-sha", "main"),
            ("image-tag", "acme/api:1"),
            ("chart-version", "4.11"),
        ] {
            let raw = RawInputs::default()
                .with("api-token", "qov_token_1")
                .with("environment-id", "b6a6a1c4-2f0e-4a44-9f4b-6f3e9d2c7a10")
                .with("applications", "api")
                .with(input, value);
            let err = Config::parse(&raw, &Invocation::default()).unwrap_err();
            assert_eq!(err.input, input, "{err}");
        }
    }

    #[test]
    fn names_match_case_insensitively_in_unicode_too() {
        let services: Vec<ServiceInfo> = serde_json::from_value(serde_json::json!([
            {"id": "a1000000-0000-4000-8000-000000000001", "name": "Café", "service_type": "APPLICATION"},
            {"id": "a1000000-0000-4000-8000-000000000002", "name": "straße", "service_type": "APPLICATION"},
            {"id": "a1000000-0000-4000-8000-000000000003", "name": "ÉTÉ-Ω", "service_type": "APPLICATION"},
        ]))
        .unwrap();
        let c = config(&[("applications", "CAFÉ,STRASSE,été-ω")]);
        let plan = DeployPlan::new(&c, &services).unwrap();
        let names: Vec<&str> = plan.targets.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["Café", "straße", "ÉTÉ-Ω"]);
        assert!(same_name("İstanbul", "İSTANBUL"));
        assert!(!same_name("cafe", "café"));
    }

    #[test]
    fn a_name_with_a_comma_or_an_equals_sign_gets_a_hint_to_list_it_by_id() {
        let services: Vec<ServiceInfo> = serde_json::from_value(serde_json::json!([
            {"id": "a1000000-0000-4000-8000-000000000001", "name": "api,eu", "service_type": "APPLICATION"},
            {"id": "a1000000-0000-4000-8000-000000000002", "name": "web=bad5eed", "service_type": "APPLICATION"},
            {"id": "a1000000-0000-4000-8000-000000000003", "name": "web", "service_type": "APPLICATION"},
        ]))
        .unwrap();
        // `api,eu` is cut into `api` and `eu`.
        let err = DeployPlan::new(&config(&[("applications", "api,eu")]), &services).unwrap_err();
        assert_eq!(err.entry.as_deref(), Some("api"));
        let hint = err.hint.unwrap();
        assert!(
            hint.contains("`api,eu` contains `,`")
                && hint.contains("a1000000-0000-4000-8000-000000000001"),
            "{hint}"
        );
        // `web=bad5eed` is `web` at commit `bad5eed` (a valid commit form), and a service is named
        // `web=bad5eed`.
        let err =
            DeployPlan::new(&config(&[("applications", "WEB=BAD5EED")]), &services).unwrap_err();
        assert!(
            err.problem.contains("a service is named `web=bad5eed`"),
            "{err}"
        );
        assert!(
            err.hint
                .unwrap()
                .contains("a1000000-0000-4000-8000-000000000002")
        );
        // Listed among the available names with their ids.
        let err = DeployPlan::new(&config(&[("applications", "nope")]), &services).unwrap_err();
        assert!(
            err.hint
                .unwrap()
                .contains("api,eu (list it by id: a1000000-0000-4000-8000-000000000001)")
        );
        // By id it works.
        let c = config(&[("applications", "a1000000-0000-4000-8000-000000000001")]);
        assert_eq!(
            DeployPlan::new(&c, &services).unwrap().targets[0].name,
            "api,eu"
        );
    }

    #[test]
    fn a_job_body_carries_one_version_field() {
        let c = config(&[("jobs", "migrate,report"), ("image-tag", "1.2")]);
        let plan = DeployPlan::new(&c, &services()).unwrap();
        let bodies: Vec<_> = plan
            .targets
            .iter()
            .map(|t| serde_json::to_value(t.job_body()).unwrap())
            .collect();
        assert_eq!(
            bodies,
            [
                serde_json::json!({"image_tag": "1.2"}),
                serde_json::json!({"git_commit_id": "abc1234"})
            ]
        );
    }

    #[test]
    fn terraform_action_is_sent_with_each_terraform() {
        let c = config(&[("terraforms", "infra"), ("terraform-action", "plan")]);
        let body =
            serde_json::to_value(DeployPlan::new(&c, &services()).unwrap().request()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"terraforms": [{"id": "f1000000-0000-4000-8000-000000000001", "git_commit_id": "abc1234", "action": "PLAN"}]})
        );
    }
}
