//! What resolution writes. Every write of set-based resolution has a multi-row form taking
//! arrays (`UNNEST`); the one-row forms used by the operator's edits call the same statement.

use chrono::{DateTime, Utc};
use contracts::api::directory::{IdentitySource, Weakness};
use contracts::{ContactId, IdentityId};
use contracts::{Identity, NameSource, Profile, ResolvedInteraction};
use sqlx::types::Json;
use sqlx::PgConnection;
use uuid::Uuid;

/// Marks the interaction processed with its decision (replayed on redelivery), the contact it
/// went to (none when unidentified) and when it happened (the contact's history).
pub async fn record_processed(conn: &mut PgConnection, resolved: &ResolvedInteraction) -> sqlx::Result<()> {
    record_processed_many(conn, std::slice::from_ref(resolved)).await
}

/// [`record_processed`] for a whole batch, in one statement.
pub async fn record_processed_many(conn: &mut PgConnection, resolved: &[ResolvedInteraction]) -> sqlx::Result<()> {
    if resolved.is_empty() {
        return Ok(());
    }
    let tenants: Vec<&str> = resolved.iter().map(|r| r.tenant_id.as_str()).collect();
    let ids: Vec<Uuid> = resolved.iter().map(|r| r.interaction.interaction_id).collect();
    let contacts: Vec<Option<ContactId>> = resolved.iter().map(|r| r.contact_id).collect();
    let payloads: Vec<Json<&ResolvedInteraction>> = resolved.iter().map(Json).collect();
    let occurred: Vec<DateTime<Utc>> = resolved.iter().map(|r| r.interaction.body.occurred_at).collect();
    sqlx::query!(
        "INSERT INTO processed_interactions (tenant_id, interaction_id, contact_id, resolved, occurred_at)
         SELECT * FROM unnest($1::text[], $2::uuid[], $3::uuid[], $4::jsonb[], $5::timestamptz[])
         ON CONFLICT (tenant_id, interaction_id) DO NOTHING",
        &tenants as &[&str],
        &ids,
        &contacts as &[Option<ContactId>],
        &payloads as _,
        &occurred,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Records that `a` and `b` matched the same interaction, with the evidence and its weakness;
/// true when the pair is new (a pair dismissed or recorded as different people stays so).
pub async fn suggest_duplicate(
    conn: &mut PgConnection,
    tenant: &str,
    a: ContactId,
    b: ContactId,
    shared: &Identity,
    weakness: Option<Weakness>,
) -> sqlx::Result<bool> {
    let pair = Suggestion { tenant: tenant.to_owned(), a, b, shared: shared.clone(), weakness };
    let inserted = suggest_many(conn, &[pair]).await?;
    Ok(inserted.first().copied().unwrap_or(false))
}

/// Two contacts one interaction matched, and the evidence.
pub struct Suggestion {
    pub tenant: String,
    pub a: ContactId,
    pub b: ContactId,
    pub shared: Identity,
    pub weakness: Option<Weakness>,
}

/// [`suggest_duplicate`] for many pairs in one statement: whether each pair was new.
pub async fn suggest_many(conn: &mut PgConnection, pairs: &[Suggestion]) -> sqlx::Result<Vec<bool>> {
    if pairs.is_empty() {
        return Ok(Vec::new());
    }
    let tenants: Vec<&str> = pairs.iter().map(|p| p.tenant.as_str()).collect();
    let low: Vec<ContactId> = pairs.iter().map(|p| p.a.min(p.b)).collect();
    let high: Vec<ContactId> = pairs.iter().map(|p| p.a.max(p.b)).collect();
    let kinds: Vec<&str> = pairs.iter().map(|p| p.shared.kind.as_str()).collect();
    let values: Vec<&str> = pairs.iter().map(|p| p.shared.value.as_str()).collect();
    let weakness: Vec<Option<Weakness>> = pairs.iter().map(|p| p.weakness).collect();
    let inserted = sqlx::query!(
        r#"INSERT INTO duplicate_suggestions (tenant_id, contact_a, contact_b, shared_kind, shared_value, weakness)
         SELECT tenant_id, a, b, kind, value, weakness
         FROM unnest($1::text[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[])
           WITH ORDINALITY AS n(tenant_id, a, b, kind, value, weakness, pos)
         ORDER BY pos
         ON CONFLICT DO NOTHING
         RETURNING tenant_id, contact_a AS "contact_a: ContactId", contact_b AS "contact_b: ContactId""#,
        &tenants as &[&str],
        &low as &[ContactId],
        &high as &[ContactId],
        &kinds as &[&str],
        &values as &[&str],
        &weakness as _,
    )
    .fetch_all(conn)
    .await?;
    let mut inserted: std::collections::HashSet<(String, ContactId, ContactId)> =
        inserted.into_iter().map(|r| (r.tenant_id, r.contact_a, r.contact_b)).collect();
    // A pair twice in `pairs` is new only the first time.
    Ok(pairs.iter().zip(low.iter().zip(&high)).map(|(p, (l, h))| inserted.remove(&(p.tenant.clone(), *l, *h))).collect())
}

/// Of `contacts`, every pair already in the duplicates queue (any status), smaller id first.
pub async fn suggested_pairs(
    conn: &mut PgConnection,
    tenant: &str,
    contacts: &[ContactId],
) -> sqlx::Result<Vec<(ContactId, ContactId)>> {
    let rows = sqlx::query!(
        r#"SELECT contact_a AS "contact_a: ContactId", contact_b AS "contact_b: ContactId" FROM duplicate_suggestions
         WHERE tenant_id = $1 AND (contact_a = ANY($2) OR contact_b = ANY($2))"#,
        tenant,
        contacts as &[ContactId],
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.contact_a, r.contact_b)).collect())
}

/// Offers `identities` to `contact_id` for an operator to confirm; returns the ones newly
/// proposed (one proposed before, confirmed or rejected, is not proposed again).
pub async fn propose(
    conn: &mut PgConnection,
    tenant: &str,
    contact_id: ContactId,
    identities: &[Identity],
    source: IdentitySource,
    interaction_id: Option<Uuid>,
) -> sqlx::Result<Vec<Identity>> {
    let rows: Vec<NewProposal> = identities
        .iter()
        .map(|identity| NewProposal { tenant: tenant.to_owned(), contact_id, identity: identity.clone(), source, interaction_id })
        .collect();
    let inserted = propose_many(conn, &rows).await?;
    Ok(identities.iter().zip(inserted).filter(|(_, inserted)| *inserted).map(|(i, _)| i.clone()).collect())
}

/// An identifier offered to a contact.
pub struct NewProposal {
    pub tenant: String,
    pub contact_id: ContactId,
    pub identity: Identity,
    pub source: IdentitySource,
    pub interaction_id: Option<Uuid>,
}

/// [`propose`] for many contacts in one statement, in the order given (stamped by the clock, so
/// the order of proposals is the order they were made): whether each row was newly proposed.
pub async fn propose_many(conn: &mut PgConnection, rows: &[NewProposal]) -> sqlx::Result<Vec<bool>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = rows.iter().map(|_| Uuid::new_v4()).collect();
    let tenants: Vec<&str> = rows.iter().map(|r| r.tenant.as_str()).collect();
    let contacts: Vec<ContactId> = rows.iter().map(|r| r.contact_id).collect();
    let (kinds, scopes, values) = columns(rows.iter().map(|r| &r.identity));
    let sources: Vec<IdentitySource> = rows.iter().map(|r| r.source).collect();
    let interactions: Vec<Option<Uuid>> = rows.iter().map(|r| r.interaction_id).collect();
    let inserted = sqlx::query_scalar!(
        "INSERT INTO proposed_identities (proposal_id, tenant_id, contact_id, kind, scope, value, source, interaction_id)
         SELECT id, tenant_id, contact_id, kind, scope, value, source, interaction_id
         FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], $8::uuid[])
           WITH ORDINALITY AS n(id, tenant_id, contact_id, kind, scope, value, source, interaction_id, pos)
         ORDER BY pos
         ON CONFLICT DO NOTHING
         RETURNING proposal_id",
        &ids,
        &tenants as &[&str],
        &contacts as &[ContactId],
        &kinds as &[&str],
        &scopes,
        &values as &[&str],
        &sources as _,
        &interactions as &[Option<Uuid>],
    )
    .fetch_all(conn)
    .await?;
    Ok(inserted_flags(&ids, inserted))
}

/// The contact's identities among `identities` were seen at `at` (never moves back in time).
pub async fn mark_seen(
    conn: &mut PgConnection,
    contact_id: ContactId,
    identities: &[Identity],
    at: DateTime<Utc>,
) -> sqlx::Result<()> {
    let seen: Vec<Seen> = identities.iter().map(|identity| Seen { contact_id, identity, at }).collect();
    mark_seen_many(conn, &seen).await
}

/// A contact's identity seen in an interaction.
pub struct Seen<'a> {
    pub contact_id: ContactId,
    pub identity: &'a Identity,
    pub at: DateTime<Utc>,
}

/// [`mark_seen`] for a whole batch, in one statement; one row per contact and identity (the
/// caller keeps the latest time: an `UPDATE` applies one matching row only).
pub async fn mark_seen_many(conn: &mut PgConnection, seen: &[Seen<'_>]) -> sqlx::Result<()> {
    if seen.is_empty() {
        return Ok(());
    }
    let contacts: Vec<ContactId> = seen.iter().map(|s| s.contact_id).collect();
    let (kinds, scopes, values) = columns(seen.iter().map(|s| s.identity));
    let at: Vec<DateTime<Utc>> = seen.iter().map(|s| s.at).collect();
    sqlx::query!(
        "UPDATE contact_identities ci SET last_seen_at = greatest(ci.last_seen_at, i.at)
         FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::timestamptz[]) AS i(contact_id, kind, scope, value, at)
         WHERE ci.contact_id = i.contact_id AND ci.kind = i.kind AND ci.scope = i.scope AND ci.value = i.value",
        &contacts as &[ContactId],
        &kinds as &[&str],
        &scopes,
        &values as &[&str],
        &at,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A contact to create.
pub struct NewContact {
    pub tenant: String,
    pub contact_id: ContactId,
    /// The profile's name, and its source (none without a name).
    pub name: Option<String>,
    pub name_source: Option<NameSource>,
    pub last_interaction_at: Option<DateTime<Utc>>,
}

impl NewContact {
    /// A contact named by `profile`.
    pub fn new(
        tenant: &str,
        contact_id: ContactId,
        profile: Option<&Profile>,
        last_interaction_at: Option<DateTime<Utc>>,
    ) -> Self {
        let name = profile.and_then(|p| p.name.clone());
        let name_source = name.as_ref().and(profile).map(|p| p.name_source);
        Self { tenant: tenant.to_owned(), contact_id, name, name_source, last_interaction_at }
    }
}

pub async fn create_contact(
    conn: &mut PgConnection,
    tenant: &str,
    contact_id: ContactId,
    profile: Option<&Profile>,
    last_interaction_at: Option<DateTime<Utc>>,
) -> sqlx::Result<()> {
    create_contacts(conn, &[NewContact::new(tenant, contact_id, profile, last_interaction_at)]).await
}

/// Creates contacts in one statement.
pub async fn create_contacts(conn: &mut PgConnection, contacts: &[NewContact]) -> sqlx::Result<()> {
    if contacts.is_empty() {
        return Ok(());
    }
    let ids: Vec<ContactId> = contacts.iter().map(|c| c.contact_id).collect();
    let tenants: Vec<&str> = contacts.iter().map(|c| c.tenant.as_str()).collect();
    let names: Vec<Option<&str>> = contacts.iter().map(|c| c.name.as_deref()).collect();
    let sources: Vec<Option<NameSource>> = contacts.iter().map(|c| c.name_source).collect();
    let at: Vec<Option<DateTime<Utc>>> = contacts.iter().map(|c| c.last_interaction_at).collect();
    sqlx::query!(
        "INSERT INTO contacts (contact_id, tenant_id, name, name_source, last_interaction_at)
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::timestamptz[])",
        &ids as &[ContactId],
        &tenants as &[&str],
        &names as &[Option<&str>],
        &sources as _,
        &at as &[Option<DateTime<Utc>>],
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// An identity to add to a contact.
pub struct NewIdentity {
    pub tenant: String,
    pub contact_id: ContactId,
    pub identity: Identity,
    pub source: IdentitySource,
    /// `None`: now.
    pub seen_at: Option<DateTime<Utc>>,
}

/// Inserts identities nobody holds, in one statement; returns the ones actually inserted (a
/// concurrent holder wins).
pub async fn insert_identities(
    conn: &mut PgConnection,
    tenant: &str,
    contact_id: ContactId,
    identities: &[Identity],
    source: IdentitySource,
    seen_at: Option<DateTime<Utc>>,
) -> sqlx::Result<Vec<Identity>> {
    let rows: Vec<NewIdentity> = identities
        .iter()
        .map(|identity| NewIdentity { tenant: tenant.to_owned(), contact_id, identity: identity.clone(), source, seen_at })
        .collect();
    let inserted = insert_identities_many(conn, &rows).await?;
    Ok(identities.iter().zip(inserted).filter(|(_, inserted)| *inserted).map(|(i, _)| i.clone()).collect())
}

/// [`insert_identities`] for many contacts in one statement: whether each row was inserted
/// (false: someone holds the value already).
pub async fn insert_identities_many(conn: &mut PgConnection, rows: &[NewIdentity]) -> sqlx::Result<Vec<bool>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<IdentityId> = rows.iter().map(|_| IdentityId::random()).collect();
    let tenants: Vec<&str> = rows.iter().map(|r| r.tenant.as_str()).collect();
    let contacts: Vec<ContactId> = rows.iter().map(|r| r.contact_id).collect();
    let (kinds, scopes, values) = columns(rows.iter().map(|r| &r.identity));
    let sources: Vec<IdentitySource> = rows.iter().map(|r| r.source).collect();
    let provenances: Vec<&str> = rows.iter().map(|r| if r.identity.is_verified() { "verified" } else { "typed" }).collect();
    let seen: Vec<Option<DateTime<Utc>>> = rows.iter().map(|r| r.seen_at).collect();
    let inserted = sqlx::query_scalar!(
        r#"INSERT INTO contact_identities (identity_id, tenant_id, contact_id, kind, scope, value, source, provenance, last_seen_at)
         SELECT id, tenant_id, contact_id, kind, scope, value, source, provenance, coalesce(seen, now())
         FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::timestamptz[])
           AS n(id, tenant_id, contact_id, kind, scope, value, source, provenance, seen)
         ON CONFLICT (tenant_id, kind, scope, value) WHERE NOT shared DO NOTHING
         RETURNING identity_id AS "identity_id: IdentityId""#,
        &ids as &[IdentityId],
        &tenants as &[&str],
        &contacts as &[ContactId],
        &kinds as &[&str],
        &scopes,
        &values as &[&str],
        &sources as _,
        &provenances as &[&str],
        &seen as &[Option<DateTime<Utc>>],
    )
    .fetch_all(conn)
    .await?;
    Ok(inserted_flags(&ids, inserted))
}

pub async fn set_name(conn: &mut PgConnection, contact_id: ContactId, name: &str, source: NameSource) -> sqlx::Result<()> {
    set_names(conn, &[(contact_id, name, source)]).await
}

/// Renames contacts in one statement (one row per contact).
pub async fn set_names(conn: &mut PgConnection, names: &[(ContactId, &str, NameSource)]) -> sqlx::Result<()> {
    if names.is_empty() {
        return Ok(());
    }
    let ids: Vec<ContactId> = names.iter().map(|n| n.0).collect();
    let values: Vec<&str> = names.iter().map(|n| n.1).collect();
    let sources: Vec<NameSource> = names.iter().map(|n| n.2).collect();
    sqlx::query!(
        "UPDATE contacts c SET name = n.name, name_source = n.source, updated_at = now()
         FROM unnest($1::uuid[], $2::text[], $3::text[]) AS n(contact_id, name, source)
         WHERE c.contact_id = n.contact_id",
        &ids as &[ContactId],
        &values as &[&str],
        &sources as _,
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn touch_interaction(conn: &mut PgConnection, contact_id: ContactId, at: DateTime<Utc>) -> sqlx::Result<()> {
    touch_interactions(conn, &[(contact_id, at)]).await
}

/// Moves the contacts' last interaction forward (one row per contact).
pub async fn touch_interactions(conn: &mut PgConnection, touched: &[(ContactId, DateTime<Utc>)]) -> sqlx::Result<()> {
    if touched.is_empty() {
        return Ok(());
    }
    let ids: Vec<ContactId> = touched.iter().map(|t| t.0).collect();
    let at: Vec<DateTime<Utc>> = touched.iter().map(|t| t.1).collect();
    sqlx::query!(
        "UPDATE contacts c SET last_interaction_at = greatest(c.last_interaction_at, t.at)
         FROM unnest($1::uuid[], $2::timestamptz[]) AS t(contact_id, at) WHERE c.contact_id = t.contact_id",
        &ids as &[ContactId],
        &at,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The key columns (kind, scope, value) of identities, as arrays to bind.
pub(super) fn columns<'a>(identities: impl Iterator<Item = &'a Identity>) -> (Vec<&'static str>, Vec<String>, Vec<&'a str>) {
    let mut columns = (Vec::new(), Vec::new(), Vec::new());
    for identity in identities {
        columns.0.push(identity.kind.as_str());
        columns.1.push(identity.scope.clone().unwrap_or_default());
        columns.2.push(identity.value.as_str());
    }
    columns
}

/// Locks the rows of `contact_ids` in id order (the caller sorts them) for the transaction;
/// whether every one of them is still live as `directory::edit::lock_live` means it (not
/// deleted or erased, not merged into another).
pub async fn lock_contacts(conn: &mut PgConnection, contact_ids: &[ContactId]) -> sqlx::Result<bool> {
    if contact_ids.is_empty() {
        return Ok(true);
    }
    // After waiting for a lock, PostgreSQL returns the row as the other transaction left it.
    let live: Vec<bool> = sqlx::query_scalar!(
        r#"SELECT deleted_at IS NULL AND merged_into IS NULL AS "live!" FROM contacts
           WHERE contact_id = ANY($1) ORDER BY contact_id FOR UPDATE"#,
        contact_ids as &[ContactId],
    )
    .fetch_all(conn)
    .await?;
    Ok(live.len() == contact_ids.len() && live.iter().all(|live| *live))
}

/// Whether each of `ids` (rows of a multi-row insert) is among the `inserted` ones it returned.
fn inserted_flags<Id: Eq + std::hash::Hash>(ids: &[Id], inserted: Vec<Id>) -> Vec<bool> {
    let inserted: std::collections::HashSet<Id> = inserted.into_iter().collect();
    ids.iter().map(|id| inserted.contains(id)).collect()
}
