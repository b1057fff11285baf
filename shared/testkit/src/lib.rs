//! Test helpers shared by every crate's tests: a fresh database per test, Kafka (embedded mock
//! cluster by default, or a real broker from `TEST_KAFKA_BROKERS`) with unique consumer groups,
//! a topic reader, operator tokens, signed-request helpers and a started channel adapter with the
//! requests tests send it ([`spawn_adapter`], [`post`]). Each test owns its database and consumer
//! groups, so the suite runs in parallel.

mod adapter;
pub mod proxy;

pub use adapter::{
    assert_indistinguishable, attachments, bearer, get, identity_facts, parameter, post, send, spawn_adapter, spawn_adapter_on,
    text, Reply, SpawnedService, NO_HEADERS,
};

pub mod arbitrary;
mod kafka;
pub mod parsing_properties;
pub mod postgres_tls;
pub mod tansu;
pub mod tls;

pub use kafka::{decode, distinct, distinct_nested, instances_holding_partitions, json, key, TestKafka, TopicReader};

use std::time::{Duration, Instant};

use runtime::http::auth::{issue_hs256, Role};
use runtime::settings::{AuthSettings, DatabaseSettings};
use secrecy::SecretString;
use uuid::Uuid;

pub const JWT_SECRET: &str = "test-jwt-secret";

/// PostgreSQL server used by tests (`TEST_DATABASE_URL`, default the local server).
fn server_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

/// A database no other test uses (created by the service on first connect), dropped with every
/// connection to it when the guard goes out of scope, so a test run leaves no databases behind.
/// Derefs to its [`DatabaseSettings`].
pub struct TestDatabase {
    settings: DatabaseSettings,
    name: String,
}

impl std::ops::Deref for TestDatabase {
    type Target = DatabaseSettings;

    fn deref(&self) -> &DatabaseSettings {
        &self.settings
    }
}

impl TestDatabase {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Settings reaching this database through `proxy` (a [`proxy::TcpProxy`] in front of the
    /// server) instead of directly.
    pub fn via(&self, proxy: std::net::SocketAddr) -> DatabaseSettings {
        let url = format!("postgres://postgres@{proxy}/{}", self.name);
        DatabaseSettings { url: SecretString::from(url), ..self.settings.clone() }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Drop cannot await, and may run inside a runtime: use a thread with its own.
        let (server, name) = (server_url(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(async move {
                use sqlx::Connection;
                let mut admin = sqlx::PgConnection::connect(&format!("{}/postgres", server.trim_end_matches('/'))).await?;
                // Identifiers cannot be bound parameters: the name is quoted with `quote_ident`.
                sqlx::query(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", runtime::db::quote_ident(&name)))
                    .execute(&mut admin)
                    .await?;
                anyhow::Ok(())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop test database {}", self.name);
        }
    }
}

/// A database of this test's own (see [`TestDatabase`]).
pub fn fresh_database() -> TestDatabase {
    let name = format!("test_{}", Uuid::new_v4().simple());
    let url = SecretString::from(format!("{}/{name}", server_url().trim_end_matches('/')));
    TestDatabase { settings: DatabaseSettings { url, max_connections: 5, ..DatabaseSettings::default() }, name }
}

pub fn auth() -> AuthSettings {
    AuthSettings { hs256_secret: Some(SecretString::from(JWT_SECRET)), ..AuthSettings::default() }
}

/// A bearer token for `tenant`.
pub fn token(tenant: &str, role: Role) -> String {
    issue_hs256(&auth(), "test-operator", tenant, role, 600).expect("test secret is set")
}

/// A token signed with the test secret whose claims are [`token`]'s with `changes` applied, for
/// claims `issue_hs256` refuses to issue (a `null` removes a claim).
pub fn token_with(changes: serde_json::Value) -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let mut claims = serde_json::json!({"sub": "test-operator", "tenant_id": "acme", "role": "operator",
                                        "exp": now + 600, "iss": "contactd", "aud": "contactd-api"});
    for (name, value) in changes.as_object().expect("changes are an object") {
        match value {
            serde_json::Value::Null => drop(claims.as_object_mut().expect("an object").remove(name)),
            value => claims[name] = value.clone(),
        }
    }
    let key = jsonwebtoken::EncodingKey::from_secret(JWT_SECRET.as_bytes());
    jsonwebtoken::encode(&jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256), &claims, &key).expect("signed")
}

/// Polls `probe` until it returns `Some` (panics after `timeout`).
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out after {timeout:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A pool on the service's schema of a test database (for asserting rows).
pub async fn pool(database: &DatabaseSettings, schema: &str) -> sqlx::PgPool {
    use secrecy::ExposeSecret;
    use sqlx::postgres::PgConnectOptions;
    use std::str::FromStr;
    let options = PgConnectOptions::from_str(database.url.expose_secret()).expect("valid url").options([("search_path", schema)]);
    sqlx::postgres::PgPoolOptions::new().max_connections(2).connect_with(options).await.expect("test database reachable")
}

/// `sha256=<hex HMAC-SHA256 of body>`, the signature header value of Meta webhooks
/// (`X-Hub-Signature-256`), web chat (`X-Webchat-Signature`) and PBX CDRs / e-mail relays
/// (`X-Webhook-Signature`).
pub fn sha256_signature(secret: &str, body: impl AsRef<[u8]>) -> String {
    format!("sha256={}", channel::signature::hmac_sha256_hex(secret.as_bytes(), body.as_ref()))
}

/// `X-Hub-Signature-256` value for `body` (Meta webhooks).
pub fn meta_signature(secret: &str, body: &[u8]) -> String {
    sha256_signature(secret, body)
}

/// A fixture file from `tests/fixtures/<path>` at the workspace root.
pub fn fixture(path: &str) -> String {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures").join(path);
    std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("reading fixture {}: {e}", file.display()))
}

/// An HTTP client for tests.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("http client")
}
