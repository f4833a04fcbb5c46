//! The vendored Qovery OpenAPI spec as a test oracle: every request a test recorded must be an
//! operation of the spec, with declared query parameters and a body that validates against the
//! operation's schema (strictly: no undeclared field, no `null` where not nullable, no `""`).

use std::sync::OnceLock;

use serde_json::Value;
use wiremock::MockServer;

pub struct Spec {
    doc: Value,
}

pub fn spec() -> &'static Spec {
    static SPEC: OnceLock<Spec> = OnceLock::new();
    SPEC.get_or_init(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/spec/qovery-openapi.yaml");
        let text = std::fs::read_to_string(path)
            .expect("spec/qovery-openapi.yaml is vendored in the repo");
        Spec {
            doc: serde_yaml_ng::from_str(&text).expect("the spec parses"),
        }
    })
}

impl Spec {
    /// The operation for a concrete request path, matching `{param}` segments.
    pub fn operation(&self, method: &str, path: &str) -> Option<&Value> {
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let paths = self.doc["paths"].as_object()?;
        // Prefer literal segments over parameters (`/environment/deploymentStatus` vs `/environment/{id}`).
        let mut candidates: Vec<(usize, &Value)> = paths
            .iter()
            .filter_map(|(template, item)| {
                let parts: Vec<&str> = template.trim_matches('/').split('/').collect();
                if parts.len() != segments.len() {
                    return None;
                }
                let mut literal = 0;
                for (p, s) in parts.iter().zip(&segments) {
                    if p.starts_with('{') {
                        continue;
                    }
                    if p != s {
                        return None;
                    }
                    literal += 1;
                }
                Some((literal, item.get(method.to_ascii_lowercase())?))
            })
            .collect();
        candidates.sort_by_key(|(literal, _)| std::cmp::Reverse(*literal));
        candidates.first().map(|(_, op)| *op)
    }

    pub fn schema(&self, name: &str) -> &Value {
        &self.doc["components"]["schemas"][name]
    }

    /// The property names of a schema, its `allOf` branches included.
    pub fn properties(&self, name: &str) -> Vec<String> {
        let mut names = Vec::new();
        let mut pending = vec![self.schema(name)];
        while let Some(schema) = pending.pop() {
            let schema = self.resolve(schema);
            names.extend(
                schema["properties"]
                    .as_object()
                    .into_iter()
                    .flat_map(|p| p.keys().cloned()),
            );
            pending.extend(schema["allOf"].as_array().into_iter().flatten());
        }
        names
    }

    fn resolve<'a>(&'a self, mut value: &'a Value) -> &'a Value {
        while let Some(reference) = value.get("$ref").and_then(Value::as_str) {
            let mut target = &self.doc;
            for part in reference.trim_start_matches("#/").split('/') {
                target = &target[part];
            }
            value = target;
        }
        value
    }

    /// Schema violations of `value`, as `path: problem` lines.
    pub fn violations(&self, schema: &Value, value: &Value) -> Vec<String> {
        let mut errors = Vec::new();
        self.check(schema, value, "$", &mut errors);
        errors
    }

    /// The properties a schema declares, its `allOf` branches included, and its `oneOf`/`anyOf`
    /// branches' (each branch is then checked closed on its own).
    fn declared<'a>(&'a self, schema: &'a Value, names: &mut Vec<&'a str>) {
        let schema = self.resolve(schema);
        names.extend(
            schema["properties"]
                .as_object()
                .into_iter()
                .flat_map(|p| p.keys().map(String::as_str)),
        );
        for key in ["allOf", "oneOf", "anyOf"] {
            for branch in schema[key].as_array().into_iter().flatten() {
                self.declared(branch, names);
            }
        }
    }

    fn check(&self, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
        self.check_open(schema, value, at, errors, false);
    }

    /// `open`: fields the schema does not declare are another `allOf` branch's business (the
    /// composed schema checks them against the union of its branches).
    fn check_open(
        &self,
        schema: &Value,
        value: &Value,
        at: &str,
        errors: &mut Vec<String>,
        open: bool,
    ) {
        let schema = self.resolve(schema);
        if value.is_null() {
            if schema.get("nullable") != Some(&Value::Bool(true)) {
                errors.push(format!("{at}: null where the spec does not allow it"));
            }
            return;
        }
        if let Some(branches) = schema["allOf"].as_array() {
            for branch in branches {
                self.check_open(branch, value, at, errors, true);
            }
            if let (Value::Object(fields), false) = (value, open) {
                let mut names = Vec::new();
                self.declared(schema, &mut names);
                for name in fields.keys().filter(|n| !names.contains(&n.as_str())) {
                    errors.push(format!("{at}.{name}: not declared in the spec"));
                }
            }
        }
        if let Some(branches) = schema["oneOf"].as_array().or(schema["anyOf"].as_array()) {
            if !branches
                .iter()
                .any(|b| self.violations(b, value).is_empty())
            {
                errors.push(format!("{at}: matches none of the oneOf/anyOf branches"));
            }
        }
        if let Some(choices) = schema["enum"].as_array() {
            if !choices.contains(value) {
                errors.push(format!("{at}: {value} is not one of {choices:?}"));
            }
        }
        let kind = schema["type"].as_str().or(schema
            .get("properties")
            .or(schema.get("allOf"))
            .map(|_| "object"));
        match (kind, value) {
            (Some("object"), Value::Object(fields)) => {
                let properties = schema["properties"].as_object();
                for required in schema["required"].as_array().into_iter().flatten() {
                    if !fields.contains_key(required.as_str().unwrap_or_default()) {
                        errors.push(format!("{at}: missing required field {required}"));
                    }
                }
                for (name, field) in fields {
                    match properties.and_then(|p| p.get(name)) {
                        Some(property) => {
                            self.check(property, field, &format!("{at}.{name}"), errors)
                        }
                        None if schema["additionalProperties"].is_object() || open => {}
                        None if schema["allOf"].is_array() => {}
                        // A field of a `oneOf` branch: that branch checks it.
                        None if schema["oneOf"].is_array() || schema["anyOf"].is_array() => {
                            let mut names = Vec::new();
                            self.declared(schema, &mut names);
                            if !names.contains(&name.as_str()) {
                                errors.push(format!("{at}.{name}: not declared in the spec"));
                            }
                        }
                        None => errors.push(format!("{at}.{name}: not declared in the spec")),
                    }
                }
            }
            (Some("array"), Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    self.check(&schema["items"], item, &format!("{at}[{i}]"), errors);
                }
            }
            (Some("string"), Value::String(text)) => {
                if text.is_empty() {
                    errors.push(format!(
                        "{at}: empty string (absent values must be omitted)"
                    ));
                }
                if schema["format"] == "uuid" && uuid::Uuid::try_parse(text).is_err() {
                    errors.push(format!("{at}: {text:?} is not a uuid"));
                }
            }
            (Some("boolean"), Value::Bool(_))
            | (Some("integer"), Value::Number(_))
            | (Some("number"), Value::Number(_)) => {}
            (None, _) => {}
            (Some(kind), value) => errors.push(format!("{at}: expected {kind}, got {value}")),
        }
    }

    /// Checks one request: known operation, declared query parameters, body against the schema.
    pub fn request_violations(
        &self,
        method: &str,
        path: &str,
        query: &[(String, String)],
        body: &[u8],
    ) -> Vec<String> {
        let Some(operation) = self.operation(method, path) else {
            return vec![format!("{method} {path}: no such operation in the spec")];
        };
        let mut errors = Vec::new();
        let parameters: Vec<&Value> = operation["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| self.resolve(p))
            .collect();
        for (name, value) in query {
            match parameters
                .iter()
                .find(|p| p["in"] == "query" && p["name"] == name.as_str())
            {
                Some(parameter) => {
                    // A query value is text on the wire: a number parameter is checked as the
                    // number it spells.
                    let schema = self.resolve(&parameter["schema"]);
                    let typed = match schema["type"].as_str() {
                        Some("number" | "integer") => {
                            serde_json::from_str::<serde_json::Number>(value)
                                .map(Value::Number)
                                .unwrap_or_else(|_| Value::String(value.clone()))
                        }
                        _ => Value::String(value.clone()),
                    };
                    let violations = self.violations(schema, &typed);
                    errors.extend(
                        violations
                            .into_iter()
                            .map(|v| format!("{method} {path} ?{name}: {v}")),
                    );
                }
                None => errors.push(format!(
                    "{method} {path}: undeclared query parameter {name}"
                )),
            }
        }
        if !body.is_empty() {
            let schema =
                &self.resolve(&operation["requestBody"])["content"]["application/json"]["schema"];
            match serde_json::from_slice::<Value>(body) {
                _ if schema.is_null() => errors.push(format!(
                    "{method} {path}: sends a body the spec does not declare"
                )),
                Ok(value) => errors.extend(
                    self.violations(schema, &value)
                        .into_iter()
                        .map(|v| format!("{method} {path} body {v}")),
                ),
                Err(e) => errors.push(format!("{method} {path}: body is not JSON: {e}")),
            }
        }
        errors
    }
}

impl Spec {
    /// Violations of an answer: the operation must declare `status`, and a JSON body must validate
    /// against the schema it declares for it (an empty body must have none declared).
    pub fn response_violations(
        &self,
        method: &str,
        path: &str,
        status: u16,
        body: &[u8],
    ) -> Vec<String> {
        let Some(operation) = self.operation(method, path) else {
            return vec![format!("{method} {path}: no such operation in the spec")];
        };
        let response = &operation["responses"][status.to_string()];
        if response.is_null() {
            return vec![format!(
                "{method} {path}: the spec declares no {status} answer"
            )];
        }
        let schema = &self.resolve(response)["content"]["application/json"]["schema"];
        match (schema.is_null(), body.is_empty()) {
            (true, true) => Vec::new(),
            (true, false) => vec![format!(
                "{method} {path} {status}: a body the spec does not declare"
            )],
            (false, true) => vec![format!(
                "{method} {path} {status}: no body, the spec declares one"
            )],
            (false, false) => match serde_json::from_slice::<Value>(body) {
                Ok(value) => self
                    .violations(schema, &value)
                    .into_iter()
                    .map(|v| format!("{method} {path} {status} {v}"))
                    .collect(),
                Err(e) => vec![format!("{method} {path} {status}: not JSON: {e}")],
            },
        }
    }
}

/// Every request the bundled mock recorded conforms to the spec (as [`assert_conforms`] for
/// wiremock).
pub fn assert_mock_conforms(server: &qovery_mock::MockServer) {
    let mut errors = Vec::new();
    for request in server.requests() {
        let query: Vec<(String, String)> = request
            .query
            .as_deref()
            .unwrap_or_default()
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                (key.to_string(), value.to_string())
            })
            .collect();
        let body = request
            .body
            .as_ref()
            .map(|b| serde_json::to_vec(b).unwrap())
            .unwrap_or_default();
        errors.extend(spec().request_violations(&request.method, &request.path, &query, &body));
    }
    assert!(
        errors.is_empty(),
        "requests that break the spec:\n{}",
        errors.join("\n")
    );
}

/// Every request the server received conforms to the spec.
pub async fn assert_conforms(server: &MockServer) {
    let mut errors = Vec::new();
    for request in server.received_requests().await.unwrap_or_default() {
        let query: Vec<(String, String)> = request
            .url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        errors.extend(spec().request_violations(
            request.method.as_str(),
            request.url.path(),
            &query,
            &request.body,
        ));
    }
    assert!(
        errors.is_empty(),
        "requests that break the spec:\n{}",
        errors.join("\n")
    );
}

#[test]
fn the_validator_catches_what_it_must() {
    let spec = spec();
    let body = |v: Value| serde_json::to_vec(&v).unwrap();
    let ok = spec.request_violations(
        "POST",
        "/environment/b6a6a1c4-2f0e-4a44-9f4b-6f3e9d2c7a10/service/deploy",
        &[],
        &body(serde_json::json!({"applications": [{"application_id": "a1000000-0000-4000-8000-000000000001", "git_commit_id": "abc"}]})),
    );
    assert_eq!(ok, Vec::<String>::new());
    for (bad, why) in [
        (
            serde_json::json!({"applications": [{"application_id": "x"}]}),
            "not a uuid",
        ),
        (
            serde_json::json!({"applications": [{"application_id": "a1000000-0000-4000-8000-000000000001", "git_commit_id": ""}]}),
            "empty string",
        ),
        (
            serde_json::json!({"containers": [{"id": "a1000000-0000-4000-8000-000000000001", "image_tag": null}]}),
            "null",
        ),
        (
            serde_json::json!({"jobs": [{"id": "a1000000-0000-4000-8000-000000000001", "tag": "1"}]}),
            "not declared",
        ),
        (
            serde_json::json!({"containers": [{"image_tag": "1"}]}),
            "missing required",
        ),
        (
            serde_json::json!({"terraforms": [{"id": "a1000000-0000-4000-8000-000000000001", "action": "APPLY"}]}),
            "is not one of",
        ),
    ] {
        let errors = spec.request_violations(
            "POST",
            "/environment/b6a6a1c4-2f0e-4a44-9f4b-6f3e9d2c7a10/service/deploy",
            &[],
            &body(bad.clone()),
        );
        assert!(errors.iter().any(|e| e.contains(why)), "{bad}: {errors:?}");
    }
    assert!(
        !spec
            .request_violations("GET", "/environment/x/nothing", &[], &[])
            .is_empty()
    );
    assert!(
        !spec
            .request_violations(
                "POST",
                "/job/x/deploy",
                &[("forceEvent".into(), "EXPLODE".into())],
                &[]
            )
            .is_empty()
    );
    assert!(
        spec.request_violations(
            "POST",
            "/job/x/deploy",
            &[("forceEvent".into(), "STOP".into())],
            &[]
        )
        .is_empty()
    ); // allOf: a field of any branch is declared; one of none is not.
    let environment = spec.schema("Environment");
    let good = serde_json::json!({"id": "b6a6a1c4-2f0e-4a44-9f4b-6f3e9d2c7a10", "created_at": "2026-01-01T00:00:00Z",
        "name": "pr-1", "mode": "PREVIEW", "cluster_id": "b6a6a1c4-2f0e-4a44-9f4b-6f3e9d2c7a10",
        "cloud_provider": {}, "project": {"id": "b6a6a1c4-2f0e-4a44-9f4b-6f3e9d2c7a10"},
        "organization": {"id": "b6a6a1c4-2f0e-4a44-9f4b-6f3e9d2c7a10"}});
    assert_eq!(spec.violations(environment, &good), Vec::<String>::new());
    let mut bad = good.clone();
    bad["blueprint"] = Value::Bool(true);
    bad["mode"] = Value::String("REVIEW".into());
    let errors = spec.violations(environment, &bad);
    assert!(
        errors
            .iter()
            .any(|e| e.contains("$.blueprint: not declared")),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|e| e.contains("is not one of")),
        "{errors:?}"
    );
    assert!(!errors.iter().any(|e| e.contains("$.name")), "{errors:?}");
    let history = |size: &str| {
        spec.request_violations(
            "GET",
            "/environment/x/deploymentHistoryV2",
            &[("pageSize".into(), size.into())],
            &[],
        )
    };
    assert_eq!(history("10"), Vec::<String>::new());
    assert!(!history("ten").is_empty());
    // Answers: an allOf composite is closed over the union of its branches.
    let page = spec.schema("DeploymentHistoryEnvironmentPaginatedResponseListV2");
    assert_eq!(
        spec.violations(
            page,
            &serde_json::json!({"page": 1, "page_size": 20, "results": []})
        ),
        Vec::<String>::new()
    );
    let errors = spec.violations(
        page,
        &serde_json::json!({"page": 1, "results": [{"bogus": 1}], "extra": true}),
    );
    for why in [
        "missing required field \"page_size\"",
        "$.extra: not declared",
        "missing required field \"identifier\"",
        "$.results[0].bogus: not declared",
    ] {
        assert!(errors.iter().any(|e| e.contains(why)), "{why}: {errors:?}");
    }
}
