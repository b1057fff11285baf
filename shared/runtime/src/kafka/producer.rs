//! The publisher: an idempotent producer with `acks=all`; every publish waits for the broker's
//! acknowledgement, so callers only confirm upstream (HTTP 200, offset commit) once Kafka has it.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use rdkafka::error::KafkaError;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::ClientConfig;
use serde::Serialize;

use super::{client_config, headers};
use crate::settings::KafkaSettings;

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("serializing the event for {topic}: {source}")]
    Encode { topic: String, source: serde_json::Error },
    #[error("kafka did not acknowledge the write to {topic}: {source}")]
    Kafka { topic: String, source: rdkafka::error::KafkaError },
}

impl PublishError {
    /// Whether the same message would be refused again however often it is sent: it cannot be
    /// encoded, or it is too large or invalid for the broker. Everything else (timeouts, a
    /// broker down, a leader election) may pass on a retry.
    pub fn is_permanent(&self) -> bool {
        use rdkafka::error::{KafkaError, RDKafkaErrorCode as Code};
        match self {
            PublishError::Encode { .. } => true,
            PublishError::Kafka { source, .. } => matches!(
                source,
                KafkaError::MessageProduction(
                    Code::MessageSizeTooLarge
                        | Code::InvalidMessageSize
                        | Code::MessageBatchTooLarge
                        | Code::InvalidMessage
                        | Code::InvalidRecord
                        | Code::BadMessage
                        | Code::PolicyViolation
                )
            ),
        }
    }
}

/// Where a message was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    pub partition: i32,
    pub offset: i64,
}

/// Cheap to clone; all clones share one librdkafka producer.
#[derive(Clone)]
pub struct Publisher {
    inner: Arc<Inner>,
}

struct Inner {
    /// Replaced when librdkafka reports a fatal error (see [`Publisher::renew_if_fatal`]).
    producer: RwLock<Arc<FutureProducer>>,
    config: ClientConfig,
    timeout: Duration,
}

/// The publisher's librdkafka configuration (also what `bench pipeline` measures raw producing
/// with).
pub fn config(settings: &KafkaSettings) -> ClientConfig {
    let mut config = client_config(settings);
    config
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "2")
        .set("compression.type", "lz4")
        .set("message.timeout.ms", settings.delivery_timeout_ms.to_string())
        // Every event is bounded by contracts::limits; topics accept 1,048,588 bytes (Kafka's
        // default max.message.bytes), above this with room for the record overhead.
        .set("message.max.bytes", contracts::limits::EVENT_BYTES.to_string());
    super::apply_properties(&mut config, settings);
    config
}

impl Publisher {
    pub fn new(settings: &KafkaSettings) -> anyhow::Result<Self> {
        crate::http::metrics::handle();
        let config = config(settings);
        let producer: FutureProducer = config.create()?;
        let inner = Inner {
            producer: RwLock::new(Arc::new(producer)),
            config,
            timeout: Duration::from_millis(settings.delivery_timeout_ms),
        };
        Ok(Self { inner: Arc::new(inner) })
    }

    fn producer(&self) -> Arc<FutureProducer> {
        Arc::clone(&self.inner.producer.read().unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    /// An idempotent producer can hit a *fatal* error (the broker fenced its epoch, a sequence
    /// gap after a long outage): librdkafka then refuses every later message, and the documented
    /// remedy is a new producer. Messages of the old one fail, so callers answer 503 or retry,
    /// and nothing is acknowledged that Kafka does not have.
    fn renew_if_fatal(&self, used: &Arc<FutureProducer>, error: &KafkaError) {
        use rdkafka::error::RDKafkaErrorCode as Code;
        // A producer whose id or epoch the broker no longer accepts stays stuck in that state
        // (seen with tansu after a delivery timeout): renew it like a fatal error.
        let stuck = matches!(
            error.rdkafka_error_code(),
            Some(
                Code::ProducerFenced
                    | Code::InvalidProducerEpoch
                    | Code::UnknownProducerId
                    | Code::InvalidProducerIdMapping
                    | Code::OutOfOrderSequenceNumber
            )
        );
        let Some((code, reason)) = used
            .client()
            .fatal_error()
            .or_else(|| stuck.then(|| (error.rdkafka_error_code().unwrap_or(Code::Fatal), error.to_string())))
        else {
            return;
        };
        let mut current = self.inner.producer.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        if !Arc::ptr_eq(&current, used) {
            return; // another caller renewed it already
        }
        match self.inner.config.create::<FutureProducer>() {
            Ok(fresh) => {
                tracing::error!(?code, reason, "Kafka producer hit a fatal error; replaced it with a new one");
                *current = Arc::new(fresh);
            }
            Err(error) => tracing::error!(?code, reason, %error, "Kafka producer hit a fatal error and cannot be recreated"),
        }
    }

    /// Publishes `event` to its topic under its key and type (see [`contracts::Event`]).
    pub async fn publish_event<E: contracts::Event>(&self, event: &E) -> Result<Written, PublishError> {
        self.publish(E::TOPIC, &event.key(), E::TYPE, event).await
    }

    /// Serializes `event` as JSON and writes it with the current trace context in its headers.
    #[tracing::instrument(skip_all, fields(topic, key), err)]
    pub async fn publish<T: Serialize>(
        &self,
        topic: &str,
        key: &str,
        event_type: &str,
        event: &T,
    ) -> Result<Written, PublishError> {
        let payload = serde_json::to_vec(event).map_err(|source| PublishError::Encode { topic: topic.into(), source })?;
        let version = contracts::SCHEMA_VERSION.to_string();
        let headers = OwnedHeaders::new()
            .insert(Header { key: contracts::headers::EVENT_TYPE, value: Some(event_type) })
            .insert(Header { key: contracts::headers::SCHEMA_VERSION, value: Some(&version) });
        self.send(topic, Some(key.as_bytes()), Some(&payload), headers::inject_current_context(headers)).await
    }

    /// Writes a tombstone (null payload) for `key`, e.g. on a compacted snapshot topic.
    pub async fn tombstone(&self, topic: &str, key: &str) -> Result<Written, PublishError> {
        self.send(topic, Some(key.as_bytes()), None, OwnedHeaders::new()).await
    }

    /// Writes raw bytes (dead letters keep the original payload untouched).
    pub async fn send(
        &self,
        topic: &str,
        key: Option<&[u8]>,
        payload: Option<&[u8]>,
        headers: OwnedHeaders,
    ) -> Result<Written, PublishError> {
        let mut record: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(topic).headers(headers);
        if let Some(key) = key {
            record = record.key(key);
        }
        if let Some(payload) = payload {
            record = record.payload(payload);
        }
        let producer = self.producer();
        match producer.send(record, self.inner.timeout).await {
            Ok(delivery) => {
                metrics::counter!(crate::http::metrics::KAFKA_PUBLISHED, "topic" => topic.to_owned()).increment(1);
                Ok(Written { partition: delivery.partition, offset: delivery.offset })
            }
            Err((source, _message)) => {
                metrics::counter!(crate::http::metrics::KAFKA_PUBLISH_FAILED, "topic" => topic.to_owned()).increment(1);
                self.renew_if_fatal(&producer, &source);
                Err(PublishError::Kafka { topic: topic.into(), source })
            }
        }
    }

    /// Whether the cluster answers a metadata request (readiness).
    pub async fn ping(&self) -> bool {
        let producer = self.producer();
        tokio::task::spawn_blocking(move || producer.client().fetch_metadata(None, Duration::from_secs(2)).is_ok())
            .await
            .unwrap_or(false)
    }

    /// Waits until every queued message was delivered (shutdown).
    pub fn flush(&self) {
        if let Err(error) = self.producer().flush(self.inner.timeout) {
            tracing::warn!(%error, "producer flush did not complete");
        }
    }
}
