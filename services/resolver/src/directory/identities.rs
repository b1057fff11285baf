//! A contact's identifiers: "add another", edit a value, remove.

use axum::extract::State;
use axum::http::StatusCode;
use contracts::api::directory::{identity_value, Card, EditIdentity, NewIdentity};
use contracts::{ContactChangeKind, FieldChange, Identity, IdentityKind};
use contracts::{ContactId, IdentityId};
use runtime::http::problem::{Problem, PROBLEM_JSON};
use runtime::http::{ApiError, Json, Path, TenantAuth};
use serde_json::json;
use sqlx::PgPool;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::contacts::card;
use super::edit::Edit;
use super::screen::{other_holder, screen};
use super::{actor, ApiState, DirectoryError, Result};
use crate::changes;
use crate::resolution::rules::TenantRules;

/// Most identifiers one contact holds, so its card (and its `contacts.snapshot` event) stays
/// bounded however often operators add to it.
pub const MAX_PER_CONTACT: i64 = 200;

pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(add_identity)).routes(routes!(edit_identity, remove_identity))
}

/// Add an identifier ("add another"); a value another contact holds is a 409 naming its owner,
/// unless `shared` marks it knowingly shared.
#[utoipa::path(post, path = "/v1/contacts/{id}/identities", tag = "identities", params(("id" = Uuid, Path)),
    request_body = contracts::api::directory::NewIdentityFields, responses(
    (status = 201, description = "the card", body = Card),
    (status = 400, description = "not an id, or not JSON", body = Problem, content_type = PROBLEM_JSON),
    (status = 401, description = "no valid bearer token", body = Problem, content_type = PROBLEM_JSON),
    (status = 404, description = "no such live contact", body = Problem, content_type = PROBLEM_JSON),
    (status = 409, description = "another contact holds the value (`owner_contact_id`), or the card is full", body = Problem, content_type = PROBLEM_JSON),
    (status = 413, description = "body over the limit", body = Problem, content_type = PROBLEM_JSON),
    (status = 415, description = "not application/json", body = Problem, content_type = PROBLEM_JSON),
    (status = 422, description = "the value is invalid, blocked or undefined", body = Problem, content_type = PROBLEM_JSON),
))]
async fn add_identity(
    auth: TenantAuth,
    State(state): State<ApiState>,
    Path(id): Path<ContactId>,
    Json(body): Json<NewIdentity>,
) -> Result<(StatusCode, Json<Card>), ApiError> {
    let identity = Identity::new(body.kind, body.value, body.scope);
    add(&state.pool, &state.defaults, auth.tenant(), id, &actor(&auth), &identity, body.shared).await?;
    Ok((StatusCode::CREATED, Json(card(&state.pool, auth.tenant(), id).await?)))
}

/// Replace an identifier's value (same kind and scope).
#[utoipa::path(patch, path = "/v1/contacts/{id}/identities/{identity_id}", tag = "identities",
    params(("id" = Uuid, Path), ("identity_id" = Uuid, Path)), request_body = EditIdentity, responses(
    (status = 200, description = "the card", body = Card),
    (status = 400, description = "not an id, or not JSON", body = Problem, content_type = PROBLEM_JSON),
    (status = 401, description = "no valid bearer token", body = Problem, content_type = PROBLEM_JSON),
    (status = 404, description = "no such contact or identifier", body = Problem, content_type = PROBLEM_JSON),
    (status = 409, description = "another contact holds the value", body = Problem, content_type = PROBLEM_JSON),
    (status = 413, description = "body over the limit", body = Problem, content_type = PROBLEM_JSON),
    (status = 415, description = "not application/json", body = Problem, content_type = PROBLEM_JSON),
    (status = 422, description = "the value is invalid or blocked", body = Problem, content_type = PROBLEM_JSON),
))]
async fn edit_identity(
    auth: TenantAuth,
    State(state): State<ApiState>,
    Path((id, identity_id)): Path<(ContactId, IdentityId)>,
    Json(body): Json<EditIdentity>,
) -> Result<Json<Card>, ApiError> {
    edit(&state.pool, &state.defaults, auth.tenant(), id, identity_id, &actor(&auth), &body.value).await?;
    Ok(Json(card(&state.pool, auth.tenant(), id).await?))
}

/// Remove an identifier.
#[utoipa::path(delete, path = "/v1/contacts/{id}/identities/{identity_id}", tag = "identities",
    params(("id" = Uuid, Path), ("identity_id" = Uuid, Path)), responses(
    (status = 204, description = "removed"),
    (status = 400, description = "not an id", body = Problem, content_type = PROBLEM_JSON),
    (status = 401, description = "no valid bearer token", body = Problem, content_type = PROBLEM_JSON),
    (status = 404, description = "no such contact or identifier", body = Problem, content_type = PROBLEM_JSON),
))]
async fn remove_identity(
    auth: TenantAuth,
    State(state): State<ApiState>,
    Path((id, identity_id)): Path<(ContactId, IdentityId)>,
) -> Result<StatusCode, ApiError> {
    remove(&state.pool, auth.tenant(), id, identity_id, &actor(&auth)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Adds an identifier; returns its id (the existing one when the contact holds it already).
pub async fn add(
    pool: &PgPool,
    defaults: &TenantRules,
    tenant: &str,
    contact_id: ContactId,
    actor: &contracts::Actor,
    raw: &Identity,
    shared: bool,
) -> Result<IdentityId> {
    let mut edit = Edit::begin(pool, tenant, actor).await?;
    edit.lock_live(contact_id).await?;
    let identity = screen(edit.conn(), tenant, defaults, raw).await?;
    let existing = sqlx::query_scalar!(
        r#"SELECT identity_id AS "identity_id: IdentityId" FROM contact_identities
         WHERE contact_id = $1 AND kind = $2 AND scope = $3 AND value = $4"#,
        contact_id.0,
        identity.kind.as_str(),
        identity.scope.as_deref().unwrap_or_default(),
        identity.value,
    )
    .fetch_optional(edit.conn())
    .await?;
    if let Some(id) = existing {
        return Ok(id);
    }
    let held = sqlx::query_scalar!(r#"SELECT count(*) AS "held!" FROM contact_identities WHERE contact_id = $1"#, contact_id.0)
        .fetch_one(edit.conn())
        .await?;
    if held >= MAX_PER_CONTACT {
        return Err(DirectoryError::Conflict(format!("the contact holds the maximum of {MAX_PER_CONTACT} identifiers")));
    }
    if let Some(owner) = other_holder(edit.conn(), tenant, contact_id, &identity).await? {
        if !shared {
            return Err(DirectoryError::Owned { kind: identity.kind, value: identity.value, owner });
        }
        // Both holders now hold it knowingly shared, so the unique index allows both.
        sqlx::query!(
            "UPDATE contact_identities SET shared = true WHERE tenant_id = $1 AND kind = $2 AND scope = $3 AND value = $4",
            tenant,
            identity.kind.as_str(),
            identity.scope.as_deref().unwrap_or_default(),
            identity.value,
        )
        .execute(edit.conn())
        .await?;
    }
    let identity_id = IdentityId::random();
    sqlx::query!(
        "INSERT INTO contact_identities (identity_id, tenant_id, contact_id, kind, scope, value, source, shared)
         VALUES ($1, $2, $3, $4, $5, $6, 'operator', $7)",
        identity_id.0,
        tenant,
        contact_id.0,
        identity.kind.as_str(),
        identity.scope.as_deref().unwrap_or_default(),
        identity.value,
        shared,
    )
    .execute(edit.conn())
    .await?;
    edit.touch(contact_id).await?;
    let fields = vec![changes::identity_added(&identity)];
    edit.record(contact_id, ContactChangeKind::IdentifierAdded, "added by an operator", fields, None).await?;
    edit.commit().await?;
    Ok(identity_id)
}

async fn identity_of(edit: &mut Edit<'_>, contact_id: ContactId, identity_id: IdentityId) -> Result<Identity> {
    let row = sqlx::query!(
        r#"SELECT kind AS "kind: IdentityKind", value, nullif(scope, '') AS scope FROM contact_identities
         WHERE tenant_id = $1 AND contact_id = $2 AND identity_id = $3"#,
        edit.tenant,
        contact_id.0,
        identity_id.0,
    )
    .fetch_optional(edit.conn())
    .await?
    .ok_or_else(|| DirectoryError::NotFound(format!("identifier {identity_id}")))?;
    Ok(Identity::new(row.kind, row.value, row.scope))
}

/// Replaces an identifier's value (same kind and scope).
pub async fn edit(
    pool: &PgPool,
    defaults: &TenantRules,
    tenant: &str,
    contact_id: ContactId,
    identity_id: IdentityId,
    actor: &contracts::Actor,
    value: &str,
) -> Result<()> {
    let mut edit = Edit::begin(pool, tenant, actor).await?;
    edit.lock_live(contact_id).await?;
    let before = identity_of(&mut edit, contact_id, identity_id).await?;
    let value = identity_value(before.kind, value).map_err(|e| DirectoryError::Invalid(format!("`value`: {e}")))?;
    let after = screen(edit.conn(), tenant, defaults, &Identity::new(before.kind, value, before.scope.clone())).await?;
    if after == before {
        return Ok(());
    }
    if let Some(owner) = other_holder(edit.conn(), tenant, contact_id, &after).await? {
        return Err(DirectoryError::Owned { kind: after.kind, value: after.value, owner });
    }
    sqlx::query!(
        "UPDATE contact_identities SET value = $2, source = 'operator' WHERE identity_id = $1",
        identity_id.0,
        after.value
    )
    .execute(edit.conn())
    .await?;
    edit.touch(contact_id).await?;
    let field =
        FieldChange { field: format!("identities.{}", after.kind), before: Some(json!(before)), after: Some(json!(after)) };
    edit.record(contact_id, ContactChangeKind::IdentifierEdited, "edited by an operator", vec![field], None).await?;
    edit.commit().await
}

pub async fn remove(
    pool: &PgPool,
    tenant: &str,
    contact_id: ContactId,
    identity_id: IdentityId,
    actor: &contracts::Actor,
) -> Result<()> {
    let mut edit = Edit::begin(pool, tenant, actor).await?;
    edit.lock_live(contact_id).await?;
    let identity = identity_of(&mut edit, contact_id, identity_id).await?;
    sqlx::query!("DELETE FROM contact_identities WHERE identity_id = $1", identity_id.0).execute(edit.conn()).await?;
    edit.touch(contact_id).await?;
    let fields = vec![changes::identity_removed(&identity)];
    edit.record(contact_id, ContactChangeKind::IdentifierRemoved, "removed by an operator", fields, None).await?;
    edit.commit().await
}
