//! Resolver settings (`[service]` standalone, `[service.resolver]` in `contactd`).

use runtime::settings::HttpSettings;

use crate::resolution::rules::AutoMerge;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The Directory API.
    pub http: HttpSettings,
    /// Region for phone numbers written without a country code (ISO 3166, e.g. `CZ`).
    pub default_region: Option<String>,
    /// Create a contact when nothing matches (tenants may override).
    pub auto_create: bool,
    /// A value held by this many contacts stops being used for matching (tenants may override).
    pub shared_value_limit: usize,
    /// Most identities of one kind a contact gains automatically (tenants may override).
    pub max_per_kind: usize,
    /// `never` (default: the duplicates queue suggests) or `verified` (merge two contacts when
    /// one interaction carries verified identifiers of both); tenants may override.
    pub auto_merge: AutoMerge,
    /// Let matches made only by typed identifiers add identifiers and names directly instead of
    /// proposing them (tenants may override).
    pub typed_enrichment: bool,
    /// Fixed lines identify nobody by themselves (tenants may override).
    pub weak_landlines: bool,
    /// A phone not seen on its card for this many days identifies nobody by itself.
    pub phone_recycle_after_days: u32,
    /// How often the outbox relay looks for unpublished changes.
    pub outbox_poll_ms: u64,
    /// The operator console served at `/console/` beside the Directory API.
    pub console: console::Settings,
    /// How long a published outbox row (metadata only: its payload is cleared once Kafka has
    /// it) is kept before it is pruned.
    pub outbox_retention_secs: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            http: HttpSettings::default(),
            default_region: Some("CZ".into()),
            auto_create: true,
            shared_value_limit: 3,
            max_per_kind: 10,
            auto_merge: AutoMerge::Never,
            typed_enrichment: false,
            weak_landlines: true,
            phone_recycle_after_days: 365,
            outbox_poll_ms: 200,
            console: console::Settings::default(),
            outbox_retention_secs: 24 * 3600,
        }
    }
}
