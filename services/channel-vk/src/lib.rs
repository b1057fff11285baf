//! VK channel adapter (Callback API): `POST /webhooks/vk` checks the community's secret, answers
//! `confirmation` with the community's confirmation string, normalizes `message_new`,
//! `message_reply` and `message_edit` and publishes them to `interactions.ingested` before
//! answering the literal `ok` VK expects. Every other event type is acknowledged and ignored.
//! <https://dev.vk.com/en/api/callback/getting-started>

pub mod config;
pub mod mapping;
pub mod payload;
pub mod verify;

use std::collections::BTreeMap;

use anyhow::Context;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use channel::{ChannelAdapter, Kit, Parsed, RawRequest, WebhookError};
use contracts::Channel;
use runtime::kafka::Publisher;
use runtime::shutdown::CancellationToken;
use runtime::Running;
use secrecy::SecretString;

pub use config::{Community, Config};

/// The webhook path (the Callback API server address).
pub const WEBHOOK_PATH: &str = "/webhooks/vk";

/// The body VK requires in answer to every event; anything else counts as a delivery failure.
pub const OK: &str = "ok";

pub struct Vk {
    secrets: BTreeMap<String, SecretString>,
    confirmations: BTreeMap<String, String>,
}

impl Vk {
    /// The adapter for the configured communities; every one needs a secret and a confirmation.
    pub fn new(communities: &BTreeMap<String, Community>) -> anyhow::Result<Self> {
        let mut secrets = BTreeMap::new();
        let mut confirmations = BTreeMap::new();
        for (group, community) in communities {
            let secret = community.secret.clone().with_context(|| format!("vk: community {group} needs a secret"))?;
            let confirmation =
                community.confirmation.clone().with_context(|| format!("vk: community {group} needs a confirmation"))?;
            secrets.insert(group.clone(), secret);
            confirmations.insert(group.clone(), confirmation);
        }
        Ok(Self { secrets, confirmations })
    }
}

fn text(body: String) -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

impl ChannelAdapter for Vk {
    const CHANNEL: Channel = Channel::Vk;

    fn verify(&self, request: &RawRequest) -> Result<(), WebhookError> {
        verify::verify(&self.secrets, request)
    }

    fn parse(&self, request: &RawRequest) -> Result<Parsed, WebhookError> {
        let event: payload::Event = serde_json::from_slice(&request.body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
        if event.kind == payload::event::CONFIRMATION {
            let group = event.group_id.to_string();
            let confirmation = self.confirmations.get(&group).ok_or_else(|| WebhookError::UnknownAccount(group.clone()))?;
            tracing::info!(group = %group, "answering the Callback API confirmation");
            return Ok(Parsed::Reply(text(confirmation.clone())));
        }
        Ok(Parsed::Interactions(mapping::interaction(&event)?.into_iter().collect()))
    }

    fn acknowledge(&self, _published: usize) -> Response {
        text(OK.to_owned())
    }
}

/// Builds the router of the adapter.
pub fn router(config: &Config, publisher: Publisher) -> anyhow::Result<axum::Router> {
    let kit = Kit {
        adapter: Vk::new(&config.communities)?,
        accounts: config.accounts(),
        publisher,
        body_limit: config.http.body_limit_bytes,
    };
    Ok(channel::webhook_router(WEBHOOK_PATH, kit))
}

/// Starts the adapter's HTTP server.
pub async fn start(config: &Config, publisher: Publisher, shutdown: CancellationToken) -> anyhow::Result<Running> {
    channel::serve("channel-vk", &config.http, router(config, publisher.clone())?, publisher, shutdown).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, Uri};
    use proptest::prelude::*;

    const GROUP: &str = "218374651";

    fn adapter() -> Vk {
        let community = Community {
            tenant: "acme".into(),
            secret: Some(SecretString::from("s3cr3t")),
            confirmation: Some("6d3f2a1b".into()),
        };
        Vk::new(&BTreeMap::from([(GROUP.to_owned(), community)])).expect("configured")
    }

    fn raw(body: Vec<u8>) -> RawRequest {
        RawRequest { headers: HeaderMap::new(), uri: Uri::from_static("/"), body: body.into() }
    }

    /// JSON trees over the vocabulary of the wire format, so generated input reaches the mapping
    /// code instead of stopping at the first unknown key.
    const KEYS: &[&str] = &[
        "type",
        "group_id",
        "secret",
        "event_id",
        "v",
        "object",
        "message",
        "client_info",
        "id",
        "date",
        "update_time",
        "from_id",
        "peer_id",
        "out",
        "text",
        "conversation_message_id",
        "attachments",
        "fwd_messages",
        "reply_message",
        "payload",
        "admin_author_id",
        "geo",
        "coordinates",
        "latitude",
        "photo",
        "sizes",
        "url",
        "width",
        "height",
        "doc",
        "ext",
        "size",
        "audio_message",
        "link_ogg",
        "sticker",
        "images",
        "video",
        "title",
        "owner_id",
    ];

    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        testkit::arbitrary::json_shaped_like(KEYS, &["message_new", "message_reply", "message_edit", "confirmation", GROUP])
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..512)) {
            let adapter = adapter();
            let _ = adapter.verify(&raw(body.clone()));
            let _ = adapter.parse(&raw(body));
        }

        #[test]
        fn arbitrary_json_shaped_like_an_event_never_panics(value in json_value()) {
            let adapter = adapter();
            let body = value.to_string().into_bytes();
            let _ = adapter.verify(&raw(body.clone()));
            let _ = adapter.parse(&raw(body));
        }

        #[test]
        fn arbitrary_objects_of_message_events_never_panic(
            kind in prop::sample::select(vec!["message_new", "message_reply", "message_edit"]),
            object in json_value(),
            wrapped in any::<bool>(),
        ) {
            let object = if wrapped { serde_json::json!({ "message": object }) } else { object };
            let body = serde_json::json!({ "type": kind, "group_id": 218374651, "secret": "s3cr3t", "object": object });
            let _ = adapter().parse(&raw(body.to_string().into_bytes()));
        }
    }

    #[test]
    fn a_confirmation_answers_the_configured_string_and_publishes_nothing() {
        let got = adapter().parse(&raw(br#"{"type":"confirmation","group_id":218374651,"secret":"s3cr3t"}"#.to_vec()));
        assert!(matches!(got, Ok(Parsed::Reply(ref r)) if r.status() == StatusCode::OK), "{got:?}");
    }

    #[test]
    fn a_community_without_secret_or_confirmation_is_a_configuration_error() {
        let community = Community { tenant: "acme".into(), secret: None, confirmation: Some("x".into()) };
        assert!(Vk::new(&BTreeMap::from([(GROUP.to_owned(), community)])).is_err());
        let community = Community { tenant: "acme".into(), secret: Some(SecretString::from("s")), confirmation: None };
        assert!(Vk::new(&BTreeMap::from([(GROUP.to_owned(), community)])).is_err());
    }
}

#[cfg(test)]
mod properties;
