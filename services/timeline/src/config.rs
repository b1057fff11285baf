//! Timeline settings (`[service]` standalone, `[service.timeline]` in `contactd`).

use runtime::settings::HttpSettings;
use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The Timeline API.
    pub http: HttpSettings,
}
