//! E-mail adapter settings (`[service]` of the standalone binary).

use channel::AccountMap;
use runtime::settings::HttpSettings;
use secrecy::SecretString;
use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub http: HttpSettings,
    /// Shared secret the mail relay sends as `Authorization: Bearer <token>`.
    pub relay_token: Option<SecretString>,
    /// Alternative for relays that can sign: the secret of `X-Webhook-Signature: sha256=<hex>`,
    /// the HMAC-SHA256 of the raw message. At least one of the two must be set.
    pub signing_secret: Option<SecretString>,
    /// Tenant mailbox address → tenant id (`"podpora@acme.cz" = "acme"`); matched
    /// case-insensitively.
    pub mailboxes: AccountMap,
}
