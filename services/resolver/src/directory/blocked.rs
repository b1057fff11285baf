//! Blocked values (admin): values and `*` patterns that never match or attach — placeholders,
//! test values, and the tenant's own numbers and mailboxes (reason `own`).

use axum::extract::State;
use axum::http::StatusCode;
use contracts::api::directory::BlockValue;
use runtime::http::auth::AdminAuth;
use runtime::http::problem::{Problem, PROBLEM_JSON};
use runtime::http::{ApiError, Json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ApiState;

pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(block_value))
}

/// Block a value or `*` pattern for one identifier kind or all (admin).
#[utoipa::path(post, path = "/v1/blocked-values", tag = "blocked", request_body = BlockValue, responses(
    (status = 201, description = "blocked"),
    (status = 400, description = "not JSON", body = Problem, content_type = PROBLEM_JSON),
    (status = 401, description = "no valid bearer token", body = Problem, content_type = PROBLEM_JSON),
    (status = 403, description = "not an admin", body = Problem, content_type = PROBLEM_JSON),
    (status = 413, description = "body over the limit", body = Problem, content_type = PROBLEM_JSON),
    (status = 415, description = "not application/json", body = Problem, content_type = PROBLEM_JSON),
    (status = 422, description = "a field is invalid", body = Problem, content_type = PROBLEM_JSON),
))]
async fn block_value(
    auth: AdminAuth,
    State(state): State<ApiState>,
    Json(body): Json<BlockValue>,
) -> Result<StatusCode, ApiError> {
    sqlx::query("INSERT INTO blocked_values (tenant_id, kind, pattern, reason) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
        .bind(auth.tenant())
        .bind(body.kind.map_or("", |k| k.as_str()))
        .bind(body.pattern.as_str())
        .bind(body.reason.as_str())
        .execute(&state.pool)
        .await?;
    Ok(StatusCode::CREATED)
}
