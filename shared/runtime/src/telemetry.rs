//! Logs and traces: JSON (or pretty) logs through `tracing`, OpenTelemetry spans exported over
//! OTLP/HTTP (`http://` or `https://`, TLS through the system OpenSSL with the system's roots
//! plus `telemetry.otlp_ca_cert`) when an endpoint is configured, W3C trace context as the
//! propagation format (into Kafka headers by [`crate::kafka::headers`]).

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
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
    let provider = span_exporter(settings)?.map(|exporter| tracer_provider(service_name, exporter));
    let otel = provider.as_ref().map(|p| tracing_opentelemetry::layer().with_tracer(p.tracer(service_name)).boxed());
    tracing_subscriber::registry().with(filter).with(fmt).with(otel).try_init()?;
    if let Some(provider) = &provider {
        opentelemetry::global::set_tracer_provider(provider.clone());
    }
    Ok(TelemetryGuard { provider })
}

/// The OTLP/HTTP span exporter of `settings`, `None` when no endpoint is configured.
pub fn span_exporter(settings: &TelemetrySettings) -> anyhow::Result<Option<opentelemetry_otlp::SpanExporter>> {
    let Some(endpoint) = &settings.otlp_endpoint else { return Ok(None) };
    anyhow::ensure!(
        endpoint.starts_with("https://") || endpoint.starts_with("http://"),
        "telemetry.otlp_endpoint must be an http:// or https:// URL"
    );
    let mut builder = opentelemetry_otlp::SpanExporter::builder().with_http().with_endpoint(endpoint.clone());
    if let Some(ca) = &settings.otlp_ca_cert {
        builder = builder.with_http_client(client_trusting(ca)?);
    }
    Ok(Some(builder.build().context("building the OTLP exporter")?))
}

/// The exporter's blocking HTTP client, trusting `ca` besides the system's roots. Built on a
/// thread of its own, as the exporter builds its default one: a blocking client must not be
/// created or dropped on an async runtime's thread.
fn client_trusting(ca: &Path) -> anyhow::Result<reqwest::blocking::Client> {
    let pem = std::fs::read(ca).with_context(|| format!("telemetry.otlp_ca_cert: reading {}", ca.display()))?;
    let certificate = reqwest::Certificate::from_pem(&pem).context("telemetry.otlp_ca_cert is not a PEM certificate")?;
    std::thread::spawn(move || {
        reqwest::blocking::Client::builder().timeout(Duration::from_secs(10)).add_root_certificate(certificate).build()
    })
    .join()
    .map_err(|_| anyhow::anyhow!("building the OTLP HTTP client panicked"))?
    .context("building the OTLP HTTP client")
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
