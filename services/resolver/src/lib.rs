//! The resolver: consumes `interactions.ingested` ([`consumer`]), attaches each interaction to
//! one contact ([`resolution`]: the rules, pure, and their SQL), publishes
//! `interactions.resolved`, records every contact change in the outbox ([`changes`]) and relays
//! it to `contacts.changes`/`contacts.snapshot` ([`outbox`]), and serves the Directory API
//! ([`directory`], one module per resource).

pub mod changes;
pub mod config;
pub mod consumer;
pub mod directory;
pub mod outbox;
pub mod resolution;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use runtime::http::{JwtVerifier, Readiness};
use runtime::kafka::{consumer as kafka_consumer, ConsumerOptions, Publisher};
use runtime::shutdown::CancellationToken;
use runtime::{Running, Settings};

pub use config::Config;

/// The resolver's own PostgreSQL schema.
pub const SCHEMA: &str = "resolver";
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Connects, migrates and starts the consumer, the outbox relay and the Directory API (with the
/// operator console unless `console.enabled` is off).
pub async fn start(settings: &Settings<Config>, publisher: Publisher, shutdown: CancellationToken) -> anyhow::Result<Running> {
    Ok(start_with_api(settings, publisher, shutdown).await?.0)
}

/// [`start`], also handing back the Directory API's routes ([`directory::api_routes`]), so that
/// `contactd` can serve them beside the Timeline API's on one origin for its console.
pub async fn start_with_api(
    settings: &Settings<Config>,
    publisher: Publisher,
    shutdown: CancellationToken,
) -> anyhow::Result<(Running, axum::Router)> {
    let config = &settings.service;
    let pool = runtime::db::connect(&settings.database, SCHEMA, &MIGRATOR).await?;
    let default_region = config.default_region.as_deref().map(identity::Region::parse).transpose()?;
    let defaults = resolution::rules::TenantRules {
        default_region,
        auto_create: config.auto_create,
        shared_value_limit: config.shared_value_limit,
        max_per_kind: config.max_per_kind,
        auto_merge: config.auto_merge,
        typed_enrichment: config.typed_enrichment,
        weak_landlines: config.weak_landlines,
        phone_recycle_after_days: config.phone_recycle_after_days,
        ..Default::default()
    };
    let handler =
        Arc::new(consumer::ResolveBatch { pool: pool.clone(), publisher: publisher.clone(), defaults: defaults.clone() });
    let verifier = Arc::new(JwtVerifier::new(&settings.auth).context("resolver")?);

    let state = directory::ApiState { pool: pool.clone(), verifier, defaults: Arc::new(defaults) };
    let api = directory::api_routes(state.clone());
    let mut routes = directory::router(state);
    if config.console.enabled {
        let client = console::ClientConfig::new(&config.console, console::SignIn::from_settings(&config.console))?;
        routes = routes.merge(console::router(&client)?);
    }
    let readiness = Readiness { database: Some(pool.clone()), kafka: Some(publisher.clone()) };
    let mut running = runtime::http::server::start("resolver", &config.http, routes, readiness, shutdown.clone()).await?;
    let options = ConsumerOptions::new(&settings.kafka, contracts::topics::INTERACTIONS_INGESTED, consumer::CONSUMER);
    let kafka = settings.kafka.clone();
    let (consumer_publisher, consumer_shutdown) = (publisher.clone(), shutdown.clone());
    running.spawn(async move { kafka_consumer::run(&kafka, options, handler, consumer_publisher, consumer_shutdown).await });
    let poll = Duration::from_millis(config.outbox_poll_ms);
    let retention = Duration::from_secs(config.outbox_retention_secs);
    running.spawn(outbox::run(pool, publisher, poll, retention, shutdown));
    Ok((running, api))
}
