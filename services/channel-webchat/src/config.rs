//! Web chat adapter settings (`[service]` of the standalone binary, `[service.webchat]` of
//! `contactd`). One entry per site (a web property with the widget), each with the tenant it
//! belongs to and the secret its chat server signs with:
//!
//! ```toml
//! [service.sites.eshop-cz]
//! tenant = "acme"
//! secret = "…"          # shared with that site's chat server only, never with the browser
//! ```

use std::collections::BTreeMap;

use channel::AccountMap;
use runtime::settings::HttpSettings;
use secrecy::SecretString;
use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub http: HttpSettings,
    /// Site id → its tenant and signing secret.
    pub sites: BTreeMap<String, Site>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Site {
    /// The tenant that owns the site.
    pub tenant: String,
    /// HMAC-SHA256 key of `X-Webchat-Signature` (its UTF-8 bytes).
    pub secret: SecretString,
}

impl Config {
    /// Site id → tenant, the kit's view of the sites.
    pub fn accounts(&self) -> AccountMap {
        AccountMap(self.sites.iter().map(|(site, s)| (site.clone(), s.tenant.clone())).collect())
    }
}
