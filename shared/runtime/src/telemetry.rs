//! Logs and traces: JSON (or pretty) logs through `tracing`, OpenTelemetry spans exported over
//! OTLP/HTTP when an endpoint is configured, W3C trace context as the propagation format
//! (into Kafka headers by [`crate::kafka::headers`]).

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::settings::{LogFormat, TelemetrySettings};

/// Flushes pending spans when dropped at the end of `main`.
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take() {
            if let Err(error) = provider.shutdown() {
                eprintln!("flushing traces failed: {error}");
            }
        }
    }
}

/// Installs the global subscriber. Call once, first thing in `main`.
pub fn init(service_name: &'static str, settings: &TelemetrySettings) -> anyhow::Result<TelemetryGuard> {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let filter = EnvFilter::try_from_default_env().or_else(|_| EnvFilter::try_new(&settings.log_filter))?;
    let fmt = match settings.log_format {
        LogFormat::Json => tracing_subscriber::fmt::layer().json().with_current_span(true).with_writer(std::io::stderr).boxed(),
        LogFormat::Pretty => tracing_subscriber::fmt::layer().compact().with_writer(std::io::stderr).boxed(),
    };
    let provider = match &settings.otlp_endpoint {
        Some(endpoint) => {
            let exporter = opentelemetry_otlp::SpanExporter::builder().with_http().with_endpoint(endpoint.clone()).build()?;
            Some(tracer_provider(service_name, exporter))
        }
        None => None,
    };
    let otel = provider.as_ref().map(|p| tracing_opentelemetry::layer().with_tracer(p.tracer(service_name)).boxed());
    tracing_subscriber::registry().with(filter).with(fmt).with(otel).try_init()?;
    if let Some(provider) = &provider {
        opentelemetry::global::set_tracer_provider(provider.clone());
    }
    Ok(TelemetryGuard { provider })
}

/// A tracer provider with a batch exporter and this service's name as resource.
pub fn tracer_provider<E>(service_name: &'static str, exporter: E) -> SdkTracerProvider
where
    E: opentelemetry_sdk::trace::SpanExporter + 'static,
{
    SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(Resource::builder().with_service_name(service_name).build())
        .build()
}
