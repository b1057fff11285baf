//! Crash and concurrency: a resolver killed mid-batch and restarted loses and duplicates
//! nothing; two resolvers in one consumer group creating the same new identity converge on one
//! contact.

mod common;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use common::{count, id, interaction, start};
use contracts::ContactId;
use contracts::{topics, IdentityKind, InteractionEvent, ResolvedInteraction};
use runtime::kafka::Publisher;
use testkit::{decode, eventually, fresh_database, TestKafka};

async fn publish_all(publisher: &Publisher, events: &[InteractionEvent]) {
    let sends = events.iter().map(|e| publisher.publish_event(e));
    for result in futures::future::join_all(sends).await {
        result.expect("published");
    }
}

/// On the embedded cluster: tansu 0.6 never hands the partitions of a consumer that left (or
/// vanished) to the one that replaces it, so a restart cannot be tested there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resolver_killed_mid_batch_and_restarted_loses_and_duplicates_nothing() {
    const PEOPLE: usize = 300;
    const PER_PERSON: usize = 4;
    let (kafka, db) = (TestKafka::start().await, fresh_database());
    let publisher = Publisher::new(&kafka.settings).expect("publisher");
    let events: Vec<InteractionEvent> = (0..PEOPLE * PER_PERSON)
        .map(|i| interaction("acme", &format!("msg-{i}"), vec![id(IdentityKind::Psid, &format!("psid-{}", i % PEOPLE))], None))
        .collect();
    publish_all(&publisher, &events).await;

    let mut first = start(&kafka, &db, 10).await;
    let pool = testkit::pool(&db, resolver::SCHEMA).await;
    let processed_at_kill = eventually(Duration::from_secs(60), "the first resolver to make progress", || async {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM processed_interactions").fetch_one(&pool).await.unwrap_or(0);
        (n >= 100).then_some(n)
    })
    .await;
    first.running.abort();
    drop(first);
    assert!((processed_at_kill as usize) < events.len(), "the kill must land mid-stream (processed {processed_at_kill})");

    let _second = start(&kafka, &db, 10).await;
    eventually(Duration::from_secs(120), "every interaction processed after the restart", || async {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM processed_interactions").fetch_one(&pool).await.unwrap_or(0);
        (n as usize == events.len()).then_some(())
    })
    .await;

    assert_eq!(count(&pool, "SELECT count(*) FROM contacts").await as usize, PEOPLE, "one contact per person");
    assert_eq!(count(&pool, "SELECT count(*) FROM contact_identities").await as usize, PEOPLE);
    // At least once: the batch in flight at the kill may be published twice; count distinct ids.
    let distinct =
        |messages: &[rdkafka::message::OwnedMessage]| testkit::distinct_nested(messages, "interaction", "interaction_id").len();
    let resolved =
        kafka.reader(topics::INTERACTIONS_RESOLVED).until(Duration::from_secs(60), |m| distinct(m) == events.len()).await;
    let mut contact_of: HashMap<String, Option<ContactId>> = HashMap::new();
    let mut seen = HashSet::new();
    for message in resolved.iter().map(decode::<ResolvedInteraction>) {
        seen.insert(message.interaction.interaction_id);
        let psid = message.interaction.body.identities[0].value.clone();
        let contact = message.contact_id;
        assert_eq!(contact_of.entry(psid).or_insert(contact), &contact, "a person resolved to two contacts");
    }
    assert_eq!(seen.len(), events.len(), "every interaction was published as resolved");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_resolvers_creating_the_same_new_identity_at_once_converge_on_one_contact() {
    concurrent_creation(TestKafka::start().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_resolvers_in_one_group_on_a_real_broker_converge_on_one_contact() {
    concurrent_creation(TestKafka::tansu().await).await;
}

async fn concurrent_creation(kafka: TestKafka) {
    const PAIRS: usize = 150;
    let db = fresh_database();
    let publisher = Publisher::new(&kafka.settings).expect("publisher");
    // Each pair shares a phone but leads with a different e-mail, so the two events carry
    // different keys, land on different partitions and are resolved by different instances.
    let mut events = Vec::new();
    for i in 0..PAIRS {
        let phone = format!("+42077{:07}", 1_000_000 + i);
        events.push(interaction(
            "acme",
            &format!("a-{i}"),
            vec![id(IdentityKind::Email, &format!("a{i}@example.cz")), id(IdentityKind::Phone, &phone)],
            None,
        ));
        events.push(interaction(
            "acme",
            &format!("b-{i}"),
            vec![id(IdentityKind::Email, &format!("b{i}@example.cz")), id(IdentityKind::Phone, &phone)],
            None,
        ));
    }
    let (one, two) = (start(&kafka, &db, 20).await, start(&kafka, &db, 20).await);
    // Both instances in the group, each with its partitions, before the burst.
    testkit::eventually(Duration::from_secs(60), "both resolvers in a stable group", || async {
        (kafka.assigned_instances(&format!("{}/metrics", one.url), "resolver").await == 2).then_some(())
    })
    .await;
    publish_all(&publisher, &events).await;

    // A rebalance while both instances settle may publish a batch twice: count distinct ids.
    let distinct =
        |messages: &[rdkafka::message::OwnedMessage]| testkit::distinct_nested(messages, "interaction", "interaction_id").len();
    let resolved: Vec<ResolvedInteraction> = kafka
        .reader(topics::INTERACTIONS_RESOLVED)
        .until(Duration::from_secs(120), |m| distinct(m) == events.len())
        .await
        .iter()
        .map(decode)
        .collect();
    let mut contact_of_pair: HashMap<String, Option<ContactId>> = HashMap::new();
    for r in &resolved {
        let pair = r.interaction.body.provider_ref[2..].to_owned();
        let contact = r.contact_id;
        assert_eq!(contact_of_pair.entry(pair).or_insert(contact), &contact, "a shared phone split into two contacts");
    }
    let pool = testkit::pool(&db, resolver::SCHEMA).await;
    assert_eq!(count(&pool, "SELECT count(*) FROM contacts").await as usize, PAIRS);
    assert_eq!(count(&pool, "SELECT count(*) FROM contact_identities WHERE kind = 'phone'").await as usize, PAIRS);
    drop((one, two));
}
