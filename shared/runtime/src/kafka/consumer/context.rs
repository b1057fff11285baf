//! What the consumer reports of itself from librdkafka's callbacks: lag per partition and the
//! partitions each instance holds.

use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, ConsumerContext, Rebalance};

use crate::http::metrics as names;

/// Publishes librdkafka's per-partition consumer lag (from its statistics) as a gauge, so
/// autoscalers and dashboards see how far behind each consumer group is, and how many
/// partitions each instance of the group holds after a rebalance (an idle instance shows 0).
pub struct LagReporter {
    group: String,
    /// Tells this consumer apart from the group's other instances in the assignment gauge.
    instance: String,
}

impl LagReporter {
    pub fn new(group: &str) -> Self {
        Self { group: group.to_owned(), instance: uuid::Uuid::new_v4().simple().to_string()[..8].to_owned() }
    }
}

impl ClientContext for LagReporter {
    fn stats(&self, statistics: rdkafka::Statistics) {
        for (topic, stats) in statistics.topics {
            for (partition, stats) in stats.partitions {
                // -1 means unknown (not assigned here, or no committed offset yet).
                if partition >= 0 && stats.consumer_lag >= 0 {
                    let labels = [("group", self.group.clone()), ("topic", topic.clone()), ("partition", partition.to_string())];
                    metrics::gauge!(names::CONSUMER_LAG, &labels).set(stats.consumer_lag as f64);
                }
            }
        }
    }
}

impl ConsumerContext for LagReporter {
    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let assigned = match rebalance {
            Rebalance::Assign(partitions) => partitions.count(),
            Rebalance::Revoke(_) => 0,
            Rebalance::Error(error) => {
                tracing::warn!(group = %self.group, %error, "rebalance failed");
                return;
            }
        };
        tracing::info!(group = %self.group, instance = %self.instance, assigned, "partitions assigned");
        let labels = [("group", self.group.clone()), ("instance", self.instance.clone())];
        metrics::gauge!(names::CONSUMER_ASSIGNED, &labels).set(assigned as f64);
    }
}
