//! What resolution reads: interactions processed before, the holders of identities, open
//! proposals, and the state of the contacts a batch may change.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use contracts::ContactId;
use contracts::{Identity, IdentityKind, NameSource, ResolvedInteraction};
use sqlx::types::Json;
use sqlx::PgConnection;
use uuid::Uuid;

/// The stored outcome of every interaction of a batch processed before, in one statement,
/// keyed by `(tenant, interaction_id)`; `None` as value means it matched nothing.
pub async fn processed_batch(
    conn: &mut PgConnection,
    keys: &[(String, Uuid)],
) -> sqlx::Result<HashMap<(String, Uuid), Option<ResolvedInteraction>>> {
    let tenants: Vec<&str> = keys.iter().map(|k| k.0.as_str()).collect();
    let ids: Vec<Uuid> = keys.iter().map(|k| k.1).collect();
    let rows = sqlx::query!(
        r#"SELECT p.tenant_id, p.interaction_id, p.resolved AS "resolved: Json<ResolvedInteraction>"
         FROM unnest($1::text[], $2::uuid[]) AS k(tenant_id, interaction_id)
         JOIN processed_interactions p USING (tenant_id, interaction_id)"#,
        &tenants as &[&str],
        &ids,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| ((r.tenant_id, r.interaction_id), r.resolved.map(|r| r.0))).collect())
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
        let rows = sqlx::query!(
            r#"WITH i AS (SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::int8[]) AS i(kind, scope, value, pos))
             SELECT i.pos AS "pos!", ci.contact_id AS "contact_id!: ContactId", c.last_interaction_at,
                    c.created_at AS "created_at!", ci.last_seen_at, ci.provenance = 'typed' AS "typed!"
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
             ORDER BY 1, 3 DESC NULLS LAST, 4"#,
            tenant,
            &kinds as &[&str],
            &scopes,
            &values,
            &positions,
        )
        .fetch_all(&mut *conn)
        .await?;
        for row in rows {
            let owner = Owner { contact_id: row.contact_id, last_seen_at: row.last_seen_at, typed: row.typed };
            owners[(row.pos - 1) as usize].push(owner);
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
    sqlx::query_scalar!(
        r#"SELECT coalesce(s.contact_id, c.contact_id) AS "contact_id!: ContactId"
         FROM contacts c LEFT JOIN contacts s ON s.contact_id = c.merged_into AND s.deleted_at IS NULL
         WHERE c.tenant_id = $1 AND c.contact_id = $2 AND c.deleted_at IS NULL
           AND (c.merged_into IS NULL OR s.contact_id IS NOT NULL)"#,
        tenant,
        id.0,
    )
    .fetch_optional(conn)
    .await
}

/// How many identities of each kind the contact holds.
pub async fn kind_counts(conn: &mut PgConnection, contact_id: ContactId) -> sqlx::Result<HashMap<IdentityKind, i64>> {
    let rows = sqlx::query!(
        r#"SELECT kind AS "kind: IdentityKind", count(*) AS "count!" FROM contact_identities WHERE contact_id = $1 GROUP BY kind"#,
        contact_id.0,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.kind, r.count)).collect())
}

/// Of `others`, the contacts an operator kept apart from `contact` (dismissed, or recorded as
/// different people): never merged automatically.
pub async fn kept_apart(
    conn: &mut PgConnection,
    tenant: &str,
    contact: ContactId,
    others: &[ContactId],
) -> sqlx::Result<Vec<ContactId>> {
    sqlx::query_scalar!(
        r#"SELECT CASE WHEN contact_a = $2 THEN contact_b ELSE contact_a END AS "other!: ContactId" FROM duplicate_suggestions
         WHERE tenant_id = $1 AND status IN ('dismissed', 'different_people')
           AND ((contact_a = $2 AND contact_b = ANY($3)) OR (contact_b = $2 AND contact_a = ANY($3)))"#,
        tenant,
        contact.0,
        others as &[ContactId],
    )
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
    let rows = sqlx::query!(
        r#"SELECT i.pos AS "pos!", p.contact_id AS "contact_id: ContactId"
         FROM unnest($2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS i(kind, scope, value, pos)
         JOIN proposed_identities p
           ON p.tenant_id = $1 AND p.kind = i.kind AND p.scope = i.scope AND p.value = i.value AND (p.status = 'open') = $5
         ORDER BY 1, p.proposed_at"#,
        tenant,
        &kinds as &[&str],
        &scopes,
        &values as &[&str],
        open,
    )
    .fetch_all(conn)
    .await?;
    let mut out = vec![Vec::new(); identities.len()];
    for row in rows {
        out[(row.pos - 1) as usize].push(row.contact_id);
    }
    Ok(out)
}

/// The contact's current name and its source.
pub async fn name(conn: &mut PgConnection, contact_id: ContactId) -> sqlx::Result<(Option<String>, Option<NameSource>)> {
    let row = sqlx::query!(
        r#"SELECT name, name_source AS "name_source: NameSource" FROM contacts WHERE contact_id = $1"#,
        contact_id.0,
    )
    .fetch_one(conn)
    .await?;
    Ok((row.name, row.name_source))
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
    let rows = sqlx::query_as!(
        ContactRow,
        r#"SELECT contact_id AS "contact_id: ContactId", name, name_source AS "name_source: NameSource", last_interaction_at,
                  created_at
         FROM contacts WHERE contact_id = ANY($1)"#,
        contact_ids as &[ContactId],
    )
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
    let counts = sqlx::query!(
        r#"SELECT contact_id AS "contact_id: ContactId", kind AS "kind: IdentityKind", count(*) AS "count!"
         FROM contact_identities WHERE contact_id = ANY($1) GROUP BY contact_id, kind"#,
        contact_ids as &[ContactId],
    )
    .fetch_all(conn)
    .await?;
    for row in counts {
        if let Some(state) = states.get_mut(&row.contact_id) {
            state.counts.insert(row.kind, row.count);
        }
    }
    Ok(states)
}

/// The time the transaction started: what `now()` stamps on the rows it writes.
pub async fn transaction_time(conn: &mut PgConnection) -> sqlx::Result<DateTime<Utc>> {
    sqlx::query_scalar!(r#"SELECT now() AS "now!""#).fetch_one(conn).await
}
