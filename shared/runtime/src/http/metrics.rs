//! Prometheus metrics: one recorder per process, rendered at `/metrics`. Metric names are
//! defined here once.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

pub const HTTP_REQUESTS: &str = "http_requests_total";
pub const HTTP_DURATION: &str = "http_request_duration_seconds";
pub const HTTP_CONNECTIONS_REFUSED: &str = "http_connections_refused_total";
pub const KAFKA_PUBLISHED: &str = "kafka_messages_published_total";
pub const KAFKA_PUBLISH_FAILED: &str = "kafka_messages_publish_failed_total";
pub const EVENTS_CONSUMED: &str = "events_consumed_total";
pub const EVENTS_RETRIED: &str = "events_batch_retries_total";
pub const EVENTS_DEAD_LETTERED: &str = "events_dead_lettered_total";
pub const WEBHOOKS_REJECTED: &str = "webhooks_rejected_total";
pub const RESOLUTIONS: &str = "resolutions_total";
pub const CONSUMER_LAG: &str = "kafka_consumer_lag";
/// Partitions assigned to one consumer instance (`group`, `instance`) after the last rebalance.
pub const CONSUMER_ASSIGNED: &str = "kafka_consumer_assigned_partitions";
pub const OUTBOX_PUBLISHED: &str = "outbox_published_total";
pub const OUTBOX_QUARANTINED: &str = "outbox_quarantined_total";
pub const OUTBOX_PENDING: &str = "outbox_pending";
/// Requests refused by the bearer-token check, by reason.
pub const AUTH_REFUSED: &str = "http_auth_refused_total";

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process-wide recorder, installed on first use.
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full(HTTP_DURATION.to_owned()),
                &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5],
            )
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed; /metrics will be empty");
        }
        handle
    })
}
