//! Bulk access (admins and integrations — a whole directory of personal data is not an
//! operator's everyday tool): the contact list streamed as CSV or JSON lines ([`super::export`]),
//! and a CSV import through the resolution rules ([`super::import`]).

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use contracts::api::directory::RowReport;
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use runtime::http::auth::AdminOrIntegrationAuth;
use runtime::http::problem::{problem, Problem, PROBLEM_JSON};
use runtime::http::{ApiError, Json, Query};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::listing::ListQuery;
use super::{actor, export, import, ApiState};

/// Largest import file accepted in one request.
pub const IMPORT_LIMIT: usize = 8 * 1024 * 1024;

pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(export_contacts)).routes(routes!(import_contacts))
}

/// Stream the contacts matching the list's filters as CSV (default) or JSON lines.
#[utoipa::path(get, path = "/v1/contacts/export", tag = "transfer", params(ListQuery), responses(
    (status = 200, description = "the export (CSV columns: contact_id, name, name_source, emails, phones, other_identifiers, created_at, last_interaction_at)",
     content((String = "text/csv"), (String = "application/x-ndjson"))),
    (status = 400, description = "a parameter is invalid", body = Problem, content_type = PROBLEM_JSON),
    (status = 401, description = "no valid bearer token", body = Problem, content_type = PROBLEM_JSON),
    (status = 403, description = "neither admin nor integration", body = Problem, content_type = PROBLEM_JSON),
))]
async fn export_contacts(
    auth: AdminOrIntegrationAuth,
    State(state): State<ApiState>,
    Query(query): Query<ListQuery>,
) -> Result<Response, ApiError> {
    if query.limit.is_some() {
        return Err(ApiError::BadRequest("an export has no limit; narrow it with the filters".into()));
    }
    let format = query.format.unwrap_or_default();
    let filter = query.filter(state.defaults.default_region)?;
    let body = Body::from_stream(export::stream(state.pool.clone(), auth.tenant().to_owned(), filter, format));
    let disposition = format!("attachment; filename=\"{}\"", format.file_name());
    Ok(([(header::CONTENT_TYPE, format.content_type().to_owned()), (header::CONTENT_DISPOSITION, disposition)], body)
        .into_response())
}

/// Import contacts from CSV (`name`, `email`, `phone`, `custom:<parameter>`; several values of
/// a cell separated by `;`): every row goes through the resolution rules; the answer reports each.
#[utoipa::path(post, path = "/v1/contacts/import", tag = "transfer", request_body(content = String, content_type = "text/csv"), responses(
    (status = 200, description = "one report per row", body = Vec<RowReport>),
    (status = 401, description = "no valid bearer token", body = Problem, content_type = PROBLEM_JSON),
    (status = 403, description = "neither admin nor integration", body = Problem, content_type = PROBLEM_JSON),
    (status = 413, description = "file over 8 MiB", body = Problem, content_type = PROBLEM_JSON),
    (status = 415, description = "not text/csv", body = Problem, content_type = PROBLEM_JSON),
    (status = 422, description = "the header is not a known one", body = Problem, content_type = PROBLEM_JSON),
))]
async fn import_contacts(
    auth: AdminOrIntegrationAuth,
    State(state): State<ApiState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let media_type = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if media_type != "text/csv" {
        return Ok(problem(StatusCode::UNSUPPORTED_MEDIA_TYPE, "expected `content-type: text/csv`"));
    }
    let file = match Limited::new(body, IMPORT_LIMIT).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<LengthLimitError>() => return Err(ApiError::PayloadTooLarge(IMPORT_LIMIT)),
        Err(_) => return Err(ApiError::BadRequest("the request body could not be read".into())),
    };
    let rows = import::parse(&file).map_err(|e| ApiError::Unprocessable(e.to_string()))?;
    let report = import::import(&state.pool, &state.defaults, auth.tenant(), &actor(&auth), rows).await?;
    Ok(Json(report).into_response())
}
