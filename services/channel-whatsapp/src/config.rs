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
