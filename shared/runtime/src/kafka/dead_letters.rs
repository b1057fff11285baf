//! What an operator does with `<topic>.dlq`: [`list`] the dead letters with their reasons, and
//! [`replay`] them into the topic they came from once the cause is fixed (a deploy, a raised
//! limit). Replay progress is kept by the consumer group `<group_prefix>.dlq-replay`, so a
//! second replay sends only what was dead-lettered since; the handlers are idempotent, so a
//! message that is replayed twice is still applied once. `contactd dlq list|replay <topic>`
//! runs these.

use std::time::Duration;

use anyhow::Context;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::{Offset, TopicPartitionList};

use super::{client_config, Publisher};
use crate::settings::KafkaSettings;

/// One dead letter, as [`list`] shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeadLetter {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<String>,
    pub class: Option<String>,
    pub error: Option<String>,
    pub attempts: Option<String>,
    pub origin_topic: Option<String>,
    pub payload_bytes: usize,
}

fn header(message: &impl Message, name: &str) -> Option<String> {
    let headers = message.headers()?;
    headers.iter().find(|h| h.key == name).and_then(|h| h.value).map(|v| String::from_utf8_lossy(v).into_owned())
}

fn describe(message: &impl Message) -> DeadLetter {
    use contracts::headers as h;
    DeadLetter {
        partition: message.partition(),
        offset: message.offset(),
        key: message.key().map(|k| String::from_utf8_lossy(k).into_owned()),
        class: header(message, h::DLQ_CLASS),
        error: header(message, h::DLQ_ERROR),
        attempts: header(message, h::DLQ_ATTEMPTS),
        origin_topic: header(message, h::DLQ_ORIGIN_TOPIC),
        payload_bytes: message.payload().map_or(0, <[u8]>::len),
    }
}

/// Reads `dlq_topic` from `start` (per partition: the beginning, or the group's committed
/// offset) up to its current end, calling `each` for every message.
fn read_to_end(
    consumer: &BaseConsumer,
    dlq_topic: &str,
    from_committed: bool,
    mut each: impl FnMut(&rdkafka::message::BorrowedMessage<'_>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let timeout = Duration::from_secs(10);
    let metadata = consumer.fetch_metadata(Some(dlq_topic), timeout).context("reading the topic's partitions")?;
    let partitions: Vec<i32> =
        metadata.topics().iter().filter(|t| t.name() == dlq_topic).flat_map(|t| t.partitions().iter().map(|p| p.id())).collect();
    anyhow::ensure!(!partitions.is_empty(), "topic {dlq_topic} does not exist");
    let mut assignment = TopicPartitionList::new();
    let mut ends = Vec::new();
    for partition in partitions {
        let (low, high) = consumer.fetch_watermarks(dlq_topic, partition, timeout)?;
        assignment.add_partition_offset(dlq_topic, partition, Offset::Offset(low))?;
        ends.push((partition, high));
    }
    if from_committed {
        let committed = consumer.committed_offsets(assignment.clone(), timeout)?;
        for element in committed.elements() {
            if let Offset::Offset(offset) = element.offset() {
                assignment.set_partition_offset(dlq_topic, element.partition(), Offset::Offset(offset))?;
            }
        }
    }
    let mut remaining: Vec<(i32, i64)> = ends
        .into_iter()
        .filter(|(partition, high)| {
            let start = assignment.find_partition(dlq_topic, *partition).and_then(|e| e.offset().to_raw()).unwrap_or(0);
            start < *high
        })
        .collect();
    consumer.assign(&assignment)?;
    while !remaining.is_empty() {
        let message = match consumer.poll(timeout) {
            Some(message) => message?,
            None => anyhow::bail!("{dlq_topic}: no message within {timeout:?} although the topic has more"),
        };
        each(&message)?;
        let (partition, offset) = (message.partition(), message.offset());
        remaining.retain(|(p, high)| *p != partition || offset + 1 < *high);
    }
    Ok(())
}

/// Every dead letter of `dlq_topic` (e.g. `interactions.ingested.dlq`), oldest first per partition.
pub fn list(settings: &KafkaSettings, dlq_topic: &str) -> anyhow::Result<Vec<DeadLetter>> {
    let consumer: BaseConsumer = client_config(settings)
        .set("group.id", format!("{}.dlq-list", settings.group_prefix))
        .set("enable.auto.commit", "false")
        .create()?;
    let mut out = Vec::new();
    read_to_end(&consumer, dlq_topic, false, |message| {
        out.push(describe(message));
        Ok(())
    })?;
    Ok(out)
}

/// Sends the dead letters of `dlq_topic` not replayed before back to the topic they came from
/// (original key, payload and headers, without the `dlq-*` ones). With `class`, only those of
/// that class are sent and the progress is not recorded (the others stay for a later replay;
/// the handlers are idempotent, so sending one twice applies it once). Returns what was sent.
pub async fn replay(settings: &KafkaSettings, dlq_topic: &str, class: Option<&str>) -> anyhow::Result<Vec<DeadLetter>> {
    let consumer: BaseConsumer = client_config(settings)
        .set("group.id", format!("{}.dlq-replay", settings.group_prefix))
        .set("enable.auto.commit", "false")
        .create()?;
    let mut selected = Vec::new();
    read_to_end(&consumer, dlq_topic, true, |message| {
        let letter = describe(message);
        if class.is_none() || letter.class.as_deref() == class {
            let headers = message.headers().map(|hs| {
                hs.iter()
                    .filter(|h| !h.key.starts_with("dlq-"))
                    .fold(OwnedHeaders::new(), |out, h| out.insert(Header { key: h.key, value: h.value }))
            });
            selected.push((letter, message.key().map(<[u8]>::to_vec), message.payload().map(<[u8]>::to_vec), headers));
        }
        Ok(())
    })?;
    let publisher = Publisher::new(settings)?;
    let mut replayed = Vec::new();
    for (letter, key, payload, headers) in selected {
        let origin = letter.origin_topic.clone().context("a dead letter without its origin topic")?;
        publisher.send(&origin, key.as_deref(), payload.as_deref(), headers.unwrap_or_default()).await?;
        replayed.push(letter);
    }
    if class.is_some() {
        return Ok(replayed);
    }
    // Everything read was sent: the next replay starts after it.
    let mut done = TopicPartitionList::new();
    for element in consumer.position()?.elements() {
        if let Offset::Offset(offset) = element.offset() {
            done.add_partition_offset(element.topic(), element.partition(), Offset::Offset(offset))?;
        }
    }
    if done.count() > 0 {
        consumer.commit(&done, CommitMode::Sync)?;
    }
    Ok(replayed)
}
