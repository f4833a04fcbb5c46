//! Strict validation of request bodies: the mock rejects what a careful client never sends
//! (unknown keys, empty versions, versions that do not match the service's source, ...).

use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};
use crate::fixtures::{self, SERVICES, ServiceDef, ServiceType, Source};
use crate::state::Target;

pub(crate) type Object = Map<String, Value>;

const TERRAFORM_ACTIONS: [&str; 3] = ["PLAN", "FORCE_UNLOCK", "MIGRATE_STATE"];

fn is_json(content_type: Option<&str>) -> bool {
    content_type
        .and_then(|value| value.split(';').next())
        .is_some_and(|media_type| media_type.trim().eq_ignore_ascii_case("application/json"))
}

fn check_content_type(content_type: Option<&str>) -> ApiResult<()> {
    if is_json(content_type) {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "Content-Type must be application/json (got {})",
            content_type.map_or_else(|| "none".to_owned(), |ct| format!("`{ct}`"))
        )))
    }
}

fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Parses a body that must be a JSON object, if there is one (an empty body gives `None`).
pub(crate) fn optional_object(
    content_type: Option<&str>,
    body: &[u8],
) -> ApiResult<Option<Object>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    check_content_type(content_type)?;
    let value: Value = serde_json::from_slice(body)
        .map_err(|err| ApiError::bad_request(format!("malformed JSON body: {err}")))?;
    match value {
        Value::Object(object) => Ok(Some(object)),
        other => Err(ApiError::bad_request(format!(
            "the body must be a JSON object, not {}",
            describe(&other)
        ))),
    }
}

/// Parses a body that must be present and be a JSON object.
pub(crate) fn required_object(content_type: Option<&str>, body: &[u8]) -> ApiResult<Object> {
    check_content_type(content_type)?;
    optional_object(content_type, body)?
        .ok_or_else(|| ApiError::bad_request("a JSON body is required"))
}

fn only_keys(object: &Object, allowed: &[&str], context: &str) -> ApiResult<()> {
    match object.keys().find(|key| !allowed.contains(&key.as_str())) {
        None => Ok(()),
        Some(key) => Err(ApiError::bad_request(format!(
            "{context}: unknown field `{key}` (allowed: {})",
            allowed.join(", ")
        ))),
    }
}

/// An optional boolean field.
fn optional_bool(object: &Object, key: &str) -> ApiResult<Option<bool>> {
    match object.get(key) {
        None => Ok(None),
        Some(Value::Bool(value)) => Ok(Some(*value)),
        Some(other) => Err(ApiError::bad_request(format!(
            "`{key}` must be a boolean, not {}",
            describe(other)
        ))),
    }
}

/// One object of a request body, with the path used in error messages (`jobs[0]`).
struct Item<'a> {
    path: String,
    fields: &'a Object,
}

impl<'a> Item<'a> {
    fn new(value: &'a Value, path: String, allowed: &[&str]) -> ApiResult<Self> {
        let Value::Object(fields) = value else {
            return Err(ApiError::bad_request(format!(
                "`{path}` must be an object, not {}",
                describe(value)
            )));
        };
        only_keys(fields, allowed, &format!("`{path}`"))?;
        Ok(Item { path, fields })
    }

    fn field_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            format!("`{key}`")
        } else {
            format!("`{}.{key}`", self.path)
        }
    }

    /// The required service id under `key`, which must be a service of `expected` type.
    fn service(&self, key: &str, expected: ServiceType) -> ApiResult<usize> {
        let path = self.field_path(key);
        match self.fields.get(key) {
            None => Err(ApiError::bad_request(format!("{path} is required"))),
            Some(value) => service_id(value, &path, expected),
        }
    }

    /// An optional version field: absent is fine, `""`, `null` or a non-string is not.
    fn version(&self, key: &str) -> ApiResult<Option<String>> {
        match self.fields.get(key) {
            None => Ok(None),
            Some(Value::String(text)) if !text.trim().is_empty() => Ok(Some(text.clone())),
            Some(other) => Err(ApiError::bad_request(format!(
                "{} must be a non-empty string, not {}: omit the field to keep the deployed version",
                self.field_path(key),
                match other {
                    Value::String(_) => "an empty string",
                    other => describe(other),
                }
            ))),
        }
    }

    fn mismatch(&self, key: &str, def: &ServiceDef, hint: &str) -> ApiError {
        ApiError::bad_request(format!(
            "{}: {} {hint}",
            self.field_path(key),
            def.describe()
        ))
    }
}

/// Resolves a service id that must exist and be of `expected` type.
fn service_id(value: &Value, path: &str, expected: ServiceType) -> ApiResult<usize> {
    let Value::String(id) = value else {
        return Err(ApiError::bad_request(format!(
            "{path} must be a string (uuid), not {}",
            describe(value)
        )));
    };
    let index = fixtures::service_index(id).ok_or_else(|| {
        ApiError::bad_request(format!(
            "{path}: no service `{id}` in environment `{}`",
            fixtures::ENVIRONMENT_NAME
        ))
    })?;
    let def = &SERVICES[index];
    if def.service_type != expected {
        return Err(ApiError::bad_request(format!(
            "{path}: {} is not of type {}; list it in `{}`",
            def.describe(),
            expected.as_str(),
            def.service_type.plural()
        )));
    }
    Ok(index)
}

/// The version a job deploy carries: `image_tag` for image jobs, `git_commit_id` for
/// docker (git) jobs, never both.
fn job_version(item: &Item<'_>, def: &ServiceDef) -> ApiResult<Option<String>> {
    let image_tag = item.version("image_tag")?;
    let git_commit_id = item.version("git_commit_id")?;
    match (image_tag, git_commit_id) {
        (Some(_), Some(_)) => Err(ApiError::bad_request(format!(
            "{}: image_tag and git_commit_id are mutually exclusive",
            if item.path.is_empty() {
                "body"
            } else {
                &item.path
            }
        ))),
        (Some(_), None) if def.source != Source::Image => Err(item.mismatch(
            "image_tag",
            def,
            "is built from a git repository: send git_commit_id",
        )),
        (None, Some(_)) if def.source != Source::Git => Err(item.mismatch(
            "git_commit_id",
            def,
            "runs a container image: send image_tag",
        )),
        (image_tag, git_commit_id) => Ok(image_tag.or(git_commit_id)),
    }
}

fn helm_version(item: &Item<'_>, def: &ServiceDef) -> ApiResult<Option<String>> {
    let chart_version = item.version("chart_version")?;
    let git_commit_id = item.version("git_commit_id")?;
    if item.version("values_override_git_commit_id")?.is_some() {
        return Err(item.mismatch(
            "values_override_git_commit_id",
            def,
            "has no git values-override repository",
        ));
    }
    match (chart_version, git_commit_id) {
        (Some(_), _) if def.source != Source::HelmRepository => Err(item.mismatch(
            "chart_version",
            def,
            "is sourced from a git repository: send git_commit_id",
        )),
        (_, Some(_)) if def.source != Source::Git => Err(item.mismatch(
            "git_commit_id",
            def,
            "is sourced from a Helm repository: send chart_version",
        )),
        (chart_version, git_commit_id) => Ok(chart_version.or(git_commit_id)),
    }
}

fn terraform_action(item: &Item<'_>) -> ApiResult<()> {
    match item.fields.get("action") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(action)) if TERRAFORM_ACTIONS.contains(&action.as_str()) => Ok(()),
        Some(other) => Err(ApiError::bad_request(format!(
            "{} must be one of {} (got {other})",
            item.field_path("action"),
            TERRAFORM_ACTIONS.join(", ")
        ))),
    }
}

/// One entry of a `DeployAllRequest` array.
fn deploy_item(service_type: ServiceType, value: &Value, path: String) -> ApiResult<Target> {
    let target = |service, version| Target { service, version };
    match service_type {
        ServiceType::Application => {
            let item = Item::new(value, path, &["application_id", "git_commit_id"])?;
            let service = item.service("application_id", service_type)?;
            Ok(target(service, item.version("git_commit_id")?))
        }
        ServiceType::Container => {
            let item = Item::new(value, path, &["id", "image_tag"])?;
            let service = item.service("id", service_type)?;
            Ok(target(service, item.version("image_tag")?))
        }
        ServiceType::Job => {
            let item = Item::new(value, path, &["id", "image_tag", "git_commit_id"])?;
            let service = item.service("id", service_type)?;
            Ok(target(service, job_version(&item, &SERVICES[service])?))
        }
        ServiceType::Helm => {
            let allowed = [
                "id",
                "chart_version",
                "git_commit_id",
                "values_override_git_commit_id",
            ];
            let item = Item::new(value, path, &allowed)?;
            let service = item.service("id", service_type)?;
            Ok(target(service, helm_version(&item, &SERVICES[service])?))
        }
        ServiceType::Database => Ok(target(
            service_id(value, &format!("`{path}`"), service_type)?,
            None,
        )),
        ServiceType::Terraform => {
            let item = Item::new(value, path, &["id", "git_commit_id", "action"])?;
            let service = item.service("id", service_type)?;
            terraform_action(&item)?;
            Ok(target(service, item.version("git_commit_id")?))
        }
    }
}

/// Validates a `DeployAllRequest`; returns its targets in canonical order
/// (applications, containers, jobs, helms, databases, terraforms).
pub(crate) fn deploy_all(body: &Object) -> ApiResult<Vec<Target>> {
    let arrays: Vec<&str> = ServiceType::ORDER.iter().map(|t| t.plural()).collect();
    only_keys(body, &arrays, "body")?;
    let mut targets: Vec<Target> = Vec::new();
    for service_type in ServiceType::ORDER {
        let name = service_type.plural();
        let Some(value) = body.get(name) else {
            continue;
        };
        let Value::Array(items) = value else {
            return Err(ApiError::bad_request(format!(
                "`{name}` must be an array, not {}",
                describe(value)
            )));
        };
        for (position, item) in items.iter().enumerate() {
            let path = format!("{name}[{position}]");
            let target = deploy_item(service_type, item, path.clone())?;
            if targets.iter().any(|t| t.service == target.service) {
                return Err(ApiError::bad_request(format!(
                    "`{path}`: {} is listed more than once",
                    SERVICES[target.service].describe()
                )));
            }
            targets.push(target);
        }
    }
    if targets.is_empty() {
        return Err(ApiError::bad_request(
            "nothing to deploy: every service array is empty or absent",
        ));
    }
    Ok(targets)
}

/// Validates a `JobDeployRequest` for the job at `job`; returns the version to deploy.
pub(crate) fn job_deploy(body: Option<&Object>, job: usize) -> ApiResult<Option<String>> {
    let Some(body) = body else {
        return Ok(None);
    };
    let value = Value::Object(body.clone());
    let item = Item::new(&value, String::new(), &["image_tag", "git_commit_id"])?;
    job_version(&item, &SERVICES[job])
}

/// A body that must be absent or `{}`.
pub(crate) fn empty_object(body: Option<&Object>) -> ApiResult<()> {
    match body {
        Some(body) => only_keys(body, &[], "body"),
        None => Ok(()),
    }
}

/// `{"is_skipped": bool}` of the stage attach call (absent → `false`).
pub(crate) fn attach_stage(body: Option<&Object>) -> ApiResult<bool> {
    let Some(body) = body else {
        return Ok(false);
    };
    only_keys(body, &["is_skipped"], "body")?;
    Ok(optional_bool(body, "is_skipped")?.unwrap_or(false))
}

/// `{"force_cancel": bool}` of the environment cancel call.
pub(crate) fn cancel_environment(body: Option<&Object>) -> ApiResult<bool> {
    let Some(body) = body else {
        return Ok(false);
    };
    only_keys(body, &["force_cancel"], "body")?;
    Ok(optional_bool(body, "force_cancel")?.unwrap_or(false))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::fixtures::ids;

    const JSON: Option<&str> = Some("application/json");

    fn object(value: Value) -> Object {
        match value {
            Value::Object(object) => object,
            other => panic!("not an object: {other}"),
        }
    }

    fn rejects(body: Value, needle: &str) {
        match deploy_all(&object(body.clone())) {
            Err(ApiError::BadRequest(message)) => {
                assert!(
                    message.contains(needle),
                    "{body}: `{message}` lacks `{needle}`"
                )
            }
            other => panic!("{body}: expected a 400, got {other:?}"),
        }
    }

    #[test]
    fn accepts_a_full_request_in_canonical_order() {
        let body = json!({
            "terraforms": [{"id": ids::INFRA, "git_commit_id": "abc", "action": null}],
            "databases": [ids::POSTGRES],
            "helms": [
                {"id": ids::INGRESS_NGINX, "chart_version": "4.11.2"},
                {"id": ids::CHARTS, "git_commit_id": "abc"}
            ],
            "jobs": [
                {"id": ids::MIGRATE, "image_tag": "1.5.0"},
                {"id": ids::REPORT}
            ],
            "containers": [{"id": ids::WORKER, "image_tag": "1.5.0"}],
            "applications": [{"application_id": ids::WEB, "git_commit_id": "abc"}],
        });
        let targets = deploy_all(&object(body)).expect("valid");
        let names: Vec<_> = targets.iter().map(|t| SERVICES[t.service].name).collect();
        assert_eq!(
            names,
            [
                "web",
                "worker",
                "migrate",
                "report",
                "ingress-nginx",
                "charts",
                "postgres",
                "infra"
            ]
        );
        assert_eq!(targets[0].version.as_deref(), Some("abc"));
        assert_eq!(targets[3].version, None);
        assert_eq!(targets[4].version.as_deref(), Some("4.11.2"));
    }

    #[test]
    fn rejects_malformed_requests() {
        rejects(json!({}), "nothing to deploy");
        rejects(json!({"applications": [], "jobs": []}), "nothing to deploy");
        rejects(json!({"services": []}), "unknown field `services`");
        rejects(json!({"applications": null}), "must be an array");
        rejects(
            json!({"applications": [{"id": ids::API}]}),
            "unknown field `id`",
        );
        rejects(
            json!({"containers": [{"id": ids::WORKER, "tag": "1"}]}),
            "unknown field `tag`",
        );
        rejects(
            json!({"containers": [{}]}),
            "`containers[0].id` is required",
        );
        rejects(json!({"containers": [{"id": 7}]}), "must be a string");
        rejects(
            json!({"containers": [{"id": "00000000-0000-4000-8000-000000000000"}]}),
            "no service",
        );
        rejects(
            json!({"containers": [{"id": ids::API}]}),
            "`api` (APPLICATION) is not of type CONTAINER",
        );
        rejects(
            json!({"databases": [{"id": ids::POSTGRES}]}),
            "must be a string",
        );
        rejects(
            json!({"applications": [{"application_id": ids::API}, {"application_id": ids::API}]}),
            "more than once",
        );
    }

    #[test]
    fn rejects_bad_versions() {
        rejects(
            json!({"applications": [{"application_id": ids::API, "git_commit_id": ""}]}),
            "non-empty string",
        );
        rejects(
            json!({"containers": [{"id": ids::WORKER, "image_tag": null}]}),
            "not null",
        );
        rejects(
            json!({"jobs": [{"id": ids::MIGRATE, "image_tag": "1", "git_commit_id": "a"}]}),
            "mutually exclusive",
        );
        rejects(
            json!({"jobs": [{"id": ids::MIGRATE, "git_commit_id": "a"}]}),
            "send image_tag",
        );
        rejects(
            json!({"jobs": [{"id": ids::REPORT, "image_tag": "1"}]}),
            "send git_commit_id",
        );
        rejects(
            json!({"helms": [{"id": ids::CHARTS, "chart_version": "1.0.0"}]}),
            "`helms[0].chart_version`",
        );
        rejects(
            json!({"helms": [{"id": ids::INGRESS_NGINX, "git_commit_id": "abc"}]}),
            "send chart_version",
        );
        rejects(
            json!({"helms": [{"id": ids::INGRESS_NGINX, "chart_version": ""}]}),
            "non-empty",
        );
        rejects(
            json!({"helms": [{"id": ids::CHARTS, "values_override_git_commit_id": "abc"}]}),
            "values-override",
        );
        rejects(
            json!({"terraforms": [{"id": ids::INFRA, "action": "APPLY"}]}),
            "must be one of",
        );
    }

    #[test]
    fn content_type_and_shape() {
        assert!(matches!(
            required_object(Some("text/plain"), b"{}"),
            Err(ApiError::BadRequest(m)) if m.contains("Content-Type")
        ));
        assert!(matches!(
            required_object(None, b"{}"),
            Err(ApiError::BadRequest(m)) if m.contains("(got none)")
        ));
        assert!(required_object(Some("application/json; charset=utf-8"), b"{}").is_ok());
        assert!(matches!(
            required_object(JSON, b""),
            Err(ApiError::BadRequest(m)) if m.contains("required")
        ));
        assert!(matches!(
            required_object(JSON, b"{"),
            Err(ApiError::BadRequest(m)) if m.contains("malformed")
        ));
        assert!(matches!(
            required_object(JSON, b"[]"),
            Err(ApiError::BadRequest(m)) if m.contains("not an array")
        ));
        assert_eq!(optional_object(None, b" "), Ok(None));
    }

    #[test]
    fn job_deploy_bodies() {
        let migrate = fixtures::service_index(ids::MIGRATE).unwrap();
        let report = fixtures::service_index(ids::REPORT).unwrap();
        let body = |value: Value| object(value);
        assert_eq!(job_deploy(None, migrate), Ok(None));
        assert_eq!(
            job_deploy(Some(&body(json!({"image_tag": "2.0.0"}))), migrate),
            Ok(Some("2.0.0".to_owned()))
        );
        assert_eq!(
            job_deploy(Some(&body(json!({"git_commit_id": "abc"}))), report),
            Ok(Some("abc".to_owned()))
        );
        for (value, job) in [
            (json!({"image_tag": "1", "git_commit_id": "a"}), migrate),
            (json!({"git_commit_id": "a"}), migrate),
            (json!({"image_tag": "1"}), report),
            (json!({"image_tag": ""}), migrate),
            (json!({"tag": "1"}), migrate),
        ] {
            assert!(
                matches!(
                    job_deploy(Some(&body(value.clone())), job),
                    Err(ApiError::BadRequest(_))
                ),
                "{value}"
            );
        }
    }

    #[test]
    fn small_bodies() {
        let body = |value: Value| object(value);
        assert_eq!(attach_stage(None), Ok(false));
        assert_eq!(
            attach_stage(Some(&body(json!({"is_skipped": true})))),
            Ok(true)
        );
        assert!(attach_stage(Some(&body(json!({"is_skipped": "yes"})))).is_err());
        assert!(attach_stage(Some(&body(json!({"skip": true})))).is_err());
        assert_eq!(
            cancel_environment(Some(&body(json!({"force_cancel": true})))),
            Ok(true)
        );
        assert!(cancel_environment(Some(&body(json!({"force": true})))).is_err());
        assert_eq!(empty_object(Some(&body(json!({})))), Ok(()));
        assert!(empty_object(Some(&body(json!({"x": 1})))).is_err());
    }
}
