//! Apple Messages for Business adapter settings (`[service]` of the standalone binary,
//! `[service.apple]` of `contactd`).
//!
//! ```toml
//! [service]
//! secret = "c2VjcmV0LWZyb20tYXBwbGU="   # the Messaging API secret, as Apple issued it (base64)
//! secret_encoding = "base64"            # or "plain" when the configured string itself is the key
//! msp_id = "8a1c2e4f-…"                 # optional: the token's `aud` must be this MSP (CSP) id
//! [service.businesses]
//! "b7a4e1c2-5d3f-4a8e-9c1b-2f6d8e0a4b7c" = "acme"   # business id → tenant
//! ```

use channel::AccountMap;
use runtime::settings::HttpSettings;
use secrecy::SecretString;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub http: HttpSettings,
    /// The Messaging API secret Apple issued to the MSP; it signs the bearer JWT of every request.
    pub secret: Option<SecretString>,
    /// How [`Config::secret`] is written. Apple issues the secret base64-encoded and signs with the
    /// decoded bytes, hence the default.
    pub secret_encoding: SecretEncoding,
    /// The MSP (CSP) id Apple assigned; when set, the token's `aud` claim must name it.
    pub msp_id: Option<String>,
    /// Clock skew tolerated on `exp` and `iat`, in seconds.
    pub leeway_secs: u64,
    /// A token without `exp` is accepted only this long after its `iat`, in seconds (a token with
    /// neither can never expire and is refused).
    pub max_token_age_secs: u64,
    /// Business id (the `destination-id` header) → tenant.
    pub businesses: AccountMap,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            http: HttpSettings::default(),
            secret: None,
            secret_encoding: SecretEncoding::Base64,
            msp_id: None,
            leeway_secs: 60,
            max_token_age_secs: 3600,
            businesses: AccountMap::default(),
        }
    }
}

/// How the configured secret turns into the HMAC key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SecretEncoding {
    /// Standard base64 (as Apple issues it); the decoded bytes are the key.
    Base64,
    /// The UTF-8 bytes of the configured string are the key.
    Plain,
}
