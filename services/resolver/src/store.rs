//! SQL of the directory. Every function takes the connection (usually a transaction) it runs
//! on, so resolution, change events and the processed marker commit together.

use chrono::{DateTime, Utc};
use std::collections::HashMap;

use contracts::{Channel, Identity, IdentityKind, NameSource, Profile, ResolvedInteraction};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use sqlx::{FromRow, PgConnection, Postgres, QueryBuilder, Row};
use uuid::Uuid;

/// The stored outcome of every interaction of a batch processed before, in one statement,
/// keyed by `(tenant, interaction_id)`; `None` as value means it matched nothing.
pub async fn processed_batch(
    conn: &mut PgConnection,
    keys: &[(String, Uuid)],
) -> sqlx::Result<std::collections::HashMap<(String, Uuid), Option<ResolvedInteraction>>> {
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

pub async fn record_processed(
    conn: &mut PgConnection,
    tenant: &str,
    interaction_id: Uuid,
    resolved: Option<&ResolvedInteraction>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO processed_interactions (tenant_id, interaction_id, contact_id, resolved) VALUES ($1, $2, $3, $4)
         ON CONFLICT (tenant_id, interaction_id) DO NOTHING",
    )
    .bind(tenant)
    .bind(interaction_id)
    .bind(resolved.map(|r| r.contact_id))
    .bind(resolved.map(Json))
    .execute(conn)
    .await?;
    Ok(())
}

/// The contacts holding each identity (same order), the most recently active first.
/// Contact-id identities are looked up among the tenant's contacts (a merged-away id answers
/// with its survivor); a value that is not a UUID is held by nobody.
pub async fn owners(conn: &mut PgConnection, tenant: &str, identities: &[Identity]) -> sqlx::Result<Vec<Vec<Uuid>>> {
    let mut owners = vec![Vec::new(); identities.len()];
    let (mut kinds, mut scopes, mut values, mut positions) = (vec![], vec![], vec![], vec![]);
    let mut explicit = vec![];
    for (i, identity) in identities.iter().enumerate() {
        match identity.kind {
            IdentityKind::ContactId => {
                if let Ok(id) = Uuid::parse_str(&identity.value) {
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
             SELECT i.pos, ci.contact_id, c.last_interaction_at, c.created_at
             FROM i
             JOIN contact_identities ci
               ON ci.tenant_id = $1 AND ci.kind = i.kind AND ci.scope = i.scope AND ci.value = i.value
             JOIN contacts c ON c.contact_id = ci.contact_id
             UNION ALL
             SELECT i.pos, coalesce(s.contact_id, c.contact_id), c.last_interaction_at, c.created_at
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
            owners[(pos - 1) as usize].push(row.try_get(1)?);
        }
    }
    for (i, id) in explicit {
        if let Some(live) = live_contact(conn, tenant, id).await? {
            owners[i].push(live);
        }
    }
    Ok(owners)
}

/// `id` if it is a live contact of `tenant`, its survivor if it was merged away, else `None`.
pub async fn live_contact(conn: &mut PgConnection, tenant: &str, id: Uuid) -> sqlx::Result<Option<Uuid>> {
    let row: Option<(Uuid,)> = sqlx::query_as(
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
pub async fn kind_counts(conn: &mut PgConnection, contact_id: Uuid) -> sqlx::Result<HashMap<String, i64>> {
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT kind, count(*) FROM contact_identities WHERE contact_id = $1 GROUP BY kind")
            .bind(contact_id)
            .fetch_all(conn)
            .await?;
    Ok(rows.into_iter().collect())
}

/// The tenant's rules, with `defaults` where the tenant has no settings row.
pub async fn rules(
    conn: &mut PgConnection,
    tenant: &str,
    defaults: &crate::rules::TenantRules,
) -> sqlx::Result<crate::rules::TenantRules> {
    let mut rules = defaults.clone();
    let settings: Option<(Option<String>, bool, i32, i32)> = sqlx::query_as(
        "SELECT default_region, auto_create, shared_value_limit, max_per_kind FROM tenant_settings WHERE tenant_id = $1",
    )
    .bind(tenant)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some((region, auto_create, shared_limit, max_per_kind)) = settings {
        if let Some(region) = region.as_deref().and_then(|r| identity::Region::parse(r).ok()) {
            rules.default_region = Some(region);
        }
        rules.auto_create = auto_create;
        rules.shared_value_limit = shared_limit.max(2) as usize;
        rules.max_per_kind = max_per_kind.max(1) as usize;
    }
    let blocked: Vec<(String, String, String)> =
        sqlx::query_as("SELECT kind, pattern, reason FROM blocked_values WHERE tenant_id = $1")
            .bind(tenant)
            .fetch_all(&mut *conn)
            .await?;
    rules.blocked = blocked
        .into_iter()
        .map(|(kind, pattern, reason)| crate::rules::Blocked { kind: IdentityKind::parse(&kind), pattern, reason })
        .collect();
    let identifying: Vec<(String,)> =
        sqlx::query_as("SELECT name FROM custom_identifier_definitions WHERE tenant_id = $1 AND identifies_client")
            .bind(tenant)
            .fetch_all(&mut *conn)
            .await?;
    rules.identifying_custom = identifying.into_iter().map(|(name,)| name).collect();
    Ok(rules)
}

/// Records that `a` and `b` matched the same interaction; true when the pair is new.
pub async fn suggest_duplicate(conn: &mut PgConnection, tenant: &str, a: Uuid, b: Uuid, shared: &Identity) -> sqlx::Result<bool> {
    let (low, high) = if a < b { (a, b) } else { (b, a) };
    let done = sqlx::query(
        "INSERT INTO duplicate_suggestions (tenant_id, contact_a, contact_b, shared_kind, shared_value)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .bind(tenant)
    .bind(low)
    .bind(high)
    .bind(shared.kind.as_str())
    .bind(&shared.value)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn create_contact(
    conn: &mut PgConnection,
    tenant: &str,
    contact_id: Uuid,
    profile: Option<&Profile>,
    last_interaction_at: Option<DateTime<Utc>>,
) -> sqlx::Result<()> {
    let name = profile.and_then(|p| p.name.clone());
    let source = name.as_ref().and(profile).map(|p| p.name_source.as_str());
    sqlx::query(
        "INSERT INTO contacts (contact_id, tenant_id, name, name_source, last_interaction_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(contact_id)
    .bind(tenant)
    .bind(name)
    .bind(source)
    .bind(last_interaction_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Inserts identities nobody holds, in one statement; returns the ones actually inserted (a
/// concurrent holder wins).
pub async fn insert_identities(
    conn: &mut PgConnection,
    tenant: &str,
    contact_id: Uuid,
    identities: &[Identity],
    source: &str,
) -> sqlx::Result<Vec<Identity>> {
    if identities.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = identities.iter().map(|_| Uuid::new_v4()).collect();
    let kinds: Vec<&str> = identities.iter().map(|i| i.kind.as_str()).collect();
    let scopes: Vec<String> = identities.iter().map(|i| i.scope.clone().unwrap_or_default()).collect();
    let values: Vec<&str> = identities.iter().map(|i| i.value.as_str()).collect();
    let inserted: Vec<(String, String, String)> = sqlx::query_as(
        "INSERT INTO contact_identities (identity_id, tenant_id, contact_id, kind, scope, value, source)
         SELECT id, $2, $3, kind, scope, value, $7 FROM unnest($1::uuid[], $4::text[], $5::text[], $6::text[]) AS n(id, kind, scope, value)
         ON CONFLICT (tenant_id, kind, scope, value) WHERE NOT shared DO NOTHING
         RETURNING kind, scope, value",
    )
    .bind(&ids)
    .bind(tenant)
    .bind(contact_id)
    .bind(&kinds)
    .bind(&scopes)
    .bind(&values)
    .bind(source)
    .fetch_all(conn)
    .await?;
    Ok(identities
        .iter()
        .filter(|i| {
            inserted.iter().any(|(kind, scope, value)| {
                kind == i.kind.as_str() && *scope == i.scope.clone().unwrap_or_default() && value == &i.value
            })
        })
        .cloned()
        .collect())
}

/// The contact's current name and its source.
pub async fn name(conn: &mut PgConnection, contact_id: Uuid) -> sqlx::Result<(Option<String>, Option<NameSource>)> {
    let (name, source): (Option<String>, Option<String>) =
        sqlx::query_as("SELECT name, name_source FROM contacts WHERE contact_id = $1").bind(contact_id).fetch_one(conn).await?;
    Ok((name, source.as_deref().and_then(NameSource::parse)))
}

pub async fn set_name(conn: &mut PgConnection, contact_id: Uuid, name: &str, source: NameSource) -> sqlx::Result<()> {
    sqlx::query("UPDATE contacts SET name = $2, name_source = $3, updated_at = now() WHERE contact_id = $1")
        .bind(contact_id)
        .bind(name)
        .bind(source.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn touch_interaction(conn: &mut PgConnection, contact_id: Uuid, at: DateTime<Utc>) -> sqlx::Result<()> {
    sqlx::query("UPDATE contacts SET last_interaction_at = greatest(last_interaction_at, $2) WHERE contact_id = $1")
        .bind(contact_id)
        .bind(at)
        .execute(conn)
        .await?;
    Ok(())
}

/// Writes an event to the outbox in the caller's transaction; `None` is a tombstone.
pub async fn enqueue<T: Serialize>(
    conn: &mut PgConnection,
    topic: &str,
    key: &str,
    event_type: &str,
    payload: Option<&T>,
) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO outbox (topic, key, event_type, payload) VALUES ($1, $2, $3, $4)")
        .bind(topic)
        .bind(key)
        .bind(event_type)
        .bind(payload.map(Json))
        .execute(conn)
        .await?;
    Ok(())
}

/// One identity on a contact card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct CardIdentity {
    pub identity_id: Uuid,
    pub kind: String,
    pub value: String,
    pub scope: Option<String>,
    pub source: String,
    pub created_at: DateTime<Utc>,
}

/// The contact card as the Directory API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Card {
    pub contact_id: Uuid,
    pub name: Option<String>,
    pub name_source: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_interaction_at: Option<DateTime<Utc>>,
    pub merged_into: Option<Uuid>,
    pub identities: Vec<CardIdentity>,
}

/// A live contact of `tenant` with its identities; another tenant's contact does not exist here.
pub async fn card(conn: &mut PgConnection, tenant: &str, contact_id: Uuid) -> sqlx::Result<Option<Card>> {
    Ok(cards(conn, tenant, &[contact_id]).await?.pop())
}

/// The cards of `contact_ids` that are live contacts of `tenant`, in the order asked for, in two
/// queries (a page of the list or of an export costs the same as one card).
pub async fn cards(conn: &mut PgConnection, tenant: &str, contact_ids: &[Uuid]) -> sqlx::Result<Vec<Card>> {
    let rows = sqlx::query(
        "SELECT contact_id, name, name_source, created_at, updated_at, last_interaction_at, merged_into
         FROM contacts WHERE tenant_id = $1 AND contact_id = ANY($2) AND deleted_at IS NULL",
    )
    .bind(tenant)
    .bind(contact_ids)
    .fetch_all(&mut *conn)
    .await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let found: Vec<Uuid> = rows.iter().map(|row| row.try_get("contact_id")).collect::<sqlx::Result<_>>()?;
    let identities: Vec<(Uuid, CardIdentity)> = sqlx::query(
        "SELECT contact_id, identity_id, kind, value, nullif(scope, '') AS scope, source, created_at
         FROM contact_identities WHERE contact_id = ANY($1) ORDER BY created_at, kind, value",
    )
    .bind(&found)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|row| Ok((row.try_get("contact_id")?, CardIdentity::from_row(row)?)))
    .collect::<sqlx::Result<_>>()?;
    let mut by_id: HashMap<Uuid, Card> = HashMap::with_capacity(rows.len());
    for row in rows {
        let card = Card {
            contact_id: row.try_get("contact_id")?,
            name: row.try_get("name")?,
            name_source: row.try_get("name_source")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
            last_interaction_at: row.try_get("last_interaction_at")?,
            merged_into: row.try_get("merged_into")?,
            identities: Vec::new(),
        };
        by_id.insert(card.contact_id, card);
    }
    for (contact_id, identity) in identities {
        if let Some(card) = by_id.get_mut(&contact_id) {
            card.identities.push(identity);
        }
    }
    Ok(contact_ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

/// Orders of the contact list. Each has its own keyset index (migration 0004), so every page
/// costs the same however deep it is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    /// Newest first.
    #[default]
    Created,
    /// Most recently in touch first; contacts never in touch last.
    LastInteraction,
    /// Alphabetical, case- and diacritics-insensitive; contacts without a name last.
    Name,
}

/// Where a contact stands in one sort order: its sort key and, to break ties, its id. A page
/// continues strictly after the position of the previous page's last contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "sort", rename_all = "snake_case")]
pub enum Position {
    Created {
        at: DateTime<Utc>,
        id: Uuid,
    },
    /// `at: None` = never in touch (sorted as `-infinity`).
    LastInteraction {
        at: Option<DateTime<Utc>>,
        id: Uuid,
    },
    /// `key` is the name as compared: lowercased, unaccented (`search_text`), its first 200
    /// characters (the index's key).
    Name {
        unnamed: bool,
        key: String,
        id: Uuid,
    },
}

impl Position {
    pub fn sort(&self) -> Sort {
        match self {
            Position::Created { .. } => Sort::Created,
            Position::LastInteraction { .. } => Sort::LastInteraction,
            Position::Name { .. } => Sort::Name,
        }
    }

    pub fn contact_id(&self) -> Uuid {
        match self {
            Position::Created { id, .. } | Position::LastInteraction { id, .. } | Position::Name { id, .. } => *id,
        }
    }
}

/// The identifier kind a channel gives its contacts: `channel=` lists the contacts holding one.
/// Web chat has none of its own (it yields e-mails, phones and custom ids).
pub fn channel_kind(channel: Channel) -> Option<IdentityKind> {
    match channel {
        Channel::Messenger => Some(IdentityKind::Psid),
        Channel::Whatsapp => Some(IdentityKind::Whatsapp),
        Channel::Vk => Some(IdentityKind::Vk),
        Channel::Apple => Some(IdentityKind::Apple),
        Channel::Email => Some(IdentityKind::Email),
        Channel::Voip => Some(IdentityKind::Phone),
        Channel::Webchat => None,
    }
}

/// Filters of the contact list (and of the export); all of them must hold.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub sort: Sort,
    /// Keyset cursor: only contacts after this position (of the same sort).
    pub after: Option<Position>,
    /// Free text over name and identifier values (diacritics- and case-insensitive substring).
    pub q: Option<String>,
    pub created_after: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
    pub last_interaction_after: Option<DateTime<Utc>>,
    pub last_interaction_before: Option<DateTime<Utc>>,
    /// Exact identifiers (already normalized), any scope: the contact holds every one.
    pub identities: Vec<(IdentityKind, String)>,
    /// The contact holds an identifier of this kind (see [`channel_kind`]).
    pub holds_kind: Option<IdentityKind>,
}

/// `%…%` LIKE pattern of free text, with LIKE's own wildcards taken literally.
fn like_pattern(q: &str) -> String {
    format!("%{}%", q.trim().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"))
}

/// Positions of the contacts of `tenant` matching `filter`, in the filter's sort order. Only the
/// conditions in use are part of the statement, so the planner sees (and indexes) exactly them.
pub async fn list(conn: &mut PgConnection, tenant: &str, filter: &ListFilter, limit: i64) -> sqlx::Result<Vec<Position>> {
    let mut sql = QueryBuilder::<Postgres>::new(
        "SELECT c.contact_id, c.created_at, c.last_interaction_at, c.name IS NULL AS unnamed,
                left(coalesce(search_text(c.name), ''), 200) AS name_key
         FROM contacts c WHERE c.tenant_id = ",
    );
    sql.push_bind(tenant).push(" AND c.deleted_at IS NULL AND c.merged_into IS NULL");
    match &filter.after {
        None => {}
        Some(Position::Created { at, id }) => {
            sql.push(" AND (c.created_at, c.contact_id) < (").push_bind(*at).push(", ").push_bind(*id).push(")");
        }
        Some(Position::LastInteraction { at, id }) => {
            sql.push(" AND (coalesce(c.last_interaction_at, '-infinity'::timestamptz), c.contact_id) < (coalesce(")
                .push_bind(*at)
                .push("::timestamptz, '-infinity'::timestamptz), ")
                .push_bind(*id)
                .push(")");
        }
        Some(Position::Name { unnamed, key, id }) => {
            sql.push(" AND (c.name IS NULL, left(coalesce(search_text(c.name), ''), 200), c.contact_id) > (")
                .push_bind(*unnamed)
                .push(", ")
                .push_bind(key.clone())
                .push(", ")
                .push_bind(*id)
                .push(")");
        }
    }
    for (column, op, value) in [
        ("c.created_at", ">", filter.created_after),
        ("c.created_at", "<", filter.created_before),
        ("c.last_interaction_at", ">", filter.last_interaction_after),
        ("c.last_interaction_at", "<", filter.last_interaction_before),
    ] {
        if let Some(value) = value {
            sql.push(format_args!(" AND {column} {op} ")).push_bind(value);
        }
    }
    for (kind, value) in &filter.identities {
        sql.push(" AND c.contact_id IN (SELECT i.contact_id FROM contact_identities i WHERE i.tenant_id = ")
            .push_bind(tenant)
            .push(" AND i.kind = ")
            .push_bind(kind.as_str())
            .push(" AND i.value = ")
            .push_bind(value.clone())
            .push(")");
    }
    if let Some(kind) = filter.holds_kind {
        sql.push(" AND c.contact_id IN (SELECT i.contact_id FROM contact_identities i WHERE i.tenant_id = ")
            .push_bind(tenant)
            .push(" AND i.kind = ")
            .push_bind(kind.as_str())
            .push(")");
    }
    if let Some(q) = filter.q.as_deref() {
        // A union of two trigram-indexed lookups, so neither side forces a scan of the other table.
        let pattern = like_pattern(q);
        sql.push(" AND c.contact_id IN (SELECT n.contact_id FROM contacts n WHERE n.tenant_id = ")
            .push_bind(tenant)
            .push(" AND search_text(n.name) LIKE search_text(")
            .push_bind(pattern.clone())
            .push(") UNION SELECT i.contact_id FROM contact_identities i WHERE i.tenant_id = ")
            .push_bind(tenant)
            .push(" AND lower(i.value) LIKE lower(")
            .push_bind(pattern)
            .push("))");
    }
    sql.push(match filter.sort {
        Sort::Created => " ORDER BY c.created_at DESC, c.contact_id DESC",
        Sort::LastInteraction => " ORDER BY coalesce(c.last_interaction_at, '-infinity'::timestamptz) DESC, c.contact_id DESC",
        Sort::Name => " ORDER BY c.name IS NULL, left(coalesce(search_text(c.name), ''), 200), c.contact_id",
    });
    sql.push(" LIMIT ").push_bind(limit);
    let rows = sql.build().fetch_all(conn).await?;
    rows.iter()
        .map(|row| {
            let id = row.try_get("contact_id")?;
            Ok(match filter.sort {
                Sort::Created => Position::Created { at: row.try_get("created_at")?, id },
                Sort::LastInteraction => Position::LastInteraction { at: row.try_get("last_interaction_at")?, id },
                Sort::Name => Position::Name { unnamed: row.try_get("unnamed")?, key: row.try_get("name_key")?, id },
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards_in_free_text_are_literal() {
        assert_eq!(like_pattern(" 50%_off\\ "), "%50\\%\\_off\\\\%");
    }

    #[test]
    fn every_channel_but_web_chat_has_its_identifier_kind() {
        assert_eq!(channel_kind(Channel::Messenger), Some(IdentityKind::Psid));
        assert_eq!(channel_kind(Channel::Voip), Some(IdentityKind::Phone));
        assert_eq!(channel_kind(Channel::Webchat), None);
    }
}
