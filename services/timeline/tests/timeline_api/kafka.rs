//! The whole service on Kafka (the embedded mock cluster, or `TEST_KAFKA_BROKERS`): both
//! consumer loops apply what is published and commit it, the API answers over a socket, and a
//! restart on fresh consumer groups replays both topics without changing a row. "Applied" is
//! the consumer groups' committed offsets reaching the end of both topics — the loop commits only
//! after the database did — so nothing waits for a quiet period.

use std::time::Duration;

use contracts::api::timeline::{Item, TimelinePage};
use contracts::{topics, ContactChangeKind};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use runtime::http::auth::Role;
use runtime::kafka::Publisher;
use runtime::settings::KafkaSettings;
use runtime::shutdown::CancellationToken;
use runtime::Running;
use testkit::{eventually, TestKafka};
use timeline::consumer::{CHANGES_CONSUMER, INTERACTIONS_CONSUMER};
use timeline::Config;
use uuid::Uuid;

use crate::support::*;

async fn start(kafka: &TestKafka, database: &testkit::TestDatabase, group_prefix: &str) -> (Running, CancellationToken) {
    let mut settings = kafka.settings_for(database, Config::default());
    settings.kafka.group_prefix = group_prefix.to_owned();
    let shutdown = CancellationToken::new();
    let publisher = Publisher::new(&kafka.settings).expect("publisher");
    (timeline::start(&settings, publisher, shutdown.clone()).await.expect("timeline starts"), shutdown)
}

/// Whether `group` has committed every message of `topic` (blocking client calls).
fn consumed(kafka: &KafkaSettings, group: &str, topic: &str) -> bool {
    let timeout = Duration::from_secs(5);
    let consumer: BaseConsumer = runtime::kafka::client_config(kafka).set("group.id", group).create().expect("consumer");
    let Ok(metadata) = consumer.fetch_metadata(Some(topic), timeout) else { return false };
    let partitions: Vec<i32> = metadata.topics().iter().flat_map(|t| t.partitions().iter().map(|p| p.id())).collect();
    let mut wanted = TopicPartitionList::new();
    for &partition in &partitions {
        wanted.add_partition(topic, partition);
    }
    let Ok(committed) = consumer.committed_offsets(wanted, timeout) else { return false };
    partitions.iter().all(|&partition| {
        let Ok((_, end)) = consumer.fetch_watermarks(topic, partition, timeout) else { return false };
        let done = match committed.find_partition(topic, partition).map(|e| e.offset()) {
            Some(Offset::Offset(offset)) => offset,
            _ => 0,
        };
        done >= end
    })
}

/// Waits until both consumer groups of `prefix` have applied and committed everything published.
async fn caught_up(kafka: &TestKafka, prefix: &str) {
    let groups = [(INTERACTIONS_CONSUMER, topics::INTERACTIONS_RESOLVED), (CHANGES_CONSUMER, topics::CONTACTS_CHANGES)];
    for (consumer, topic) in groups {
        let group = format!("{prefix}.{consumer}");
        eventually(Duration::from_secs(60), &format!("{group} to commit all of {topic}"), || {
            let (settings, group) = (kafka.settings.clone(), group.clone());
            async move { tokio::task::spawn_blocking(move || consumed(&settings, &group, topic)).await.expect("joined").then_some(()) }
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_consumer_loops_apply_and_commit_and_a_replay_on_fresh_groups_changes_nothing() {
    let kafka = TestKafka::start().await;
    let database = testkit::fresh_database();
    let (running, shutdown) = start(&kafka, &database, &kafka.settings.group_prefix).await;
    let url = format!("http://{}", running.http_addr.expect("http"));
    let service = tokio::spawn(running.wait());

    let publisher = Publisher::new(&kafka.settings).expect("publisher");
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    let messages = [
        msg(a, "k.1", 0).text("Dobrý den"),
        msg(a, "k.2", 60).outbound().text("Dobrý den, jak pomohu?"),
        msg(b, "k.3", 30).text("Jiný zákazník"),
    ];
    for item in messages.iter().map(Msg::resolved) {
        publisher.publish_event(&item).await.expect("published");
    }
    let mut merge = change(a, ContactChangeKind::Merged, 120);
    merge.related_contact_id = Some(b.into());
    for change in [change(a, ContactChangeKind::Created, -60), merge] {
        publisher.publish_event(&change).await.expect("published");
    }
    caught_up(&kafka, &kafka.settings.group_prefix).await;

    let page: TimelinePage = testkit::http()
        .get(format!("{url}/v1/contacts/{a}/timeline"))
        .bearer_auth(testkit::token("acme", Role::Operator))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("a timeline page");
    assert_eq!(
        kinds(&page.items),
        ["event:merged", "interaction:Jiný zákazník", "interaction:Dobrý den", "event:created"],
        "the conversation, the merged contact's message and both changes"
    );
    assert_eq!(page.items.iter().filter_map(Item::as_interaction).map(|i| i.message_count).collect::<Vec<_>>(), [1, 2]);
    let pool = testkit::pool(&database, timeline::SCHEMA).await;
    let before = snapshot(&pool).await;

    shutdown.cancel();
    service.await.expect("joined").expect("stopped cleanly");
    let replay = format!("replay-{}", Uuid::new_v4().simple());
    let (running, shutdown) = start(&kafka, &database, &replay).await;
    let service = tokio::spawn(running.wait());
    caught_up(&kafka, &replay).await;
    assert_eq!(snapshot(&pool).await, before, "the replay of both topics changed rows");
    shutdown.cancel();
    service.await.expect("joined").expect("stopped cleanly");
}
