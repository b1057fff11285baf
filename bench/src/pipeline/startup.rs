//! The throughput run starts once every consumer of the stack holds its partitions. A consumer
//! group's first join waits out the broker's initial rebalance delay (about 3 s on the embedded
//! mock cluster, as with Kafka's default `group.initial.rebalance.delay.ms`): a one-time cost
//! of starting a group, which the benchmark reports apart instead of charging it to throughput.

use std::time::Duration;

use anyhow::bail;
use tokio::time::Instant;

/// The consumer groups of `contactd serve` under `prefix`.
pub fn groups(prefix: &str) -> Vec<String> {
    [resolver::consumer::CONSUMER, timeline::consumer::INTERACTIONS_CONSUMER, timeline::consumer::CHANGES_CONSUMER]
        .iter()
        .map(|consumer| format!("{prefix}.{consumer}"))
        .collect()
}

/// Waits until every group in `groups` holds partitions, as the stack's `/metrics` reports it;
/// how long that took.
pub async fn consumers_assigned(client: &reqwest::Client, metrics_url: &str, groups: &[String]) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(60);
    loop {
        let text = match client.get(metrics_url).send().await {
            Ok(response) => response.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if groups.iter().all(|group| testkit::instances_holding_partitions(&text, group) > 0) {
            return Ok(started.elapsed());
        }
        if Instant::now() >= deadline {
            bail!("the consumer groups {groups:?} did not all get partitions within 60 s");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
