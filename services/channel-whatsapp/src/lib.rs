//! WhatsApp Cloud API channel adapter: `GET /webhooks/whatsapp` answers Meta's verification
//! handshake, `POST /webhooks/whatsapp` verifies `X-Hub-Signature-256`, normalizes every inbound
//! message and every delivery status of our outbound messages, and publishes them to
//! `interactions.ingested` before answering 200.
//! <https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/overview>

pub mod config;
pub mod mapping;
pub mod payload;

use anyhow::Context;
use channel::{meta, ChannelAdapter, Kit, Parsed, RawRequest, WebhookError};
use contracts::Channel;
use runtime::kafka::Publisher;
use runtime::shutdown::CancellationToken;
use runtime::Running;
use secrecy::{ExposeSecret, SecretString};

pub use config::Config;

/// The webhook path (GET handshake and POST events).
pub const WEBHOOK_PATH: &str = "/webhooks/whatsapp";

/// The `object` of every WhatsApp Business Account webhook.
pub const OBJECT: &str = "whatsapp_business_account";

pub struct WhatsApp {
    app_secret: SecretString,
}

impl WhatsApp {
    pub fn new(app_secret: SecretString) -> Self {
        Self { app_secret }
    }
}

impl ChannelAdapter for WhatsApp {
    const CHANNEL: Channel = Channel::Whatsapp;

    fn verify(&self, request: &RawRequest) -> Result<(), WebhookError> {
        meta::verify_signature(self.app_secret.expose_secret().as_bytes(), request)
    }

    fn parse(&self, request: &RawRequest) -> Result<Parsed, WebhookError> {
        let notification: payload::Notification =
            serde_json::from_slice(&request.body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
        if notification.object != OBJECT {
            return Err(WebhookError::Malformed(format!("expected object {OBJECT:?}, got {:?}", notification.object)));
        }
        Ok(Parsed::Interactions(mapping::interactions(notification)?))
    }
}

/// Builds the router of the adapter.
pub fn router(config: &Config, publisher: Publisher) -> anyhow::Result<axum::Router> {
    let app_secret = config.app_secret.clone().context("whatsapp: app_secret is required")?;
    let verify_token = config.verify_token.clone().context("whatsapp: verify_token is required")?;
    let kit = Kit {
        adapter: WhatsApp::new(app_secret),
        accounts: config.phone_numbers.clone(),
        publisher,
        body_limit: config.http.body_limit_bytes,
    };
    Ok(channel::webhook_router(WEBHOOK_PATH, kit).route(WEBHOOK_PATH, meta::verification(verify_token)))
}

/// Starts the adapter's HTTP server.
pub async fn start(config: &Config, publisher: Publisher, shutdown: CancellationToken) -> anyhow::Result<Running> {
    channel::serve("channel-whatsapp", &config.http, router(config, publisher.clone())?, publisher, shutdown).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, Uri};
    use proptest::prelude::*;

    fn parse(body: Vec<u8>) -> Result<Parsed, WebhookError> {
        let adapter = WhatsApp::new(SecretString::from("s"));
        adapter.parse(&RawRequest { headers: HeaderMap::new(), uri: Uri::from_static("/"), body: body.into() })
    }

    /// JSON trees over the vocabulary of the wire format, so generated input reaches the mapping
    /// code instead of stopping at the first unknown key.
    const KEYS: &[&str] = &[
        "object",
        "entry",
        "id",
        "changes",
        "field",
        "value",
        "metadata",
        "phone_number_id",
        "contacts",
        "wa_id",
        "user_id",
        "profile",
        "name",
        "messages",
        "from",
        "from_user_id",
        "timestamp",
        "type",
        "text",
        "body",
        "image",
        "document",
        "audio",
        "mime_type",
        "filename",
        "caption",
        "location",
        "latitude",
        "interactive",
        "button_reply",
        "list_reply",
        "reaction",
        "emoji",
        "context",
        "statuses",
        "status",
        "recipient_id",
        "errors",
        "code",
        "error_data",
    ];

    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        testkit::arbitrary::json_shaped_like(KEYS, &["whatsapp_business_account", "messages"])
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse(body);
        }

        #[test]
        fn arbitrary_json_shaped_like_a_webhook_never_panics(value in json_value()) {
            let _ = parse(value.to_string().into_bytes());
        }

        #[test]
        fn arbitrary_messages_and_statuses_in_a_valid_envelope_never_panic(
            contacts in json_value(), messages in json_value(), statuses in json_value(),
        ) {
            let body = serde_json::json!({
                "object": OBJECT,
                "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
                    "metadata": {"phone_number_id": "1"}, "contacts": [contacts], "messages": [messages], "statuses": [statuses],
                }}]}],
            });
            let _ = parse(body.to_string().into_bytes());
        }
    }

    #[test]
    fn another_object_is_malformed() {
        let got = parse(br#"{"object":"page","entry":[]}"#.to_vec());
        assert!(matches!(got, Err(WebhookError::Malformed(_))));
    }
}

#[cfg(test)]
mod properties;
