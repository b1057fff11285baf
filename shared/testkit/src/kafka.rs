//! Kafka for tests: the embedded mock cluster or a real broker with unique consumer groups, a
//! topic reader, and the JSON and keys of what it read.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, StreamConsumer};
use rdkafka::message::{Message, OwnedMessage};
use rdkafka::{Offset, TopicPartitionList};
use runtime::kafka::{admin, EmbeddedKafka};
use runtime::settings::{DatabaseSettings, KafkaSettings};
use runtime::Settings;
use uuid::Uuid;

use crate::{auth, proxy, tansu, tls};

/// A Kafka for one test: the embedded mock cluster, or the broker in `TEST_KAFKA_BROKERS`.
/// Consumer groups get a unique prefix, so tests never share offsets.
pub struct TestKafka {
    pub settings: KafkaSettings,
    _embedded: Option<EmbeddedKafka>,
    _tansu: Option<tansu::Tansu>,
    _tls: Option<(tls::TlsProxy, tls::TempDir)>,
}

impl TestKafka {
    pub async fn start() -> Self {
        match std::env::var("TEST_KAFKA_BROKERS").ok().filter(|b| !b.is_empty()) {
            Some(brokers) => Self::on_brokers(&brokers).await,
            None => {
                let embedded = EmbeddedKafka::start(&admin::all_topics(), 3).expect("embedded Kafka starts");
                let settings = Self::base_settings(embedded.bootstrap_servers());
                Self { settings, _embedded: Some(embedded), _tansu: None, _tls: None }
            }
        }
    }

    /// A real broker at `brokers`; the project's topics are created when missing.
    pub async fn on_brokers(brokers: &str) -> Self {
        let settings = Self::base_settings(brokers);
        admin::ensure_topics(&settings, &admin::all_topics(), 3).await.expect("creating topics on the test broker");
        Self { settings, _embedded: None, _tansu: None, _tls: None }
    }

    /// A tansu broker of this test's own, over TCP on loopback.
    pub async fn tansu() -> Self {
        let broker = tansu::Tansu::spawn();
        let mut kafka = Self::on_brokers(&broker.brokers).await;
        kafka._tansu = Some(broker);
        kafka
    }

    /// A tansu broker of this test's own reached through a [`proxy::TcpProxy`] the test can
    /// cut (the broker advertises the proxy's address, so every client connection crosses it).
    pub async fn tansu_behind_proxy() -> (Self, proxy::TcpProxy) {
        let port = tansu::Tansu::free_port();
        let proxy = proxy::TcpProxy::start(std::net::SocketAddr::from(([127, 0, 0, 1], port))).await;
        let broker = tansu::Tansu::spawn_advertising(Some((port, proxy.addr)));
        let mut kafka = Self::on_brokers(&proxy.addr.to_string()).await;
        kafka._tansu = Some(broker);
        (kafka, proxy)
    }

    /// A tansu broker of this test's own reached only over TLS: clients connect to a
    /// TLS-terminating proxy with a certificate from a CA made here (`security.protocol=ssl`,
    /// `ssl.ca.location`) and verify it (librdkafka's defaults: certificate and host name).
    pub async fn tansu_over_tls() -> Self {
        let files = tls::TempDir::new("kafka-tls");
        let ca = tls::TestCa::new("contactd test Kafka CA");
        let ca_path = ca.write_cert(files.path(), "ca.pem");
        let broker_port = tansu::Tansu::free_port();
        let proxy = tls::TlsProxy::start(&ca.server_cert(), format!("127.0.0.1:{broker_port}"));
        let broker = tansu::Tansu::spawn_advertising(Some((broker_port, proxy.addr)));
        let mut settings = Self::base_settings(&proxy.addr.to_string());
        settings.properties.insert("security.protocol".into(), "ssl".into());
        settings.properties.insert("ssl.ca.location".into(), ca_path.to_string_lossy().into_owned());
        admin::ensure_topics(&settings, &admin::all_topics(), 3).await.expect("creating topics over TLS");
        Self { settings, _embedded: None, _tansu: Some(broker), _tls: Some((proxy, files)) }
    }

    fn base_settings(brokers: &str) -> KafkaSettings {
        KafkaSettings {
            brokers: brokers.to_owned(),
            group_prefix: format!("test-{}", Uuid::new_v4().simple()),
            batch_linger_ms: 5,
            delivery_timeout_ms: 10_000,
            ..KafkaSettings::default()
        }
    }

    /// Settings of one service on this Kafka and `database`.
    pub fn settings_for<S>(&self, database: &DatabaseSettings, service: S) -> Settings<S> {
        Settings {
            kafka: self.settings.clone(),
            database: database.clone(),
            telemetry: Default::default(),
            auth: auth(),
            service,
        }
    }

    /// How many instances of consumer group `<group_prefix>.<consumer>` hold partitions, as the
    /// service reports them on its `/metrics` (`metrics_url`); the process's instances share
    /// one registry, so any of them answers for all.
    pub async fn assigned_instances(&self, metrics_url: &str, consumer: &str) -> usize {
        let Ok(response) = reqwest::get(metrics_url).await else { return 0 };
        let text = response.text().await.unwrap_or_default();
        instances_holding_partitions(&text, &format!("{}.{consumer}", self.settings.group_prefix))
    }

    /// Whether consumer group `<group_prefix>.<consumer>` has committed every message of
    /// `topic` written so far: what it will do for them is done.
    pub fn caught_up(&self, consumer: &str, topic: &str) -> bool {
        const WAIT: Duration = Duration::from_secs(10);
        let group = format!("{}.{consumer}", self.settings.group_prefix);
        let client: BaseConsumer =
            runtime::kafka::client_config(&self.settings).set("group.id", &group).create().expect("group client");
        let Ok(watermarks) = watermarks(&client, topic, WAIT) else { return false };
        let mut partitions = TopicPartitionList::new();
        let mut ends = HashMap::new();
        for (partition, _, high) in watermarks {
            partitions.add_partition(topic, partition);
            ends.insert(partition, high);
        }
        let Ok(committed) = client.committed_offsets(partitions, WAIT) else { return false };
        committed.elements().iter().all(|e| {
            let high = ends.get(&e.partition()).copied().unwrap_or(0);
            high == 0 || matches!(e.offset(), Offset::Offset(o) if o >= high)
        })
    }

    /// Reads a topic from the beginning with a consumer group of its own.
    pub fn reader(&self, topic: &str) -> TopicReader {
        let consumer: StreamConsumer = runtime::kafka::client_config(&self.settings)
            .set("group.id", format!("reader-{}", Uuid::new_v4().simple()))
            .set("auto.offset.reset", "earliest")
            .set("enable.auto.commit", "false")
            .create()
            .expect("reader consumer");
        consumer.subscribe(&[topic]).expect("subscribe");
        TopicReader { consumer, topic: topic.to_owned(), next: Default::default() }
    }
}

/// `(partition, low, high)` watermarks of every partition of `topic`, as the broker reports them.
fn watermarks<C: ConsumerContext>(
    consumer: &impl Consumer<C>,
    topic: &str,
    wait: Duration,
) -> rdkafka::error::KafkaResult<Vec<(i32, i64, i64)>> {
    let metadata = consumer.fetch_metadata(Some(topic), wait)?;
    let partitions: Vec<i32> = metadata.topics().iter().flat_map(|t| t.partitions()).map(|p| p.id()).collect();
    partitions
        .into_iter()
        .map(|partition| consumer.fetch_watermarks(topic, partition, wait).map(|(low, high)| (partition, low, high)))
        .collect()
}

pub struct TopicReader {
    consumer: StreamConsumer,
    topic: String,
    /// The offset after the last message returned, per partition.
    next: std::sync::Mutex<HashMap<i32, i64>>,
}

impl TopicReader {
    async fn recv(&self, until: Instant) -> Option<OwnedMessage> {
        let left = until.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, self.consumer.recv()).await {
            Ok(Ok(message)) => {
                let message = message.detach();
                self.next.lock().expect("offsets").insert(message.partition(), message.offset() + 1);
                Some(message)
            }
            Ok(Err(error)) => panic!("kafka receive failed: {error}"),
            Err(_) => None,
        }
    }

    /// Every message on the topic now that this reader has not returned yet: it reads each
    /// partition up to the high watermark it has at the call. Once a write was acknowledged (an
    /// adapter answered, the outbox marked an event published), nothing of it can arrive later,
    /// so "nothing else was published" needs no quiet period. (The project's producers write no
    /// transactions, so offsets have no control-record gaps.)
    pub async fn present(&self) -> Vec<OwnedMessage> {
        const WAIT: Duration = Duration::from_secs(30);
        let ends: HashMap<i32, i64> = watermarks(&self.consumer, &self.topic, WAIT)
            .expect("watermarks")
            .into_iter()
            .filter(|(_, low, high)| high > low)
            .map(|(partition, _, high)| (partition, high))
            .collect();
        let behind = |next: &HashMap<i32, i64>| ends.iter().any(|(p, high)| next.get(p).copied().unwrap_or(0) < *high);
        let deadline = Instant::now() + WAIT;
        let mut out = Vec::new();
        while behind(&self.next.lock().expect("offsets")) {
            match self.recv(deadline).await {
                Some(message) => out.push(message),
                None => panic!("{}: {} messages read, the rest up to {ends:?} not within {WAIT:?}", self.topic, out.len()),
            }
        }
        out
    }

    /// Waits for `n` messages (panics after `timeout`).
    pub async fn take(&self, n: usize, timeout: Duration) -> Vec<OwnedMessage> {
        let deadline = Instant::now() + timeout;
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            match self.recv(deadline).await {
                Some(message) => out.push(message),
                None => panic!("expected {n} messages, got {} within {timeout:?}", out.len()),
            }
        }
        out
    }

    /// Reads until `done` says the messages so far are enough (panics after `timeout`).
    /// For at-least-once topics, where duplicates may arrive besides the expected messages.
    pub async fn until(&self, timeout: Duration, mut done: impl FnMut(&[OwnedMessage]) -> bool) -> Vec<OwnedMessage> {
        let deadline = Instant::now() + timeout;
        let mut out = Vec::new();
        while !done(&out) {
            match self.recv(deadline).await {
                Some(message) => out.push(message),
                None => panic!("condition not met within {timeout:?} after {} messages", out.len()),
            }
        }
        out
    }
}

/// How many instances of consumer group `group` hold partitions in a Prometheus text
/// exposition of the services' `/metrics` (`kafka_consumer_assigned_partitions`, one line per
/// instance; an idle instance reports 0).
pub fn instances_holding_partitions(metrics: &str, group: &str) -> usize {
    let label = format!("group=\"{group}\"");
    metrics
        .lines()
        .filter(|line| line.strip_prefix(runtime::http::metrics::CONSUMER_ASSIGNED).is_some_and(|rest| rest.starts_with('{')))
        .filter(|line| line.contains(&label))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .filter(|assigned| *assigned > 0.0)
        .count()
}

/// The JSON payload of a message.
pub fn json(message: &OwnedMessage) -> serde_json::Value {
    serde_json::from_slice(message.payload().expect("message has a payload")).expect("payload is JSON")
}

/// The payload of a message read as its contract type (`ResolvedInteraction`, `ContactChange`,
/// …): a test checks typed fields, and a payload that does not decode fails here, saying so.
pub fn decode<T: serde::de::DeserializeOwned>(message: &OwnedMessage) -> T {
    let payload = message.payload().expect("message has a payload");
    serde_json::from_slice(payload)
        .unwrap_or_else(|e| panic!("payload is not a {}: {e}: {}", std::any::type_name::<T>(), String::from_utf8_lossy(payload)))
}

/// Distinct values of `field` over the JSON payloads.
pub fn distinct(messages: &[OwnedMessage], field: &str) -> HashSet<String> {
    messages.iter().map(|m| json(m)[field].as_str().unwrap_or_default().to_owned()).collect()
}

/// Distinct values of `outer.inner` over the JSON payloads.
pub fn distinct_nested(messages: &[OwnedMessage], outer: &str, inner: &str) -> HashSet<String> {
    messages.iter().map(|m| json(m)[outer][inner].as_str().unwrap_or_default().to_owned()).collect()
}

/// The key of a message as text.
pub fn key(message: &OwnedMessage) -> String {
    String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_holds_partitions_where_one_of_its_instances_reports_some() {
        let metrics = "kafka_consumer_assigned_partitions{group=\"b.resolver\",instance=\"x\"} 0\n\
                       kafka_consumer_assigned_partitions{group=\"b.resolver\",instance=\"y\"} 3\n\
                       kafka_consumer_assigned_partitions{group=\"b.timeline\",instance=\"z\"} 0\n";
        assert_eq!(instances_holding_partitions(metrics, "b.resolver"), 1);
        assert_eq!(instances_holding_partitions(metrics, "b.timeline"), 0);
        assert_eq!(instances_holding_partitions(metrics, "b.timeline-changes"), 0);
    }
}
