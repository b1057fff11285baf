//! Resolver settings (`[service]` standalone, `[service.resolver]` in `contactd`).

use runtime::settings::HttpSettings;
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
            outbox_poll_ms: 200,
            console: console::Settings::default(),
            outbox_retention_secs: 24 * 3600,
        }
    }
}
