//! The publisher: an idempotent producer with `acks=all`; every publish waits for the broker's
//! acknowledgement, so callers only confirm upstream (HTTP 200, offset commit) once Kafka has it.

use std::sync::Arc;
use std::time::Duration;

use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
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

/// Where a message was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    pub partition: i32,
    pub offset: i64,
}

/// Cheap to clone; all clones share one librdkafka producer.
#[derive(Clone)]
pub struct Publisher {
    producer: Arc<FutureProducer>,
    timeout: Duration,
}

impl Publisher {
    pub fn new(settings: &KafkaSettings) -> anyhow::Result<Self> {
        crate::http::metrics::handle();
        let producer: FutureProducer = client_config(settings)
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", "2")
            .set("compression.type", "lz4")
            .set("message.timeout.ms", settings.delivery_timeout_ms.to_string())
            .create()?;
        Ok(Self { producer: Arc::new(producer), timeout: Duration::from_millis(settings.delivery_timeout_ms) })
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
        match self.producer.send(record, self.timeout).await {
            Ok(delivery) => {
                metrics::counter!(crate::http::metrics::KAFKA_PUBLISHED, "topic" => topic.to_owned()).increment(1);
                Ok(Written { partition: delivery.partition, offset: delivery.offset })
            }
            Err((source, _message)) => {
                metrics::counter!(crate::http::metrics::KAFKA_PUBLISH_FAILED, "topic" => topic.to_owned()).increment(1);
                Err(PublishError::Kafka { topic: topic.into(), source })
            }
        }
    }

    /// Whether the cluster answers a metadata request (readiness).
    pub async fn ping(&self) -> bool {
        let producer = Arc::clone(&self.producer);
        tokio::task::spawn_blocking(move || producer.client().fetch_metadata(None, Duration::from_secs(2)).is_ok())
            .await
            .unwrap_or(false)
    }

    /// Waits until every queued message was delivered (shutdown).
    pub fn flush(&self) {
        if let Err(error) = self.producer.flush(self.timeout) {
            tracing::warn!(%error, "producer flush did not complete");
        }
    }
}
