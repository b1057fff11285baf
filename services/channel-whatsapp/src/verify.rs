//! WhatsApp Cloud API webhook authentication: `X-Hub-Signature-256: sha256=<hex>`, the
//! HMAC-SHA256 of the raw body under the Meta app secret (the same scheme as every Graph API
//! webhook).
//! <https://developers.facebook.com/docs/graph-api/webhooks/getting-started#validate-payloads>
//! <https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/overview>

use channel::{signature, RawRequest, WebhookError};

pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";

pub fn verify(app_secret: &[u8], request: &RawRequest) -> Result<(), WebhookError> {
    let header = request.headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
    signature::verify_sha256_header(app_secret, &request.body, header)
}
