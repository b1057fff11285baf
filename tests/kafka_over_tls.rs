//! The pipeline over TLS: the Messenger → resolver → timeline slice on tansu behind a
//! TLS-terminating proxy whose certificate comes from a CA made by the test. Every client (the
//! publisher, the consumer loops, topic administration, the test's topic reader) connects with
//! `security.protocol=ssl` and verifies the certificate and host name; a client that trusts
//! another CA gets nothing through.

use std::time::Duration;

use contracts::topics;
use e2e::{messenger_to_timeline, Pipeline};
use runtime::kafka::Publisher;
use testkit::tls::{TempDir, TestCa};
use testkit::TestKafka;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messenger_webhooks_reach_the_timeline_through_a_broker_over_tls() {
    let pipeline = Pipeline::start(TestKafka::tansu_over_tls().await).await;
    messenger_to_timeline(&pipeline).await;
    pipeline.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_does_not_trust_the_brokers_certificate_publishes_nothing() {
    let kafka = TestKafka::tansu_over_tls().await;
    let files = TempDir::new("other-ca");
    let mut settings = kafka.settings.clone();
    let other_ca = TestCa::new("another CA").write_cert(files.path(), "other-ca.pem");
    settings.properties.insert("ssl.ca.location".into(), other_ca.to_string_lossy().into_owned());
    settings.delivery_timeout_ms = 3_000;
    let untrusting = Publisher::new(&settings).expect("publisher");
    let refused = untrusting.publish(topics::INTERACTIONS_INGESTED, "acme|tls", "test", &serde_json::json!({"v": 1})).await;
    assert!(refused.is_err(), "the broker's certificate is not from the CA this client trusts");

    let trusting = Publisher::new(&kafka.settings).expect("publisher");
    let written = trusting.publish(topics::INTERACTIONS_INGESTED, "acme|tls", "test", &serde_json::json!({"v": 1})).await;
    assert!(written.is_ok(), "{written:?}");
    let read = kafka.reader(topics::INTERACTIONS_INGESTED).take(1, Duration::from_secs(30)).await;
    assert_eq!(testkit::key(&read[0]), "acme|tls");
}
