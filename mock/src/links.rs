//! `GET /environment/{id}/link`: where the fixture's public services answer (`LinkResponseList`).
//!
//! The hosts carry the environment's id, so a clone's links (translated like every answer of a
//! clone) differ from the fixture's: `https://api-<environment id>.qovery-mock.example`.

use axum::Json;
use axum::extract::Path;
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::fixtures::ids;

/// Services with a public address: `(service id, name, internal port)`.
const PUBLIC: [(&str, &str, u16); 2] = [(ids::API, "api", 8080), (ids::WEB, "web", 3000)];

/// One `Link`.
fn link(service: &str, url: String, port: u16, is_default: bool) -> Value {
    json!({
        "service_id": service,
        "service_type": "APPLICATION",
        "url": url,
        "internal_port": port,
        "external_port": 443,
        "is_qovery_domain": true,
        "is_default": is_default,
    })
}

/// `GET /environment/{id}/link`: for each public service, its default link and its port link.
pub(crate) async fn list(Path(id): Path<String>) -> ApiResult<Json<Value>> {
    if id != ids::ENVIRONMENT {
        return Err(ApiError::not_found("environment", &id));
    }
    let results: Vec<Value> = PUBLIC
        .iter()
        .flat_map(|&(service, name, port)| {
            [
                link(
                    service,
                    format!("https://p{port}-{name}-{id}.qovery-mock.example"),
                    port,
                    false,
                ),
                link(
                    service,
                    format!("https://{name}-{id}.qovery-mock.example"),
                    port,
                    true,
                ),
            ]
        })
        .collect();
    Ok(Json(json!({ "results": results })))
}
