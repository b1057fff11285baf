//! The channel adapter kit (DESIGN.md §2 `channel`). An adapter only knows its provider: how to
//! check a request's authenticity ([`ChannelAdapter::verify`]) and how to turn the provider's
//! payload into normalized interactions ([`ChannelAdapter::parse`]). The kit owns the rest: body
//! limits, the provider-account → tenant mapping, deterministic ids, publishing to
//! `interactions.ingested` and answering the provider only after Kafka acknowledged.

pub mod kit;
pub mod lossy;
pub mod meta;
pub mod mime;
pub mod signature;

use std::collections::BTreeMap;

use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use contracts::{Channel, InteractionBody};

pub use kit::{serve, webhook_router, Kit};

/// Re-exported so adapters need not depend on `bytes` themselves.
pub use axum::body::Bytes;

/// The raw webhook request as the provider sent it (signatures are over these exact bytes).
#[derive(Debug, Clone)]
pub struct RawRequest {
    pub headers: HeaderMap,
    pub uri: Uri,
    pub body: Bytes,
}

/// One normalized interaction and the provider account (page, phone number id, community,
/// business, mailbox, called number) it arrived for; the kit maps the account to a tenant.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountInteraction {
    pub account: String,
    pub body: InteractionBody,
}

/// What a webhook request amounts to.
#[derive(Debug)]
pub enum Parsed {
    /// Interactions to publish (possibly none, e.g. a read receipt we do not store).
    Interactions(Vec<AccountInteraction>),
    /// A protocol answer that publishes nothing (e.g. a confirmation handshake).
    Reply(Response),
}

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// Missing or malformed credentials. This and the next two variants are told apart in the log
    /// only: the kit answers all three alike ([`kit::NOT_ACCEPTED`], 403).
    #[error("unauthenticated: {0}")]
    Unauthenticated(String),
    /// Credentials present but wrong: forged signature, wrong secret.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The body is not what the provider sends (400).
    #[error("malformed payload: {0}")]
    Malformed(String),
    /// The request is for a provider account no tenant owns.
    #[error("unknown provider account {0}")]
    UnknownAccount(String),
}

/// What a provider's webhook body is, for the kit's handling before [`ChannelAdapter::parse`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// JSON or form text: invalid UTF-8 is decoded lossily and the interactions are flagged.
    Text,
    /// Bytes the adapter decodes itself (MIME messages, gzip).
    Binary,
}

/// A provider's webhook format and authentication.
pub trait ChannelAdapter: Send + Sync + 'static {
    const CHANNEL: Channel;
    /// What the request body is; most providers send text.
    const BODY: BodyKind = BodyKind::Text;

    /// Checks the provider's authentication over the raw request; runs before [`Self::parse`].
    fn verify(&self, request: &RawRequest) -> Result<(), WebhookError>;

    /// Normalizes the provider payload.
    fn parse(&self, request: &RawRequest) -> Result<Parsed, WebhookError>;

    /// The success answer the provider expects once everything was published.
    fn acknowledge(&self, published: usize) -> Response {
        axum::response::IntoResponse::into_response(axum::Json(serde_json::json!({ "status": "ok", "published": published })))
    }
}

/// Provider account → tenant, from configuration (`accounts = { "<page id>" = "acme" }`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(transparent)]
pub struct AccountMap(pub BTreeMap<String, String>);

impl AccountMap {
    pub fn tenant_of(&self, account: &str) -> Option<&str> {
        self.0.get(account).map(String::as_str)
    }
}
