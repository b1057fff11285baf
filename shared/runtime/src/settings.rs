//! Layered settings: struct defaults → optional TOML file → `APP__…` environment variables
//! (`APP__KAFKA__BROKERS`, `APP__SERVICE__BIND`, …). The conventional `DATABASE_URL` and
//! `KAFKA_BROKERS` variables override the matching keys, so the usual tooling works unchanged.
//!
//! Environment values are taken as the exact strings given (a secret `00123` stays `00123`);
//! numeric and boolean settings are parsed from their string when deserialized. Any variable can
//! come from a file instead: `APP__<PATH>_FILE=/path`, `DATABASE_URL_FILE`, `KAFKA_BROKERS_FILE`
//! ([`environment`]). Secrets are `secrecy` types or redacted in `Debug`, so logging the
//! settings never prints one.

mod environment;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use secrecy::SecretString;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

use crate::http::auth::Role;

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
    /// Extra librdkafka properties applied to every client, e.g. `security.protocol = "SASL_SSL"`,
    /// `sasl.mechanism`, `sasl.username`, `sasl.password`, `ssl.ca.location`
    /// (<https://github.com/confluentinc/librdkafka/blob/master/CONFIGURATION.md>). From the
    /// environment, `_` in a name stands for `.` (`APP__KAFKA__PROPERTIES__SASL_MECHANISM`), as
    /// no librdkafka property has an underscore. Values of properties that hold secrets
    /// (passwords, keys) are redacted in `Debug`.
    pub properties: KafkaProperties,
}

/// librdkafka properties by name; `Debug` shows secret values as `[REDACTED]`.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct KafkaProperties(pub BTreeMap<String, String>);

impl KafkaProperties {
    /// A property name as librdkafka spells it: environment variables cannot carry `.`, so
    /// `sasl_mechanism` stands for `sasl.mechanism` (no librdkafka property has an underscore).
    pub fn librdkafka_name(key: &str) -> String {
        key.replace('_', ".")
    }

    /// Whether a property holds a secret (its value is never printed).
    pub fn is_secret(key: &str) -> bool {
        let name = Self::librdkafka_name(key).to_ascii_lowercase();
        ["password", "secret", "key.pem", "keystore", "jaas", "token"].iter().any(|part| name.contains(part))
    }
}

impl std::ops::Deref for KafkaProperties {
    type Target = BTreeMap<String, String>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for KafkaProperties {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl FromIterator<(String, String)> for KafkaProperties {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

impl fmt::Debug for KafkaProperties {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(k, v)| (k, if Self::is_secret(k) { "[REDACTED]" } else { v.as_str() })))
            .finish()
    }
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
            properties: KafkaProperties::default(),
        }
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

/// How API bearer tokens (JWT) are verified. Exactly one key source applies, in this order:
/// an OIDC issuer (`oidc_discovery` or `jwks_url`), a fixed RS256 key (`rs256_public_key_pem`),
/// or the development HS256 secret (`hs256_secret`, what `contactd token` signs with). The
/// accepted algorithms are pinned: `algorithms` for the first two, HS256 for the last.
///
/// Every token needs `exp`, `iss` = `issuer`, `aud` containing `audience`, `sub`, a tenant and
/// a role (see `tenant_claim`, `role_claim`); `nbf` is honoured; `exp` may lie at most
/// `max_token_lifetime_s` ahead.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSettings {
    /// HS256 shared secret for development tokens (`contactd token`). Ignored when an issuer's
    /// keys are configured.
    pub hs256_secret: Option<SecretString>,
    /// A fixed RS256 public key (PEM), for an issuer without a JWKS endpoint.
    pub rs256_public_key_pem: Option<String>,
    /// OIDC: read the issuer's keys from the `jwks_uri` of its discovery document,
    /// `<issuer>/.well-known/openid-configuration` (the document's `issuer` must equal `issuer`).
    pub oidc_discovery: bool,
    /// The issuer's JWKS URL, for an issuer without discovery (takes precedence over discovery).
    pub jwks_url: Option<String>,
    /// Signing algorithms accepted with the issuer's keys (JWKS or PEM), e.g. `["RS256", "ES256"]`
    /// or, from the environment, `RS256,ES256`.
    #[serde(deserialize_with = "list_or_comma_separated")]
    pub algorithms: Vec<SigningAlgorithm>,
    /// Expected `iss`. For an OIDC issuer its URL exactly as in its tokens, e.g.
    /// `https://keycloak.example.com/realms/contactd`; discovery and JWKS must be `https://`
    /// (plain `http://` only on loopback).
    pub issuer: String,
    /// Expected `aud` (one of the token's audiences).
    pub audience: String,
    /// Where the tenant is in the token: a claim name (`tenant_id`) or a dotted path into nested
    /// objects (`org.tenant`); a claim whose own name contains dots is found as well. Its value
    /// must be a non-empty string.
    pub tenant_claim: String,
    /// Where the role is: a claim or dotted path holding a string or an array of strings, e.g.
    /// `role`, `roles` (Entra ID app roles), `realm_access.roles` (Keycloak).
    pub role_claim: String,
    /// The issuer's role names mapped to this API's roles, e.g. `{ "contactd-admins" = "admin" }`;
    /// names compare case-insensitively (environment keys are lower-cased). Empty: the names
    /// `operator`, `admin`, `integration` themselves. Of several mapped roles the strongest
    /// counts (admin, then integration, then operator); a token with none gets 403.
    pub role_map: BTreeMap<String, Role>,
    /// Clock skew tolerated on `exp` and `nbf`, in seconds.
    pub leeway_s: u64,
    /// Longest accepted token lifetime: a token whose `exp` is further ahead is refused.
    pub max_token_lifetime_s: u64,
    /// How often the issuer's keys are fetched again (key rotation), in seconds.
    pub jwks_refresh_s: u64,
    /// Least time between two fetches caused by a token with an unknown key id (`kid`), so
    /// forged `kid`s cannot flood the issuer.
    pub jwks_min_refetch_s: u64,
    /// CA certificate (PEM file) to trust for the issuer besides the system's roots.
    pub ca_cert: Option<PathBuf>,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            hs256_secret: None,
            rs256_public_key_pem: None,
            oidc_discovery: false,
            jwks_url: None,
            algorithms: vec![SigningAlgorithm::RS256, SigningAlgorithm::ES256],
            issuer: "contactd".into(),
            audience: "contactd-api".into(),
            tenant_claim: "tenant_id".into(),
            role_claim: "role".into(),
            role_map: BTreeMap::new(),
            leeway_s: 30,
            max_token_lifetime_s: 24 * 3600,
            jwks_refresh_s: 3600,
            jwks_min_refetch_s: 30,
            ca_cert: None,
        }
    }
}

/// Asymmetric JWS algorithms (RFC 7518 §3.1) an issuer may sign with. HMAC algorithms are not
/// in this set on purpose: a public key must never be usable as an HMAC secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum SigningAlgorithm {
    RS256,
    RS384,
    RS512,
    PS256,
    PS384,
    PS512,
    ES256,
    ES384,
}

/// A list from a TOML array or from one comma-separated string (environment variables).
fn list_or_comma_separated<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        List(Vec<String>),
        Text(String),
    }
    let items = match Raw::deserialize(deserializer)? {
        Raw::List(items) => items,
        Raw::Text(text) => text.split(',').map(|item| item.trim().to_owned()).filter(|item| !item.is_empty()).collect(),
    };
    items.into_iter().map(|item| T::deserialize(serde::de::value::StringDeserializer::<D::Error>::new(item))).collect()
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
