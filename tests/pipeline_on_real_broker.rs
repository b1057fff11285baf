//! The Messenger → resolver → timeline slice on tansu, a real Kafka-protocol broker over TCP.

use e2e::{messenger_to_timeline, Pipeline};
use testkit::TestKafka;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messenger_webhooks_reach_the_timeline_through_a_real_broker() {
    let pipeline = Pipeline::start(TestKafka::tansu().await).await;
    messenger_to_timeline(&pipeline).await;
    pipeline.stop().await;
}
