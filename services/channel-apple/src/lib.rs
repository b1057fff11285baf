//! Apple Messages for Business channel adapter (we act as the messaging service provider, MSP):
//! `POST /webhooks/apple` is the MSP `/message` endpoint Apple's service calls for every message
//! a customer sends. It verifies the HS256 bearer JWT (`verify`), inflates gzip bodies within a
//! limit, maps the business (`destination-id`) to a tenant, normalizes texts, attachments,
//! interactive answers and closes (`mapping`; a close is a conversation event, not a message)
//! and publishes them to `interactions.ingested` before answering 200. Typing indicators are
//! acknowledged and not stored. A body that is not valid UTF-8 once inflated is decoded with
//! replacement characters and its interaction flagged (`sanitized`: `body`, `lossy_utf8`), like
//! the kit does for the text bodies of other channels.
//! <https://register.apple.com/resources/messages/msp-rest-api/>

pub mod config;
pub mod mapping;
pub mod payload;
pub mod verify;

use anyhow::Context;
use axum::http::StatusCode;
use channel::{AccountMap, BodyKind, ChannelAdapter, Kit, Parsed, RawRequest, WebhookError};
use chrono::Utc;
use contracts::Channel;
use runtime::kafka::Publisher;
use runtime::shutdown::CancellationToken;
use runtime::Running;

pub use config::{Config, SecretEncoding};

/// The webhook path (Apple's service posts every message here).
pub const WEBHOOK_PATH: &str = "/webhooks/apple";

/// How much larger than the accepted (compressed) body an inflated body may be.
pub const INFLATE_FACTOR: usize = 10;

pub struct Apple {
    verifier: verify::TokenVerifier,
    businesses: AccountMap,
    inflated_limit: usize,
}

impl Apple {
    pub fn new(config: &Config) -> anyhow::Result<Self> {
        let secret = config.secret.as_ref().context("apple: secret is required")?;
        let verifier = verify::TokenVerifier::new(
            secret,
            config.secret_encoding,
            config.msp_id.as_deref(),
            config.leeway_secs,
            config.max_token_age_secs,
        )?;
        Ok(Self {
            verifier,
            businesses: config.businesses.clone(),
            inflated_limit: config.http.body_limit_bytes.saturating_mul(INFLATE_FACTOR),
        })
    }
}

impl ChannelAdapter for Apple {
    const CHANNEL: Channel = Channel::Apple;
    const BODY: BodyKind = BodyKind::Binary;

    fn verify(&self, request: &RawRequest) -> Result<(), WebhookError> {
        self.verifier.verify(&request.headers)
    }

    fn parse(&self, request: &RawRequest) -> Result<Parsed, WebhookError> {
        let body = match payload::decode_body(&request.headers, &request.body, self.inflated_limit) {
            Ok(body) => body,
            Err(payload::BodyError::Malformed(why)) => return Err(WebhookError::Malformed(why)),
            Err(payload::BodyError::TooLarge(limit)) => {
                // The kit has no "too large" rejection for adapters; answer 413 ourselves.
                metrics::counter!(runtime::http::metrics::WEBHOOKS_REJECTED, "reason" => "too_large").increment(1);
                tracing::warn!(limit, "gzip body inflates beyond the limit");
                let detail = format!("request body inflates to more than {limit} bytes");
                return Ok(Parsed::Reply(runtime::http::problem::problem(StatusCode::PAYLOAD_TOO_LARGE, &detail)));
            }
        };
        let (json, lossy) = channel::lossy::utf8(&body);
        let message: payload::Message = serde_json::from_str(&json).map_err(|e| WebhookError::Malformed(e.to_string()))?;
        let envelope = payload::Envelope::new(&request.headers, &message)?;
        if self.businesses.tenant_of(&envelope.destination_id).is_none() {
            return Err(WebhookError::UnknownAccount(envelope.destination_id));
        }
        match mapping::interaction(&envelope, message, Utc::now()) {
            mapping::Mapped::Interaction(mut interaction) => {
                if lossy {
                    channel::lossy::flag(&mut interaction.body);
                }
                Ok(Parsed::Interactions(vec![*interaction]))
            }
            mapping::Mapped::Skipped(why) => {
                tracing::debug!(message_id = %envelope.id, why, "nothing to publish");
                Ok(Parsed::Interactions(Vec::new()))
            }
        }
    }
}

/// Builds the router of the adapter.
pub fn router(config: &Config, publisher: Publisher) -> anyhow::Result<axum::Router> {
    let kit = Kit {
        adapter: Apple::new(config)?,
        accounts: config.businesses.clone(),
        publisher,
        body_limit: config.http.body_limit_bytes,
    };
    Ok(channel::webhook_router(WEBHOOK_PATH, kit))
}

/// Starts the adapter's HTTP server.
pub async fn start(config: &Config, publisher: Publisher, shutdown: CancellationToken) -> anyhow::Result<Running> {
    channel::serve("channel-apple", &config.http, router(config, publisher.clone())?, publisher, shutdown).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, HeaderValue, Uri};
    use channel::Bytes;
    use proptest::prelude::*;
    use secrecy::SecretString;

    fn adapter() -> Apple {
        let config = Config {
            secret: Some(SecretString::from("c2VjcmV0")),
            businesses: AccountMap([("biz".to_owned(), "acme".to_owned())].into()),
            ..Config::default()
        };
        Apple::new(&config).expect("valid config")
    }

    fn request(body: Vec<u8>, gzip: bool) -> RawRequest {
        let mut headers = HeaderMap::new();
        for (name, value) in [("id", "m-1"), ("source-id", "urn:mbid:A"), ("destination-id", "biz")] {
            headers.insert(name, HeaderValue::from_static(value));
        }
        if gzip {
            headers.insert("content-encoding", HeaderValue::from_static("gzip"));
        }
        RawRequest { headers, uri: Uri::from_static("/webhooks/apple"), body: Bytes::from(body) }
    }

    /// JSON-ish values built from the field names Apple uses, to reach deep into the mapping.
    const KEYS: &[&str] = &[
        "type",
        "body",
        "attachments",
        "interactiveData",
        "interactiveDataRef",
        "data",
        "listPicker",
        "sections",
        "items",
        "identifier",
        "title",
        "event",
        "timeslots",
        "startTime",
        "duration",
        "quick-reply",
        "selectedIndex",
        "selectedIdentifier",
        "replyMessage",
        "size",
        "name",
        "mimeType",
        "url",
        "locale",
        "timePicker",
        "sourceId",
    ];

    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        testkit::arbitrary::json_shaped_like(
            KEYS,
            &["text", "interactive", "close", "typing_start", "", "\u{fffc}", "Žluťoučký kůň"],
        )
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic_the_parser(body in prop::collection::vec(any::<u8>(), 0..4096), gzip in any::<bool>()) {
            let _ = adapter().parse(&request(body, gzip));
        }

        #[test]
        fn gzip_magic_followed_by_arbitrary_bytes_never_panics(tail in prop::collection::vec(any::<u8>(), 0..512)) {
            let body = [&[0x1f, 0x8b][..], &tail].concat();
            let _ = adapter().parse(&request(body, false));
        }

        #[test]
        fn arbitrary_json_never_panics_the_mapping(value in json_value()) {
            let body = serde_json::to_vec(&value).expect("serializable");
            let _ = adapter().parse(&request(body, false));
        }
    }
}

#[cfg(test)]
mod properties;
