//! VoIP adapter settings (`[service]` of the standalone binary). Each provider endpoint is served
//! only when its secret is configured; at least one must be.

use channel::AccountMap;
use runtime::settings::HttpSettings;
use secrecy::SecretString;
use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub http: HttpSettings,
    /// Twilio account auth token: signs `X-Twilio-Signature` and enables
    /// `POST /webhooks/voip/twilio`.
    pub twilio_auth_token: Option<SecretString>,
    /// The public base URL Twilio calls, as entered in the Twilio console without the path
    /// (`https://hooks.acme.cz`); Twilio signs this + the path + the query string. Required with
    /// `twilio_auth_token`.
    pub public_url: Option<String>,
    /// Secret of `X-Webhook-Signature: sha256=<hex>` over CDR bodies; enables
    /// `POST /webhooks/voip/cdr`.
    pub cdr_secret: Option<SecretString>,
    /// Tenant phone number → tenant id (`"+420222333444" = "acme"`). Keys are normalized to
    /// E.164 like the numbers in calls; keys that are no phone number (a PBX account code) are
    /// matched verbatim.
    pub numbers: AccountMap,
    /// ISO 3166 region of numbers written without a country code in CDRs (`"CZ"`).
    pub default_region: Option<String>,
    /// Base URL that CDR recording file names are relative to (`https://pbx.acme.cz/recordings/`).
    pub recording_base_url: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_map_to_tenants_and_unknown_keys_are_rejected() {
        let config: Config = serde_json::from_value(serde_json::json!({
            "twilio_auth_token": "t", "public_url": "https://hooks.acme.cz", "cdr_secret": "s",
            "numbers": { "+420222333444": "acme" }, "default_region": "CZ"
        }))
        .expect("valid settings");
        assert_eq!(config.numbers.tenant_of("+420222333444"), Some("acme"));
        assert!(serde_json::from_value::<Config>(serde_json::json!({ "pages": {} })).is_err());
    }
}
