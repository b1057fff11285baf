//! Traces exported over HTTPS: a test OTLP/HTTP collector serves TLS with a certificate from a
//! CA made by the test; the exporter built from `TelemetrySettings` (an `https://` endpoint and
//! `otlp_ca_cert`) delivers spans to it, and without the CA it refuses the collector.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::Duration;

use opentelemetry::trace::{Tracer as _, TracerProvider as _};
use runtime::settings::TelemetrySettings;
use testkit::tls::{ServerCert, TempDir, TestCa};

/// What the collector saw on one connection.
#[derive(Debug)]
enum Seen {
    Request { path: String, content_type: String, body: Vec<u8> },
    HandshakeFailed,
}

/// An OTLP/HTTP collector over TLS on a loopback port, answering 200 to every request.
fn collector(cert: &ServerCert) -> (u16, mpsc::Receiver<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    let acceptor = cert.acceptor();
    let (seen, received) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let Ok(tls) = acceptor.accept(stream) else {
                let _ = seen.send(Seen::HandshakeFailed);
                continue;
            };
            let mut reader = BufReader::new(tls);
            let mut request_line = String::new();
            let _ = reader.read_line(&mut request_line);
            let path = request_line.split_whitespace().nth(1).unwrap_or_default().to_owned();
            let (mut content_type, mut length) = (String::new(), 0usize);
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                let (name, value) = line.split_once(':').unwrap_or_default();
                match name.to_ascii_lowercase().as_str() {
                    "content-type" => content_type = value.trim().to_owned(),
                    "content-length" => length = value.trim().parse().unwrap_or(0),
                    _ => {}
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let _ = reader.get_mut().write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            let _ = seen.send(Seen::Request { path, content_type, body });
        }
    });
    (port, received)
}

fn export_one_span(settings: &TelemetrySettings, name: &'static str) -> opentelemetry_sdk::error::OTelSdkResult {
    let exporter = runtime::telemetry::span_exporter(settings).expect("an https endpoint is accepted").expect("configured");
    let provider = runtime::telemetry::tracer_provider("otlp-over-https", exporter);
    provider.tracer("otlp-over-https").in_span(name, |_| {});
    let flushed = provider.force_flush();
    let _ = provider.shutdown();
    flushed
}

#[test]
fn spans_reach_a_collector_over_https_that_the_configured_ca_vouches_for() {
    let ca = TestCa::new("contactd test collector CA");
    let files = TempDir::new("otlp");
    let (port, seen) = collector(&ca.server_cert());
    let settings = TelemetrySettings {
        otlp_endpoint: Some(format!("https://localhost:{port}/v1/traces")),
        otlp_ca_cert: Some(ca.write_cert(files.path(), "ca.pem")),
        ..TelemetrySettings::default()
    };
    export_one_span(&settings, "checked-over-tls").expect("exported");
    match seen.recv_timeout(Duration::from_secs(30)).expect("the collector was reached") {
        Seen::Request { path, content_type, body } => {
            assert_eq!(path, "/v1/traces");
            assert_eq!(content_type, "application/x-protobuf");
            assert!(body.windows(16).any(|w| w == b"checked-over-tls"), "the span's name is in the export");
        }
        other => panic!("expected an export, got {other:?}"),
    }
}

#[test]
fn a_collector_whose_certificate_no_trusted_ca_signed_gets_nothing() {
    let ca = TestCa::new("a CA nobody configured");
    let (port, seen) = collector(&ca.server_cert());
    let settings =
        TelemetrySettings { otlp_endpoint: Some(format!("https://localhost:{port}/v1/traces")), ..TelemetrySettings::default() };
    let _ = export_one_span(&settings, "never-delivered");
    match seen.recv_timeout(Duration::from_secs(30)).expect("the collector was contacted") {
        Seen::HandshakeFailed => {}
        other => panic!("expected the client to refuse the handshake, got {other:?}"),
    }
}

#[test]
fn an_endpoint_that_is_not_http_is_a_configuration_error() {
    let settings = TelemetrySettings { otlp_endpoint: Some("grpc://collector:4317".into()), ..TelemetrySettings::default() };
    assert!(runtime::telemetry::span_exporter(&settings).is_err());
}
