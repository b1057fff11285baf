//! The timeline: consumes `interactions.resolved` and `contacts.changes`, keeps every contact's
//! history (interactions with their transcripts, contact-detail changes) and serves the Timeline
//! API with full-text search.
//!
//! - [`transcript`]: pure rules — folding later states into a message, summarizing a conversation;
//! - [`search`]: user text → a safe prefix `tsquery`;
//! - [`store`]: SQL (write paths of both topics, API reads);
//! - [`consumer`]: the batch steps the runtime's consumer loop runs;
//! - [`http`]: the Timeline API.

pub mod config;
pub mod consumer;
pub mod http;
pub mod search;
pub mod store;
pub mod transcript;

use std::sync::Arc;

use anyhow::Context;
use runtime::http::{JwtVerifier, Readiness};
use runtime::kafka::{consumer as kafka_consumer, ConsumerOptions, Publisher};
use runtime::shutdown::CancellationToken;
use runtime::{Running, Settings};

pub use config::{Config, ErasureMode};

/// The timeline's own PostgreSQL schema.
pub const SCHEMA: &str = "timeline";
/// The timeline's migrations, applied at start.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Connects, migrates and starts both consumers and the Timeline API.
pub async fn start(settings: &Settings<Config>, publisher: Publisher, shutdown: CancellationToken) -> anyhow::Result<Running> {
    Ok(start_with_api(settings, publisher, shutdown).await?.0)
}

/// [`start`], also handing back the Timeline API's routes ([`http::api_router`]), so that
/// `contactd` can serve them beside the Directory API's on one origin for its console.
pub async fn start_with_api(
    settings: &Settings<Config>,
    publisher: Publisher,
    shutdown: CancellationToken,
) -> anyhow::Result<(Running, axum::Router)> {
    let pool = runtime::db::connect(&settings.database, SCHEMA, &MIGRATOR).await?;
    let verifier = Arc::new(JwtVerifier::new(&settings.auth).context("timeline")?);
    let state = http::ApiState { pool: pool.clone(), verifier };
    let api = http::api_router(state.clone());
    let routes = http::router(state);
    let readiness = Readiness { database: Some(pool.clone()), kafka: Some(publisher.clone()) };
    let mut running =
        runtime::http::server::start("timeline", &settings.service.http, routes, readiness, shutdown.clone()).await?;

    let interactions = Arc::new(consumer::InteractionsHandler {
        pool: pool.clone(),
        grouping: store::interactions::Grouping::from_config(&settings.service),
    });
    let options =
        ConsumerOptions::new(&settings.kafka, contracts::topics::INTERACTIONS_RESOLVED, consumer::INTERACTIONS_CONSUMER);
    let (kafka, publisher_for_changes, shutdown_for_changes) = (settings.kafka.clone(), publisher.clone(), shutdown.clone());
    running.spawn(async move { kafka_consumer::run(&kafka, options, interactions, publisher, shutdown).await });

    let changes = Arc::new(consumer::ChangesHandler { pool, erasure: settings.service.erasure_mode });
    let options = ConsumerOptions::new(&settings.kafka, contracts::topics::CONTACTS_CHANGES, consumer::CHANGES_CONSUMER);
    let kafka = settings.kafka.clone();
    running
        .spawn(async move { kafka_consumer::run(&kafka, options, changes, publisher_for_changes, shutdown_for_changes).await });
    Ok((running, api))
}
