//! Conversation links: an operator's "pick existing contact" for a session, which every later
//! interaction of that conversation follows.

use axum::extract::State;
use axum::http::StatusCode;
use contracts::api::directory::{Link, LinkConversation, LinkResult};
use contracts::ContactId;
use contracts::{limits, ContactChangeKind, FieldChange};
use runtime::http::problem::{Problem, PROBLEM_JSON};
use runtime::http::{ApiError, Json, Path, TenantAuth};
use serde_json::json;
use sqlx::PgPool;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::edit::Edit;
use super::{actor, ApiState, DirectoryError, Result};

pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(link_of, link)).routes(routes!(unlink))
}

/// A conversation reference from the path: within the limit every reference is cut to.
fn conversation(raw: &str) -> Result<&str, ApiError> {
    let raw = raw.trim();
    if raw.is_empty() || raw.len() > limits::REF_BYTES {
        return Err(ApiError::BadRequest(format!("a conversation reference has 1 to {} bytes", limits::REF_BYTES)));
    }
    Ok(raw)
}

/// Who the conversation is linked to, if an operator linked it (the session panel shows it).
#[utoipa::path(get, path = "/v1/conversations/{conversation_ref}/link", tag = "conversations",
    params(("conversation_ref" = String, Path, max_length = 256)), responses(
    (status = 200, description = "the link", body = Link),
    (status = 400, description = "a bad reference", body = Problem, content_type = PROBLEM_JSON),
    (status = 401, description = "no valid bearer token", body = Problem, content_type = PROBLEM_JSON),
    (status = 404, description = "the conversation is not linked", body = Problem, content_type = PROBLEM_JSON),
))]
async fn link_of(
    auth: TenantAuth,
    State(state): State<ApiState>,
    Path(conversation_ref): Path<String>,
) -> Result<Json<Link>, ApiError> {
    let conversation_ref = conversation(&conversation_ref)?;
    let link = sqlx::query_as!(
        Link,
        r#"SELECT conversation_ref, contact_id AS "contact_id: ContactId", linked_by, linked_at
         FROM conversation_links WHERE tenant_id = $1 AND conversation_ref = $2"#,
        auth.tenant(),
        conversation_ref,
    )
    .fetch_optional(&state.pool)
    .await?;
    link.map(Json).ok_or_else(|| ApiError::NotFound(format!("link of conversation {conversation_ref}")))
}

/// Link a conversation to a contact ("pick existing"): later interactions of it resolve there.
#[utoipa::path(post, path = "/v1/conversations/{conversation_ref}/link", tag = "conversations",
    params(("conversation_ref" = String, Path, max_length = 256)), request_body = LinkConversation, responses(
    (status = 200, description = "linked", body = LinkResult),
    (status = 400, description = "a bad reference, or not JSON", body = Problem, content_type = PROBLEM_JSON),
    (status = 401, description = "no valid bearer token", body = Problem, content_type = PROBLEM_JSON),
    (status = 404, description = "no such live contact", body = Problem, content_type = PROBLEM_JSON),
    (status = 413, description = "body over the limit", body = Problem, content_type = PROBLEM_JSON),
    (status = 415, description = "not application/json", body = Problem, content_type = PROBLEM_JSON),
    (status = 422, description = "a field is invalid", body = Problem, content_type = PROBLEM_JSON),
))]
async fn link(
    auth: TenantAuth,
    State(state): State<ApiState>,
    Path(conversation_ref): Path<String>,
    Json(body): Json<LinkConversation>,
) -> Result<Json<LinkResult>, ApiError> {
    let conversation_ref = conversation(&conversation_ref)?.to_owned();
    let changed = link_to(&state.pool, auth.tenant(), &actor(&auth), &conversation_ref, body.contact_id, &auth.0.sub).await?;
    Ok(Json(LinkResult { conversation_ref, contact_id: body.contact_id, changed }))
}

/// Unlink a conversation: its later interactions resolve by their identifiers again.
#[utoipa::path(post, path = "/v1/conversations/{conversation_ref}/unlink", tag = "conversations",
    params(("conversation_ref" = String, Path, max_length = 256)), responses(
    (status = 204, description = "unlinked"),
    (status = 400, description = "a bad reference", body = Problem, content_type = PROBLEM_JSON),
    (status = 401, description = "no valid bearer token", body = Problem, content_type = PROBLEM_JSON),
    (status = 404, description = "the conversation is not linked", body = Problem, content_type = PROBLEM_JSON),
))]
async fn unlink(
    auth: TenantAuth,
    State(state): State<ApiState>,
    Path(conversation_ref): Path<String>,
) -> Result<StatusCode, ApiError> {
    unlink_from(&state.pool, auth.tenant(), &actor(&auth), conversation(&conversation_ref)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Links `conversation_ref` to `contact_id`; false when it was linked there already.
pub async fn link_to(
    pool: &PgPool,
    tenant: &str,
    actor: &contracts::Actor,
    conversation_ref: &str,
    contact_id: ContactId,
    linked_by: &str,
) -> Result<bool> {
    let mut edit = Edit::begin(pool, tenant, actor).await?;
    edit.lock_live(contact_id).await?;
    let done = sqlx::query!(
        "INSERT INTO conversation_links (tenant_id, conversation_ref, contact_id, linked_by) VALUES ($1, $2, $3, $4)
         ON CONFLICT (tenant_id, conversation_ref) DO UPDATE SET contact_id = excluded.contact_id, linked_by = excluded.linked_by, linked_at = now()
         WHERE conversation_links.contact_id <> excluded.contact_id",
        tenant,
        conversation_ref,
        contact_id.0,
        linked_by,
    )
    .execute(edit.conn())
    .await?;
    let changed = done.rows_affected() == 1;
    if changed {
        // The timeline moves the conversation's unidentified interactions to the contact.
        let field = FieldChange { field: "conversation_ref".into(), before: None, after: Some(json!(conversation_ref)) };
        edit.record(contact_id, ContactChangeKind::ConversationLinked, "linked by an operator", vec![field], None).await?;
    }
    edit.commit().await?;
    Ok(changed)
}

pub async fn unlink_from(pool: &PgPool, tenant: &str, actor: &contracts::Actor, conversation_ref: &str) -> Result<()> {
    let mut edit = Edit::begin(pool, tenant, actor).await?;
    let unlinked = sqlx::query_scalar!(
        r#"DELETE FROM conversation_links WHERE tenant_id = $1 AND conversation_ref = $2 RETURNING contact_id AS "contact_id: ContactId""#,
        tenant,
        conversation_ref,
    )
    .fetch_optional(edit.conn())
    .await?;
    let Some(contact_id) = unlinked else {
        return Err(DirectoryError::NotFound(format!("link of conversation {conversation_ref}")));
    };
    let field = FieldChange { field: "conversation_ref".into(), before: Some(json!(conversation_ref)), after: None };
    edit.record(contact_id, ContactChangeKind::ConversationUnlinked, "unlinked by an operator", vec![field], None).await?;
    edit.commit().await
}
