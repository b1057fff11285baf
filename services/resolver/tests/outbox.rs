//! The outbox relay's step (`outbox::relay_once`) on a real database and Kafka: an event Kafka
//! refuses for good is quarantined and the others go out, in order per contact, exactly once.

use std::time::Duration;

use contracts::topics;
use rdkafka::message::Message;
use runtime::kafka::Publisher;
use serde_json::json;
use testkit::{fresh_database, TestKafka};

async fn enqueue(pool: &sqlx::PgPool, key: &str, payload: serde_json::Value) -> i64 {
    sqlx::query_scalar("INSERT INTO outbox (topic, key, event_type, payload) VALUES ($1, $2, 'contact.changed', $3) RETURNING id")
        .bind(topics::CONTACTS_CHANGES)
        .bind(key)
        .bind(payload)
        .fetch_one(pool)
        .await
        .expect("enqueued")
}

#[tokio::test]
async fn an_event_kafka_refuses_is_quarantined_and_the_rest_goes_out_in_order_exactly_once() {
    let (kafka, db) = (TestKafka::start().await, fresh_database());
    let pool = runtime::db::connect(&db, resolver::SCHEMA, &resolver::MIGRATOR).await.expect("migrated");
    let publisher = Publisher::new(&kafka.settings).expect("publisher");
    let reader = kafka.reader(topics::CONTACTS_CHANGES);

    // One contact's events before and after one that no broker accepts (over 1 MB), and another
    // contact's event behind them.
    let first = enqueue(&pool, "acme|c1", json!({"n": 1})).await;
    let huge = enqueue(&pool, "acme|c1", json!({"n": 2, "name": "x".repeat(1_100_000)})).await;
    let after = enqueue(&pool, "acme|c1", json!({"n": 3})).await;
    let other = enqueue(&pool, "acme|c2", json!({"n": 4})).await;

    let round = resolver::outbox::relay_once(&pool, &publisher).await.expect("relayed");
    assert_eq!((round.published, round.quarantined, round.deferred), (3, 1, 0));
    let again = resolver::outbox::relay_once(&pool, &publisher).await.expect("relayed");
    assert_eq!(again.published + again.quarantined, 0, "an acknowledged event is never published again");

    let messages = reader.take(3, Duration::from_secs(20)).await;
    let of_c1: Vec<i64> = messages
        .iter()
        .filter(|m| m.key() == Some(b"acme|c1".as_slice()))
        .map(|m| testkit::json(m)["n"].as_i64().unwrap_or_default())
        .collect();
    assert_eq!(of_c1, [1, 3], "one contact's events in commit order, without the refused one");

    let quarantined = resolver::outbox::quarantined(&pool, "acme").await.expect("listed");
    assert_eq!(quarantined.iter().map(|q| q.id).collect::<Vec<_>>(), [huge]);
    assert!(quarantined[0].error.as_deref().is_some_and(|e| e.contains("MessageSizeTooLarge")), "{quarantined:?}");
    assert!(resolver::outbox::quarantined(&pool, "globex").await.expect("listed").is_empty(), "tenants see their own");

    let cleared: i64 =
        sqlx::query_scalar("SELECT count(*) FROM outbox WHERE id = ANY($1) AND published_at IS NOT NULL AND payload IS NULL")
            .bind(vec![first, after, other])
            .fetch_one(&pool)
            .await
            .expect("counted");
    assert_eq!(cleared, 3, "a published row keeps only its metadata");

    // Re-queued (after raising a broker limit, say): tried again, and quarantined again here.
    assert!(resolver::outbox::requeue(&pool, "acme", huge).await.expect("requeued"));
    let retried = resolver::outbox::relay_once(&pool, &publisher).await.expect("relayed");
    assert_eq!((retried.published, retried.quarantined), (0, 1));
}
