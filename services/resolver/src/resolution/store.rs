//! SQL of resolution. Every function takes the connection (usually the batch's transaction) it
//! runs on, so the decision, its change events and the processed marker commit together.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use contracts::api::directory::{IdentitySource, Weakness};
use contracts::{Identity, IdentityKind, NameSource, Profile, ResolvedInteraction};
use sqlx::types::Json;
use sqlx::{PgConnection, Row};
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

/// Marks the interaction processed with its decision (replayed on redelivery), the contact it
/// went to (none when unidentified) and when it happened (the contact's history).
pub async fn record_processed(conn: &mut PgConnection, resolved: &ResolvedInteraction) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO processed_interactions (tenant_id, interaction_id, contact_id, resolved, occurred_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (tenant_id, interaction_id) DO NOTHING",
    )
    .bind(&resolved.tenant_id)
    .bind(resolved.interaction.interaction_id)
    .bind(resolved.contact_id)
    .bind(Json(resolved))
    .bind(resolved.interaction.body.occurred_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// A contact holding an identity, with the newest interaction that carried it there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    pub contact_id: Uuid,
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
pub async fn kind_counts(conn: &mut PgConnection, contact_id: Uuid) -> sqlx::Result<HashMap<IdentityKind, i64>> {
    let rows: Vec<(IdentityKind, i64)> =
        sqlx::query_as("SELECT kind, count(*) FROM contact_identities WHERE contact_id = $1 GROUP BY kind")
            .bind(contact_id)
            .fetch_all(conn)
            .await?;
    Ok(rows.into_iter().collect())
}

#[derive(sqlx::FromRow)]
struct Settings {
    default_region: Option<String>,
    auto_create: bool,
    shared_value_limit: i32,
    max_per_kind: i32,
    auto_merge: String,
    typed_enrichment: bool,
    weak_landlines: bool,
    phone_recycle_after_days: i32,
    role_addresses: Vec<String>,
}

/// The tenant's rules, with `defaults` where the tenant has no settings row.
pub async fn rules(
    conn: &mut PgConnection,
    tenant: &str,
    defaults: &super::rules::TenantRules,
) -> sqlx::Result<super::rules::TenantRules> {
    let mut rules = defaults.clone();
    let settings: Option<Settings> = sqlx::query_as(
        "SELECT default_region, auto_create, shared_value_limit, max_per_kind, auto_merge, typed_enrichment, weak_landlines,
                phone_recycle_after_days, role_addresses
         FROM tenant_settings WHERE tenant_id = $1",
    )
    .bind(tenant)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(settings) = settings {
        if let Some(region) = settings.default_region.as_deref().and_then(|r| identity::Region::parse(r).ok()) {
            rules.default_region = Some(region);
        }
        rules.auto_create = settings.auto_create;
        rules.shared_value_limit = settings.shared_value_limit.max(2) as usize;
        rules.max_per_kind = settings.max_per_kind.max(1) as usize;
        rules.auto_merge = super::rules::AutoMerge::parse(&settings.auto_merge).unwrap_or_default();
        rules.typed_enrichment = settings.typed_enrichment;
        rules.weak_landlines = settings.weak_landlines;
        rules.phone_recycle_after_days = settings.phone_recycle_after_days.max(1) as u32;
        rules.role_addresses = settings.role_addresses;
    }
    let blocked: Vec<(String, String, String)> =
        sqlx::query_as("SELECT kind, pattern, reason FROM blocked_values WHERE tenant_id = $1")
            .bind(tenant)
            .fetch_all(&mut *conn)
            .await?;
    rules.blocked = blocked
        .into_iter()
        .map(|(kind, pattern, reason)| super::rules::Blocked { kind: IdentityKind::parse(&kind), pattern, reason })
        .collect();
    let identifying: Vec<(String,)> =
        sqlx::query_as("SELECT name FROM custom_identifier_definitions WHERE tenant_id = $1 AND identifies_client")
            .bind(tenant)
            .fetch_all(&mut *conn)
            .await?;
    rules.identifying_custom = identifying.into_iter().map(|(name,)| name).collect();
    Ok(rules)
}

/// Records that `a` and `b` matched the same interaction, with the evidence and its weakness;
/// true when the pair is new (a pair dismissed or recorded as different people stays so).
pub async fn suggest_duplicate(
    conn: &mut PgConnection,
    tenant: &str,
    a: Uuid,
    b: Uuid,
    shared: &Identity,
    weakness: Option<Weakness>,
) -> sqlx::Result<bool> {
    let (low, high) = if a < b { (a, b) } else { (b, a) };
    let done = sqlx::query(
        "INSERT INTO duplicate_suggestions (tenant_id, contact_a, contact_b, shared_kind, shared_value, weakness)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
    )
    .bind(tenant)
    .bind(low)
    .bind(high)
    .bind(shared.kind)
    .bind(&shared.value)
    .bind(weakness)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Of `others`, the contacts an operator kept apart from `contact` (dismissed, or recorded as
/// different people): never merged automatically.
pub async fn kept_apart(conn: &mut PgConnection, tenant: &str, contact: Uuid, others: &[Uuid]) -> sqlx::Result<Vec<Uuid>> {
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

/// Offers `identities` to `contact_id` for an operator to confirm; returns the ones newly
/// proposed (one proposed before, confirmed or rejected, is not proposed again).
pub async fn propose(
    conn: &mut PgConnection,
    tenant: &str,
    contact_id: Uuid,
    identities: &[Identity],
    source: IdentitySource,
    interaction_id: Option<Uuid>,
) -> sqlx::Result<Vec<Identity>> {
    let mut proposed = Vec::new();
    for identity in identities {
        let done = sqlx::query(
            "INSERT INTO proposed_identities (proposal_id, tenant_id, contact_id, kind, scope, value, source, interaction_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
        )
        .bind(Uuid::new_v4())
        .bind(tenant)
        .bind(contact_id)
        .bind(identity.kind)
        .bind(identity.scope.clone().unwrap_or_default())
        .bind(&identity.value)
        .bind(source)
        .bind(interaction_id)
        .execute(&mut *conn)
        .await?;
        if done.rows_affected() == 1 {
            proposed.push(identity.clone());
        }
    }
    Ok(proposed)
}

/// For each identity (same order), the contacts it is proposed to (open proposals).
pub async fn proposed_to(conn: &mut PgConnection, tenant: &str, identities: &[Identity]) -> sqlx::Result<Vec<Vec<Uuid>>> {
    let kinds: Vec<&str> = identities.iter().map(|i| i.kind.as_str()).collect();
    let scopes: Vec<String> = identities.iter().map(|i| i.scope.clone().unwrap_or_default()).collect();
    let values: Vec<&str> = identities.iter().map(|i| i.value.as_str()).collect();
    let rows: Vec<(i64, Uuid)> = sqlx::query_as(
        "SELECT i.pos, p.contact_id
         FROM unnest($2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS i(kind, scope, value, pos)
         JOIN proposed_identities p
           ON p.tenant_id = $1 AND p.kind = i.kind AND p.scope = i.scope AND p.value = i.value AND p.status = 'open'
         ORDER BY 1, p.proposed_at",
    )
    .bind(tenant)
    .bind(&kinds)
    .bind(&scopes)
    .bind(&values)
    .fetch_all(conn)
    .await?;
    let mut out = vec![Vec::new(); identities.len()];
    for (pos, contact) in rows {
        out[(pos - 1) as usize].push(contact);
    }
    Ok(out)
}

/// The contact's identities among `identities` were seen at `at` (never moves back in time).
pub async fn mark_seen(
    conn: &mut PgConnection,
    contact_id: Uuid,
    identities: &[Identity],
    at: DateTime<Utc>,
) -> sqlx::Result<()> {
    let kinds: Vec<&str> = identities.iter().map(|i| i.kind.as_str()).collect();
    let scopes: Vec<String> = identities.iter().map(|i| i.scope.clone().unwrap_or_default()).collect();
    let values: Vec<&str> = identities.iter().map(|i| i.value.as_str()).collect();
    sqlx::query(
        "UPDATE contact_identities ci SET last_seen_at = greatest(ci.last_seen_at, $5)
         FROM unnest($2::text[], $3::text[], $4::text[]) AS i(kind, scope, value)
         WHERE ci.contact_id = $1 AND ci.kind = i.kind AND ci.scope = i.scope AND ci.value = i.value",
    )
    .bind(contact_id)
    .bind(&kinds)
    .bind(&scopes)
    .bind(&values)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn create_contact(
    conn: &mut PgConnection,
    tenant: &str,
    contact_id: Uuid,
    profile: Option<&Profile>,
    last_interaction_at: Option<DateTime<Utc>>,
) -> sqlx::Result<()> {
    let name = profile.and_then(|p| p.name.clone());
    let source = name.as_ref().and(profile).map(|p| p.name_source);
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
    source: IdentitySource,
    seen_at: Option<DateTime<Utc>>,
) -> sqlx::Result<Vec<Identity>> {
    if identities.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = identities.iter().map(|_| Uuid::new_v4()).collect();
    let kinds: Vec<&str> = identities.iter().map(|i| i.kind.as_str()).collect();
    let scopes: Vec<String> = identities.iter().map(|i| i.scope.clone().unwrap_or_default()).collect();
    let values: Vec<&str> = identities.iter().map(|i| i.value.as_str()).collect();
    let provenances: Vec<&str> = identities.iter().map(|i| if i.is_verified() { "verified" } else { "typed" }).collect();
    let inserted: Vec<(String, String, String)> = sqlx::query_as(
        "INSERT INTO contact_identities (identity_id, tenant_id, contact_id, kind, scope, value, source, provenance, last_seen_at)
         SELECT id, $2, $3, kind, scope, value, $7, provenance, coalesce($9, now())
         FROM unnest($1::uuid[], $4::text[], $5::text[], $6::text[], $8::text[]) AS n(id, kind, scope, value, provenance)
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
    .bind(&provenances)
    .bind(seen_at)
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
    sqlx::query_as("SELECT name, name_source FROM contacts WHERE contact_id = $1").bind(contact_id).fetch_one(conn).await
}

pub async fn set_name(conn: &mut PgConnection, contact_id: Uuid, name: &str, source: NameSource) -> sqlx::Result<()> {
    sqlx::query("UPDATE contacts SET name = $2, name_source = $3, updated_at = now() WHERE contact_id = $1")
        .bind(contact_id)
        .bind(name)
        .bind(source)
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
