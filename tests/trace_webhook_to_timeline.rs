//! One webhook is one trace: the adapter's HTTP span, its publish, the resolver's consume and
//! publish, and the timeline's consume share a trace id, carried through Kafka headers. Spans
//! are collected with OpenTelemetry's in-memory exporter.

use std::collections::HashSet;

use e2e::{Pipeline, APP_SECRET};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use testkit::{eventually, TestKafka};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

fn attribute(span: &SpanData, key: &str) -> Option<String> {
    span.attributes.iter().find(|kv| kv.key.as_str() == key).map(|kv| kv.value.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_is_traced_through_the_resolver_to_the_timeline() {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder().with_simple_exporter(exporter.clone()).build();
    opentelemetry::global::set_text_map_propagator(opentelemetry_sdk::propagation::TraceContextPropagator::new());
    tracing_subscriber::registry()
        .with(tracing_subscriber::EnvFilter::new("info"))
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("e2e")))
        .init();

    let pipeline = Pipeline::start(TestKafka::start().await).await;
    assert_eq!(pipeline.post_fixture("text_message.json", APP_SECRET).await, 200);

    let topics_in_trace =
        eventually(std::time::Duration::from_secs(60), "the timeline to consume the traced message", || async {
            let spans = exporter.get_finished_spans().unwrap_or_default();
            let webhook =
                spans.iter().find(|s| s.name == "http" && attribute(s, "route").as_deref() == Some("/webhooks/messenger"))?;
            let trace_id = webhook.span_context.trace_id();
            let topics: HashSet<String> = spans
                .iter()
                .filter(|s| s.span_context.trace_id() == trace_id && s.name == "consume")
                .filter_map(|s| attribute(s, "topic"))
                .collect();
            (topics.len() == 2).then_some(topics)
        })
        .await;
    assert_eq!(
        topics_in_trace,
        HashSet::from([contracts::topics::INTERACTIONS_INGESTED.to_owned(), contracts::topics::INTERACTIONS_RESOLVED.to_owned()])
    );
    pipeline.stop().await;
}
