//! Starting a resolver for a test and feeding it interactions.

#![allow(dead_code)]

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use contracts::{Channel, Content, Direction, Identity, IdentityKind, InteractionBody, InteractionEvent, NameSource, Profile};
use runtime::kafka::Publisher;
use runtime::settings::DatabaseSettings;
use runtime::shutdown::CancellationToken;
use runtime::Running;
use testkit::TestKafka;

pub struct Resolver {
    pub running: Running,
    pub url: String,
    pub shutdown: CancellationToken,
}

pub async fn start(kafka: &TestKafka, database: &DatabaseSettings, batch_size: usize) -> Resolver {
    start_in_group(kafka, database, batch_size, &kafka.settings.group_prefix).await
}

/// A resolver whose consumer group is `group_prefix.resolver` (a new prefix replays the topic).
pub async fn start_in_group(kafka: &TestKafka, database: &DatabaseSettings, batch_size: usize, group_prefix: &str) -> Resolver {
    let mut settings = kafka.settings_for(database, resolver::Config { outbox_poll_ms: 50, ..resolver::Config::default() });
    settings.kafka.batch_size = batch_size;
    settings.kafka.group_prefix = group_prefix.to_owned();
    let shutdown = CancellationToken::new();
    let publisher = Publisher::new(&settings.kafka).expect("publisher");
    let running = resolver::start(&settings, publisher, shutdown.clone()).await.expect("resolver starts");
    let url = format!("http://{}", running.http_addr.expect("http"));
    Resolver { running, url, shutdown }
}

pub fn interaction(
    tenant: &str,
    provider_ref: &str,
    identities: Vec<Identity>,
    name: Option<(&str, NameSource)>,
) -> InteractionEvent {
    InteractionEvent::new(
        tenant,
        InteractionBody {
            channel: Channel::Webchat,
            direction: Direction::Inbound,
            occurred_at: DateTime::<Utc>::from_timestamp(1_764_000_000, 0).expect("valid"),
            provider_ref: provider_ref.to_owned(),
            conversation_ref: Some(format!("session-{provider_ref}")),
            identities,
            profile: name.map(|(n, s)| Profile { name: Some(n.to_owned()), name_source: s }),
            content: Some(Content { text: Some(format!("message {provider_ref}")), ..Content::default() }),
            call: None,
            parameters: BTreeMap::new(),
            reaction: None,
            event: None,
            sanitized: Vec::new(),
        },
    )
}

pub fn id(kind: IdentityKind, value: &str) -> Identity {
    Identity::new(kind, value, None)
}

pub async fn publish(publisher: &Publisher, events: &[InteractionEvent]) {
    for event in events {
        publisher.publish_event(event).await.expect("published");
    }
}

pub async fn count(pool: &sqlx::PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.expect("count query")
}

/// The Directory API as an operator (or admin) of one tenant sees it.
pub struct Api {
    pub base: String,
    pub token: String,
}

impl Api {
    pub fn new(resolver: &Resolver, tenant: &str, role: runtime::http::auth::Role) -> Self {
        Self { base: resolver.url.clone(), token: testkit::token(tenant, role) }
    }

    pub async fn call(&self, method: &str, path: &str, body: Option<serde_json::Value>) -> (u16, serde_json::Value) {
        let http = testkit::http();
        let url = format!("{}{path}", self.base);
        let request = match method {
            "GET" => http.get(url),
            "POST" => http.post(url),
            "PATCH" => http.patch(url),
            "DELETE" => http.delete(url),
            other => panic!("unsupported method {other}"),
        };
        let request = match body {
            Some(body) => request.json(&body),
            None => request,
        };
        let response = request.bearer_auth(&self.token).send().await.expect("request sent");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// A GET answered with text (an export): status, content type and the body.
    pub async fn get_text(&self, path: &str) -> (u16, String, String) {
        let response =
            testkit::http().get(format!("{}{path}", self.base)).bearer_auth(&self.token).send().await.expect("request sent");
        let status = response.status().as_u16();
        let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        (status, content_type, response.text().await.expect("a text body"))
    }

    /// A POST of a text body (an import) with its content type; the answer as JSON.
    pub async fn post_text(&self, path: &str, content_type: &str, body: &str) -> (u16, serde_json::Value) {
        let response = testkit::http()
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("content-type", content_type)
            .body(body.to_owned())
            .send()
            .await
            .expect("request sent");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(serde_json::Value::Null))
    }
}

/// A resolver on its own Kafka and database, with the Directory API as an operator, an admin
/// and an integration of tenant `acme`, and an admin of another tenant (`globex`).
pub struct Directory {
    pub kafka: TestKafka,
    pub database: testkit::TestDatabase,
    pub resolver: Resolver,
    pub operator: Api,
    pub admin: Api,
    pub integration: Api,
    pub other_tenant: Api,
    pub publisher: Publisher,
}

impl Directory {
    /// Every change event committed so far that `reader` has not returned: waits until the
    /// outbox has published them all (an event exists exactly when its outbox row does), then
    /// reads the topic up to its end — no quiet period.
    pub async fn published(&self, reader: &testkit::TopicReader) -> Vec<serde_json::Value> {
        let pool = testkit::pool(&self.database, "resolver").await;
        testkit::eventually(std::time::Duration::from_secs(60), "the outbox to publish everything", || async {
            let pending = count(&pool, "SELECT count(*) FROM outbox WHERE published_at IS NULL AND quarantined_at IS NULL").await;
            (pending == 0).then_some(())
        })
        .await;
        reader.present().await.iter().map(testkit::json).collect()
    }

    pub async fn start() -> Self {
        use runtime::http::auth::Role;
        let kafka = TestKafka::start().await;
        let database = testkit::fresh_database();
        let resolver = start(&kafka, &database, 20).await;
        Self {
            operator: Api::new(&resolver, "acme", Role::Operator),
            admin: Api::new(&resolver, "acme", Role::Admin),
            integration: Api::new(&resolver, "acme", Role::Integration),
            other_tenant: Api::new(&resolver, "globex", Role::Admin),
            publisher: Publisher::new(&kafka.settings).expect("publisher"),
            kafka,
            database,
            resolver,
        }
    }
}

/// Creates a contact through the API and returns its card.
pub async fn create(api: &Api, body: serde_json::Value) -> serde_json::Value {
    let (status, card) = api.call("POST", "/v1/contacts", Some(body)).await;
    assert_eq!(status, 201, "{card}");
    card
}
