//! Merging two contacts (the HTTP operations and [`merge_in`]); its preview ([`preview`]) and its
//! exact reversal from the merge journal ([`reversal`]) beside it.

mod preview;
mod reversal;

pub use preview::{compare, preview};
pub use reversal::{recompute_last_interaction, reverse};

use axum::extract::State;
use contracts::api::directory::{MergeHistory, MergePreview, MergeRecord, MergeRequest, MergeResult, NameChoice, UnmergeResult};
use contracts::{ContactChangeKind, FieldChange, Identity, IdentityKind, NameSource};
use contracts::{ContactId, IdentityId, MergeId};
use runtime::http::problem::{Problem, PROBLEM_JSON};
use runtime::http::{ApiError, Json, Path, Query, TenantAuth};
use serde::Deserialize;
use serde_json::json;
use sqlx::PgConnection;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::contacts::card;
use super::edit::{lock_live, Edit};
use super::identities::MAX_PER_CONTACT;
use super::{actor, ordered, ApiState, DirectoryError, Result};
use crate::changes::{self, Change};

pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(merge))
        .routes(routes!(merge_preview))
        .routes(routes!(merge_history))
        .routes(routes!(unmerge))
}

/// Merge `merged_contact_id` into the contact in the path (journaled; `unmerge` restores both).
#[utoipa::path(post, path = "/v1/contacts/{id}/merge", tag = "merges", params(("id" = Uuid, Path)), request_body = MergeRequest, responses(
    (status = 200, description = "the merge and the survivor's card", body = MergeResult),
    (status = 400, description = "not an id, or not JSON", body = Problem, content_type = PROBLEM_JSON),
    (status = 401, description = "no valid bearer token", body = Problem, content_type = PROBLEM_JSON),
    (status = 404, description = "no such live contact", body = Problem, content_type = PROBLEM_JSON),
    (status = 409, description = "together they would hold more identifiers than a contact may", body = Problem, content_type = PROBLEM_JSON),
    (status = 413, description = "body over the limit", body = Problem, content_type = PROBLEM_JSON),
    (status = 415, description = "not application/json", body = Problem, content_type = PROBLEM_JSON),
    (status = 422, description = "a field is invalid, or a contact merged into itself", body = Problem, content_type = PROBLEM_JSON),
))]
async fn merge(
    auth: TenantAuth,
    State(state): State<ApiState>,
    Path(id): Path<ContactId>,
    Json(body): Json<MergeRequest>,
) -> Result<Json<MergeResult>, ApiError> {
    let actor = actor(&auth);
    let mut edit = Edit::begin(&state.pool, auth.tenant(), &actor).await?;
    let merge_id =
        merge_in(edit.conn(), auth.tenant(), &actor, id, body.merged_contact_id, body.name, "merged by an operator").await?;
    edit.commit().await?;
    Ok(Json(MergeResult { merge_id, survivor: card(&state.pool, auth.tenant(), id).await? }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct PreviewQuery {
    /// The contact that would be merged into the one in the path.
    with: ContactId,
}

/// What merging `with` into the contact would do, without changing anything.
#[utoipa::path(get, path = "/v1/contacts/{id}/merge-preview", tag = "merges", params(("id" = Uuid, Path), PreviewQuery), responses(
    (status = 200, description = "both cards, the conflicts and what moves", body = MergePreview),
    (status = 400, description = "not an id, or `with` missing", body = Problem, content_type = PROBLEM_JSON),
    (status = 401, description = "no valid bearer token", body = Problem, content_type = PROBLEM_JSON),
    (status = 404, description = "no such live contact", body = Problem, content_type = PROBLEM_JSON),
    (status = 422, description = "a contact merged into itself", body = Problem, content_type = PROBLEM_JSON),
))]
async fn merge_preview(
    auth: TenantAuth,
    State(state): State<ApiState>,
    Path(id): Path<ContactId>,
    Query(query): Query<PreviewQuery>,
) -> Result<Json<MergePreview>, ApiError> {
    Ok(Json(preview(&state.pool, auth.tenant(), id, query.with).await?))
}

/// The card's merge history: merges it survived or was merged away in, newest first (open ones
/// can be unmerged).
#[utoipa::path(get, path = "/v1/contacts/{id}/merges", tag = "merges", params(("id" = Uuid, Path)), responses(
    (status = 200, description = "the merges, newest first", body = MergeHistory),
    (status = 400, description = "not an id", body = Problem, content_type = PROBLEM_JSON),
    (status = 401, description = "no valid bearer token", body = Problem, content_type = PROBLEM_JSON),
))]
async fn merge_history(
    auth: TenantAuth,
    State(state): State<ApiState>,
    Path(id): Path<ContactId>,
) -> Result<Json<MergeHistory>, ApiError> {
    let items = sqlx::query_as!(
        MergeRecord,
        r#"SELECT merge_id AS "merge_id: MergeId", survivor_id AS "survivor_id: ContactId", merged_id AS "merged_id: ContactId",
                  merged_by, merged_at, unmerged_at
         FROM merge_journal
         WHERE tenant_id = $1 AND (survivor_id = $2 OR merged_id = $2) ORDER BY merged_at DESC LIMIT 200"#,
        auth.tenant(),
        id.0,
    )
    .fetch_all(&state.pool)
    .await?;
    Ok(Json(MergeHistory { items }))
}

/// Reverse a merge: both contacts exactly as before it.
#[utoipa::path(post, path = "/v1/merges/{merge_id}/unmerge", tag = "merges", params(("merge_id" = Uuid, Path)), responses(
    (status = 200, description = "both cards", body = UnmergeResult),
    (status = 400, description = "not an id", body = Problem, content_type = PROBLEM_JSON),
    (status = 401, description = "no valid bearer token", body = Problem, content_type = PROBLEM_JSON),
    (status = 404, description = "no such open merge", body = Problem, content_type = PROBLEM_JSON),
))]
async fn unmerge(
    auth: TenantAuth,
    State(state): State<ApiState>,
    Path(merge_id): Path<MergeId>,
) -> Result<Json<UnmergeResult>, ApiError> {
    let (survivor, merged) = reverse(&state.pool, auth.tenant(), merge_id, &actor(&auth)).await?;
    let (survivor, restored) =
        (card(&state.pool, auth.tenant(), survivor).await?, card(&state.pool, auth.tenant(), merged).await?);
    Ok(Json(UnmergeResult { survivor, restored }))
}

/// Merges `merged` into `survivor` on the caller's transaction (an operator's edit, or the
/// resolver's batch under `auto_merge = verified`): identities and links move, the merged id
/// answers with `merged_into`, the survivor's derived fields take both into account, and the
/// journal records exactly what moved so [`reverse`] can restore both. `reason` goes on the
/// `merged` event.
pub async fn merge_in(
    conn: &mut PgConnection,
    tenant: &str,
    actor: &contracts::Actor,
    survivor: ContactId,
    merged: ContactId,
    name: NameChoice,
    reason: &str,
) -> Result<MergeId> {
    if survivor == merged {
        return Err(DirectoryError::Invalid("a contact cannot be merged into itself".into()));
    }
    // Lock in id order so two opposite merges cannot deadlock.
    let (first, second) = ordered(survivor, merged);
    let a = lock_live(&mut *conn, tenant, first).await?;
    let b = lock_live(&mut *conn, tenant, second).await?;
    let (kept, other) = if survivor == first { (a, b) } else { (b, a) };
    let held = sqlx::query_scalar!(
        r#"SELECT count(*) AS "held!" FROM contact_identities WHERE contact_id IN ($1, $2)"#,
        survivor.0,
        merged.0,
    )
    .fetch_one(&mut *conn)
    .await?;
    if held > MAX_PER_CONTACT {
        return Err(DirectoryError::Conflict(format!(
            "together they hold {held} identifiers, more than the {MAX_PER_CONTACT} a contact may"
        )));
    }

    let moved = sqlx::query!(
        r#"UPDATE contact_identities SET contact_id = $1 WHERE contact_id = $2
           RETURNING identity_id AS "identity_id: IdentityId", kind AS "kind: IdentityKind", value, nullif(scope, '') AS scope"#,
        survivor.0,
        merged.0,
    )
    .fetch_all(&mut *conn)
    .await?;
    let links = sqlx::query_scalar!(
        "UPDATE conversation_links SET contact_id = $1 WHERE contact_id = $2 RETURNING conversation_ref",
        survivor.0,
        merged.0,
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut fields: Vec<FieldChange> =
        moved.iter().map(|m| changes::identity_added(&Identity::new(m.kind, m.value.clone(), m.scope.clone()))).collect();
    let take_name = name == NameChoice::Merged && other.name.is_some() && other.name != kept.name;
    if take_name {
        sqlx::query!(
            "UPDATE contacts SET name = $2, name_source = $3 WHERE contact_id = $1",
            survivor.0,
            other.name,
            other.name_source as Option<NameSource>,
        )
        .execute(&mut *conn)
        .await?;
        fields.push(FieldChange {
            field: "name".into(),
            before: kept.name.as_ref().map(|n| json!(n)),
            after: other.name.as_ref().map(|n| json!(n)),
        });
    }
    // The survivor was in touch whenever either was.
    sqlx::query!(
        "UPDATE contacts s SET last_interaction_at = greatest(s.last_interaction_at, m.last_interaction_at), updated_at = now()
         FROM contacts m WHERE s.contact_id = $1 AND m.contact_id = $2",
        survivor.0,
        merged.0,
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!("UPDATE contacts SET merged_into = $1, updated_at = now() WHERE contact_id = $2", survivor.0, merged.0)
        .execute(&mut *conn)
        .await?;
    let merge_id = MergeId::random();
    let moved_ids: Vec<IdentityId> = moved.iter().map(|m| m.identity_id).collect();
    sqlx::query!(
        "INSERT INTO merge_journal (merge_id, tenant_id, survivor_id, merged_id, moved_identities, moved_links, survivor_name, survivor_name_src, merged_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        merge_id.0,
        tenant,
        survivor.0,
        merged.0,
        &moved_ids as &[IdentityId],
        &links,
        take_name.then_some(kept.name).flatten(),
        take_name.then_some(kept.name_source).flatten() as Option<NameSource>,
        actor_id(actor),
    )
    .execute(&mut *conn)
    .await?;
    let (low, high) = ordered(survivor, merged);
    sqlx::query!(
        "UPDATE duplicate_suggestions SET status = 'merged' WHERE tenant_id = $1 AND contact_a = $2 AND contact_b = $3",
        tenant,
        low.0,
        high.0,
    )
    .execute(&mut *conn)
    .await?;
    let change = Change::new(tenant, survivor, ContactChangeKind::Merged, actor, reason).with(fields).related(merged);
    changes::record(&mut *conn, change).await?;
    changes::snapshot(&mut *conn, tenant, merged).await?;
    Ok(merge_id)
}

fn actor_id(actor: &contracts::Actor) -> String {
    match actor {
        contracts::Actor::Operator { id } | contracts::Actor::Integration { id } => id.clone(),
        contracts::Actor::Channel { channel, .. } => channel.clone(),
    }
}
