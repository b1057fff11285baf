//! W3C trace context carried in Kafka message headers, so one webhook's trace spans the adapter,
//! the resolver and the timeline.

use opentelemetry::propagation::{Extractor, Injector};
use rdkafka::message::{Header, Headers, OwnedHeaders};
use tracing_opentelemetry::OpenTelemetrySpanExt;

struct HeaderWriter(Vec<(String, String)>);

impl Injector for HeaderWriter {
    fn set(&mut self, key: &str, value: String) {
        self.0.push((key.to_owned(), value));
    }
}

struct HeaderReader<'a, H: Headers>(&'a H);

impl<H: Headers> Extractor for HeaderReader<'_, H> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|h| h.key == key).and_then(|h| h.value).and_then(|v| std::str::from_utf8(v).ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.iter().map(|h| h.key).collect()
    }
}

/// Adds the current span's trace context to `headers`.
pub fn inject_current_context(mut headers: OwnedHeaders) -> OwnedHeaders {
    let context = tracing::Span::current().context();
    let mut writer = HeaderWriter(Vec::new());
    opentelemetry::global::get_text_map_propagator(|p| p.inject_context(&context, &mut writer));
    for (key, value) in &writer.0 {
        headers = headers.insert(Header { key, value: Some(value.as_bytes()) });
    }
    headers
}

/// Makes `span` a child of the trace context found in `headers` (if any).
pub fn set_parent_from<H: Headers>(span: &tracing::Span, headers: Option<&H>) {
    if let Some(headers) = headers {
        let context = opentelemetry::global::get_text_map_propagator(|p| p.extract(&HeaderReader(headers)));
        let _ = span.set_parent(context);
    }
}

/// Copies every header of `source` into a new header set.
pub fn copy<H: Headers>(source: Option<&H>) -> OwnedHeaders {
    let mut out = OwnedHeaders::new();
    if let Some(source) = source {
        for header in source.iter() {
            out = out.insert(header);
        }
    }
    out
}
