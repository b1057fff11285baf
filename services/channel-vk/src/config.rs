//! VK adapter settings (`[service]` of the standalone binary).
//!
//! ```toml
//! [service.communities.218374651]   # the community's group id
//! tenant = "acme"
//! secret = "…"                      # «Secret key» of the Callback API server
//! confirmation = "6d3f2a1b"         # the string VK expects back on `confirmation`
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
    /// Community group id (as a string) → its tenant and Callback API credentials. One adapter
    /// serves any number of communities; the request's `group_id` picks the entry.
    pub communities: BTreeMap<String, Community>,
}

/// One VK community connected through the Callback API.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Community {
    /// The tenant the community belongs to.
    pub tenant: String,
    /// The «Secret key» set for our server in the community's Callback API settings; VK sends it
    /// in the `secret` field of every request. Required: requests are not signed otherwise.
    #[serde(default)]
    pub secret: Option<SecretString>,
    /// The confirmation string shown in the Callback API settings (or returned by
    /// `groups.getCallbackConfirmationCode`), answered to `type: "confirmation"`. It is not a
    /// credential: VK only uses it to check that the server belongs to the community owner.
    #[serde(default)]
    pub confirmation: Option<String>,
}

impl Config {
    /// Group id → tenant, for the kit.
    pub fn accounts(&self) -> AccountMap {
        AccountMap(self.communities.iter().map(|(group, c)| (group.clone(), c.tenant.clone())).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn communities_are_keyed_by_group_id_and_unknown_keys_are_rejected() {
        let config: Config = serde_json::from_value(serde_json::json!({
            "communities": { "218374651": { "tenant": "acme", "secret": "s", "confirmation": "6d3f2a1b" } }
        }))
        .expect("valid settings");
        let community = &config.communities["218374651"];
        assert_eq!(community.secret.as_ref().map(|s| s.expose_secret().to_owned()).as_deref(), Some("s"));
        assert_eq!(config.accounts().tenant_of("218374651"), Some("acme"));
        let typo = serde_json::json!({ "communities": { "1": { "tenant": "acme", "secrte": "s" } } });
        assert!(serde_json::from_value::<Config>(typo).is_err());
    }
}
