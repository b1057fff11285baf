//! The timeline: consumes `interactions.resolved`, stores every interaction per contact and
//! serves the Timeline API.

pub mod config;
pub mod consumer;
pub mod http;
pub mod store;

use std::sync::Arc;

use anyhow::Context;
use runtime::http::{JwtVerifier, Readiness};
use runtime::kafka::{consumer as kafka_consumer, ConsumerOptions, Publisher};
use runtime::shutdown::CancellationToken;
use runtime::{Running, Settings};

pub use config::Config;

/// The timeline's own PostgreSQL schema.
pub const SCHEMA: &str = "timeline";
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Connects, migrates and starts the consumer and the Timeline API.
pub async fn start(settings: &Settings<Config>, publisher: Publisher, shutdown: CancellationToken) -> anyhow::Result<Running> {
    let pool = runtime::db::connect(&settings.database, SCHEMA, &MIGRATOR).await?;
    let verifier = Arc::new(JwtVerifier::new(&settings.auth).context("timeline")?);
    let routes = http::router(http::ApiState { pool: pool.clone(), verifier });
    let readiness = Readiness { database: Some(pool.clone()), kafka: Some(publisher.clone()) };
    let (addr, server) = runtime::http::serve("timeline", settings.service.http.bind, routes, readiness, shutdown.clone()).await?;

    let mut running = Running::new("timeline").with_http(addr);
    running.spawn(async move { server.await? });
    let handler = Arc::new(consumer::StoreBatch { pool });
    let options = ConsumerOptions::new(&settings.kafka, contracts::topics::INTERACTIONS_RESOLVED, "timeline");
    let kafka = settings.kafka.clone();
    running.spawn(async move { kafka_consumer::run(&kafka, options, handler, publisher, shutdown).await });
    Ok(running)
}
