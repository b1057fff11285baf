//! The tenant's resolution rules as stored (`tenant_settings`, `blocked_values`,
//! `custom_identifier_definitions`).

use contracts::IdentityKind;
use sqlx::PgConnection;

use super::super::rules::{AutoMerge, Blocked, TenantRules};

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
pub async fn rules(conn: &mut PgConnection, tenant: &str, defaults: &TenantRules) -> sqlx::Result<TenantRules> {
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
        rules.auto_merge = AutoMerge::parse(&settings.auto_merge).unwrap_or_default();
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
        .map(|(kind, pattern, reason)| Blocked { kind: IdentityKind::parse(&kind), pattern, reason })
        .collect();
    let identifying: Vec<(String,)> =
        sqlx::query_as("SELECT name FROM custom_identifier_definitions WHERE tenant_id = $1 AND identifies_client")
            .bind(tenant)
            .fetch_all(&mut *conn)
            .await?;
    rules.identifying_custom = identifying.into_iter().map(|(name,)| name).collect();
    Ok(rules)
}
