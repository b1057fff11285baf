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
        if groups.iter().all(|group| holds_partitions(&text, group)) {
            return Ok(started.elapsed());
        }
        if Instant::now() >= deadline {
            bail!("the consumer groups {groups:?} did not all get partitions within 60 s");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Whether an instance of `group` holds at least one partition in a Prometheus text `metrics`.
fn holds_partitions(metrics: &str, group: &str) -> bool {
    let label = format!("group=\"{group}\"");
    metrics
        .lines()
        .filter(|line| line.starts_with(runtime::http::metrics::CONSUMER_ASSIGNED) && line.contains(&label))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .any(|assigned| assigned > 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_holds_partitions_when_one_of_its_instances_reports_some() {
        let metrics = "kafka_consumer_assigned_partitions{group=\"b.resolver\",instance=\"x\"} 0\n\
                       kafka_consumer_assigned_partitions{group=\"b.resolver\",instance=\"y\"} 3\n\
                       kafka_consumer_assigned_partitions{group=\"b.timeline\",instance=\"z\"} 0\n";
        assert!(holds_partitions(metrics, "b.resolver"));
        assert!(!holds_partitions(metrics, "b.timeline"));
        assert!(!holds_partitions(metrics, "b.timeline-changes"));
    }
}
