//! Layered settings: struct defaults → optional TOML file → `APP__…` environment variables
//! (`APP__KAFKA__BROKERS`, `APP__SERVICE__BIND`, …). The conventional `DATABASE_URL` and
//! `KAFKA_BROKERS` variables override the matching keys, so the usual tooling works unchanged.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;

use anyhow::Context;
use secrecy::SecretString;
use serde::de::DeserializeOwned;
use serde::Deserialize;

/// Settings of one binary: the infrastructure every service shares plus `service`, its own part.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, bound(deserialize = "S: DeserializeOwned + Default"))]
pub struct Settings<S> {
    #[serde(default)]
    pub kafka: KafkaSettings,
    #[serde(default)]
    pub database: DatabaseSettings,
    #[serde(default)]
    pub telemetry: TelemetrySettings,
    #[serde(default)]
    pub auth: AuthSettings,
    #[serde(default)]
    pub service: S,
}

impl<S> Settings<S> {
    /// The same infrastructure settings with another service part (the all-in-one launcher).
    pub fn with_service<T>(&self, service: T) -> Settings<T> {
        Settings {
            kafka: self.kafka.clone(),
            database: self.database.clone(),
            telemetry: self.telemetry.clone(),
            auth: self.auth.clone(),
            service,
        }
    }
}

impl<S: DeserializeOwned + Default> Settings<S> {
    /// Loads settings from the file named by `APP_CONFIG` (if set) and the environment.
    pub fn load_from_env() -> anyhow::Result<Self> {
        let file = std::env::var_os("APP_CONFIG").map(std::path::PathBuf::from);
        Self::load(file.as_deref())
    }

    /// Loads settings from `file` (if given and present) and the environment.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        let mut builder = config::Config::builder();
        if let Some(file) = file {
            builder = builder.add_source(config::File::from(file).required(false));
        }
        builder = builder
            .add_source(config::Environment::with_prefix("APP").prefix_separator("__").separator("__").try_parsing(true))
            .set_override_option("kafka.brokers", std::env::var("KAFKA_BROKERS").ok())?
            .set_override_option("database.url", std::env::var("DATABASE_URL").ok())?;
        builder.build().context("reading settings")?.try_deserialize().context("invalid settings (file or APP__* environment)")
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaSettings {
    /// Comma-separated bootstrap servers. Empty means the embedded mock cluster (`contactd` only).
    pub brokers: String,
    /// Consumer group prefix; each consumer appends its own name.
    pub group_prefix: String,
    /// Most messages handled in one database transaction.
    pub batch_size: usize,
    /// How long a batch waits for more messages after the first one.
    pub batch_linger_ms: u64,
    /// How long a publish may wait for the broker's acknowledgement.
    pub delivery_timeout_ms: u64,
    /// Attempts a transient failure of one message gets while the database and the broker
    /// answer, before the message is dead-lettered (see `runtime::kafka::consumer`).
    pub retry_budget: u32,
    /// First delay between attempts; doubles up to 30 s.
    pub retry_backoff_ms: u64,
    /// Extra librdkafka properties (security.protocol, sasl.*, …) applied to every client.
    pub properties: BTreeMap<String, String>,
}

impl Default for KafkaSettings {
    fn default() -> Self {
        Self {
            brokers: String::new(),
            group_prefix: "contactd".into(),
            batch_size: 256,
            batch_linger_ms: 20,
            delivery_timeout_ms: 30_000,
            retry_budget: 5,
            retry_backoff_ms: 200,
            properties: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    /// `postgres://user@host:port/database`; the database is created when missing.
    pub url: SecretString,
    pub max_connections: u32,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self { url: SecretString::from("postgres://postgres@127.0.0.1:5432/contactd"), max_connections: 10 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Json,
    Pretty,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetrySettings {
    pub log_format: LogFormat,
    /// `tracing_subscriber::EnvFilter` directives; `RUST_LOG` wins when set.
    pub log_filter: String,
    /// OTLP/HTTP endpoint (e.g. `http://otel-collector:4318/v1/traces`); no export when unset.
    pub otlp_endpoint: Option<String>,
}

impl Default for TelemetrySettings {
    fn default() -> Self {
        Self { log_format: LogFormat::Json, log_filter: "info,rdkafka=warn,sqlx=warn".into(), otlp_endpoint: None }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSettings {
    /// HS256 shared secret for operator/integration tokens.
    pub hs256_secret: Option<SecretString>,
    /// RS256 public key (PEM); when set, only RS256 tokens are accepted.
    pub rs256_public_key_pem: Option<String>,
    pub issuer: String,
    pub audience: String,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self { hs256_secret: None, rs256_public_key_pem: None, issuer: "contactd".into(), audience: "contactd-api".into() }
    }
}

/// The body limit of a service that names no other: 1 MiB, ample for JSON webhooks and API calls.
pub const DEFAULT_BODY_LIMIT_BYTES: usize = 1024 * 1024;

/// Where one HTTP server listens and how much it accepts.
///
/// `BODY_LIMIT` is the service's own default body limit (e-mail: `HttpSettings<{ 25 * 1024 * 1024 }>`).
/// It is a type parameter rather than a value in the service's `Default` because serde fills a
/// partially given `http` table (only `APP__SERVICE__HTTP__BIND`, as every image and manifest
/// sets) from *this* type's `Default`, never from the enclosing struct's: a value set there would
/// silently fall back to the generic limit as soon as any `http` key is configured.
#[derive(Debug, Clone)]
pub struct HttpSettings<const BODY_LIMIT: usize = DEFAULT_BODY_LIMIT_BYTES> {
    pub bind: SocketAddr,
    pub body_limit_bytes: usize,
    /// A client must send a request's headers within this long (also the idle limit of a
    /// kept-alive connection), so half-open and slow-header connections are closed.
    pub header_read_timeout_ms: u64,
    /// Longest time a handler may take to start its answer (a streamed body may take longer).
    pub request_timeout_ms: u64,
    /// Connections served at once; more are closed at once (the clients retry elsewhere).
    pub max_connections: usize,
}

/// The `http` table as written: every key optional, unknown keys rejected. (serde's derive does
/// not support const generics, hence this stand-in and the impl below.)
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HttpSettingsGiven {
    bind: Option<SocketAddr>,
    body_limit_bytes: Option<usize>,
    header_read_timeout_ms: Option<u64>,
    request_timeout_ms: Option<u64>,
    max_connections: Option<usize>,
}

impl<'de, const BODY_LIMIT: usize> Deserialize<'de> for HttpSettings<BODY_LIMIT> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let given = HttpSettingsGiven::deserialize(deserializer)?;
        let default = Self::default();
        Ok(Self {
            bind: given.bind.unwrap_or(default.bind),
            body_limit_bytes: given.body_limit_bytes.unwrap_or(default.body_limit_bytes),
            header_read_timeout_ms: given.header_read_timeout_ms.unwrap_or(default.header_read_timeout_ms),
            request_timeout_ms: given.request_timeout_ms.unwrap_or(default.request_timeout_ms),
            max_connections: given.max_connections.unwrap_or(default.max_connections),
        })
    }
}

impl<const BODY_LIMIT: usize> HttpSettings<BODY_LIMIT> {
    pub fn on(bind: SocketAddr) -> Self {
        Self { bind, ..Self::default() }
    }
}

impl<const BODY_LIMIT: usize> Default for HttpSettings<BODY_LIMIT> {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            body_limit_bytes: BODY_LIMIT,
            header_read_timeout_ms: 10_000,
            request_timeout_ms: 30_000,
            max_connections: 1024,
        }
    }
}

#[cfg(test)]
mod http_settings_tests {
    use super::*;

    #[test]
    fn a_partial_http_table_keeps_the_types_own_body_limit() {
        let generic: HttpSettings = serde_json::from_value(serde_json::json!({ "bind": "0.0.0.0:8080" })).expect("valid");
        assert_eq!(generic.body_limit_bytes, DEFAULT_BODY_LIMIT_BYTES);
        let mail: HttpSettings<{ 25 * 1024 * 1024 }> =
            serde_json::from_value(serde_json::json!({ "bind": "0.0.0.0:8080" })).expect("valid");
        assert_eq!(mail.bind, SocketAddr::from(([0, 0, 0, 0], 8080)));
        assert_eq!(mail.body_limit_bytes, 25 * 1024 * 1024, "a bind alone must not reset the limit");
        let explicit: HttpSettings<{ 25 * 1024 * 1024 }> =
            serde_json::from_value(serde_json::json!({ "body_limit_bytes": 1000 })).expect("valid");
        assert_eq!(explicit.body_limit_bytes, 1000, "an explicit limit wins");
        let typo = serde_json::from_value::<HttpSettings>(serde_json::json!({ "body_limit": 1000 }));
        assert!(typo.is_err(), "unknown keys are still rejected");
    }
}
