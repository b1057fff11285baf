//! Starts every service in this process on one Kafka (embedded mock cluster unless
//! `KAFKA_BROKERS` is set) and one PostgreSQL database (each service in its own schema). The
//! channel adapters share one webhook port; the resolver and the timeline keep their own; the
//! console port serves the operator console with both APIs ([`crate::console_port`]).

use std::collections::BTreeMap;
use std::net::SocketAddr;

use anyhow::Context;
use channel::AccountMap;
use runtime::http::{server, Readiness};
use runtime::kafka::{admin, EmbeddedKafka, Publisher};
use runtime::settings::{HttpSettings, LogFormat};
use runtime::shutdown::CancellationToken;
use runtime::{Running, Settings};
use secrecy::SecretString;
use serde::Deserialize;

use crate::console_port;

/// The `[service]` part of `contactd`'s settings: one section per service.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Services {
    /// The one port every channel adapter's webhook listens on in this process.
    pub webhooks: HttpSettings,
    /// The console port: the operator console and both APIs on one origin. The console's own
    /// settings are the resolver's (`[service.resolver.console]`), as in production.
    pub console: HttpSettings,
    pub messenger: channel_messenger::Config,
    pub whatsapp: channel_whatsapp::Config,
    pub vk: channel_vk::Config,
    pub apple: channel_apple::Config,
    pub webchat: channel_webchat::Config,
    pub email: channel_email::Config,
    pub voip: channel_voip::Config,
    pub resolver: resolver::Config,
    pub timeline: timeline::Config,
}

/// Development accounts and secrets used when nothing is configured; never use them in production.
pub mod dev {
    pub const TENANT: &str = "acme";
    pub const PAGE_ID: &str = "104729361234567";
    pub const META_APP_SECRET: &str = "dev-meta-app-secret";
    pub const VERIFY_TOKEN: &str = "dev-verify-token";
    pub const WHATSAPP_NUMBER_ID: &str = "106540352242922";
    pub const VK_GROUP_ID: &str = "218374651";
    pub const VK_SECRET: &str = "Zt4q9VxK2mLp";
    pub const VK_CONFIRMATION: &str = "dev-vk-confirmation";
    /// Base64 of the Apple signing key, as Apple issues it.
    pub const APPLE_SECRET_B64: &str = "ZGV2LWFwcGxlLXNpZ25pbmcta2V5";
    pub const APPLE_BUSINESS_ID: &str = "b7a4e1c2-5d3f-4a8e-9c1b-2f6d8e0a4b7c";
    pub const WEBCHAT_SITE: &str = "eshop-cz";
    pub const WEBCHAT_SECRET: &str = "dev-webchat-secret";
    pub const MAIL_RELAY_TOKEN: &str = "dev-mail-relay-token";
    pub const MAILBOX: &str = "podpora@acme.cz";
    pub const CDR_SECRET: &str = "dev-cdr-secret";
    pub const TWILIO_TOKEN: &str = "dev-twilio-token";
    pub const PUBLIC_URL: &str = "http://127.0.0.1:8081";
    pub const TENANT_NUMBER: &str = "+420222333444";
    pub const JWT_SECRET: &str = "dev-jwt-secret-change-me";
    pub const RECORDINGS_URL: &str = "https://pbx.acme.cz/recordings/";
}

fn accounts(pairs: &[(&str, &str)]) -> AccountMap {
    AccountMap(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
}

fn secret(value: &str) -> Option<SecretString> {
    Some(SecretString::from(value))
}

/// Loads settings and fills unset secrets and accounts with the development values.
pub fn load_settings(fixed_ports: bool) -> anyhow::Result<Settings<Services>> {
    let mut settings = Settings::<Services>::load_from_env()?;
    let s = &mut settings.service;
    if s.messenger.app_secret.is_none() {
        s.messenger.app_secret = secret(dev::META_APP_SECRET);
        s.messenger.verify_token = secret(dev::VERIFY_TOKEN);
        s.messenger.pages = accounts(&[(dev::PAGE_ID, dev::TENANT)]);
    }
    if s.whatsapp.app_secret.is_none() {
        s.whatsapp.app_secret = secret(dev::META_APP_SECRET);
        s.whatsapp.verify_token = secret(dev::VERIFY_TOKEN);
        s.whatsapp.phone_numbers = accounts(&[(dev::WHATSAPP_NUMBER_ID, dev::TENANT)]);
    }
    if s.vk.communities.is_empty() {
        s.vk.communities = BTreeMap::from([(
            dev::VK_GROUP_ID.to_owned(),
            channel_vk::config::Community {
                tenant: dev::TENANT.into(),
                secret: secret(dev::VK_SECRET),
                confirmation: Some(dev::VK_CONFIRMATION.into()),
            },
        )]);
    }
    if s.apple.secret.is_none() {
        s.apple.secret = secret(dev::APPLE_SECRET_B64);
        s.apple.businesses = accounts(&[(dev::APPLE_BUSINESS_ID, dev::TENANT)]);
    }
    if s.webchat.sites.is_empty() {
        s.webchat.sites = BTreeMap::from([(
            dev::WEBCHAT_SITE.to_owned(),
            channel_webchat::config::Site { tenant: dev::TENANT.into(), secret: SecretString::from(dev::WEBCHAT_SECRET) },
        )]);
    }
    if s.email.relay_token.is_none() && s.email.signing_secret.is_none() {
        s.email.relay_token = secret(dev::MAIL_RELAY_TOKEN);
        s.email.mailboxes = accounts(&[(dev::MAILBOX, dev::TENANT)]);
    }
    if s.voip.cdr_secret.is_none() && s.voip.twilio_auth_token.is_none() {
        s.voip.cdr_secret = secret(dev::CDR_SECRET);
        s.voip.twilio_auth_token = secret(dev::TWILIO_TOKEN);
        s.voip.public_url = Some(dev::PUBLIC_URL.into());
        s.voip.numbers = accounts(&[(dev::TENANT_NUMBER, dev::TENANT)]);
        s.voip.default_region = Some("CZ".into());
        s.voip.recording_base_url = Some(dev::RECORDINGS_URL.into());
    }
    settings.auth.hs256_secret.get_or_insert_with(|| SecretString::from(dev::JWT_SECRET));
    if fixed_ports {
        for (bind, port) in [
            (&mut settings.service.console.bind, 8080),
            (&mut settings.service.webhooks.bind, 8081),
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

/// Every channel adapter's routes on one router.
fn webhook_routes(s: &Services, publisher: &Publisher) -> anyhow::Result<axum::Router> {
    Ok(axum::Router::new()
        .merge(channel_messenger::router(&s.messenger, publisher.clone())?)
        .merge(channel_whatsapp::router(&s.whatsapp, publisher.clone())?)
        .merge(channel_vk::router(&s.vk, publisher.clone())?)
        .merge(channel_apple::router(&s.apple, publisher.clone())?)
        .merge(channel_webchat::router(&s.webchat, publisher.clone())?)
        .merge(channel_email::router(&s.email, publisher.clone())?)
        .merge(channel_voip::router(&s.voip, publisher.clone())?))
}

/// Every service running, with the Kafka they share.
pub struct Stack {
    pub running: Running,
    pub webhooks: SocketAddr,
    /// The console port ([`crate::console_port`]); `None` when the console is disabled.
    pub console: Option<SocketAddr>,
    pub resolver: SocketAddr,
    pub timeline: SocketAddr,
    pub shutdown: CancellationToken,
    /// Bootstrap servers of the Kafka in use (the embedded one's are only known at start).
    pub kafka_brokers: String,
    _kafka: Option<EmbeddedKafka>,
}

impl Stack {
    /// Runs until every service has stopped (after the shutdown token is cancelled), keeping
    /// the embedded Kafka up meanwhile.
    pub async fn wait(self) -> anyhow::Result<()> {
        let Stack { running, _kafka, .. } = self;
        running.wait().await
    }

    /// The operator console's address, when it is served.
    pub fn console_url(&self) -> Option<String> {
        self.console.map(|addr| format!("http://{addr}{}", console::PATH))
    }
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
    // The console is served on the console port, beside both APIs; on the resolver's own port it
    // could not reach the Timeline API.
    let console_settings = settings.service.resolver.console.clone();
    let mut resolver_config = settings.service.resolver.clone();
    resolver_config.console.enabled = false;
    let (resolver, directory_api) =
        resolver::start_with_api(&settings.with_service(resolver_config), publisher.clone(), shutdown.clone()).await?;
    let (timeline, timeline_api) =
        timeline::start_with_api(&settings.with_service(settings.service.timeline.clone()), publisher.clone(), shutdown.clone())
            .await?;
    let routes = webhook_routes(&settings.service, &publisher)?;
    let adapters = channel::serve("webhooks", &settings.service.webhooks, routes, publisher.clone(), shutdown.clone()).await?;
    let addr = |r: &Running| r.http_addr.context("service without HTTP address");
    let (webhooks, resolver_addr, timeline_addr) = (addr(&adapters)?, addr(&resolver)?, addr(&timeline)?);
    let mut running = Running::new("contactd");
    running.absorb(adapters);
    running.absorb(resolver);
    running.absorb(timeline);
    let console = if console_settings.enabled {
        let routes = console_port::router(&console_settings, &settings.auth, directory_api, timeline_api)?;
        let readiness = Readiness { database: None, kafka: Some(publisher) };
        let served = server::start("console", &settings.service.console, routes, readiness, shutdown.clone()).await?;
        let console_addr = addr(&served)?;
        running.absorb(served);
        Some(console_addr)
    } else {
        None
    };
    let kafka_brokers = settings.kafka.brokers.clone();
    Ok(Stack {
        running,
        webhooks,
        console,
        resolver: resolver_addr,
        timeline: timeline_addr,
        shutdown,
        kafka_brokers,
        _kafka: kafka,
    })
}

pub async fn serve() -> anyhow::Result<()> {
    let settings = load_settings(true)?;
    let _telemetry = runtime::telemetry::init("contactd", &settings.telemetry)?;
    let stack = start(settings, runtime::shutdown::on_signal()).await?;
    tracing::info!(webhooks = %stack.webhooks, resolver = %stack.resolver, timeline = %stack.timeline, console = ?stack.console, "contactd serving");
    if let Some(url) = stack.console_url() {
        println!("Operator console: {url}");
    }
    stack.wait().await
}

/// Human-readable logs at warn level (`RUST_LOG` still wins): the demo prints its own output.
pub fn quiet_telemetry(settings: &mut Settings<Services>) {
    settings.telemetry.log_format = LogFormat::Pretty;
    settings.telemetry.log_filter = "warn".into();
}
