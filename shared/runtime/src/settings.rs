//! Layered settings: struct defaults → optional TOML file → `APP__…` environment variables
//! (`APP__KAFKA__BROKERS`, `APP__SERVICE__BIND`, …). The conventional `DATABASE_URL` and
//! `KAFKA_BROKERS` variables override the matching keys, so the usual tooling works unchanged.
//!
//! Environment values are taken as the exact strings given (a secret `00123` stays `00123`);
//! numeric and boolean settings are parsed from their string when deserialized. Any variable can
//! come from a file instead: `APP__<PATH>_FILE=/path`, `DATABASE_URL_FILE`, `KAFKA_BROKERS_FILE`
//! ([`environment`]). Secrets are `secrecy` types or redacted in `Debug`, so logging the
//! settings never prints one.

mod auth;
mod environment;
mod http;
mod kafka;

pub use auth::{AuthSettings, SigningAlgorithm};
pub use http::{HttpSettings, DEFAULT_BODY_LIMIT_BYTES};
pub use kafka::{KafkaProperties, KafkaSettings};

use std::ffi::OsString;
use std::path::{Path, PathBuf};

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
        Self::load_with(file, std::env::vars_os())
    }

    /// Loads settings from `file` (if given and present) and the environment `vars` (tests pass
    /// their own instead of changing the process's).
    pub fn load_with(file: Option<&Path>, vars: impl IntoIterator<Item = (OsString, OsString)>) -> anyhow::Result<Self> {
        let env = environment::resolve(vars)?;
        let mut builder = config::Config::builder();
        if let Some(file) = file {
            builder = builder.add_source(config::File::from(file).required(false));
        }
        builder = builder
            .add_source(
                config::Environment::with_prefix(environment::PREFIX.trim_end_matches('_'))
                    .prefix_separator("__")
                    .separator("__")
                    .source(Some(env.app.into_iter().collect())),
            )
            .set_override_option("kafka.brokers", env.kafka_brokers)?
            .set_override_option("database.url", env.database_url)?;
        builder.build().context("reading settings")?.try_deserialize().context("invalid settings (file or APP__* environment)")
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    /// `postgres://user:password@host:port/database?sslmode=verify-full`; the database is
    /// created when missing. TLS follows libpq's `sslmode` (`disable`, `prefer` — the default —,
    /// `require`, `verify-ca`, `verify-full`) and `sslrootcert` parameters
    /// (<https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-CONNSTRING-URIS>).
    pub url: SecretString,
    pub max_connections: u32,
    /// CA certificate (PEM file) that signed the server's certificate, for `sslmode=verify-ca`
    /// or `verify-full`; overrides the URL's `sslrootcert`. Unset: the system's trusted roots.
    pub ssl_root_cert: Option<PathBuf>,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self { url: SecretString::from("postgres://postgres@127.0.0.1:5432/contactd"), max_connections: 10, ssl_root_cert: None }
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
    /// OTLP/HTTP endpoint (e.g. `https://otel-collector:4318/v1/traces`, or `http://` inside a
    /// trusted network); no export when unset.
    pub otlp_endpoint: Option<String>,
    /// CA certificate (PEM file) to trust for an `https://` OTLP endpoint besides the system's
    /// roots (a collector with a certificate from an internal CA).
    pub otlp_ca_cert: Option<PathBuf>,
}

impl Default for TelemetrySettings {
    fn default() -> Self {
        Self {
            log_format: LogFormat::Json,
            log_filter: "info,rdkafka=warn,sqlx=warn".into(),
            otlp_endpoint: None,
            otlp_ca_cert: None,
        }
    }
}
