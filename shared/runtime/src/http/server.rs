//! The HTTP server every service runs: its own routes plus `/healthz` (process alive),
//! `/readyz` (database and Kafka answer) and `/metrics` (Prometheus text), request metrics and
//! a request span, and graceful shutdown on the service's cancellation token.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use serde_json::json;
use sqlx::PgPool;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tower_http::timeout::TimeoutLayer;
use tracing::Instrument;

use super::metrics as names;
use super::problem::problem;
use crate::kafka::Publisher;
use crate::settings::HttpSettings;

/// What `/readyz` checks.
#[derive(Clone)]
pub struct Readiness {
    pub database: Option<PgPool>,
    pub kafka: Option<Publisher>,
}

/// Binds `http.bind`, serves `routes` plus the operational endpoints until `shutdown` is
/// cancelled, then lets the requests in flight finish (at most [`DRAIN`]). Every answer the
/// service itself does not give — an unknown route, a wrong method, a control character in the
/// path, a request that takes too long — is problem+json too. Request bodies read by extractors
/// are limited to `http.body_limit_bytes`; a client must send its headers within
/// `http.header_read_timeout_ms` (which also closes idle kept-alive connections); at most
/// `http.max_connections` are served at once.
pub async fn serve<const BODY_LIMIT: usize>(
    service: &'static str,
    http: &HttpSettings<BODY_LIMIT>,
    routes: Router,
    readiness: Readiness,
    shutdown: CancellationToken,
) -> anyhow::Result<(SocketAddr, JoinHandle<anyhow::Result<()>>)> {
    let metrics = names::handle();
    let app = routes
        .route("/healthz", get(|| async { axum::Json(json!({ "status": "ok" })) }))
        .route("/readyz", get(ready).with_state(readiness))
        .route("/metrics", get(move || std::future::ready(metrics.render())))
        .fallback(|| async { problem(StatusCode::NOT_FOUND, "no such resource") })
        .method_not_allowed_fallback(|| async { problem(StatusCode::METHOD_NOT_ALLOWED, "method not allowed on this resource") })
        .layer(DefaultBodyLimit::max(http.body_limit_bytes))
        .layer(middleware::from_fn(refuse_control_characters_in_path))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, Duration::from_millis(http.request_timeout_ms)))
        .layer(middleware::from_fn(problem_on_timeout))
        .layer(middleware::from_fn(move |req, next| observe(service, req, next)));
    let bind = http.bind;
    let listener = tokio::net::TcpListener::bind(bind).await.with_context(|| format!("{service}: binding {bind}"))?;
    let addr = listener.local_addr()?;
    tracing::info!(service, %addr, "http listening");
    let limits = Limits {
        header_read_timeout: Duration::from_millis(http.header_read_timeout_ms.max(1)),
        max_connections: http.max_connections.max(1),
    };
    let task = tokio::spawn(accept(service, listener, app, limits, shutdown));
    Ok((addr, task))
}

/// How long a stopping server waits for the requests in flight.
pub const DRAIN: Duration = Duration::from_secs(30);

#[derive(Clone, Copy)]
struct Limits {
    header_read_timeout: Duration,
    max_connections: usize,
}

/// The accept loop: one HTTP/1.1 connection task per client (within the connection limit),
/// each watched for a graceful shutdown.
async fn accept(
    service: &'static str,
    listener: tokio::net::TcpListener,
    app: Router,
    limits: Limits,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let connections = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    loop {
        let (stream, _peer) = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait a moment rather than spin.
                    tracing::warn!(service, %error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = Arc::clone(&connections).try_acquire_owned() else {
            metrics::counter!(names::HTTP_CONNECTIONS_REFUSED, "service" => service).increment(1);
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read_timeout)
            .keep_alive(true)
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(app.clone()));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // Errors here are the client's (reset, timed out reading headers): nothing to do.
            let _ = connection.await;
            drop(permit);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(DRAIN) => tracing::warn!(service, "requests still in flight after the drain period; closing"),
    }
    Ok(())
}

/// [`serve`] wrapped as a started service: its address and the server task.
pub async fn start<const BODY_LIMIT: usize>(
    service: &'static str,
    http: &HttpSettings<BODY_LIMIT>,
    routes: Router,
    readiness: Readiness,
    shutdown: CancellationToken,
) -> anyhow::Result<crate::Running> {
    let (addr, server) = serve(service, http, routes, readiness, shutdown).await?;
    let mut running = crate::Running::new(service).with_http(addr);
    running.spawn(async move { server.await? });
    Ok(running)
}

async fn ready(State(readiness): State<Readiness>) -> Response {
    let database = match &readiness.database {
        Some(pool) => Some(crate::db::ping(pool).await),
        None => None,
    };
    let kafka = match &readiness.kafka {
        Some(publisher) => Some(publisher.ping().await),
        None => None,
    };
    let ok = database.unwrap_or(true) && kafka.unwrap_or(true);
    let status = if ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, axum::Json(json!({ "ready": ok, "database": database, "kafka": kafka }))).into_response()
}

async fn observe(service: &'static str, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let route = req.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let span = tracing::info_span!("http", service, %method, route = %route, status = tracing::field::Empty);
    let response = next.run(req).instrument(span.clone()).await;
    let status = response.status().as_u16().to_string();
    span.record("status", status.as_str());
    let labels = [("service", service.to_owned()), ("method", method.to_string()), ("route", route), ("status", status)];
    metrics::counter!(names::HTTP_REQUESTS, &labels).increment(1);
    metrics::histogram!(names::HTTP_DURATION, &labels[..3]).record(started.elapsed().as_secs_f64());
    response
}

/// A percent-encoded control character (`%00`, `%0A`, …) in the path is never part of a valid
/// resource name: refused before routing, so no handler sees one.
async fn refuse_control_characters_in_path(req: Request, next: Next) -> Response {
    let decoded = percent_encoding::percent_decode_str(req.uri().path()).collect::<Vec<u8>>();
    if decoded.iter().any(u8::is_ascii_control) {
        return problem(StatusCode::BAD_REQUEST, "the path contains a control character");
    }
    next.run(req).await
}

/// The timeout layer answers with an empty 408; give it the problem+json body every error has.
async fn problem_on_timeout(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    if response.status() == StatusCode::REQUEST_TIMEOUT && response.headers().get(axum::http::header::CONTENT_TYPE).is_none() {
        return problem(StatusCode::REQUEST_TIMEOUT, "the request took too long");
    }
    response
}
