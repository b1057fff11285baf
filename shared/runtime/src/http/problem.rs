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

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        ApiError::Internal(error.into())
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
        problem_response(status, &body)
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
