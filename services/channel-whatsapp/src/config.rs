//! WhatsApp adapter settings (`[service]` of the standalone binary).

use channel::AccountMap;
use runtime::settings::HttpSettings;
use secrecy::SecretString;
use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub http: HttpSettings,
    /// The Meta app secret that signs webhook bodies (`X-Hub-Signature-256`).
    pub app_secret: Option<SecretString>,
    /// The token entered in the app dashboard for the subscription handshake.
    pub verify_token: Option<SecretString>,
    /// Business phone number id (`metadata.phone_number_id`, not the display number) → tenant id.
    pub phone_numbers: AccountMap,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_number_ids_map_to_tenants_and_unknown_keys_are_rejected() {
        let config: Config = serde_json::from_value(serde_json::json!({
            "app_secret": "s", "verify_token": "t", "phone_numbers": { "106540352242922": "acme" }
        }))
        .expect("valid settings");
        assert_eq!(config.phone_numbers.tenant_of("106540352242922"), Some("acme"));
        assert!(serde_json::from_value::<Config>(serde_json::json!({ "pages": {} })).is_err());
    }
}
