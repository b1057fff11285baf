//! What resolution reads: interactions processed before, the holders of identities, open
//! proposals, and the state of the contacts a batch may change.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use contracts::ContactId;
use contracts::{Identity, IdentityKind, NameSource, ResolvedInteraction};
use sqlx::types::Json;
use sqlx::{PgConnection, Row};
use uuid::Uuid;

/// The stored outcome of every interaction of a batch processed before, in one statement,
/// keyed by `(tenant, interaction_id)`; `None` as value means it matched nothing.
pub async fn processed_batch(
    conn: &mut PgConnection,
    keys: &[(String, Uuid)],
) -> sqlx::Result<HashMap<(String, Uuid), Option<ResolvedInteraction>>> {
    let tenants: Vec<&str> = keys.iter().map(|k| k.0.as_str()).collect();
    let ids: Vec<Uuid> = keys.iter().map(|k| k.1).collect();
    let rows: Vec<(String, Uuid, Option<Json<ResolvedInteraction>>)> = sqlx::query_as(
        "SELECT p.tenant_id, p.interaction_id, p.resolved
         FROM unnest($1::text[], $2::uuid[]) AS k(tenant_id, interaction_id)
         JOIN processed_interactions p USING (tenant_id, interaction_id)",
    )
    .bind(&tenants)
    .bind(&ids)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|(tenant, id, resolved)| ((tenant, id), resolved.map(|r| r.0))).collect())
}

/// A contact holding an identity, with the newest interaction that carried it there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    pub contact_id: ContactId,
    pub last_seen_at: Option<DateTime<Utc>>,
    /// The contact holds it only because someone typed it (a form), never asserted.
    pub typed: bool,
}

/// The contacts holding each identity (same order), the most recently active first.
/// Contact-id identities are looked up among the tenant's contacts (a merged-away id answers
/// with its survivor); a value that is not a UUID is held by nobody.
pub async fn owners(conn: &mut PgConnection, tenant: &str, identities: &[Identity]) -> sqlx::Result<Vec<Vec<Owner>>> {
    let mut owners = vec![Vec::new(); identities.len()];
    let (mut kinds, mut scopes, mut values, mut positions) = (vec![], vec![], vec![], vec![]);
    let mut explicit = vec![];
    for (i, identity) in identities.iter().enumerate() {
        match identity.kind {
            IdentityKind::ContactId => {
                if let Ok(id) = identity.value.parse::<ContactId>() {
                    explicit.push((i, id));
                }
            }
            // Looked up in `conversation_links` by the same statement as the identities.
            _ => {
                kinds.push(identity.kind.as_str());
                scopes.push(identity.scope.clone().unwrap_or_default());
                values.push(identity.value.clone());
                positions.push(i as i64 + 1);
            }
        }
    }
    if !kinds.is_empty() {
        let rows = sqlx::query(
            "WITH i AS (SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::int8[]) AS i(kind, scope, value, pos))
             SELECT i.pos, ci.contact_id, c.last_interaction_at, c.created_at, ci.last_seen_at, ci.provenance = 'typed'
             FROM i
             JOIN contact_identities ci
               ON ci.tenant_id = $1 AND ci.kind = i.kind AND ci.scope = i.scope AND ci.value = i.value
             JOIN contacts c ON c.contact_id = ci.contact_id
             UNION ALL
             SELECT i.pos, coalesce(s.contact_id, c.contact_id), c.last_interaction_at, c.created_at, NULL::timestamptz, false
             FROM i
             JOIN conversation_links l ON i.kind = 'conversation_link' AND l.tenant_id = $1 AND l.conversation_ref = i.value
             JOIN contacts c ON c.contact_id = l.contact_id AND c.deleted_at IS NULL
             LEFT JOIN contacts s ON s.contact_id = c.merged_into AND s.deleted_at IS NULL
             WHERE c.merged_into IS NULL OR s.contact_id IS NOT NULL
             ORDER BY 1, 3 DESC NULLS LAST, 4",
        )
        .bind(tenant)
        .bind(&kinds)
        .bind(&scopes)
        .bind(&values)
        .bind(&positions)
        .fetch_all(&mut *conn)
        .await?;
        for row in rows {
            let pos: i64 = row.try_get(0)?;
            let owner = Owner { contact_id: row.try_get(1)?, last_seen_at: row.try_get(4)?, typed: row.try_get(5)? };
            owners[(pos - 1) as usize].push(owner);
        }
    }
    for (i, id) in explicit {
        if let Some(live) = live_contact(conn, tenant, id).await? {
            owners[i].push(Owner { contact_id: live, last_seen_at: None, typed: false });
        }
    }
    Ok(owners)
}

/// `id` if it is a live contact of `tenant`, its survivor if it was merged away, else `None`.
pub async fn live_contact(conn: &mut PgConnection, tenant: &str, id: ContactId) -> sqlx::Result<Option<ContactId>> {
    let row: Option<(ContactId,)> = sqlx::query_as(
        "SELECT coalesce(s.contact_id, c.contact_id)
         FROM contacts c LEFT JOIN contacts s ON s.contact_id = c.merged_into AND s.deleted_at IS NULL
         WHERE c.tenant_id = $1 AND c.contact_id = $2 AND c.deleted_at IS NULL
           AND (c.merged_into IS NULL OR s.contact_id IS NOT NULL)",
    )
    .bind(tenant)
    .bind(id)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|(id,)| id))
}

/// How many identities of each kind the contact holds.
pub async fn kind_counts(conn: &mut PgConnection, contact_id: ContactId) -> sqlx::Result<HashMap<IdentityKind, i64>> {
    let rows: Vec<(IdentityKind, i64)> =
        sqlx::query_as("SELECT kind, count(*) FROM contact_identities WHERE contact_id = $1 GROUP BY kind")
            .bind(contact_id)
            .fetch_all(conn)
            .await?;
    Ok(rows.into_iter().collect())
}

/// Of `others`, the contacts an operator kept apart from `contact` (dismissed, or recorded as
/// different people): never merged automatically.
pub async fn kept_apart(
    conn: &mut PgConnection,
    tenant: &str,
    contact: ContactId,
    others: &[ContactId],
) -> sqlx::Result<Vec<ContactId>> {
    sqlx::query_scalar(
        "SELECT CASE WHEN contact_a = $2 THEN contact_b ELSE contact_a END FROM duplicate_suggestions
         WHERE tenant_id = $1 AND status IN ('dismissed', 'different_people')
           AND ((contact_a = $2 AND contact_b = ANY($3)) OR (contact_b = $2 AND contact_a = ANY($3)))",
    )
    .bind(tenant)
    .bind(contact)
    .bind(others)
    .fetch_all(conn)
    .await
}

/// For each identity (same order), the contacts it is proposed to (open proposals), the
/// oldest proposal first.
pub async fn proposed_to(conn: &mut PgConnection, tenant: &str, identities: &[Identity]) -> sqlx::Result<Vec<Vec<ContactId>>> {
    proposals(conn, tenant, identities, true).await
}

/// For each identity (same order), the contacts an operator already decided a proposal of it
/// for (confirmed or rejected): it is not proposed to them again.
pub async fn decided_proposals(
    conn: &mut PgConnection,
    tenant: &str,
    identities: &[Identity],
) -> sqlx::Result<Vec<Vec<ContactId>>> {
    proposals(conn, tenant, identities, false).await
}

/// For each identity, the contacts it was proposed to, open or decided proposals.
async fn proposals(
    conn: &mut PgConnection,
    tenant: &str,
    identities: &[Identity],
    open: bool,
) -> sqlx::Result<Vec<Vec<ContactId>>> {
    let (kinds, scopes, values) = super::write::columns(identities.iter());
    let rows: Vec<(i64, ContactId)> = sqlx::query_as(
        "SELECT i.pos, p.contact_id
         FROM unnest($2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS i(kind, scope, value, pos)
         JOIN proposed_identities p
           ON p.tenant_id = $1 AND p.kind = i.kind AND p.scope = i.scope AND p.value = i.value AND (p.status = 'open') = $5
         ORDER BY 1, p.proposed_at",
    )
    .bind(tenant)
    .bind(&kinds)
    .bind(&scopes)
    .bind(&values)
    .bind(open)
    .fetch_all(conn)
    .await?;
    let mut out = vec![Vec::new(); identities.len()];
    for (pos, contact) in rows {
        out[(pos - 1) as usize].push(contact);
    }
    Ok(out)
}

/// The contact's current name and its source.
pub async fn name(conn: &mut PgConnection, contact_id: ContactId) -> sqlx::Result<(Option<String>, Option<NameSource>)> {
    sqlx::query_as("SELECT name, name_source FROM contacts WHERE contact_id = $1").bind(contact_id).fetch_one(conn).await
}

/// What set-based resolution needs to know of a contact it may change: its name, how many
/// identities of each kind it holds, and what orders the holders of a value (most recently
/// active first, then the oldest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactState {
    pub name: Option<String>,
    pub name_source: Option<NameSource>,
    pub counts: HashMap<IdentityKind, i64>,
    pub last_interaction_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct ContactRow {
    contact_id: ContactId,
    name: Option<String>,
    name_source: Option<NameSource>,
    last_interaction_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

/// The state of each of `contact_ids` (in two statements, however many).
pub async fn contact_states(
    conn: &mut PgConnection,
    contact_ids: &[ContactId],
) -> sqlx::Result<HashMap<ContactId, ContactState>> {
    let rows: Vec<ContactRow> = sqlx::query_as(
        "SELECT contact_id, name, name_source, last_interaction_at, created_at FROM contacts WHERE contact_id = ANY($1)",
    )
    .bind(contact_ids)
    .fetch_all(&mut *conn)
    .await?;
    let mut states: HashMap<ContactId, ContactState> = rows
        .into_iter()
        .map(|c| {
            let state = ContactState {
                name: c.name,
                name_source: c.name_source,
                counts: HashMap::new(),
                last_interaction_at: c.last_interaction_at,
                created_at: c.created_at,
            };
            (c.contact_id, state)
        })
        .collect();
    let counts: Vec<(ContactId, IdentityKind, i64)> = sqlx::query_as(
        "SELECT contact_id, kind, count(*) FROM contact_identities WHERE contact_id = ANY($1) GROUP BY contact_id, kind",
    )
    .bind(contact_ids)
    .fetch_all(conn)
    .await?;
    for (id, kind, n) in counts {
        if let Some(state) = states.get_mut(&id) {
            state.counts.insert(kind, n);
        }
    }
    Ok(states)
}

/// The time the transaction started: what `now()` stamps on the rows it writes.
pub async fn transaction_time(conn: &mut PgConnection) -> sqlx::Result<DateTime<Utc>> {
    sqlx::query_scalar("SELECT now()").fetch_one(conn).await
}
