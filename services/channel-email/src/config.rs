//! E-mail adapter settings (`[service]` of the standalone binary).

use channel::AccountMap;
use runtime::settings::HttpSettings;
use secrecy::SecretString;
use serde::Deserialize;

/// Messages with attachments are far larger than JSON webhooks: 25 MiB unless `http` says
/// otherwise (the usual maximum message size of mail servers).
pub const DEFAULT_BODY_LIMIT_BYTES: usize = 25 * 1024 * 1024;

/// The adapter's HTTP settings: the mail-sized limit is part of the type, so it survives an
/// `http` table that names only the bind address (see [`HttpSettings`]).
pub type EmailHttpSettings = HttpSettings<DEFAULT_BODY_LIMIT_BYTES>;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Bind address and body limit (default [`DEFAULT_BODY_LIMIT_BYTES`] unless
    /// `http.body_limit_bytes` is set).
    pub http: EmailHttpSettings,
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
        let bind_only: Config = serde_json::from_value(serde_json::json!({ "http": { "bind": "0.0.0.0:8080" } })).expect("valid");
        assert_eq!(bind_only.http.body_limit_bytes, DEFAULT_BODY_LIMIT_BYTES, "a bind alone keeps the mail-sized limit");
        assert!(serde_json::from_value::<Config>(serde_json::json!({ "pages": {} })).is_err());
    }
}
