//! Blocked values (admin): values and `*` patterns that never match or attach — placeholders,
//! test values, and the tenant's own numbers and mailboxes (reason `own`).

use axum::extract::State;
use axum::http::StatusCode;
use contracts::api::directory::{BlockReason, BlockValue, Blocked, BlockedList};
use contracts::IdentityKind;
use runtime::http::auth::AdminAuth;
use runtime::http::problem::{Problem, PROBLEM_JSON};
use runtime::http::{ApiError, Json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ApiState;

pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(list_blocked, block_value))
}

/// The tenant's blocked values (admin; the first 1000: a list an operator reads, not an export).
#[utoipa::path(get, path = "/v1/blocked-values", tag = "blocked", responses(
    (status = 200, description = "blocked values", body = BlockedList),
    (status = 401, description = "no valid bearer token", body = Problem, content_type = PROBLEM_JSON),
    (status = 403, description = "not an admin", body = Problem, content_type = PROBLEM_JSON),
))]
async fn list_blocked(auth: AdminAuth, State(state): State<ApiState>) -> Result<Json<BlockedList>, ApiError> {
    let rows = sqlx::query!(
        "SELECT kind, pattern, reason FROM blocked_values WHERE tenant_id = $1 ORDER BY kind, pattern LIMIT 1000",
        auth.tenant(),
    )
    .fetch_all(&state.pool)
    .await?;
    let items = rows
        .into_iter()
        .map(|row| Blocked {
            kind: IdentityKind::parse(&row.kind),
            pattern: row.pattern,
            reason: if row.reason == BlockReason::Own.as_str() { BlockReason::Own } else { BlockReason::Blocked },
        })
        .collect();
    Ok(Json(BlockedList { items }))
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
    sqlx::query!(
        "INSERT INTO blocked_values (tenant_id, kind, pattern, reason) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        auth.tenant(),
        body.kind.map_or("", |k| k.as_str()),
        body.pattern.as_str(),
        body.reason.as_str(),
    )
    .execute(&state.pool)
    .await?;
    Ok(StatusCode::CREATED)
}
