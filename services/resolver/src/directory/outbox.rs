//! The outbox's quarantine (admin): change events Kafka refused for good, and putting one back
//! in the queue once the cause is fixed (see `crate::outbox`).

use axum::extract::State;
use axum::http::StatusCode;
use contracts::api::directory::QuarantinedList;
use runtime::http::auth::AdminAuth;
use runtime::http::problem::{Problem, PROBLEM_JSON};
use runtime::http::{ApiError, Path};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ApiState;

pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(list_quarantined)).routes(routes!(requeue))
}

/// Change events of this tenant that Kafka refused for good, with the error.
#[utoipa::path(get, path = "/v1/outbox/quarantined", tag = "outbox", responses(
    (status = 200, description = "quarantined events, oldest first", body = QuarantinedList),
    (status = 401, description = "no valid bearer token", body = Problem, content_type = PROBLEM_JSON),
    (status = 403, description = "not an admin", body = Problem, content_type = PROBLEM_JSON),
))]
async fn list_quarantined(
    auth: AdminAuth,
    State(state): State<ApiState>,
) -> Result<runtime::http::Json<QuarantinedList>, ApiError> {
    Ok(runtime::http::Json(QuarantinedList { items: crate::outbox::quarantined(&state.pool, auth.tenant()).await? }))
}

/// Put a quarantined event back in the queue (after the broker's limits were raised, say).
#[utoipa::path(post, path = "/v1/outbox/quarantined/{id}/requeue", tag = "outbox", params(("id" = i64, Path)), responses(
    (status = 204, description = "queued again"),
    (status = 400, description = "not an id", body = Problem, content_type = PROBLEM_JSON),
    (status = 401, description = "no valid bearer token", body = Problem, content_type = PROBLEM_JSON),
    (status = 403, description = "not an admin", body = Problem, content_type = PROBLEM_JSON),
    (status = 404, description = "no such quarantined event", body = Problem, content_type = PROBLEM_JSON),
))]
async fn requeue(auth: AdminAuth, State(state): State<ApiState>, Path(id): Path<i64>) -> Result<StatusCode, ApiError> {
    if crate::outbox::requeue(&state.pool, auth.tenant(), id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!("quarantined event {id}")))
    }
}
