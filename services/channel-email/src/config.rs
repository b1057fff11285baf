//! E-mail adapter settings (`[service]` of the standalone binary).

use channel::AccountMap;
use runtime::settings::HttpSettings;
use secrecy::SecretString;
use serde::Deserialize;

/// Messages with attachments are far larger than JSON webhooks: 25 MiB unless `http` says
/// otherwise (the usual maximum message size of mail servers).
pub const DEFAULT_BODY_LIMIT_BYTES: usize = 25 * 1024 * 1024;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Bind address and body limit (default [`DEFAULT_BODY_LIMIT_BYTES`] when `http` is absent).
    pub http: HttpSettings,
    /// Shared secret the mail relay sends as `Authorization: Bearer <token>`.
    pub relay_token: Option<SecretString>,
    /// Alternative for relays that can sign: the secret of `X-Webhook-Signature: sha256=<hex>`,
    /// the HMAC-SHA256 of the raw message. At least one of the two must be set.
    pub signing_secret: Option<SecretString>,
    /// Tenant mailbox → tenant id, matched case-insensitively: an exact address
    /// (`"podpora@acme.cz" = "acme"`, which also takes `podpora+<tag>@acme.cz`) or a domain's
    /// catch-all (`"*@acme.cz" = "acme"`); an exact address wins over the catch-all.
    pub mailboxes: AccountMap,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            http: HttpSettings { body_limit_bytes: DEFAULT_BODY_LIMIT_BYTES, ..HttpSettings::default() },
            relay_token: None,
            signing_secret: None,
            mailboxes: AccountMap::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailboxes_map_to_tenants_and_unknown_keys_are_rejected() {
        let config: Config = serde_json::from_value(serde_json::json!({
            "relay_token": "t", "mailboxes": { "podpora@acme.cz": "acme" }
        }))
        .expect("valid settings");
        assert_eq!(config.mailboxes.tenant_of("podpora@acme.cz"), Some("acme"));
        assert_eq!(config.http.body_limit_bytes, DEFAULT_BODY_LIMIT_BYTES, "mail-sized default body limit");
        assert!(serde_json::from_value::<Config>(serde_json::json!({ "pages": {} })).is_err());
    }
}
