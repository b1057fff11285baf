//! The HTTP server every service runs: its own routes plus `/healthz` (process alive),
//! `/readyz` (database and Kafka answer) and `/metrics` (Prometheus text), request metrics and
//! a request span, and graceful shutdown on the service's cancellation token.

use std::net::SocketAddr;
use std::time::Instant;

use anyhow::Context;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::json;
use sqlx::PgPool;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::metrics as names;
use crate::kafka::Publisher;
use crate::settings::HttpSettings;

/// What `/readyz` checks.
#[derive(Clone)]
pub struct Readiness {
    pub database: Option<PgPool>,
    pub kafka: Option<Publisher>,
}

/// Binds `http.bind`, serves `routes` plus the operational endpoints until `shutdown` is
/// cancelled. Request bodies read by extractors are limited to `http.body_limit_bytes`.
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
        .layer(DefaultBodyLimit::max(http.body_limit_bytes))
        .layer(middleware::from_fn(move |req, next| observe(service, req, next)));
    let bind = http.bind;
    let listener = tokio::net::TcpListener::bind(bind).await.with_context(|| format!("{service}: binding {bind}"))?;
    let addr = listener.local_addr()?;
    tracing::info!(service, %addr, "http listening");
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await
            .with_context(|| format!("{service}: http server"))
    });
    Ok((addr, task))
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
