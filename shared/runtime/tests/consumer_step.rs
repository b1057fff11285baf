//! The consumer loop's one step ([`process_batch`]) driven directly with a handler whose
//! failures the test scripts, on the embedded Kafka (the dead letters are really written):
//! a permanent failure dead-letters only its message, a transient one that outlasts the retry
//! budget while everything is healthy is dead-lettered with that reason, and an outage (the
//! handler's dependency unhealthy) is waited out without spending the budget.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Headers, Message, OwnedMessage};
use rdkafka::Timestamp;
use runtime::kafka::consumer::{process_batch, BatchHandler, ConsumerOptions, Delivery, HandlerError, Outcome};
use runtime::kafka::{admin, EmbeddedKafka, Publisher};
use runtime::settings::KafkaSettings;
use runtime::shutdown::CancellationToken;

const TOPIC: &str = contracts::topics::INTERACTIONS_INGESTED;

#[derive(Debug, serde::Deserialize)]
struct Event {
    #[allow(dead_code)]
    v: u16,
    id: String,
}

/// What the scripted handler does with a message id.
#[derive(Clone, Copy)]
enum Script {
    Apply,
    Permanent,
    /// Fails transiently this many times, then applies.
    TransientTimes(u32),
}

struct Scripted {
    scripts: HashMap<String, Script>,
    failures: Mutex<HashMap<String, u32>>,
    applied: Mutex<Vec<String>>,
    /// Reports unhealthy this many times before it is healthy again.
    unhealthy_checks: AtomicU32,
}

impl Scripted {
    fn new(scripts: &[(&str, Script)]) -> Self {
        Self {
            scripts: scripts.iter().map(|(id, s)| ((*id).to_owned(), *s)).collect(),
            failures: Mutex::default(),
            applied: Mutex::default(),
            unhealthy_checks: AtomicU32::new(0),
        }
    }
}

impl BatchHandler for Scripted {
    type Event = Event;

    async fn handle(&self, batch: &[Delivery<Event>]) -> Result<(), HandlerError> {
        for delivery in batch {
            let id = &delivery.event.id;
            match self.scripts.get(id).copied().unwrap_or(Script::Apply) {
                Script::Apply => {}
                Script::Permanent => return Err(HandlerError::Permanent(anyhow::anyhow!("{id} is poison"))),
                Script::TransientTimes(n) => {
                    let mut failures = self.failures.lock().expect("lock");
                    let seen = failures.entry(id.clone()).or_insert(0);
                    if *seen < n {
                        *seen += 1;
                        return Err(HandlerError::Transient(anyhow::anyhow!("{id} deadlocked")));
                    }
                }
            }
        }
        self.applied.lock().expect("lock").extend(batch.iter().map(|d| d.event.id.clone()));
        Ok(())
    }

    async fn healthy(&self) -> bool {
        self.unhealthy_checks.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_err()
    }
}

fn message(offset: i64, id: &str) -> OwnedMessage {
    let payload = format!(r#"{{"v":1,"id":"{id}"}}"#).into_bytes();
    OwnedMessage::new(Some(payload), Some(id.as_bytes().to_vec()), TOPIC.into(), Timestamp::NotAvailable, 0, offset, None)
}

struct Setup {
    _kafka: EmbeddedKafka,
    settings: KafkaSettings,
    publisher: Publisher,
    options: ConsumerOptions,
}

fn setup() -> Setup {
    let kafka = EmbeddedKafka::start(&admin::all_topics(), 1).expect("embedded Kafka");
    let settings = KafkaSettings {
        brokers: kafka.bootstrap_servers().to_owned(),
        retry_budget: 3,
        retry_backoff_ms: 1,
        ..KafkaSettings::default()
    };
    let publisher = Publisher::new(&settings).expect("publisher");
    let options = ConsumerOptions::new(&settings, TOPIC, "step-test");
    Setup { _kafka: kafka, settings, publisher, options }
}

/// The dead letters written so far: (key, class header, error header).
async fn dead_letters(settings: &KafkaSettings, expected: usize) -> Vec<(String, String, String)> {
    let consumer: StreamConsumer = runtime::kafka::client_config(settings)
        .set("group.id", "dlq-reader")
        .set("auto.offset.reset", "earliest")
        .create()
        .expect("consumer");
    consumer.subscribe(&[&contracts::topics::dead_letter(TOPIC)]).expect("subscribe");
    let mut out = Vec::new();
    while out.len() < expected {
        let message =
            tokio::time::timeout(Duration::from_secs(20), consumer.recv()).await.expect("dead letter arrives").expect("receive");
        let header = |name: &str| {
            message
                .headers()
                .and_then(|h| h.iter().find(|x| x.key == name).and_then(|x| x.value))
                .map(|v| String::from_utf8_lossy(v).into_owned())
                .unwrap_or_default()
        };
        let key = String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned();
        out.push((key, header(contracts::headers::DLQ_CLASS), header(contracts::headers::DLQ_ERROR)));
    }
    out
}

#[tokio::test]
async fn a_permanent_failure_dead_letters_only_its_message_and_the_rest_is_applied() {
    let s = setup();
    let handler = Scripted::new(&[("b", Script::Permanent)]);
    let batch = vec![message(0, "a"), message(1, "b"), message(2, "c")];
    let outcome = process_batch(&handler, &s.publisher, &s.options, batch, &CancellationToken::new()).await.expect("not stopped");
    assert_eq!(outcome, Outcome { applied: 2, dead_lettered: 1 });
    assert_eq!(*handler.applied.lock().expect("lock"), ["a", "c"]);
    let dead = dead_letters(&s.settings, 1).await;
    assert_eq!(dead, vec![("b".to_owned(), "permanent".to_owned(), "b is poison".to_owned())]);
}

#[tokio::test]
async fn a_transient_failure_that_outlasts_the_budget_while_healthy_is_dead_lettered_and_the_partition_moves_on() {
    let s = setup();
    let handler = Scripted::new(&[("stuck", Script::TransientTimes(u32::MAX)), ("blip", Script::TransientTimes(1))]);
    let batch = vec![message(0, "ok"), message(1, "stuck"), message(2, "blip")];
    let outcome = process_batch(&handler, &s.publisher, &s.options, batch, &CancellationToken::new()).await.expect("not stopped");
    assert_eq!(outcome, Outcome { applied: 2, dead_lettered: 1 });
    assert_eq!(*handler.applied.lock().expect("lock"), ["ok", "blip"], "a single transient blip is retried, not dead-lettered");
    let dead = dead_letters(&s.settings, 1).await;
    assert_eq!((dead[0].0.as_str(), dead[0].1.as_str()), ("stuck", "retry_budget_exhausted"));
    assert!(dead[0].2.contains("stuck deadlocked"), "{dead:?}");
}

#[tokio::test]
async fn an_outage_is_waited_out_without_spending_the_budget() {
    let s = setup();
    // Fails more often than the budget allows, but only while the database is "down".
    let handler = Scripted::new(&[("during-outage", Script::TransientTimes(10))]);
    handler.unhealthy_checks.store(10, Ordering::SeqCst);
    let outcome = process_batch(&handler, &s.publisher, &s.options, vec![message(0, "during-outage")], &CancellationToken::new())
        .await
        .expect("not stopped");
    assert_eq!(outcome, Outcome { applied: 1, dead_lettered: 0 }, "nothing is dead-lettered because of an outage");
}

#[tokio::test]
async fn shutdown_during_an_outage_stops_without_applying_or_dead_lettering() {
    let s = setup();
    let handler = Scripted::new(&[("x", Script::TransientTimes(u32::MAX))]);
    handler.unhealthy_checks.store(u32::MAX, Ordering::SeqCst);
    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    let step =
        tokio::spawn(async move { process_batch(&handler, &s.publisher, &s.options, vec![message(0, "x")], &shutdown).await });
    stop.cancel();
    let stopped = step.await.expect("joined");
    assert!(stopped.is_err(), "stopped: the offsets stay uncommitted and the message is redelivered");
}

/// The classification of real PostgreSQL errors: what the data provokes is permanent, a lost
/// race or an unreachable server is transient.
#[tokio::test]
async fn postgres_errors_are_classified_by_what_provokes_them() {
    use runtime::kafka::consumer::is_permanent_sql;
    use sqlx::Connection;
    let url = std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    let mut conn = sqlx::PgConnection::connect(&format!("{}/postgres", url.trim_end_matches('/'))).await.expect("PostgreSQL");
    sqlx::query("CREATE TEMP TABLE t (k text PRIMARY KEY, doc jsonb)").execute(&mut conn).await.expect("temp table");
    // An incompressible 16 kB key does not fit a btree index row (54000).
    let long: String = (0..500).map(|_| uuid::Uuid::new_v4().simple().to_string()).collect();
    let too_large = sqlx::query("INSERT INTO t (k) VALUES ($1)").bind(&long).execute(&mut conn).await.expect_err("too large");
    let nul = sqlx::query("INSERT INTO t (k, doc) VALUES ('n', $1::jsonb)")
        .bind(r#"{"text":"a\u0000b"}"#)
        .execute(&mut conn)
        .await
        .expect_err("NUL in jsonb");
    sqlx::query("INSERT INTO t (k) VALUES ('dup')").execute(&mut conn).await.expect("first");
    let race = sqlx::query("INSERT INTO t (k) VALUES ('dup')").execute(&mut conn).await.expect_err("unique violation");
    let unreachable = sqlx::PgConnection::connect("postgres://postgres@127.0.0.1:1/postgres").await.expect_err("no server");
    assert!(is_permanent_sql(&too_large), "{too_large}");
    assert!(is_permanent_sql(&nul), "{nul}");
    assert!(!is_permanent_sql(&race), "a concurrent insert of the same key is retried: {race}");
    assert!(!is_permanent_sql(&unreachable), "{unreachable}");
}

/// An operator lists the dead letters with their reasons and replays them (or those of one
/// class) into the topic they came from; a replay of everything is remembered.
#[tokio::test(flavor = "multi_thread")]
async fn dead_letters_are_listed_with_their_reason_and_replayed_into_their_topic_once() {
    use runtime::kafka::dead_letters;
    let s = setup();
    let handler = Scripted::new(&[("poison", Script::Permanent), ("stuck", Script::TransientTimes(u32::MAX))]);
    let batch = vec![message(0, "poison"), message(1, "stuck"), message(2, "fine")];
    process_batch(&handler, &s.publisher, &s.options, batch, &CancellationToken::new()).await.expect("not stopped");

    let dlq = contracts::topics::dead_letter(TOPIC);
    let listed = dead_letters::list(&s.settings, &dlq).expect("listed");
    let mut seen: Vec<(Option<String>, Option<String>)> = listed.iter().map(|l| (l.key.clone(), l.class.clone())).collect();
    seen.sort();
    assert_eq!(
        seen,
        [(Some("poison".into()), Some("permanent".into())), (Some("stuck".into()), Some("retry_budget_exhausted".into()))]
    );
    assert!(listed.iter().all(|l| l.origin_topic.as_deref() == Some(TOPIC) && l.error.is_some()));

    let replayed = dead_letters::replay(&s.settings, &dlq, Some("retry_budget_exhausted")).await.expect("replayed");
    assert_eq!(replayed.iter().map(|l| l.key.clone()).collect::<Vec<_>>(), [Some("stuck".to_owned())]);
    let consumer: StreamConsumer = runtime::kafka::client_config(&s.settings)
        .set("group.id", "origin-reader")
        .set("auto.offset.reset", "earliest")
        .create()
        .expect("consumer");
    consumer.subscribe(&[TOPIC]).expect("subscribe");
    let back =
        tokio::time::timeout(Duration::from_secs(20), consumer.recv()).await.expect("replayed message arrives").expect("receive");
    assert_eq!(back.key(), Some(b"stuck".as_slice()));
    assert!(back.headers().is_none_or(|h| h.iter().all(|x| !x.key.starts_with("dlq-"))), "the dlq headers are not replayed");
    let all = dead_letters::replay(&s.settings, &dlq, None).await.expect("replayed");
    assert_eq!(all.len(), 2, "a filtered replay leaves every letter for a later one: {all:?}");
    let again = dead_letters::replay(&s.settings, &dlq, None).await.expect("replayed");
    assert!(again.is_empty(), "a replay sends only what was dead-lettered since the last one: {again:?}");
}
