//! SQL of the timeline (schema `timeline`, migrations in `migrations/`).
//!
//! - [`interactions`]: the write path of `interactions.resolved` (messages, grouping, refresh);
//! - [`changes`]: the write path of `contacts.changes` (contact events, merges, erasure);
//! - [`read`]: what the API reads (timeline pages, one interaction, tenant-wide search);
//! - [`reactions`]: reactions, stored against the message they react to.
//!
//! Closed sets (channel, direction, change kind, erasure mode) are `text` columns, read and
//! written through their `sqlx::Type` (contracts' `sqlx` feature): the wire spelling, and a
//! decode error naming the value for anything else.
//!
//! Ownership after merges: `contact_merges` holds the active merges as a forest (merged →
//! survivor). Every item keeps its original contact in `merged_from` (null while it is still
//! with that contact) and lives with the root above it, so a merge and an unmerge each move
//! exactly the items below the merged contact.

pub mod changes;
pub mod interactions;
pub mod reactions;
pub mod read;

use std::collections::{BTreeSet, HashMap};

use sqlx::PgConnection;
use uuid::Uuid;

/// Advisory-lock class of the per-tenant lock that orders merges and erasures against writes.
const TENANT_LOCK_CLASS: i32 = 0x7469; // "ti"

/// Deepest merge chain followed (a guard against a corrupted journal, not a business limit).
const MAX_MERGE_DEPTH: i32 = 64;

/// Who owns a contact's items now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    /// The root of the active merges above the contact (the contact itself when not merged).
    pub root: Uuid,
    /// The contact or one it was merged into has been erased: drop whatever arrives for it.
    pub erased: bool,
}

/// The current owner of `contact`'s items.
pub async fn owner_of(conn: &mut PgConnection, tenant: &str, contact: Uuid) -> sqlx::Result<Owner> {
    let owners = owners(conn, [(tenant, contact)]).await?;
    owners.get(&(tenant.to_owned(), contact)).copied().ok_or(sqlx::Error::RowNotFound)
}

/// A row of [`owners`]: an asked contact and who owns its items.
struct OwnerRow {
    tenant_id: String,
    contact_id: Uuid,
    root: Uuid,
    erased: bool,
}

/// The current owners of many contacts' items in one statement (a batch's contacts).
pub async fn owners<'a>(
    conn: &mut PgConnection,
    contacts: impl IntoIterator<Item = (&'a str, Uuid)>,
) -> sqlx::Result<HashMap<(String, Uuid), Owner>> {
    let contacts: BTreeSet<(&str, Uuid)> = contacts.into_iter().collect();
    if contacts.is_empty() {
        return Ok(HashMap::new());
    }
    let (tenants, ids): (Vec<&str>, Vec<Uuid>) = contacts.into_iter().unzip();
    let rows = sqlx::query_as!(
        OwnerRow,
        r#"WITH RECURSIVE asked AS (SELECT * FROM unnest($1::text[], $2::uuid[]) AS a(tenant_id, contact_id)),
         up (tenant_id, asked_id, contact_id, depth) AS (
             SELECT tenant_id, contact_id, contact_id, 0 FROM asked
             UNION ALL
             SELECT up.tenant_id, up.asked_id, m.survivor_id, up.depth + 1
             FROM contact_merges m JOIN up ON m.tenant_id = up.tenant_id AND m.merged_id = up.contact_id
             WHERE m.unmerged_at IS NULL AND up.depth < $3
         )
         SELECT a.tenant_id AS "tenant_id!", a.contact_id AS "contact_id!",
                (SELECT up.contact_id FROM up WHERE up.tenant_id = a.tenant_id AND up.asked_id = a.contact_id
                 ORDER BY up.depth DESC LIMIT 1) AS "root!",
                EXISTS (SELECT 1 FROM up JOIN erased_contacts e ON e.tenant_id = up.tenant_id AND e.contact_id = up.contact_id
                        WHERE up.tenant_id = a.tenant_id AND up.asked_id = a.contact_id) AS "erased!"
         FROM asked a"#,
        &tenants as &[&str],
        &ids,
        MAX_MERGE_DEPTH,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|row| ((row.tenant_id, row.contact_id), Owner { root: row.root, erased: row.erased })).collect())
}

/// `contact` and every contact actively merged into it, transitively.
pub async fn merged_below(conn: &mut PgConnection, tenant: &str, contact: Uuid) -> sqlx::Result<Vec<Uuid>> {
    sqlx::query_scalar!(
        r#"WITH RECURSIVE down (contact_id, depth) AS (
             SELECT $2::uuid, 0
             UNION ALL
             SELECT m.merged_id, down.depth + 1
             FROM contact_merges m JOIN down ON m.survivor_id = down.contact_id
             WHERE m.tenant_id = $1 AND m.unmerged_at IS NULL AND down.depth < $3
         )
         SELECT DISTINCT contact_id AS "contact_id!" FROM down"#,
        tenant,
        contact,
        MAX_MERGE_DEPTH,
    )
    .fetch_all(conn)
    .await
}

/// Takes the tenants' locks for this transaction: exclusive for merges, unmerges and erasures,
/// which move or remove items, shared for everything else, which adds items a concurrent merge
/// must not miss. Tenants are locked in sorted order, so two batches never deadlock on them.
pub async fn lock_tenants<'a>(conn: &mut PgConnection, tenants: impl IntoIterator<Item = (&'a str, bool)>) -> sqlx::Result<()> {
    let mut locks = std::collections::BTreeMap::<&str, bool>::new();
    for (tenant, exclusive) in tenants {
        *locks.entry(tenant).or_default() |= exclusive;
    }
    for (tenant, exclusive) in locks {
        if exclusive {
            sqlx::query!("SELECT pg_advisory_xact_lock($1, hashtext($2))", TENANT_LOCK_CLASS, tenant).execute(&mut *conn).await?;
        } else {
            sqlx::query!("SELECT pg_advisory_xact_lock_shared($1, hashtext($2))", TENANT_LOCK_CLASS, tenant)
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
}
