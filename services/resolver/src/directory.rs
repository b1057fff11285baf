//! Operator operations on the directory: create, rename, add/edit/remove identifiers, delete
//! (with erasure), link/unlink conversations, merge/unmerge, the duplicates queue and custom
//! identifier definitions. Each runs in one transaction and records its change events through
//! the outbox, so CRM consumers and the timeline see every change, and nothing when nothing
//! changed.

use contracts::{limits, Actor, ContactChangeKind, FieldChange, Identity, IdentityKind, NameSource};
use serde::Serialize;
use serde_json::json;
use sqlx::{PgConnection, PgPool, Row};
use uuid::Uuid;

use crate::changes::{self, Change};
use crate::rules::TenantRules;
use crate::store::{self, Card};

#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    #[error("{0} not found")]
    NotFound(String),
    #[error("{kind} `{value}` already belongs to contact {owner}")]
    Owned { kind: IdentityKind, value: String, owner: Uuid },
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

pub type Result<T, E = DirectoryError> = std::result::Result<T, E>;

/// An operator-given name: trimmed, not blank, within [`limits::NAME_BYTES`], without control
/// characters (NUL cannot be stored at all).
pub fn valid_name(name: &str) -> Result<&str> {
    let name = name.trim();
    if name.is_empty() {
        return Err(DirectoryError::Invalid("name must not be blank".into()));
    }
    if name.len() > limits::NAME_BYTES {
        return Err(DirectoryError::Invalid(format!("name must be at most {} bytes", limits::NAME_BYTES)));
    }
    if name.chars().any(char::is_control) {
        return Err(DirectoryError::Invalid("name must not contain control characters".into()));
    }
    Ok(name)
}

/// Validates an operator-supplied identity: normalized, not blocked, custom ones defined.
async fn screen(conn: &mut PgConnection, tenant: &str, defaults: &TenantRules, raw: &Identity) -> Result<Identity> {
    if matches!(raw.kind, IdentityKind::ContactId | IdentityKind::ConversationLink) {
        return Err(DirectoryError::Invalid(format!("{} is not an identifier a contact holds", raw.kind)));
    }
    let mut rules = store::rules(conn, tenant, defaults).await?;
    if raw.kind == IdentityKind::Custom {
        let name = raw
            .scope
            .as_deref()
            .ok_or_else(|| DirectoryError::Invalid("a custom identifier needs `scope` = its parameter name".into()))?;
        let defined: Option<(String,)> =
            sqlx::query_as("SELECT name FROM custom_identifier_definitions WHERE tenant_id = $1 AND name = $2")
                .bind(tenant)
                .bind(name)
                .fetch_optional(&mut *conn)
                .await?;
        if defined.is_none() {
            return Err(DirectoryError::Invalid(format!("no custom identifier definition `{name}`")));
        }
        // Operators may store values of parameters that do not identify the client; they just never match.
        rules.identifying_custom.insert(name.to_owned());
    }
    rules
        .screen(raw)
        .map_err(|ignored| DirectoryError::Invalid(format!("{} `{}` refused: {}", ignored.kind, ignored.value, ignored.reason)))
}

async fn lock_live(conn: &mut PgConnection, tenant: &str, contact_id: Uuid) -> Result<(Option<String>, Option<String>)> {
    let row: Option<(Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT name, name_source FROM contacts
         WHERE tenant_id = $1 AND contact_id = $2 AND deleted_at IS NULL AND merged_into IS NULL FOR UPDATE",
    )
    .bind(tenant)
    .bind(contact_id)
    .fetch_optional(conn)
    .await?;
    row.ok_or_else(|| DirectoryError::NotFound(format!("contact {contact_id}")))
}

/// Holders of `identity` other than `contact_id`.
async fn other_holder(conn: &mut PgConnection, tenant: &str, contact_id: Uuid, identity: &Identity) -> Result<Option<Uuid>> {
    let row: Option<(Uuid,)> = sqlx::query_as(
        "SELECT contact_id FROM contact_identities
         WHERE tenant_id = $1 AND kind = $2 AND scope = $3 AND value = $4 AND contact_id <> $5 LIMIT 1",
    )
    .bind(tenant)
    .bind(identity.kind.as_str())
    .bind(identity.scope.clone().unwrap_or_default())
    .bind(&identity.value)
    .bind(contact_id)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|(id,)| id))
}

/// A new contact with a name and identifiers, all from the operator.
pub async fn create(
    pool: &PgPool,
    defaults: &TenantRules,
    tenant: &str,
    actor: &Actor,
    name: Option<&str>,
    identities: &[Identity],
) -> Result<Uuid> {
    if identities.len() > limits::IDENTITIES {
        return Err(DirectoryError::Invalid(format!("at most {} identifiers per request", limits::IDENTITIES)));
    }
    let name = name.map(valid_name).transpose()?;
    let mut tx = pool.begin().await?;
    let mut screened = Vec::new();
    for raw in identities {
        let identity = screen(&mut tx, tenant, defaults, raw).await?;
        if let Some(owner) = other_holder(&mut tx, tenant, Uuid::nil(), &identity).await? {
            return Err(DirectoryError::Owned { kind: identity.kind, value: identity.value, owner });
        }
        if !screened.contains(&identity) {
            screened.push(identity);
        }
    }
    let contact_id = Uuid::new_v4();
    let profile = name.map(|n| contracts::Profile { name: Some(n.trim().to_owned()), name_source: NameSource::Operator });
    store::create_contact(&mut tx, tenant, contact_id, profile.as_ref(), None).await?;
    let inserted = store::insert_identities(&mut tx, tenant, contact_id, &screened, "operator").await?;
    if inserted.len() != screened.len() {
        return Err(DirectoryError::Conflict("an identifier was claimed concurrently; retry".into()));
    }
    let mut fields: Vec<FieldChange> =
        name.map(|n| FieldChange { field: "name".into(), before: None, after: Some(json!(n.trim())) }).into_iter().collect();
    fields.extend(inserted.iter().map(changes::identity_added));
    changes::record(
        &mut tx,
        Change::new(tenant, contact_id, ContactChangeKind::Created, actor, "created by an operator").with(fields),
    )
    .await?;
    tx.commit().await?;
    Ok(contact_id)
}

/// Sets the name with operator source (never overwritten automatically afterwards).
pub async fn rename(pool: &PgPool, tenant: &str, contact_id: Uuid, actor: &Actor, name: &str) -> Result<()> {
    let name = valid_name(name)?;
    let mut tx = pool.begin().await?;
    let (current, source) = lock_live(&mut tx, tenant, contact_id).await?;
    if current.as_deref() == Some(name) && source.as_deref() == Some(NameSource::Operator.as_str()) {
        return Ok(());
    }
    store::set_name(&mut tx, contact_id, name, NameSource::Operator).await?;
    let field = FieldChange { field: "name".into(), before: current.map(|n| json!(n)), after: Some(json!(name)) };
    changes::record(
        &mut tx,
        Change::new(tenant, contact_id, ContactChangeKind::NameChanged, actor, "set by an operator").with(vec![field]),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Adds an identifier ("add another"). A value another contact holds is refused with its owner,
/// unless `shared` marks it as knowingly shared (a family phone).
pub async fn add_identity(
    pool: &PgPool,
    defaults: &TenantRules,
    tenant: &str,
    contact_id: Uuid,
    actor: &Actor,
    raw: &Identity,
    shared: bool,
) -> Result<Uuid> {
    let mut tx = pool.begin().await?;
    lock_live(&mut tx, tenant, contact_id).await?;
    let identity = screen(&mut tx, tenant, defaults, raw).await?;
    let existing: Option<(Uuid,)> = sqlx::query_as(
        "SELECT identity_id FROM contact_identities WHERE contact_id = $1 AND kind = $2 AND scope = $3 AND value = $4",
    )
    .bind(contact_id)
    .bind(identity.kind.as_str())
    .bind(identity.scope.clone().unwrap_or_default())
    .bind(&identity.value)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some((id,)) = existing {
        return Ok(id);
    }
    if let Some(owner) = other_holder(&mut tx, tenant, contact_id, &identity).await? {
        if !shared {
            return Err(DirectoryError::Owned { kind: identity.kind, value: identity.value, owner });
        }
        // Both holders now hold it knowingly shared, so the unique index allows both.
        sqlx::query(
            "UPDATE contact_identities SET shared = true WHERE tenant_id = $1 AND kind = $2 AND scope = $3 AND value = $4",
        )
        .bind(tenant)
        .bind(identity.kind.as_str())
        .bind(identity.scope.clone().unwrap_or_default())
        .bind(&identity.value)
        .execute(&mut *tx)
        .await?;
    }
    let identity_id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO contact_identities (identity_id, tenant_id, contact_id, kind, scope, value, source, shared)
         VALUES ($1, $2, $3, $4, $5, $6, 'operator', $7)",
    )
    .bind(identity_id)
    .bind(tenant)
    .bind(contact_id)
    .bind(identity.kind.as_str())
    .bind(identity.scope.clone().unwrap_or_default())
    .bind(&identity.value)
    .bind(shared)
    .execute(&mut *tx)
    .await?;
    touch(&mut tx, contact_id).await?;
    let change = Change::new(tenant, contact_id, ContactChangeKind::IdentifierAdded, actor, "added by an operator");
    changes::record(&mut tx, change.with(vec![changes::identity_added(&identity)])).await?;
    tx.commit().await?;
    Ok(identity_id)
}

async fn touch(conn: &mut PgConnection, contact_id: Uuid) -> sqlx::Result<()> {
    sqlx::query("UPDATE contacts SET updated_at = now() WHERE contact_id = $1").bind(contact_id).execute(conn).await?;
    Ok(())
}

async fn identity_of(conn: &mut PgConnection, tenant: &str, contact_id: Uuid, identity_id: Uuid) -> Result<Identity> {
    let row = sqlx::query(
        "SELECT kind, value, nullif(scope, '') AS scope FROM contact_identities WHERE tenant_id = $1 AND contact_id = $2 AND identity_id = $3",
    )
    .bind(tenant)
    .bind(contact_id)
    .bind(identity_id)
    .fetch_optional(conn)
    .await?
    .ok_or_else(|| DirectoryError::NotFound(format!("identifier {identity_id}")))?;
    let kind: String = row.try_get("kind")?;
    let kind = IdentityKind::parse(&kind).ok_or_else(|| DirectoryError::Invalid(format!("stored kind {kind}")))?;
    Ok(Identity::new(kind, row.try_get::<String, _>("value")?, row.try_get("scope")?))
}

/// Replaces an identifier's value (same kind and scope).
pub async fn edit_identity(
    pool: &PgPool,
    defaults: &TenantRules,
    tenant: &str,
    contact_id: Uuid,
    identity_id: Uuid,
    actor: &Actor,
    value: &str,
) -> Result<()> {
    let mut tx = pool.begin().await?;
    lock_live(&mut tx, tenant, contact_id).await?;
    let before = identity_of(&mut tx, tenant, contact_id, identity_id).await?;
    let after = screen(&mut tx, tenant, defaults, &Identity::new(before.kind, value, before.scope.clone())).await?;
    if after == before {
        return Ok(());
    }
    if let Some(owner) = other_holder(&mut tx, tenant, contact_id, &after).await? {
        return Err(DirectoryError::Owned { kind: after.kind, value: after.value, owner });
    }
    sqlx::query("UPDATE contact_identities SET value = $2, source = 'operator' WHERE identity_id = $1")
        .bind(identity_id)
        .bind(&after.value)
        .execute(&mut *tx)
        .await?;
    touch(&mut tx, contact_id).await?;
    let field =
        FieldChange { field: format!("identities.{}", after.kind), before: Some(json!(before)), after: Some(json!(after)) };
    changes::record(
        &mut tx,
        Change::new(tenant, contact_id, ContactChangeKind::IdentifierEdited, actor, "edited by an operator").with(vec![field]),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn remove_identity(pool: &PgPool, tenant: &str, contact_id: Uuid, identity_id: Uuid, actor: &Actor) -> Result<()> {
    let mut tx = pool.begin().await?;
    lock_live(&mut tx, tenant, contact_id).await?;
    let identity = identity_of(&mut tx, tenant, contact_id, identity_id).await?;
    sqlx::query("DELETE FROM contact_identities WHERE identity_id = $1").bind(identity_id).execute(&mut *tx).await?;
    touch(&mut tx, contact_id).await?;
    let change = Change::new(tenant, contact_id, ContactChangeKind::IdentifierRemoved, actor, "removed by an operator");
    changes::record(&mut tx, change.with(vec![changes::identity_removed(&identity)])).await?;
    tx.commit().await?;
    Ok(())
}

/// Deletes a contact: its identifiers and links are freed, the snapshot gets a tombstone; with
/// `erase`, an `erased` event asks every consumer to remove the contact's personal content.
pub async fn delete(pool: &PgPool, tenant: &str, contact_id: Uuid, actor: &Actor, erase: bool) -> Result<()> {
    let mut tx = pool.begin().await?;
    lock_live(&mut tx, tenant, contact_id).await?;
    let removed: Vec<(String, String, Option<String>)> =
        sqlx::query_as("DELETE FROM contact_identities WHERE contact_id = $1 RETURNING kind, value, nullif(scope, '')")
            .bind(contact_id)
            .fetch_all(&mut *tx)
            .await?;
    sqlx::query("DELETE FROM conversation_links WHERE contact_id = $1").bind(contact_id).execute(&mut *tx).await?;
    let name_update = if erase { ", name = NULL, name_source = NULL" } else { "" };
    sqlx::query(&format!("UPDATE contacts SET deleted_at = now(), updated_at = now(){name_update} WHERE contact_id = $1"))
        .bind(contact_id)
        .execute(&mut *tx)
        .await?;
    let fields = removed
        .into_iter()
        .filter_map(|(kind, value, scope)| {
            IdentityKind::parse(&kind).map(|k| Identity::new(k, if erase { "[erased]".into() } else { value }, scope))
        })
        .map(|i| changes::identity_removed(&i))
        .collect();
    changes::record(
        &mut tx,
        Change::new(tenant, contact_id, ContactChangeKind::Deleted, actor, "deleted by an operator").with(fields),
    )
    .await?;
    if erase {
        changes::record(&mut tx, Change::new(tenant, contact_id, ContactChangeKind::Erased, actor, "erasure requested")).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Links a conversation ("pick existing contact"): later interactions of it resolve there.
pub async fn link(pool: &PgPool, tenant: &str, conversation_ref: &str, contact_id: Uuid, actor_id: &str) -> Result<bool> {
    let mut tx = pool.begin().await?;
    lock_live(&mut tx, tenant, contact_id).await?;
    let done = sqlx::query(
        "INSERT INTO conversation_links (tenant_id, conversation_ref, contact_id, linked_by) VALUES ($1, $2, $3, $4)
         ON CONFLICT (tenant_id, conversation_ref) DO UPDATE SET contact_id = excluded.contact_id, linked_by = excluded.linked_by, linked_at = now()
         WHERE conversation_links.contact_id <> excluded.contact_id",
    )
    .bind(tenant)
    .bind(conversation_ref)
    .bind(contact_id)
    .bind(actor_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(done.rows_affected() == 1)
}

pub async fn unlink(pool: &PgPool, tenant: &str, conversation_ref: &str) -> Result<()> {
    let done = sqlx::query("DELETE FROM conversation_links WHERE tenant_id = $1 AND conversation_ref = $2")
        .bind(tenant)
        .bind(conversation_ref)
        .execute(pool)
        .await?;
    if done.rows_affected() == 0 {
        return Err(DirectoryError::NotFound(format!("link of conversation {conversation_ref}")));
    }
    Ok(())
}

/// A conversation's link: the contact its interactions resolve to, set by an operator.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Link {
    pub conversation_ref: String,
    pub contact_id: Uuid,
    pub linked_by: String,
    pub linked_at: chrono::DateTime<chrono::Utc>,
}

/// The link of `conversation_ref`, if an operator made one (the session panel shows it).
pub async fn link_of(pool: &PgPool, tenant: &str, conversation_ref: &str) -> Result<Link> {
    sqlx::query_as(
        "SELECT conversation_ref, contact_id, linked_by, linked_at FROM conversation_links
         WHERE tenant_id = $1 AND conversation_ref = $2",
    )
    .bind(tenant)
    .bind(conversation_ref)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| DirectoryError::NotFound(format!("link of conversation {conversation_ref}")))
}

/// Whose name the survivor keeps when the two differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NameChoice {
    #[default]
    Survivor,
    Merged,
}

/// Merges `merged` into `survivor`: identities and links move, the merged id answers with
/// `merged_into`, and the journal records exactly what moved so [`unmerge`] can restore both.
pub async fn merge(pool: &PgPool, tenant: &str, survivor: Uuid, merged: Uuid, actor: &Actor, name: NameChoice) -> Result<Uuid> {
    let mut tx = pool.begin().await?;
    let merge_id = merge_in(&mut tx, tenant, survivor, merged, actor, name, "merged by an operator").await?;
    tx.commit().await?;
    Ok(merge_id)
}

/// [`merge`] on the caller's transaction; `reason` goes on the `merged` event.
async fn merge_in(
    tx: &mut PgConnection,
    tenant: &str,
    survivor: Uuid,
    merged: Uuid,
    actor: &Actor,
    name: NameChoice,
    reason: &str,
) -> Result<Uuid> {
    if survivor == merged {
        return Err(DirectoryError::Invalid("a contact cannot be merged into itself".into()));
    }
    // Lock in id order so two opposite merges cannot deadlock.
    let (first, second) = if survivor < merged { (survivor, merged) } else { (merged, survivor) };
    let a = lock_live(&mut *tx, tenant, first).await?;
    let b = lock_live(&mut *tx, tenant, second).await?;
    let ((survivor_name, survivor_src), (merged_name, merged_src)) = if survivor < merged { (a, b) } else { (b, a) };

    let moved: Vec<(Uuid, String, String, Option<String>)> = sqlx::query_as(
        "UPDATE contact_identities SET contact_id = $1 WHERE contact_id = $2 RETURNING identity_id, kind, value, nullif(scope, '')",
    )
    .bind(survivor)
    .bind(merged)
    .fetch_all(&mut *tx)
    .await?;
    let links: Vec<(String,)> =
        sqlx::query_as("UPDATE conversation_links SET contact_id = $1 WHERE contact_id = $2 RETURNING conversation_ref")
            .bind(survivor)
            .bind(merged)
            .fetch_all(&mut *tx)
            .await?;
    let mut fields: Vec<FieldChange> = moved
        .iter()
        .filter_map(|(_, kind, value, scope)| IdentityKind::parse(kind).map(|k| Identity::new(k, value.clone(), scope.clone())))
        .map(|i| changes::identity_added(&i))
        .collect();
    let take_name = name == NameChoice::Merged && merged_name.is_some() && merged_name != survivor_name;
    if take_name {
        sqlx::query("UPDATE contacts SET name = $2, name_source = $3 WHERE contact_id = $1")
            .bind(survivor)
            .bind(&merged_name)
            .bind(&merged_src)
            .execute(&mut *tx)
            .await?;
        fields.push(FieldChange {
            field: "name".into(),
            before: survivor_name.as_ref().map(|n| json!(n)),
            after: merged_name.as_ref().map(|n| json!(n)),
        });
    }
    sqlx::query("UPDATE contacts SET merged_into = $1, updated_at = now() WHERE contact_id = $2")
        .bind(survivor)
        .bind(merged)
        .execute(&mut *tx)
        .await?;
    touch(&mut *tx, survivor).await?;
    let merge_id = Uuid::new_v4();
    let actor_id = actor_id(actor);
    sqlx::query(
        "INSERT INTO merge_journal (merge_id, tenant_id, survivor_id, merged_id, moved_identities, moved_links, survivor_name, survivor_name_src, merged_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(merge_id)
    .bind(tenant)
    .bind(survivor)
    .bind(merged)
    .bind(moved.iter().map(|m| m.0).collect::<Vec<_>>())
    .bind(links.iter().map(|l| l.0.clone()).collect::<Vec<_>>())
    .bind(take_name.then_some(survivor_name).flatten())
    .bind(take_name.then_some(survivor_src).flatten())
    .bind(&actor_id)
    .execute(&mut *tx)
    .await?;
    let (low, high) = if survivor < merged { (survivor, merged) } else { (merged, survivor) };
    sqlx::query("UPDATE duplicate_suggestions SET status = 'merged' WHERE tenant_id = $1 AND contact_a = $2 AND contact_b = $3")
        .bind(tenant)
        .bind(low)
        .bind(high)
        .execute(&mut *tx)
        .await?;
    let change = Change::new(tenant, survivor, ContactChangeKind::Merged, actor, reason).with(fields).related(merged);
    changes::record(&mut *tx, change).await?;
    changes::snapshot(&mut *tx, tenant, merged).await?;
    Ok(merge_id)
}

/// What a merge moved (`merge_journal`): what [`unmerge`] moves back.
#[derive(sqlx::FromRow)]
struct Journal {
    survivor_id: Uuid,
    merged_id: Uuid,
    moved_identities: Vec<Uuid>,
    moved_links: Vec<String>,
    /// The survivor's name before the merge, when the merge replaced it.
    survivor_name: Option<String>,
    survivor_name_src: Option<String>,
}

/// Reverses a merge from its journal: both contacts exactly as before (identities the survivor
/// gained since stay with it).
pub async fn unmerge(pool: &PgPool, tenant: &str, merge_id: Uuid, actor: &Actor) -> Result<(Uuid, Uuid)> {
    let mut tx = pool.begin().await?;
    let row: Option<Journal> = sqlx::query_as(
        "SELECT survivor_id, merged_id, moved_identities, moved_links, survivor_name, survivor_name_src
         FROM merge_journal WHERE tenant_id = $1 AND merge_id = $2 AND unmerged_at IS NULL FOR UPDATE",
    )
    .bind(tenant)
    .bind(merge_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Journal {
        survivor_id: survivor,
        merged_id: merged,
        moved_identities: identities,
        moved_links: links,
        survivor_name: old_name,
        survivor_name_src: old_src,
    } = row.ok_or_else(|| DirectoryError::NotFound(format!("open merge {merge_id}")))?;
    lock_live(&mut tx, tenant, survivor).await?;
    let back: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "UPDATE contact_identities SET contact_id = $1 WHERE contact_id = $2 AND identity_id = ANY($3) RETURNING kind, value, nullif(scope, '')",
    )
    .bind(merged)
    .bind(survivor)
    .bind(&identities)
    .fetch_all(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE conversation_links SET contact_id = $1 WHERE tenant_id = $2 AND contact_id = $3 AND conversation_ref = ANY($4)",
    )
    .bind(merged)
    .bind(tenant)
    .bind(survivor)
    .bind(&links)
    .execute(&mut *tx)
    .await?;
    if old_name.is_some() {
        sqlx::query("UPDATE contacts SET name = $2, name_source = $3 WHERE contact_id = $1")
            .bind(survivor)
            .bind(&old_name)
            .bind(&old_src)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query("UPDATE contacts SET merged_into = NULL, updated_at = now() WHERE contact_id = $1")
        .bind(merged)
        .execute(&mut *tx)
        .await?;
    touch(&mut tx, survivor).await?;
    sqlx::query("UPDATE merge_journal SET unmerged_at = now() WHERE merge_id = $1").bind(merge_id).execute(&mut *tx).await?;
    let fields = back
        .into_iter()
        .filter_map(|(kind, value, scope)| IdentityKind::parse(&kind).map(|k| Identity::new(k, value, scope)))
        .map(|i| changes::identity_removed(&i))
        .collect();
    let change = Change::new(tenant, survivor, ContactChangeKind::Unmerged, actor, "merge reversed by an operator")
        .with(fields)
        .related(merged);
    changes::record(&mut tx, change).await?;
    changes::snapshot(&mut tx, tenant, merged).await?;
    tx.commit().await?;
    Ok((survivor, merged))
}

fn actor_id(actor: &Actor) -> String {
    match actor {
        Actor::Operator { id } | Actor::Integration { id } => id.clone(),
        Actor::Channel { channel, .. } => channel.clone(),
    }
}

/// One merge of the journal, as a card's merge history shows it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct MergeRecord {
    pub merge_id: Uuid,
    pub survivor_id: Uuid,
    pub merged_id: Uuid,
    pub merged_by: String,
    pub merged_at: chrono::DateTime<chrono::Utc>,
    /// Set once the merge was reversed; an open merge can be unmerged.
    pub unmerged_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// The merges `contact_id` took part in, as survivor or as the contact merged away, newest first.
pub async fn merges_of(pool: &PgPool, tenant: &str, contact_id: Uuid) -> Result<Vec<MergeRecord>> {
    Ok(sqlx::query_as(
        "SELECT merge_id, survivor_id, merged_id, merged_by, merged_at, unmerged_at FROM merge_journal
         WHERE tenant_id = $1 AND (survivor_id = $2 OR merged_id = $2) ORDER BY merged_at DESC LIMIT 200",
    )
    .bind(tenant)
    .bind(contact_id)
    .fetch_all(pool)
    .await?)
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Suggestion {
    pub contact_a: Uuid,
    pub contact_b: Uuid,
    pub shared_kind: String,
    pub shared_value: String,
    pub status: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

pub async fn duplicates(pool: &PgPool, tenant: &str) -> Result<Vec<Suggestion>> {
    Ok(sqlx::query_as(
        "SELECT contact_a, contact_b, shared_kind, shared_value, status, created_at FROM duplicate_suggestions
         WHERE tenant_id = $1 AND status = 'open' ORDER BY created_at DESC LIMIT 500",
    )
    .bind(tenant)
    .fetch_all(pool)
    .await?)
}

/// Dismisses a suggestion; the pair is never suggested again.
pub async fn dismiss(pool: &PgPool, tenant: &str, a: Uuid, b: Uuid) -> Result<()> {
    let (low, high) = if a < b { (a, b) } else { (b, a) };
    let done = sqlx::query("UPDATE duplicate_suggestions SET status = 'dismissed' WHERE tenant_id = $1 AND contact_a = $2 AND contact_b = $3 AND status = 'open'")
        .bind(tenant)
        .bind(low)
        .bind(high)
        .execute(pool)
        .await?;
    if done.rows_affected() == 0 {
        return Err(DirectoryError::NotFound("open duplicate suggestion".into()));
    }
    Ok(())
}

/// Accepts a duplicate suggestion: merges the pair (see [`merge`]) and marks the suggestion
/// merged, in one transaction. The survivor defaults to the older contact (the established
/// record others may already refer to). Returns the merge id and the survivor.
pub async fn accept(
    pool: &PgPool,
    tenant: &str,
    (a, b): (Uuid, Uuid),
    survivor: Option<Uuid>,
    actor: &Actor,
    name: NameChoice,
) -> Result<(Uuid, Uuid)> {
    if survivor.is_some_and(|s| s != a && s != b) {
        return Err(DirectoryError::Invalid("survivor must be contact_a or contact_b".into()));
    }
    let (low, high) = if a < b { (a, b) } else { (b, a) };
    let mut tx = pool.begin().await?;
    // Locking the suggestion first makes a concurrent accept or dismiss of the same pair wait
    // and then find it no longer open.
    let open: Option<(String,)> = sqlx::query_as(
        "SELECT status FROM duplicate_suggestions
         WHERE tenant_id = $1 AND contact_a = $2 AND contact_b = $3 AND status = 'open' FOR UPDATE",
    )
    .bind(tenant)
    .bind(low)
    .bind(high)
    .fetch_optional(&mut *tx)
    .await?;
    if open.is_none() {
        return Err(DirectoryError::NotFound("open duplicate suggestion".into()));
    }
    let survivor = match survivor {
        Some(survivor) => survivor,
        None => {
            let older: Option<(Uuid,)> = sqlx::query_as(
                "SELECT contact_id FROM contacts WHERE tenant_id = $1 AND contact_id IN ($2, $3)
                 ORDER BY created_at, contact_id LIMIT 1",
            )
            .bind(tenant)
            .bind(low)
            .bind(high)
            .fetch_optional(&mut *tx)
            .await?;
            older.map_or(low, |(id,)| id)
        }
    };
    let merged = if survivor == low { high } else { low };
    // merge_in marks the suggestion of the pair merged.
    let merge_id = merge_in(&mut tx, tenant, survivor, merged, actor, name, "duplicate suggestion accepted").await?;
    tx.commit().await?;
    Ok((merge_id, survivor))
}

/// What a merge of two contacts would do, computed without changing anything.
#[derive(Debug, Clone, Serialize)]
pub struct MergePreview {
    pub survivor: Card,
    pub merged: Card,
    /// Fields only one side's value can survive; the merge's `name` choice decides.
    pub conflicts: Vec<Conflict>,
    /// Identifier kinds both contacts hold: the survivor will hold the values of both.
    pub combined: Vec<Combined>,
    /// How much moves from the merged contact to the survivor.
    pub moves: Moves,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conflict {
    pub field: String,
    pub survivor: serde_json::Value,
    pub merged: serde_json::Value,
    /// The merge request field that picks the side.
    pub choose_with: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Combined {
    pub kind: String,
    pub scope: Option<String>,
    pub survivor: Vec<String>,
    pub merged: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Moves {
    pub identities: usize,
    pub conversation_links: i64,
}

/// Both live cards side by side with the fields in conflict; the same checks as [`merge`]
/// (two different live contacts of `tenant`), no side effects.
pub async fn merge_preview(pool: &PgPool, tenant: &str, survivor: Uuid, merged: Uuid) -> Result<MergePreview> {
    if survivor == merged {
        return Err(DirectoryError::Invalid("a contact cannot be merged into itself".into()));
    }
    let mut conn = pool.acquire().await?;
    let live = |card: Option<Card>, id: Uuid| {
        card.filter(|c| c.merged_into.is_none()).ok_or_else(|| DirectoryError::NotFound(format!("contact {id}")))
    };
    let survivor_card = live(store::card(&mut conn, tenant, survivor).await?, survivor)?;
    let merged_card = live(store::card(&mut conn, tenant, merged).await?, merged)?;
    let (links,): (i64,) = sqlx::query_as("SELECT count(*) FROM conversation_links WHERE tenant_id = $1 AND contact_id = $2")
        .bind(tenant)
        .bind(merged)
        .fetch_one(&mut *conn)
        .await?;
    let (conflicts, combined) = compare(&survivor_card, &merged_card);
    let moves = Moves { identities: merged_card.identities.len(), conversation_links: links };
    Ok(MergePreview { survivor: survivor_card, merged: merged_card, conflicts, combined, moves })
}

/// The conflicts and combined identifier kinds of merging `merged` into `survivor`. Only the
/// name is single-valued: two different names conflict. Identifiers are many per kind, so the
/// same kind (and scope) with different values is combined, not a conflict.
pub fn compare(survivor: &Card, merged: &Card) -> (Vec<Conflict>, Vec<Combined>) {
    let mut conflicts = Vec::new();
    let names = (survivor.name.as_deref().map(str::trim), merged.name.as_deref().map(str::trim));
    if let (Some(kept), Some(other)) = names {
        if kept != other {
            conflicts.push(Conflict {
                field: "name".into(),
                survivor: json!({ "value": kept, "source": survivor.name_source }),
                merged: json!({ "value": other, "source": merged.name_source }),
                choose_with: "name: survivor | merged".into(),
            });
        }
    }
    let mut combined: Vec<Combined> = Vec::new();
    for identity in &survivor.identities {
        let both = merged.identities.iter().any(|m| m.kind == identity.kind && m.scope == identity.scope);
        if !both || combined.iter().any(|c| c.kind == identity.kind && c.scope == identity.scope) {
            continue;
        }
        let values = |card: &Card| {
            card.identities
                .iter()
                .filter(|i| i.kind == identity.kind && i.scope == identity.scope)
                .map(|i| i.value.clone())
                .collect()
        };
        combined.push(Combined {
            kind: identity.kind.clone(),
            scope: identity.scope.clone(),
            survivor: values(survivor),
            merged: values(merged),
        });
    }
    (conflicts, combined)
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, sqlx::FromRow, PartialEq, Eq)]
pub struct Definition {
    pub name: String,
    pub label: String,
    pub identifies_client: bool,
}

pub async fn definitions(pool: &PgPool, tenant: &str) -> Result<Vec<Definition>> {
    Ok(sqlx::query_as(
        "SELECT name, label, identifies_client FROM custom_identifier_definitions WHERE tenant_id = $1 ORDER BY name",
    )
    .bind(tenant)
    .fetch_all(pool)
    .await?)
}

/// Creates or updates a definition; turning `identifies_client` off stops its values matching.
pub async fn put_definition(pool: &PgPool, tenant: &str, definition: &Definition) -> Result<()> {
    let valid = !definition.name.is_empty() && definition.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !valid {
        return Err(DirectoryError::Invalid("definition name: letters, digits, `_` and `-` only".into()));
    }
    sqlx::query(
        "INSERT INTO custom_identifier_definitions (tenant_id, name, label, identifies_client) VALUES ($1, $2, $3, $4)
         ON CONFLICT (tenant_id, name) DO UPDATE SET label = excluded.label, identifies_client = excluded.identifies_client, updated_at = now()",
    )
    .bind(tenant)
    .bind(&definition.name)
    .bind(&definition.label)
    .bind(definition.identifies_client)
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn delete_definition(pool: &PgPool, tenant: &str, name: &str) -> Result<()> {
    let done = sqlx::query("DELETE FROM custom_identifier_definitions WHERE tenant_id = $1 AND name = $2")
        .bind(tenant)
        .bind(name)
        .execute(pool)
        .await?;
    if done.rows_affected() == 0 {
        return Err(DirectoryError::NotFound(format!("definition {name}")));
    }
    Ok(())
}

/// A blocked value or pattern of a tenant.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Blocked {
    /// `None`: blocked for every identifier kind.
    pub kind: Option<String>,
    pub pattern: String,
    pub reason: String,
}

/// The tenant's blocked values (the first 1000: a list an operator reads, not an export).
pub async fn blocked_values(pool: &PgPool, tenant: &str) -> Result<Vec<Blocked>> {
    Ok(sqlx::query_as(
        "SELECT nullif(kind, '') AS kind, pattern, reason FROM blocked_values WHERE tenant_id = $1
         ORDER BY kind NULLS FIRST, pattern LIMIT 1000",
    )
    .bind(tenant)
    .fetch_all(pool)
    .await?)
}

/// Blocked values of a tenant (admin).
pub async fn block_value(pool: &PgPool, tenant: &str, kind: Option<IdentityKind>, pattern: &str, reason: &str) -> Result<()> {
    if pattern.trim().is_empty() {
        return Err(DirectoryError::Invalid("pattern must not be empty".into()));
    }
    sqlx::query("INSERT INTO blocked_values (tenant_id, kind, pattern, reason) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
        .bind(tenant)
        .bind(kind.map_or("", IdentityKind::as_str))
        .bind(pattern.trim())
        .bind(reason)
        .execute(pool)
        .await?;
    Ok(())
}
