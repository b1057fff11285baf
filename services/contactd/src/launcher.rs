//! Starts every service in this process on one Kafka (embedded mock cluster unless
//! `KAFKA_BROKERS` is set) and one PostgreSQL database (each service in its own schema).

use std::net::SocketAddr;

use anyhow::Context;
use runtime::kafka::{admin, EmbeddedKafka, Publisher};
use runtime::settings::LogFormat;
use runtime::shutdown::CancellationToken;
use runtime::{Running, Settings};
use secrecy::SecretString;
use serde::Deserialize;

/// The `[service]` part of `contactd`'s settings: one section per service.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Services {
    pub messenger: channel_messenger::Config,
    pub resolver: resolver::Config,
    pub timeline: timeline::Config,
}

/// Development values used when nothing is configured; never use them in production.
pub const DEV_TENANT: &str = "acme";
pub const DEV_PAGE_ID: &str = "104729361234567";
pub const DEV_APP_SECRET: &str = "dev-messenger-app-secret";
pub const DEV_VERIFY_TOKEN: &str = "dev-verify-token";
const DEV_JWT_SECRET: &str = "dev-jwt-secret-change-me";

/// Loads settings and fills unset secrets and accounts with the development values.
pub fn load_settings(fixed_ports: bool) -> anyhow::Result<Settings<Services>> {
    let mut settings = Settings::<Services>::load_from_env()?;
    let messenger = &mut settings.service.messenger;
    messenger.app_secret.get_or_insert_with(|| SecretString::from(DEV_APP_SECRET));
    messenger.verify_token.get_or_insert_with(|| SecretString::from(DEV_VERIFY_TOKEN));
    if messenger.pages.0.is_empty() {
        messenger.pages.0.insert(DEV_PAGE_ID.into(), DEV_TENANT.into());
    }
    settings.auth.hs256_secret.get_or_insert_with(|| SecretString::from(DEV_JWT_SECRET));
    if fixed_ports {
        for (bind, port) in [
            (&mut settings.service.messenger.http.bind, 8081),
            (&mut settings.service.resolver.http.bind, 8082),
            (&mut settings.service.timeline.http.bind, 8083),
        ] {
            if bind.port() == 0 {
                bind.set_port(port);
            }
        }
    }
    Ok(settings)
}

/// Every service running, with the Kafka they share.
pub struct Stack {
    pub running: Running,
    pub messenger: SocketAddr,
    pub resolver: SocketAddr,
    pub timeline: SocketAddr,
    pub shutdown: CancellationToken,
    _kafka: Option<EmbeddedKafka>,
}

pub async fn start(mut settings: Settings<Services>, shutdown: CancellationToken) -> anyhow::Result<Stack> {
    let kafka = if settings.kafka.brokers.trim().is_empty() {
        let embedded = EmbeddedKafka::start(&admin::all_topics(), 3)?;
        tracing::info!(brokers = embedded.bootstrap_servers(), "embedded Kafka (librdkafka mock cluster) started");
        settings.kafka.brokers = embedded.bootstrap_servers().to_owned();
        Some(embedded)
    } else {
        admin::ensure_topics(&settings.kafka, &admin::all_topics(), 3).await.context("creating topics")?;
        None
    };
    let publisher = Publisher::new(&settings.kafka)?;
    let resolver = resolver::start(&settings.with_service(settings.service.resolver.clone()), publisher.clone(), shutdown.clone()).await?;
    let timeline = timeline::start(&settings.with_service(settings.service.timeline.clone()), publisher.clone(), shutdown.clone()).await?;
    let messenger = channel_messenger::start(&settings.service.messenger, publisher, shutdown.clone()).await?;
    let addr = |r: &Running| r.http_addr.context("service without HTTP address");
    let (messenger_addr, resolver_addr, timeline_addr) = (addr(&messenger)?, addr(&resolver)?, addr(&timeline)?);
    let mut running = Running::new("contactd");
    running.absorb(messenger);
    running.absorb(resolver);
    running.absorb(timeline);
    Ok(Stack { running, messenger: messenger_addr, resolver: resolver_addr, timeline: timeline_addr, shutdown, _kafka: kafka })
}

pub async fn serve() -> anyhow::Result<()> {
    let settings = load_settings(true)?;
    let _telemetry = runtime::telemetry::init("contactd", &settings.telemetry)?;
    let stack = start(settings, runtime::shutdown::on_signal()).await?;
    tracing::info!(messenger = %stack.messenger, resolver = %stack.resolver, timeline = %stack.timeline, "contactd serving");
    let Stack { running, _kafka, .. } = stack;
    running.wait().await
}

/// Human-readable logs at warn level (`RUST_LOG` still wins): the demo prints its own output.
pub fn quiet_telemetry(settings: &mut Settings<Services>) {
    settings.telemetry.log_format = LogFormat::Pretty;
    settings.telemetry.log_filter = "warn".into();
}
