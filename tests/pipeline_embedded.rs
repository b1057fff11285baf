//! The Messenger → resolver → timeline slice on the embedded mock cluster.

use e2e::{messenger_to_timeline, Pipeline};
use testkit::TestKafka;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messenger_webhooks_reach_the_timeline_on_the_embedded_kafka() {
    let pipeline = Pipeline::start(TestKafka::start().await).await;
    messenger_to_timeline(&pipeline).await;
    pipeline.stop().await;
}
