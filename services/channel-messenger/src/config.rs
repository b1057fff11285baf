//! Messenger adapter settings (`[service]` of the standalone binary, `[service.messenger]` of `contactd`).

use channel::AccountMap;
use runtime::settings::HttpSettings;
use secrecy::SecretString;
use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub http: HttpSettings,
    /// The Meta app secret that signs webhook bodies.
    pub app_secret: Option<SecretString>,
    /// The token entered in the app dashboard for the subscription handshake.
    pub verify_token: Option<SecretString>,
    /// Page id → tenant id.
    pub pages: AccountMap,
}
