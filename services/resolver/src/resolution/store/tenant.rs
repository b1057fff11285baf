//! The tenant's resolution rules as stored (`tenant_settings`, `blocked_values`,
//! `custom_identifier_definitions`).

use contracts::IdentityKind;
use sqlx::PgConnection;

use super::super::rules::{AutoMerge, Blocked, TenantRules};

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
    let settings = sqlx::query_as!(
        Settings,
        "SELECT default_region, auto_create, shared_value_limit, max_per_kind, auto_merge, typed_enrichment, weak_landlines,
                phone_recycle_after_days, role_addresses
         FROM tenant_settings WHERE tenant_id = $1",
        tenant,
    )
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
    let blocked = sqlx::query!("SELECT kind, pattern, reason FROM blocked_values WHERE tenant_id = $1", tenant)
        .fetch_all(&mut *conn)
        .await?;
    rules.blocked = blocked
        .into_iter()
        .map(|b| Blocked { kind: IdentityKind::parse(&b.kind), pattern: b.pattern, reason: b.reason })
        .collect();
    rules.identifying_custom =
        sqlx::query_scalar!("SELECT name FROM custom_identifier_definitions WHERE tenant_id = $1 AND identifies_client", tenant)
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .collect();
    Ok(rules)
}
