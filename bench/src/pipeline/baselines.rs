//! Raw baselines on the same machine, broker and database as the pipeline run: what HTTP, Kafka
//! and PostgreSQL do alone with the same requests, messages and rows.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use futures::TryStreamExt;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::Message;
use runtime::settings::KafkaSettings;
use sqlx::PgPool;
use tokio::time::Instant;

use super::load::{self, Sent};
use super::workload::Webhook;

/// The trivial route: answers 200 to any POST, after reading its body.
pub async fn http(client: &reqwest::Client, hooks: Arc<Vec<Webhook>>, connections: usize) -> anyhow::Result<Sent> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = axum::Router::new().route("/trivial", axum::routing::post(|_body: axum::body::Bytes| async { "" }));
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let base = format!("http://{addr}");
    let sent = load::closed_loop(client, &base, Some(&format!("{base}/trivial")), hooks, connections).await;
    server.abort();
    Ok(sent)
}

/// Messages as the pipeline wrote them: payloads and keys of a topic.
pub struct Messages {
    pub records: Vec<(Vec<u8>, Vec<u8>)>,
    pub elapsed: Duration,
}

impl Messages {
    pub fn average_bytes(&self) -> usize {
        self.records.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>() / self.records.len().max(1)
    }
}

/// Consumes `n` messages of `topic` from the start with the consumer loop's configuration in a
/// fresh group, timed from the first message to the `n`th.
pub async fn kafka_consume(settings: &KafkaSettings, topic: &str, n: usize) -> anyhow::Result<Messages> {
    let group = format!("bench-baseline-{}", uuid::Uuid::new_v4());
    let consumer: BaseConsumer = runtime::kafka::consumer::config(settings, &group).create()?;
    consumer.subscribe(&[topic])?;
    tokio::task::spawn_blocking(move || {
        let deadline = std::time::Instant::now() + Duration::from_secs(300);
        let mut records = Vec::with_capacity(n);
        let mut first = None;
        while records.len() < n {
            if std::time::Instant::now() > deadline {
                bail!("read only {} of {n} messages of the topic within 300 s", records.len());
            }
            match consumer.poll(Duration::from_millis(100)) {
                Some(Ok(message)) => {
                    first.get_or_insert_with(Instant::now);
                    records.push((message.key().unwrap_or_default().to_vec(), message.payload().unwrap_or_default().to_vec()));
                }
                Some(Err(error)) => bail!("consuming: {error}"),
                None => {}
            }
        }
        let elapsed = first.map_or(Duration::ZERO, |f| f.elapsed());
        Ok(Messages { records, elapsed })
    })
    .await?
}

/// Produces `records` to `topic` with the publisher's configuration (idempotent, `acks=all`),
/// timed until the broker acknowledged the last one.
pub async fn kafka_produce(settings: &KafkaSettings, topic: &str, records: Vec<(Vec<u8>, Vec<u8>)>) -> anyhow::Result<Duration> {
    let producer: BaseProducer = runtime::kafka::producer::config(settings).create()?;
    let topic = topic.to_owned();
    tokio::task::spawn_blocking(move || {
        // Not timed: metadata, the topic and the idempotent producer's id.
        if let Some((key, payload)) = records.first() {
            producer.send(BaseRecord::to(&topic).key(key.as_slice()).payload(payload.as_slice())).map_err(|(e, _)| e)?;
            producer.flush(Duration::from_secs(30)).context("the first message")?;
        }
        let start = Instant::now();
        for (key, payload) in &records {
            let mut record = BaseRecord::to(&topic).key(key.as_slice()).payload(payload.as_slice());
            loop {
                match producer.send(record) {
                    Ok(()) => break,
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                        record = back;
                        producer.poll(Duration::from_millis(10));
                    }
                    Err((error, _)) => bail!("producing: {error}"),
                }
            }
            producer.poll(Duration::ZERO);
        }
        producer.flush(Duration::from_secs(120)).context("waiting for the broker's acknowledgements")?;
        Ok(start.elapsed())
    })
    .await?
}

/// `COPY` of the timeline's own message rows into an empty table of the same shape (indexes and
/// defaults included); how many rows and how long.
pub async fn postgres_copy(pool: &PgPool, n: usize) -> anyhow::Result<(u64, Duration)> {
    let mut conn = pool.acquire().await?;
    sqlx::query("CREATE TABLE public.bench_copy (LIKE timeline.interaction_messages INCLUDING DEFAULTS INCLUDING INDEXES)")
        .execute(&mut *conn)
        .await?;
    let mut data = Vec::new();
    {
        let statement = format!("COPY (SELECT * FROM timeline.interaction_messages LIMIT {n}) TO STDOUT");
        let mut out = conn.copy_out_raw(&statement).await?;
        while let Some(chunk) = out.try_next().await? {
            data.extend_from_slice(&chunk);
        }
    }
    let start = Instant::now();
    let mut copy = conn.copy_in_raw("COPY public.bench_copy FROM STDIN").await?;
    copy.send(data).await?;
    let rows = copy.finish().await?;
    Ok((rows, start.elapsed()))
}
