//! The duplicates queue: contacts the resolver found matching one interaction, which an
//! operator merges (accept) or keeps apart (dismiss) — never merged silently.

use axum::extract::State;
use axum::http::StatusCode;
use contracts::api::directory::{AcceptDuplicate, DuplicatePair, MergeResult, Suggestion, SuggestionList};
use contracts::{ContactId, MergeId};
use runtime::http::problem::{Problem, PROBLEM_JSON};
use runtime::http::{ApiError, Json, Query, TenantAuth};
use serde::Deserialize;
use sqlx::PgPool;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::contacts::card;
use super::edit::Edit;
use super::merges::merge_in;
use super::{actor, ordered, ApiState, DirectoryError, Result};

pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(list_duplicates)).routes(routes!(accept_duplicate)).routes(routes!(dismiss_duplicate))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// `open` (default): the queue; `all`: also dismissed, merged and different-people pairs.
    #[param(inline)]
    status: Option<Shown>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
enum Shown {
    #[default]
    Open,
    All,
}

/// The duplicate suggestions, newest first, with their evidence and its weakness.
#[utoipa::path(get, path = "/v1/duplicates", tag = "duplicates", params(ListQuery), responses(
    (status = 200, description = "suggestions", body = SuggestionList),
    (status = 400, description = "a parameter is invalid", body = Problem, content_type = PROBLEM_JSON),
    (status = 401, description = "no valid bearer token", body = Problem, content_type = PROBLEM_JSON),
))]
async fn list_duplicates(
    auth: TenantAuth,
    State(state): State<ApiState>,
    Query(query): Query<ListQuery>,
) -> Result<Json<SuggestionList>, ApiError> {
    let all = query.status.unwrap_or_default() == Shown::All;
    Ok(Json(SuggestionList { items: suggestions(&state.pool, auth.tenant(), all).await? }))
}

/// Accept a suggestion: merge the pair (the older contact survives unless `survivor` says).
#[utoipa::path(post, path = "/v1/duplicates/accept", tag = "duplicates", request_body = AcceptDuplicate, responses(
    (status = 200, description = "the merge and the survivor's card", body = MergeResult),
    (status = 400, description = "not JSON", body = Problem, content_type = PROBLEM_JSON),
    (status = 401, description = "no valid bearer token", body = Problem, content_type = PROBLEM_JSON),
    (status = 404, description = "no such open suggestion", body = Problem, content_type = PROBLEM_JSON),
    (status = 409, description = "together they would hold more identifiers than a contact may", body = Problem, content_type = PROBLEM_JSON),
    (status = 413, description = "body over the limit", body = Problem, content_type = PROBLEM_JSON),
    (status = 415, description = "not application/json", body = Problem, content_type = PROBLEM_JSON),
    (status = 422, description = "a field is invalid", body = Problem, content_type = PROBLEM_JSON),
))]
async fn accept_duplicate(
    auth: TenantAuth,
    State(state): State<ApiState>,
    Json(body): Json<AcceptDuplicate>,
) -> Result<Json<MergeResult>, ApiError> {
    let (merge_id, survivor) = accept(&state.pool, auth.tenant(), &actor(&auth), body).await?;
    Ok(Json(MergeResult { merge_id, survivor: card(&state.pool, auth.tenant(), survivor).await? }))
}

/// Dismiss a suggestion: the pair is never suggested again.
#[utoipa::path(post, path = "/v1/duplicates/dismiss", tag = "duplicates", request_body = DuplicatePair, responses(
    (status = 204, description = "dismissed"),
    (status = 400, description = "not JSON", body = Problem, content_type = PROBLEM_JSON),
    (status = 401, description = "no valid bearer token", body = Problem, content_type = PROBLEM_JSON),
    (status = 404, description = "no such open suggestion", body = Problem, content_type = PROBLEM_JSON),
    (status = 413, description = "body over the limit", body = Problem, content_type = PROBLEM_JSON),
    (status = 415, description = "not application/json", body = Problem, content_type = PROBLEM_JSON),
    (status = 422, description = "a field is invalid", body = Problem, content_type = PROBLEM_JSON),
))]
async fn dismiss_duplicate(
    auth: TenantAuth,
    State(state): State<ApiState>,
    Json(pair): Json<DuplicatePair>,
) -> Result<StatusCode, ApiError> {
    dismiss(&state.pool, auth.tenant(), pair.contact_a, pair.contact_b).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The open suggestions, or every one (`all`), newest first.
pub async fn suggestions(pool: &PgPool, tenant: &str, all: bool) -> Result<Vec<Suggestion>> {
    Ok(sqlx::query_as!(
        Suggestion,
        r#"SELECT contact_a AS "contact_a: ContactId", contact_b AS "contact_b: ContactId",
                  shared_kind AS "shared_kind: contracts::IdentityKind", shared_value,
                  weakness AS "weakness: contracts::api::directory::Weakness",
                  status AS "status: contracts::api::directory::SuggestionStatus", created_at
         FROM duplicate_suggestions
         WHERE tenant_id = $1 AND (status = 'open' OR $2) ORDER BY created_at DESC LIMIT 500"#,
        tenant,
        all,
    )
    .fetch_all(pool)
    .await?)
}

/// Dismisses a suggestion; the pair is never suggested again.
pub async fn dismiss(pool: &PgPool, tenant: &str, a: ContactId, b: ContactId) -> Result<()> {
    let (low, high) = ordered(a, b);
    let done = sqlx::query!(
        "UPDATE duplicate_suggestions SET status = 'dismissed' WHERE tenant_id = $1 AND contact_a = $2 AND contact_b = $3 AND status = 'open'",
        tenant,
        low.0,
        high.0,
    )
    .execute(pool)
    .await?;
    if done.rows_affected() == 0 {
        return Err(DirectoryError::NotFound("open duplicate suggestion".into()));
    }
    Ok(())
}

/// Accepts a duplicate suggestion: merges the pair and marks the suggestion merged, in one
/// transaction. The survivor defaults to the older contact (the established record others may
/// already refer to). Returns the merge id and the survivor.
pub async fn accept(
    pool: &PgPool,
    tenant: &str,
    actor: &contracts::Actor,
    body: AcceptDuplicate,
) -> Result<(MergeId, ContactId)> {
    let (a, b) = (body.contact_a, body.contact_b);
    if body.survivor.is_some_and(|s| s != a && s != b) {
        return Err(DirectoryError::Invalid("survivor must be contact_a or contact_b".into()));
    }
    let (low, high) = ordered(a, b);
    let mut edit = Edit::begin(pool, tenant, actor).await?;
    // Locking the suggestion first makes a concurrent accept or dismiss of the same pair wait
    // and then find it no longer open.
    let open = sqlx::query_scalar!(
        "SELECT status FROM duplicate_suggestions
         WHERE tenant_id = $1 AND contact_a = $2 AND contact_b = $3 AND status = 'open' FOR UPDATE",
        tenant,
        low.0,
        high.0,
    )
    .fetch_optional(edit.conn())
    .await?;
    if open.is_none() {
        return Err(DirectoryError::NotFound("open duplicate suggestion".into()));
    }
    let survivor = match body.survivor {
        Some(survivor) => survivor,
        None => {
            let older = sqlx::query_scalar!(
                r#"SELECT contact_id AS "contact_id: ContactId" FROM contacts
                 WHERE tenant_id = $1 AND contact_id IN ($2, $3) ORDER BY created_at, contact_id LIMIT 1"#,
                tenant,
                low.0,
                high.0,
            )
            .fetch_optional(edit.conn())
            .await?;
            older.unwrap_or(low)
        }
    };
    let merged = if survivor == low { high } else { low };
    // merge_in marks the suggestion of the pair merged.
    let merge_id = merge_in(edit.conn(), tenant, actor, survivor, merged, body.name, "duplicate suggestion accepted").await?;
    edit.commit().await?;
    Ok((merge_id, survivor))
}
