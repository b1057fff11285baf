//! The one consumer loop of the project (at least once, as in rust-rdkafka's
//! `examples/at_least_once.rs`, but with explicit commits):
//!
//! 1. collect a batch (up to `batch_size` messages, waiting at most `linger` after the first)
//!    and split it by partition; the partitions go through steps 2–3 in parallel, each in
//!    offset order (one key is in one partition, so ordering per key holds);
//! 2. decode each message; one that cannot be decoded goes to `<topic>.dlq` with error headers;
//! 3. hand the decoded messages of the partition to the [`BatchHandler`], which applies them in
//!    one database transaction. Every failure has a class ([`HandlerError`]): a *transient* one is retried
//!    with backoff, a *permanent* one makes the loop retry message by message and dead-letter
//!    only the message that fails on its own;
//! 4. only then commit the offsets of what was applied (synchronously).
//!
//! **Retry budget.** A transient failure is retried `retry_budget` times. If it persists while
//! the infrastructure answers ([`BatchHandler::healthy`] and the broker), it is the message's
//! fault after all (e.g. a deadlock only that message provokes): the loop isolates it and
//! dead-letters it with the reason. While the database or the broker does *not* answer, nothing
//! counts against the budget and nothing is dead-lettered: the loop waits, commits nothing, and
//! resumes when they are back. So no input can hold a partition longer than the budget, and an
//! outage loses nothing.
//!
//! A crash anywhere before step 4 redelivers the batch; handlers are idempotent, so nothing is
//! lost and nothing is duplicated. The loop holds no business logic: [`process_batch`] is the
//! one step, and tests call it directly.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{Message, OwnedMessage};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use serde::de::DeserializeOwned;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::{client_config, headers, Publisher};

mod context;
mod dead_letter;
mod failure;

use crate::http::metrics as names;
use crate::settings::KafkaSettings;
use context::LagReporter;
use dead_letter::dead_letter;
use failure::Failure;
pub use failure::{is_permanent_sql, FailureClass, HandlerError};

/// One decoded message with its origin and a span parented on the producer's trace.
pub struct Delivery<E> {
    pub event: E,
    pub message: OwnedMessage,
    pub span: tracing::Span,
}

/// A service's side effect for a batch of events. It must be idempotent and all-or-nothing.
pub trait BatchHandler: Send + Sync + 'static {
    type Event: DeserializeOwned + Send + Sync + 'static;

    fn handle(&self, batch: &[Delivery<Self::Event>]) -> impl Future<Output = Result<(), HandlerError>> + Send;

    /// Whether what the handler depends on (its database) answers. While it does not, transient
    /// failures are waited out without spending the retry budget.
    fn healthy(&self) -> impl Future<Output = bool> + Send {
        std::future::ready(true)
    }
}

/// What [`process_batch`] did with a batch.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub applied: usize,
    pub dead_lettered: usize,
}

#[derive(Debug, Clone)]
pub struct ConsumerOptions {
    pub topic: &'static str,
    pub group_id: String,
    pub batch_size: usize,
    pub linger: Duration,
    /// First retry delay for transient failures; doubles up to [`MAX_BACKOFF`].
    pub retry_backoff: Duration,
    /// Attempts a transient failure gets while the infrastructure is healthy before the
    /// message that keeps failing is dead-lettered.
    pub retry_budget: u32,
}

/// The longest wait between two attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);

impl ConsumerOptions {
    pub fn new(settings: &KafkaSettings, topic: &'static str, consumer_name: &str) -> Self {
        Self {
            topic,
            group_id: format!("{}.{consumer_name}", settings.group_prefix),
            batch_size: settings.batch_size.max(1),
            linger: Duration::from_millis(settings.batch_linger_ms),
            retry_backoff: Duration::from_millis(settings.retry_backoff_ms.max(1)),
            retry_budget: settings.retry_budget.max(1),
        }
    }
}

/// The batch was not finished because shutdown was requested; its offsets stay uncommitted.
#[derive(Debug, thiserror::Error)]
#[error("stopped before the batch was applied")]
pub struct Stopped;

/// The consumer loop's librdkafka configuration for `group_id` (also what `bench pipeline`
/// measures raw consuming with).
pub fn config(settings: &KafkaSettings, group_id: &str) -> ClientConfig {
    let mut config = client_config(settings);
    config
        .set("group.id", group_id)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("enable.partition.eof", "false")
        .set("session.timeout.ms", "10000")
        .set("heartbeat.interval.ms", "1000")
        .set("statistics.interval.ms", "5000")
        // Latency over idle efficiency: the broker answers a fetch as soon as one byte is there
        // (`fetch.min.bytes`) and after at most 10 ms when nothing is (`fetch.wait.max.ms`,
        // librdkafka's default is 500). Each consumer stage otherwise waits up to half a second
        // for a message that is already there (a webhook took p50 ~1 s to reach the timeline).
        // The price: an idle consumer sends up to ~100 empty fetches per second per broker,
        // cheap for a broker but visible in its request rate; raise it in `kafka.properties`
        // (`fetch.wait.max.ms`) where brokers are metered per request.
        .set("fetch.min.bytes", "1")
        .set("fetch.wait.max.ms", "10")
        // What librdkafka prefetches while a batch is applied: the memory a consumer holds
        // when the input outruns the database (default 64 MiB; 16 MiB is still dozens of
        // batches of ordinary interactions).
        .set("queued.max.messages.kbytes", "16384");
    super::apply_properties(&mut config, settings);
    config
}

/// Consumes `options.topic` until `shutdown` is cancelled.
pub async fn run<H: BatchHandler>(
    settings: &KafkaSettings,
    options: ConsumerOptions,
    handler: Arc<H>,
    publisher: Publisher,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let consumer: StreamConsumer<LagReporter> = config(settings, &options.group_id)
        .create_with_context(LagReporter::new(&options.group_id))
        .context("creating Kafka consumer")?;
    consumer.subscribe(&[options.topic]).with_context(|| format!("subscribing to {}", options.topic))?;
    let consumer = Arc::new(consumer);
    tracing::info!(topic = options.topic, group = %options.group_id, "consuming");

    while !shutdown.is_cancelled() {
        let batch = next_batch(&consumer, &options, &shutdown).await;
        if batch.is_empty() {
            continue;
        }
        // The partitions of the batch in parallel, each in order (one key is in one partition,
        // so ordering per key holds); at most one batch per partition is in flight, and the
        // next is fetched only when all are applied, so memory stays bounded however far the
        // input runs ahead: librdkafka stops fetching once its queue
        // (`queued.max.messages.kbytes`) is full and the backlog waits in the broker.
        let runs = by_partition(batch).into_iter().map(|part| {
            let offsets = next_offsets(&part);
            let run = process_batch(handler.as_ref(), &publisher, &options, part, &shutdown);
            async move { run.await.map(|outcome| (outcome, offsets)) }
        });
        let mut applied = BTreeMap::new();
        let mut stopped = false;
        for result in futures::future::join_all(runs).await {
            match result {
                Ok((outcome, offsets)) => {
                    tracing::debug!(?outcome, "batch applied");
                    applied.extend(offsets);
                }
                Err(Stopped) => stopped = true,
            }
        }
        if !applied.is_empty() {
            commit(&consumer, applied).await;
        }
        if stopped {
            break;
        }
    }
    tracing::info!(topic = options.topic, "consumer stopped");
    Ok(())
}

async fn next_batch(
    consumer: &StreamConsumer<LagReporter>,
    options: &ConsumerOptions,
    shutdown: &CancellationToken,
) -> Vec<OwnedMessage> {
    let mut batch = Vec::new();
    let first = tokio::select! {
        () = shutdown.cancelled() => return batch,
        received = consumer.recv() => received.map(|m| m.detach()),
    };
    match first {
        Ok(message) => batch.push(message),
        Err(error) => {
            tracing::warn!(%error, "kafka receive failed");
            tokio::time::sleep(Duration::from_millis(100)).await;
            return batch;
        }
    }
    let deadline = tokio::time::Instant::now() + options.linger;
    while batch.len() < options.batch_size {
        match tokio::time::timeout_at(deadline, consumer.recv()).await {
            Ok(Ok(message)) => batch.push(message.detach()),
            Ok(Err(error)) => {
                tracing::warn!(%error, "kafka receive failed");
                break;
            }
            Err(_elapsed) => break,
        }
    }
    batch
}

/// Applies one batch: decode, dead-letter what cannot be decoded, hand the rest to the handler
/// (retrying transient failures within the budget, isolating permanent ones). Returns once every
/// message is either applied or dead-lettered, so the caller may commit the batch's offsets.
pub async fn process_batch<H: BatchHandler>(
    handler: &H,
    publisher: &Publisher,
    options: &ConsumerOptions,
    messages: Vec<OwnedMessage>,
    shutdown: &CancellationToken,
) -> Result<Outcome, Stopped> {
    let mut outcome = Outcome::default();
    let mut deliveries = Vec::with_capacity(messages.len());
    for message in messages {
        match decode::<H::Event>(&message) {
            Ok(event) => {
                let span = tracing::info_span!(
                    "consume",
                    topic = message.topic(),
                    partition = message.partition(),
                    offset = message.offset()
                );
                headers::set_parent_from(&span, message.headers());
                deliveries.push(Delivery { event, message, span });
            }
            Err(reason) => {
                let failure = Failure { class: FailureClass::Undecodable, attempts: 1, reason };
                dead_letter(publisher, options, &message, &failure, shutdown).await?;
                outcome.dead_lettered += 1;
            }
        }
    }
    if deliveries.is_empty() {
        return Ok(outcome);
    }
    match apply_with_retry(handler, publisher, options, &deliveries, shutdown).await? {
        Ok(()) => outcome.applied += deliveries.len(),
        Err(failure) => {
            tracing::warn!(reason = %failure.reason, size = deliveries.len(), "batch failed, retrying message by message");
            for delivery in deliveries {
                let single = std::slice::from_ref(&delivery);
                match apply_with_retry(handler, publisher, options, single, shutdown).await? {
                    Ok(()) => outcome.applied += 1,
                    Err(failure) => {
                        dead_letter(publisher, options, &delivery.message, &failure, shutdown).await?;
                        outcome.dead_lettered += 1;
                    }
                }
            }
        }
    }
    metrics::counter!(names::EVENTS_CONSUMED, "topic" => options.topic).increment(outcome.applied as u64);
    Ok(outcome)
}

/// Applies `batch`, retrying transient failures with backoff. Attempts count against the budget
/// only while the handler and the broker are healthy; an outage is waited out. Returns the
/// failure once it is permanent or the budget is spent.
async fn apply_with_retry<H: BatchHandler>(
    handler: &H,
    publisher: &Publisher,
    options: &ConsumerOptions,
    batch: &[Delivery<H::Event>],
    shutdown: &CancellationToken,
) -> Result<Result<(), Failure>, Stopped> {
    let mut backoff = options.retry_backoff;
    let mut attempts = 0;
    loop {
        let span = tracing::info_span!("handle_batch", topic = options.topic, size = batch.len());
        let error = match handler.handle(batch).instrument(span).await {
            Ok(()) => return Ok(Ok(())),
            Err(HandlerError::Permanent(error)) => {
                return Ok(Err(Failure { class: FailureClass::Permanent, attempts: attempts + 1, reason: format!("{error:#}") }))
            }
            Err(HandlerError::Transient(error)) => error,
        };
        metrics::counter!(names::EVENTS_RETRIED, "topic" => options.topic).increment(1);
        let healthy = handler.healthy().await && publisher.ping().await;
        if healthy {
            attempts += 1;
            if attempts >= options.retry_budget {
                return Ok(Err(Failure { class: FailureClass::RetryBudgetExhausted, attempts, reason: format!("{error:#}") }));
            }
        }
        tracing::warn!(
            error = format!("{error:#}"),
            healthy,
            attempts,
            budget = options.retry_budget,
            retry_in_ms = backoff.as_millis() as u64,
            "transient failure, retrying"
        );
        tokio::select! {
            () = shutdown.cancelled() => return Err(Stopped),
            () = tokio::time::sleep(backoff) => {},
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

fn decode<E: DeserializeOwned>(message: &OwnedMessage) -> Result<E, String> {
    let payload = message.payload().ok_or_else(|| "message has no payload".to_owned())?;
    let value: serde_json::Value = serde_json::from_slice(payload).map_err(|e| format!("not JSON: {e}"))?;
    match value.get("v").and_then(serde_json::Value::as_u64) {
        Some(v) if v == u64::from(contracts::SCHEMA_VERSION) => {}
        other => return Err(format!("unsupported schema version {other:?}")),
    }
    serde_json::from_value(value).map_err(|e| format!("does not match the v1 schema: {e}"))
}

/// The messages of each partition, in offset order.
fn by_partition(batch: Vec<OwnedMessage>) -> Vec<Vec<OwnedMessage>> {
    let mut parts: BTreeMap<(String, i32), Vec<OwnedMessage>> = BTreeMap::new();
    for message in batch {
        parts.entry((message.topic().to_owned(), message.partition())).or_default().push(message);
    }
    parts.into_values().collect()
}

/// The offsets to commit after `batch`: one past the highest offset per partition.
fn next_offsets(batch: &[OwnedMessage]) -> BTreeMap<(String, i32), i64> {
    let mut offsets = BTreeMap::new();
    for message in batch {
        let next = offsets.entry((message.topic().to_owned(), message.partition())).or_insert(0);
        *next = (*next).max(message.offset() + 1);
    }
    offsets
}

async fn commit(consumer: &Arc<StreamConsumer<LagReporter>>, offsets: BTreeMap<(String, i32), i64>) {
    let mut list = TopicPartitionList::new();
    for ((topic, partition), offset) in offsets {
        if let Err(error) = list.add_partition_offset(&topic, partition, Offset::Offset(offset)) {
            tracing::error!(%error, "building the offset list");
        }
    }
    let consumer = Arc::clone(consumer);
    let committed = tokio::task::spawn_blocking(move || consumer.commit(&list, CommitMode::Sync)).await;
    match committed {
        Ok(Ok(())) => {}
        // After a rebalance the new owner re-reads these messages; handlers are idempotent.
        Ok(Err(error)) => tracing::warn!(%error, "offset commit failed; the batch will be redelivered"),
        Err(error) => tracing::error!(%error, "offset commit task failed"),
    }
}

#[cfg(test)]
mod tests;
