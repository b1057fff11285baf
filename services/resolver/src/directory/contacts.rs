//! Contacts: the list (filters, sorts, keyset pages), one card, and an operator's create,
//! rename and delete.

use axum::extract::State;
use axum::http::StatusCode;
use contracts::api::directory::{Card, ContactPage, IdentitySource, NewContact, Rename};
use contracts::ContactId;
use contracts::{ContactChangeKind, FieldChange, Identity, NameSource, Profile};
use runtime::http::problem::{Problem, PROBLEM_JSON};
use runtime::http::{cursor, ApiError, Json, Path, Query, Role, TenantAuth};
use serde::Deserialize;
use serde_json::json;
use sqlx::PgPool;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::edit::Edit;
use super::listing::{self, ListQuery, Position};
use super::screen::{other_holder, screen};
use super::{actor, cards, ApiState, DirectoryError, Result};
use crate::changes;
use crate::resolution::rules::TenantRules;
use crate::resolution::store;

pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(list_contacts, create_contact)).routes(routes!(
        get_contact,
        rename_contact,
        delete_contact
    ))
}

/// A live card of the tenant, or 404.
pub async fn card(pool: &PgPool, tenant: &str, id: ContactId) -> Result<Card, ApiError> {
    let mut conn = pool.acquire().await?;
    cards::card(&mut conn, tenant, id).await?.ok_or_else(|| ApiError::NotFound(format!("contact {id}")))
}

/// List, search and filter contacts; keyset pages in the chosen sort order.
#[utoipa::path(get, path = "/v1/contacts", tag = "contacts", params(ListQuery), responses(
    (status = 200, description = "a page", body = ContactPage),
    (status = 400, description = "a parameter is invalid", body = Problem, content_type = PROBLEM_JSON),
    (status = 401, description = "no valid bearer token", body = Problem, content_type = PROBLEM_JSON),
))]
async fn list_contacts(
    auth: TenantAuth,
    State(state): State<ApiState>,
    Query(query): Query<ListQuery>,
) -> Result<Json<ContactPage>, ApiError> {
    if query.format.is_some() {
        return Err(ApiError::BadRequest("`format` is a parameter of /v1/contacts/export".into()));
    }
    let limit = query.limit()?;
    let filter = query.filter(state.defaults.default_region)?;
    let mut conn = state.pool.acquire().await?;
    let mut positions = listing::list(&mut conn, auth.tenant(), &filter, limit + 1).await?;
    let more = positions.len() as i64 > limit;
    positions.truncate(limit as usize);
    let next_cursor = positions.last().filter(|_| more).map(cursor::encode);
    let ids: Vec<ContactId> = positions.iter().map(Position::contact_id).collect();
    let items = cards::cards(&mut conn, auth.tenant(), &ids).await?;
    Ok(Json(ContactPage { items, next_cursor }))
}

/// A contact card; a merged-away id answers with its card and `merged_into` = the survivor.
#[utoipa::path(get, path = "/v1/contacts/{id}", tag = "contacts", params(("id" = Uuid, Path)), responses(
    (status = 200, description = "the card", body = Card),
    (status = 400, description = "not an id", body = Problem, content_type = PROBLEM_JSON),
    (status = 401, description = "no valid bearer token", body = Problem, content_type = PROBLEM_JSON),
    (status = 404, description = "no such contact of this tenant", body = Problem, content_type = PROBLEM_JSON),
))]
async fn get_contact(auth: TenantAuth, State(state): State<ApiState>, Path(id): Path<ContactId>) -> Result<Json<Card>, ApiError> {
    Ok(Json(card(&state.pool, auth.tenant(), id).await?))
}

/// Create a contact (name and identifiers from the operator).
#[utoipa::path(post, path = "/v1/contacts", tag = "contacts", request_body = NewContact, responses(
    (status = 201, description = "the new card", body = Card),
    (status = 400, description = "not JSON", body = Problem, content_type = PROBLEM_JSON),
    (status = 401, description = "no valid bearer token", body = Problem, content_type = PROBLEM_JSON),
    (status = 409, description = "an identifier belongs to another contact (`owner_contact_id`)", body = Problem, content_type = PROBLEM_JSON),
    (status = 413, description = "body over the limit", body = Problem, content_type = PROBLEM_JSON),
    (status = 415, description = "not application/json", body = Problem, content_type = PROBLEM_JSON),
    (status = 422, description = "a field is invalid (named in `detail`)", body = Problem, content_type = PROBLEM_JSON),
))]
async fn create_contact(
    auth: TenantAuth,
    State(state): State<ApiState>,
    Json(body): Json<NewContact>,
) -> Result<(StatusCode, Json<Card>), ApiError> {
    let identities: Vec<Identity> = body.identities.into_iter().map(|i| Identity::new(i.kind, i.value, i.scope)).collect();
    let name = body.name.map(String::from);
    let id = create(&state.pool, &state.defaults, auth.tenant(), &actor(&auth), name.as_deref(), &identities).await?;
    Ok((StatusCode::CREATED, Json(card(&state.pool, auth.tenant(), id).await?)))
}

/// Rename a contact (the name's source becomes `operator`, never overwritten automatically).
#[utoipa::path(patch, path = "/v1/contacts/{id}", tag = "contacts", params(("id" = Uuid, Path)), request_body = Rename, responses(
    (status = 200, description = "the card", body = Card),
    (status = 400, description = "not an id, or not JSON", body = Problem, content_type = PROBLEM_JSON),
    (status = 401, description = "no valid bearer token", body = Problem, content_type = PROBLEM_JSON),
    (status = 404, description = "no such live contact", body = Problem, content_type = PROBLEM_JSON),
    (status = 413, description = "body over the limit", body = Problem, content_type = PROBLEM_JSON),
    (status = 415, description = "not application/json", body = Problem, content_type = PROBLEM_JSON),
    (status = 422, description = "a field is invalid", body = Problem, content_type = PROBLEM_JSON),
))]
async fn rename_contact(
    auth: TenantAuth,
    State(state): State<ApiState>,
    Path(id): Path<ContactId>,
    Json(body): Json<Rename>,
) -> Result<Json<Card>, ApiError> {
    rename(&state.pool, auth.tenant(), id, &actor(&auth), body.name.as_str()).await?;
    Ok(Json(card(&state.pool, auth.tenant(), id).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct DeleteQuery {
    /// Also remove the contact's personal content everywhere (GDPR erasure).
    #[serde(default)]
    erase: bool,
}

/// Delete a contact: its identifiers and links are freed; `erase=true` (admin) also erases the
/// person everywhere — also a contact deleted earlier.
#[utoipa::path(delete, path = "/v1/contacts/{id}", tag = "contacts", params(("id" = Uuid, Path), DeleteQuery), responses(
    (status = 204, description = "deleted (and erased)"),
    (status = 400, description = "not an id", body = Problem, content_type = PROBLEM_JSON),
    (status = 401, description = "no valid bearer token", body = Problem, content_type = PROBLEM_JSON),
    (status = 403, description = "erasure without the admin role", body = Problem, content_type = PROBLEM_JSON),
    (status = 404, description = "no such contact (live, or deleted when erasing)", body = Problem, content_type = PROBLEM_JSON),
))]
async fn delete_contact(
    auth: TenantAuth,
    State(state): State<ApiState>,
    Path(id): Path<ContactId>,
    Query(query): Query<DeleteQuery>,
) -> Result<StatusCode, ApiError> {
    // Erasure destroys history for good: an admin's decision, not an operator's.
    if query.erase && auth.0.role != Role::Admin {
        return Err(ApiError::Forbidden("erasure needs the admin role".into()));
    }
    delete(&state.pool, auth.tenant(), id, &actor(&auth), query.erase).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new contact with a name and identifiers, all from the operator.
pub async fn create(
    pool: &PgPool,
    defaults: &TenantRules,
    tenant: &str,
    actor: &contracts::Actor,
    name: Option<&str>,
    identities: &[Identity],
) -> Result<ContactId> {
    let mut edit = Edit::begin(pool, tenant, actor).await?;
    let mut screened = Vec::new();
    for raw in identities {
        let identity = screen(edit.conn(), tenant, defaults, raw).await?;
        if let Some(owner) = other_holder(edit.conn(), tenant, ContactId(Uuid::nil()), &identity).await? {
            return Err(DirectoryError::Owned { kind: identity.kind, value: identity.value, owner });
        }
        if !screened.contains(&identity) {
            screened.push(identity);
        }
    }
    let contact_id = ContactId::random();
    let profile = name.map(|n| Profile { name: Some(n.to_owned()), name_source: NameSource::Operator });
    store::create_contact(edit.conn(), tenant, contact_id, profile.as_ref(), None).await?;
    let inserted = store::insert_identities(edit.conn(), tenant, contact_id, &screened, IdentitySource::Operator, None).await?;
    if inserted.len() != screened.len() {
        return Err(DirectoryError::Conflict("an identifier was claimed concurrently; retry".into()));
    }
    let mut fields: Vec<FieldChange> =
        name.map(|n| FieldChange { field: "name".into(), before: None, after: Some(json!(n)) }).into_iter().collect();
    fields.extend(inserted.iter().map(changes::identity_added));
    edit.record(contact_id, ContactChangeKind::Created, "created by an operator", fields, None).await?;
    edit.commit().await?;
    Ok(contact_id)
}

/// Sets the name with operator source (never overwritten automatically afterwards).
pub async fn rename(pool: &PgPool, tenant: &str, contact_id: ContactId, actor: &contracts::Actor, name: &str) -> Result<()> {
    let mut edit = Edit::begin(pool, tenant, actor).await?;
    let current = edit.lock_live(contact_id).await?;
    if current.name.as_deref() == Some(name) && current.name_source == Some(NameSource::Operator) {
        return Ok(());
    }
    store::set_name(edit.conn(), contact_id, name, NameSource::Operator).await?;
    let field = FieldChange { field: "name".into(), before: current.name.map(|n| json!(n)), after: Some(json!(name)) };
    edit.record(contact_id, ContactChangeKind::NameChanged, "set by an operator", vec![field], None).await?;
    edit.commit().await
}

/// Deletes a contact: its identifiers and links are freed, the snapshot gets a tombstone; with
/// `erase`, the person is erased too ([`erase_person`]) — also a contact deleted earlier without it.
pub async fn delete(pool: &PgPool, tenant: &str, contact_id: ContactId, actor: &contracts::Actor, erase: bool) -> Result<()> {
    let mut edit = Edit::begin(pool, tenant, actor).await?;
    let live = match edit.lock_live(contact_id).await {
        Ok(_) => true,
        Err(DirectoryError::NotFound(_)) if erase && exists(&mut edit, contact_id).await? => false,
        Err(error) => return Err(error),
    };
    if live {
        let removed: Vec<Identity> = sqlx::query!(
            r#"DELETE FROM contact_identities WHERE contact_id = $1
               RETURNING kind AS "kind: contracts::IdentityKind", value, nullif(scope, '') AS scope"#,
            contact_id.0,
        )
        .fetch_all(edit.conn())
        .await?
        .into_iter()
        .map(|row| Identity::new(row.kind, if erase { "[erased]".into() } else { row.value }, row.scope))
        .collect();
        sqlx::query!("DELETE FROM conversation_links WHERE contact_id = $1", contact_id.0).execute(edit.conn()).await?;
        sqlx::query!("UPDATE contacts SET deleted_at = now(), updated_at = now() WHERE contact_id = $1", contact_id.0)
            .execute(edit.conn())
            .await?;
        let fields = removed.iter().map(changes::identity_removed).collect();
        edit.record(contact_id, ContactChangeKind::Deleted, "deleted by an operator", fields, None).await?;
    }
    if erase {
        erase_person(&mut edit, contact_id).await?;
        edit.record(contact_id, ContactChangeKind::Erased, "erasure requested", Vec::new(), None).await?;
    }
    edit.commit().await
}

/// A contact of the tenant, deleted or not (locked).
async fn exists(edit: &mut Edit<'_>, contact_id: ContactId) -> Result<bool> {
    let found = sqlx::query_scalar!(
        r#"SELECT contact_id AS "contact_id: ContactId" FROM contacts WHERE tenant_id = $1 AND contact_id = $2 FOR UPDATE"#,
        edit.tenant,
        contact_id.0,
    )
    .fetch_optional(edit.conn())
    .await?;
    Ok(found.is_some())
}

/// Erasure (GDPR): everything of the resolver that names the person — the contact and every
/// contact merged into it: names, identifiers, links, proposals, duplicate suggestions (their
/// evidence is a value of theirs), names kept by merge journals, the decisions stored for their
/// interactions (reduced to the marker that they were seen, so a provider's retry publishes
/// nothing again), and published outbox rows. Consumers of `contacts.changes` erase the rest
/// on the `erased` event.
async fn erase_person(edit: &mut Edit<'_>, contact_id: ContactId) -> Result<()> {
    let tenant = edit.tenant;
    let people = sqlx::query_scalar!(
        r#"WITH RECURSIVE below (contact_id) AS (
             SELECT $2::uuid
             UNION SELECT c.contact_id FROM contacts c JOIN below b ON c.merged_into = b.contact_id WHERE c.tenant_id = $1
         )
         SELECT contact_id AS "contact_id!: ContactId" FROM below"#,
        tenant,
        contact_id.0,
    )
    .fetch_all(edit.conn())
    .await?;
    let keys: Vec<String> = people.iter().map(|id| contracts::topics::contact_key(tenant, id)).collect();
    // Each statement is checked on its own (`query!` needs its literal): one expansion each.
    macro_rules! erase_all {
        ($($sql:tt)*) => {$(
            sqlx::query!($sql, tenant, &people as &[ContactId]).execute(edit.conn()).await?;
        )*};
    }
    erase_all!(
        "UPDATE contacts SET name = NULL, name_source = NULL, deleted_at = coalesce(deleted_at, now()), updated_at = now()
         WHERE tenant_id = $1 AND contact_id = ANY($2)"
        "DELETE FROM contact_identities WHERE tenant_id = $1 AND contact_id = ANY($2)"
        "DELETE FROM conversation_links WHERE tenant_id = $1 AND contact_id = ANY($2)"
        "DELETE FROM proposed_identities WHERE tenant_id = $1 AND contact_id = ANY($2)"
        "DELETE FROM duplicate_suggestions WHERE tenant_id = $1 AND (contact_a = ANY($2) OR contact_b = ANY($2))"
        "UPDATE merge_journal SET survivor_name = NULL, survivor_name_src = NULL
         WHERE tenant_id = $1 AND (survivor_id = ANY($2) OR merged_id = ANY($2))"
        "UPDATE processed_interactions SET resolved = NULL WHERE tenant_id = $1 AND contact_id = ANY($2)"
    );
    // Published rows keep no payload already; this takes their metadata too. Rows still
    // pending are published (the `erased` event follows them) and then emptied.
    sqlx::query!("DELETE FROM outbox WHERE key = ANY($1) AND published_at IS NOT NULL", &keys).execute(edit.conn()).await?;
    Ok(())
}
