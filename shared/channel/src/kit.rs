//! The webhook endpoint every adapter shares: read the body within the limit, verify, parse, map
//! accounts to tenants, publish every interaction and wait for Kafka's acknowledgement, then
//! answer. Any failure answers with problem+json and publishes nothing new; a Kafka failure
//! answers 503 so the provider retries (ids are deterministic, so retries are idempotent).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use contracts::limits;
use contracts::{InteractionBody, InteractionEvent};
use runtime::http::metrics as names;
use runtime::kafka::Publisher;

use crate::{AccountMap, BodyKind, ChannelAdapter, Parsed, RawRequest, WebhookError};

/// What the webhook endpoint needs besides the adapter.
pub struct Kit<A> {
    pub adapter: A,
    pub accounts: AccountMap,
    pub publisher: Publisher,
    pub body_limit: usize,
}

/// Runs an adapter's routes as its own service (the standalone `channel-<name>` binaries);
/// ready when Kafka answers.
pub async fn serve<const BODY_LIMIT: usize>(
    service: &'static str,
    http: &runtime::settings::HttpSettings<BODY_LIMIT>,
    routes: Router,
    publisher: Publisher,
    shutdown: runtime::shutdown::CancellationToken,
) -> anyhow::Result<runtime::Running> {
    let readiness = runtime::http::Readiness { database: None, kafka: Some(publisher) };
    runtime::http::server::start(service, http, routes, readiness, shutdown).await
}

/// A router serving `POST path` with `kit`'s adapter.
pub fn webhook_router<A: ChannelAdapter>(path: &str, kit: Kit<A>) -> Router {
    Router::new().route(path, post(receive::<A>)).with_state(Arc::new(kit))
}

#[tracing::instrument(skip_all, fields(channel = %A::CHANNEL), err(level = "warn"))]
async fn receive<A: ChannelAdapter>(State(kit): State<Arc<Kit<A>>>, request: Request) -> Result<Response, Rejected> {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, kit.body_limit).await.map_err(|_| Rejected::TooLarge(kit.body_limit))?;
    let raw = RawRequest { headers: parts.headers, uri: parts.uri, body };
    kit.adapter.verify(&raw)?;
    let (raw, lossy) = decode_text(raw, A::BODY);
    let interactions = match kit.adapter.parse(&raw)? {
        Parsed::Reply(response) => return Ok(response),
        Parsed::Interactions(interactions) => interactions,
    };

    let mut events = Vec::with_capacity(interactions.len());
    let mut unknown = Vec::new();
    for item in interactions {
        match kit.accounts.tenant_of(&item.account) {
            Some(tenant) => events.push(event(tenant, item.body, lossy)),
            None => unknown.push(item.account),
        }
    }
    if !unknown.is_empty() {
        tracing::warn!(accounts = ?unknown, "skipping interactions for provider accounts no tenant owns");
        if events.is_empty() {
            return Err(WebhookError::UnknownAccount(unknown.join(", ")).into());
        }
    }

    let publishes = events.iter().map(|event| kit.publisher.publish_event(event));
    for result in futures::future::join_all(publishes).await {
        result.map_err(|e| Rejected::Kafka(e.to_string()))?;
    }
    for event in &events {
        // Debug: one line per message would be the hot path's largest cost at INFO; the
        // `kafka_messages_published_total` counter of /metrics counts them.
        tracing::debug!(tenant = %event.tenant_id, interaction_id = %event.interaction_id, provider_ref = %event.body.provider_ref, "interaction published");
    }
    Ok(kit.adapter.acknowledge(events.len()))
}

/// The event the kit publishes for an interaction of `tenant`: flagged when its body was decoded
/// lossily, within the limits, with its deterministic id. Public so the adapters' property tests
/// check exactly what is published.
pub fn event(tenant: &str, mut body: InteractionBody, lossy: bool) -> InteractionEvent {
    if lossy {
        crate::lossy::flag(&mut body);
    }
    // Within the limits before the id is derived: an over-long provider_ref becomes its digest.
    limits::enforce(&mut body);
    InteractionEvent::new(tenant, body)
}

/// A text body (JSON, form) that is not valid UTF-8 is decoded with replacement characters, so an
/// authentic message with one bad byte is stored, flagged, instead of refused; `verify` has seen
/// the exact bytes already. Binary bodies (MIME, gzip) are the adapter's to decode.
fn decode_text(raw: RawRequest, kind: BodyKind) -> (RawRequest, bool) {
    if kind == BodyKind::Binary {
        return (raw, false);
    }
    let text = match crate::lossy::utf8(&raw.body) {
        (_, false) => return (raw, false),
        (text, true) => text.into_owned(),
    };
    (RawRequest { body: text.into(), ..raw }, true)
}

/// Why a webhook request was not accepted.
#[derive(Debug, thiserror::Error)]
enum Rejected {
    #[error(transparent)]
    Webhook(#[from] WebhookError),
    #[error("request body larger than {0} bytes")]
    TooLarge(usize),
    #[error("kafka did not acknowledge: {0}")]
    Kafka(String),
}

/// The one answer to every request that is not authentic for an account this endpoint serves:
/// missing or malformed credentials, a wrong secret or signature, and an account (page, community,
/// site, mailbox, PBX…) no tenant owns all get the same status and body, so account ids cannot be
/// enumerated by comparing answers. The difference is in the log (`receive` logs the error at
/// WARN with the channel) and in `webhooks_rejected_total{reason}`.
pub const NOT_ACCEPTED: &str = "the request is not accepted: unknown account or missing or invalid credentials";

impl IntoResponse for Rejected {
    fn into_response(self) -> Response {
        let (status, reason) = match &self {
            Rejected::Webhook(WebhookError::Unauthenticated(_)) => (StatusCode::FORBIDDEN, "unauthenticated"),
            Rejected::Webhook(WebhookError::Forbidden(_)) => (StatusCode::FORBIDDEN, "forbidden"),
            Rejected::Webhook(WebhookError::UnknownAccount(_)) => (StatusCode::FORBIDDEN, "unknown_account"),
            Rejected::Webhook(WebhookError::Malformed(_)) => (StatusCode::BAD_REQUEST, "malformed"),
            Rejected::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            Rejected::Kafka(_) => (StatusCode::SERVICE_UNAVAILABLE, "kafka"),
        };
        metrics::counter!(names::WEBHOOKS_REJECTED, "reason" => reason).increment(1);
        let detail = match &self {
            Rejected::Webhook(
                WebhookError::Unauthenticated(_) | WebhookError::Forbidden(_) | WebhookError::UnknownAccount(_),
            ) => NOT_ACCEPTED.to_owned(),
            other => other.to_string(),
        };
        runtime::http::problem::problem(status, &detail)
    }
}
