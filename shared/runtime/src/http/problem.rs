//! RFC 7807 problem details: the one error type every HTTP service returns. 5xx causes are
//! logged with their chain and never leak to the client.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("missing or invalid credentials: {0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{detail}")]
    Conflict { detail: String, extra: serde_json::Value },
    #[error("request body larger than the {0}-byte limit")]
    PayloadTooLarge(usize),
    #[error("{0}")]
    Unprocessable(String),
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// The database's answer in the caller's terms: a lost race (a concurrent change of the same
/// row or key) is a 409 the client may retry, a value the database refuses is a 422, the
/// database unreachable is a 503; only the rest is a 500.
impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        let code = error.as_database_error().and_then(|db| db.code()).map(|c| c.into_owned());
        match code.as_deref() {
            Some("23505" | "40001" | "40P01") => {
                ApiError::Conflict { detail: "changed concurrently; retry the request".into(), extra: serde_json::json!({}) }
            }
            Some(code) if code.starts_with("22") || code.starts_with("23") || code.starts_with("54") => {
                tracing::warn!(%error, "the database refused a value");
                ApiError::Unprocessable("a value cannot be stored (too long or invalid)".into())
            }
            _ => match error {
                sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => {
                    tracing::warn!(%error, "database unavailable");
                    ApiError::Unavailable("the database is unavailable; retry later".into())
                }
                other => ApiError::Internal(other.into()),
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let detail = match &self {
            ApiError::Internal(error) => {
                tracing::error!(error = format!("{error:#}"), "request failed");
                "internal error; see the service log".to_owned()
            }
            other => other.to_string(),
        };
        let mut body = problem_body(status, &detail);
        if let (ApiError::Conflict { extra, .. }, Some(map)) = (&self, body.as_object_mut()) {
            if let Some(extra) = extra.as_object() {
                map.extend(extra.clone());
            }
        }
        let mut response = problem_response(status, &body);
        if status == StatusCode::UNAUTHORIZED {
            // RFC 7235 §3.1: every 401 carries a challenge.
            response.headers_mut().insert(header::WWW_AUTHENTICATE, super::auth::bearer_challenge());
        }
        response
    }
}

/// The RFC 7807 body every service answers errors with.
pub fn problem_body(status: StatusCode, detail: &str) -> serde_json::Value {
    json!({
        "type": "about:blank",
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "detail": detail,
    })
}

/// A problem+json response with `detail` (for errors outside [`ApiError`]).
pub fn problem(status: StatusCode, detail: &str) -> Response {
    problem_response(status, &problem_body(status, detail))
}

/// A problem+json response with an arbitrary body (for handlers that build their own).
pub fn problem_response(status: StatusCode, body: &impl Serialize) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    (status, [(header::CONTENT_TYPE, "application/problem+json")], bytes).into_response()
}

/// The RFC 7807 body as the OpenAPI documents describe it (`application/problem+json`). A 409
/// about an identifier another contact holds adds `owner_contact_id`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    #[schema(example = "about:blank")]
    pub kind: String,
    #[schema(example = "Unprocessable Entity")]
    pub title: String,
    #[schema(example = 422)]
    pub status: u16,
    #[schema(example = "`name`: must not be blank")]
    pub detail: String,
}

/// The content type of every error answer.
pub const PROBLEM_JSON: &str = "application/problem+json";
