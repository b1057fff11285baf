//! Web chat channel adapter: the platform's own chat widget. Each site's chat server posts every
//! chat message (visitor or operator, including operator-initiated chats) to
//! `POST /webhooks/webchat`, signed with the site's secret (`verify`); the adapter maps the site to
//! its tenant, normalizes the message and the visitor's login and pre-chat form details
//! (`mapping`) and publishes it to `interactions.ingested` before answering 200. The JSON contract
//! is documented in [`payload`].

pub mod config;
pub mod mapping;
pub mod payload;
pub mod verify;

use std::collections::BTreeMap;

use channel::{ChannelAdapter, Kit, Parsed, RawRequest, WebhookError};
use contracts::Channel;
use runtime::kafka::Publisher;
use runtime::shutdown::CancellationToken;
use runtime::Running;
use secrecy::SecretString;

pub use config::{Config, Site};

/// The webhook path.
pub const WEBHOOK_PATH: &str = "/webhooks/webchat";

pub struct Webchat {
    /// Site id → signing secret.
    secrets: BTreeMap<String, SecretString>,
}

impl Webchat {
    pub fn new(config: &Config) -> anyhow::Result<Self> {
        anyhow::ensure!(!config.sites.is_empty(), "webchat: configure at least one site ([service.sites.<id>] tenant, secret)");
        Ok(Self { secrets: config.sites.iter().map(|(id, site)| (id.clone(), site.secret.clone())).collect() })
    }
}

impl ChannelAdapter for Webchat {
    const CHANNEL: Channel = Channel::Webchat;

    fn verify(&self, request: &RawRequest) -> Result<(), WebhookError> {
        verify::verify(&self.secrets, request)
    }

    fn parse(&self, request: &RawRequest) -> Result<Parsed, WebhookError> {
        let site = verify::claimed_site(request)?;
        let message: payload::Message =
            serde_json::from_slice(&request.body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
        Ok(Parsed::Interactions(vec![mapping::interaction(&site, message)?]))
    }
}

/// Builds the router of the adapter.
pub fn router(config: &Config, publisher: Publisher) -> anyhow::Result<axum::Router> {
    let kit =
        Kit { adapter: Webchat::new(config)?, accounts: config.accounts(), publisher, body_limit: config.http.body_limit_bytes };
    Ok(channel::webhook_router(WEBHOOK_PATH, kit))
}

/// Starts the adapter's HTTP server.
pub async fn start(config: &Config, publisher: Publisher, shutdown: CancellationToken) -> anyhow::Result<Running> {
    channel::serve("channel-webchat", &config.http, router(config, publisher.clone())?, publisher, shutdown).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, HeaderValue, Uri};
    use channel::Bytes;
    use proptest::prelude::*;

    fn adapter() -> Webchat {
        let site = Site { tenant: "acme".into(), secret: SecretString::from("s") };
        Webchat::new(&Config { sites: [("eshop-cz".to_owned(), site)].into(), ..Config::default() }).expect("valid config")
    }

    fn request(body: Vec<u8>, site_header: bool) -> RawRequest {
        let mut headers = HeaderMap::new();
        if site_header {
            headers.insert(verify::SITE_HEADER, HeaderValue::from_static("eshop-cz"));
        }
        RawRequest { headers, uri: Uri::from_static("/webhooks/webchat"), body: Bytes::from(body) }
    }

    const KEYS: &[&str] = &[
        "site_id",
        "session_id",
        "message_id",
        "sent_at",
        "direction",
        "text",
        "attachments",
        "operator_invitation",
        "visitor",
        "contact_id",
        "name",
        "email",
        "phone",
        "custom",
        "size",
        "url",
        "mime",
        "page_url",
        "operator_id",
    ];

    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        testkit::arbitrary::json_shaped_like(
            KEYS,
            &["inbound", "outbound", "eshop-cz", "2025-11-25T10:15:03+01:00", "", " ", "Příliš žluťoučký"],
        )
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic_the_parser(body in prop::collection::vec(any::<u8>(), 0..4096), site_header in any::<bool>()) {
            let _ = adapter().parse(&request(body, site_header));
        }

        #[test]
        fn arbitrary_json_never_panics_the_mapping(value in json_value(), site_header in any::<bool>()) {
            let body = serde_json::to_vec(&value).expect("serializable");
            let _ = adapter().parse(&request(body, site_header));
        }
    }
}

#[cfg(test)]
mod properties;
