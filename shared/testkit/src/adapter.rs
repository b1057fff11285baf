//! A channel adapter (or any service with an HTTP address) started for one test on its own Kafka,
//! and the HTTP requests tests send it.

use std::future::Future;
use std::time::Duration;

use contracts::{topics, Attachment, Identity, IdentityKind, InteractionEvent, Provenance};
use rdkafka::message::OwnedMessage;
use runtime::kafka::Publisher;
use runtime::shutdown::CancellationToken;
use runtime::Running;
use serde_json::Value;

use crate::{TestKafka, TopicReader};

/// A service started by [`spawn_adapter`]; dropping it cancels the service's shutdown token.
pub struct SpawnedService {
    /// `http://<address>` without a trailing slash.
    pub base: String,
    pub kafka: TestKafka,
    /// One reader of `interactions.ingested` for the service's life: what one call returned,
    /// the next does not return again.
    ingested: TopicReader,
    shutdown: CancellationToken,
}

impl SpawnedService {
    /// The address of `path` (which starts with `/`) on this service.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Waits for the next `n` messages on `interactions.ingested` (panics after 30 s).
    pub async fn take_ingested(&self, n: usize) -> Vec<OwnedMessage> {
        self.ingested.take(n, Duration::from_secs(30)).await
    }

    /// The next `n` events the service published, read as the contract's `InteractionEvent`:
    /// what a test checks of the normalized fields it checks as typed fields.
    pub async fn take_events(&self, n: usize) -> Vec<InteractionEvent> {
        self.take_ingested(n).await.iter().map(crate::decode).collect()
    }

    /// Every message on `interactions.ingested` so far (the adapter answers only after Kafka
    /// acknowledged, so after its answer nothing of a request can come later).
    pub async fn ingested(&self) -> Vec<OwnedMessage> {
        self.ingested.present().await
    }
}

impl Drop for SpawnedService {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Starts a fresh [`TestKafka`] and the service `start` returns (called with a publisher on that
/// Kafka and the shutdown token), e.g.
/// `spawn_adapter(move |publisher, shutdown| async move { channel_vk::start(&config, publisher, shutdown).await })`.
pub async fn spawn_adapter<F, Fut>(start: F) -> SpawnedService
where
    F: FnOnce(Publisher, CancellationToken) -> Fut,
    Fut: Future<Output = anyhow::Result<Running>>,
{
    spawn_adapter_on(TestKafka::start().await, start).await
}

/// [`spawn_adapter`] on an existing Kafka.
pub async fn spawn_adapter_on<F, Fut>(kafka: TestKafka, start: F) -> SpawnedService
where
    F: FnOnce(Publisher, CancellationToken) -> Fut,
    Fut: Future<Output = anyhow::Result<Running>>,
{
    let shutdown = CancellationToken::new();
    let publisher = Publisher::new(&kafka.settings).expect("publisher");
    let running = start(publisher, shutdown.clone()).await.expect("adapter starts");
    let base = format!("http://{}", running.http_addr.expect("http address"));
    tokio::spawn(running.wait());
    let ingested = kafka.reader(topics::INTERACTIONS_INGESTED);
    SpawnedService { base, kafka, ingested, shutdown }
}

/// An HTTP answer: the body both as JSON (`Null` when it is not JSON) and as text.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Value,
    pub text: String,
}

/// The value of an event's parameter `key`, if it has one.
pub fn parameter<'a>(event: &'a InteractionEvent, key: &str) -> Option<&'a str> {
    event.body.parameters.get(key).map(String::as_str)
}

/// An event's message text, if it has content with text.
pub fn text(event: &InteractionEvent) -> Option<&str> {
    event.body.content.as_ref().and_then(|c| c.text.as_deref())
}

/// An event's attachments (none without content).
pub fn attachments(event: &InteractionEvent) -> &[Attachment] {
    event.body.content.as_ref().map_or(&[], |c| c.attachments.as_slice())
}

/// Everything an event says of an identifier: `Identity`'s own `PartialEq` leaves out the
/// provenance, which the adapters' tests check too.
pub fn identity_facts(identity: &Identity) -> (IdentityKind, &str, Option<&str>, Provenance) {
    (identity.kind, identity.value.as_str(), identity.scope.as_deref(), identity.provenance)
}

/// The `headers` of a [`post`] without any.
pub const NO_HEADERS: [(&str, &str); 0] = [];

/// Posts `body` as `content_type` with `headers` (e.g. an `Option` of one signature header).
pub async fn post<K, V>(
    url: &str,
    content_type: &str,
    body: impl Into<Vec<u8>>,
    headers: impl IntoIterator<Item = (K, V)>,
) -> Reply
where
    K: AsRef<str>,
    V: AsRef<str>,
{
    let mut request = crate::http().post(url).header("content-type", content_type).body(body.into());
    for (name, value) in headers {
        request = request.header(name.as_ref(), value.as_ref());
    }
    send(request).await
}

/// GETs `url`.
pub async fn get(url: &str) -> Reply {
    send(crate::http().get(url)).await
}

/// Sends `request` and reads the whole answer.
pub async fn send(request: reqwest::RequestBuilder) -> Reply {
    let response = request.send().await.expect("request sent");
    let status = response.status().as_u16();
    let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let bytes = response.bytes().await.unwrap_or_default();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let text = String::from_utf8_lossy(&bytes).into_owned();
    Reply { status, content_type, body, text }
}

/// Asserts that webhook answers are indistinguishable: every request that is not authentic for
/// an account the endpoint serves (unknown account, wrong or missing credentials) gets the same
/// status, content type and body bytes, so account ids cannot be enumerated. `answers` are
/// `(what was sent, its answer)`; the first is the reference.
pub fn assert_indistinguishable(answers: &[(&str, &Reply)]) {
    let (first_case, first) = answers.first().expect("at least one answer");
    assert_eq!(first.status, 403, "{first_case}: {}", first.text);
    assert_eq!(first.content_type.as_deref(), Some("application/problem+json"), "{first_case}");
    assert_eq!(first.body["detail"], channel::kit::NOT_ACCEPTED, "{first_case}: {}", first.text);
    for (case, answer) in &answers[1..] {
        assert_eq!(
            (answer.status, answer.content_type.as_deref(), answer.text.as_str()),
            (first.status, first.content_type.as_deref(), first.text.as_str()),
            "{case} is answered differently from {first_case}"
        );
    }
}

/// An `Authorization: Bearer <token>` header.
pub fn bearer(token: &str) -> (&'static str, String) {
    ("authorization", format!("Bearer {token}"))
}
