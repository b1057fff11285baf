//! Starting a resolver for a test and feeding it interactions, and the Directory API as its
//! callers see it: requests through `oneshot` on the API's router (the Kafka consumer and the
//! outbox run as in production; only the socket is skipped), answers read as the
//! `contracts::api` bodies.

#![allow(dead_code)]

use std::collections::BTreeMap;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use chrono::{DateTime, Utc};
use contracts::api::directory::Card;
use contracts::ContactId;
use contracts::{Channel, Content, Direction, Identity, IdentityKind, InteractionBody, InteractionEvent, NameSource, Profile};
use runtime::kafka::Publisher;
use runtime::settings::DatabaseSettings;
use runtime::shutdown::CancellationToken;
use runtime::Running;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use testkit::TestKafka;
use tower::ServiceExt as _;

pub struct Resolver {
    pub running: Running,
    /// The served stack's address (`http://…`), for the tests of the server itself.
    pub url: String,
    /// The Directory API's routes, which [`Api`] calls through `oneshot`.
    pub api: Router,
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
    let (running, api) = resolver::start_with_api(&settings, publisher, shutdown.clone()).await.expect("resolver starts");
    let url = format!("http://{}", running.http_addr.expect("http"));
    Resolver { running, url, api, shutdown }
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

/// A problem+json answer as the Directory API sends it; a 409 about an identifier another
/// contact holds names that contact.
#[derive(Debug, Deserialize)]
pub struct Problem {
    pub status: u16,
    pub title: String,
    pub detail: String,
    #[serde(default)]
    pub owner_contact_id: Option<ContactId>,
}

/// An answer of the Directory API: its status, headers and body, read as the test expects it.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn content_type(&self) -> &str {
        self.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }

    /// The body read as `T`, whatever the status.
    pub fn json<T: DeserializeOwned>(&self) -> T {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not a {} ({e}): {self}", std::any::type_name::<T>()))
    }

    /// A success (2xx) with a body of type `T`.
    pub fn ok<T: DeserializeOwned>(&self) -> T {
        assert!(self.status.is_success(), "expected a success: {self}");
        self.json()
    }

    /// A problem+json answer.
    pub fn problem(&self) -> Problem {
        assert_eq!(self.content_type(), "application/problem+json", "expected a problem: {self}");
        let problem: Problem = self.json();
        assert_eq!(problem.status, self.status.as_u16(), "the problem's status is the answer's");
        problem
    }
}

impl std::fmt::Display for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.text())
    }
}

/// The Directory API as an operator (or admin, or integration) of one tenant sees it: requests
/// go through `oneshot` on the API's router (what a real socket would add is covered by the
/// tests of the served stack in roles.rs).
pub struct Api {
    router: Router,
    pub token: String,
}

impl Api {
    pub fn new(resolver: &Resolver, tenant: &str, role: runtime::http::auth::Role) -> Self {
        Self { router: resolver.api.clone(), token: testkit::token(tenant, role) }
    }

    /// Sends `request` as it is (no token added).
    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(request).await.expect("the router is infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("a readable body");
        Reply { status, headers, body }
    }

    /// `method path` with this caller's token and a body of `content_type`.
    pub async fn send_raw(&self, method: Method, path: &str, content_type: &str, body: impl Into<Body>) -> Reply {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
            .header(header::CONTENT_TYPE, content_type)
            .body(body.into())
            .expect("a valid request");
        self.send(request).await
    }

    async fn without_body(&self, method: Method, path: &str) -> Reply {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
            .body(Body::empty())
            .expect("a valid request");
        self.send(request).await
    }

    async fn with_json(&self, method: Method, path: &str, body: &impl Serialize) -> Reply {
        let body = serde_json::to_vec(body).expect("a serializable body");
        self.send_raw(method, path, "application/json", body).await
    }

    /// `method path` with a JSON body or none: for tables of requests of different methods.
    pub async fn call(&self, method: Method, path: &str, body: Option<&serde_json::Value>) -> Reply {
        match body {
            Some(body) => self.with_json(method, path, body).await,
            None => self.without_body(method, path).await,
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.without_body(Method::GET, path).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.without_body(Method::DELETE, path).await
    }

    /// A POST without a body (an unmerge, an unlink).
    pub async fn post_empty(&self, path: &str) -> Reply {
        self.without_body(Method::POST, path).await
    }

    pub async fn post(&self, path: &str, body: &impl Serialize) -> Reply {
        self.with_json(Method::POST, path, body).await
    }

    pub async fn patch(&self, path: &str, body: &impl Serialize) -> Reply {
        self.with_json(Method::PATCH, path, body).await
    }

    /// A POST of a text body (an import) with its content type.
    pub async fn post_text(&self, path: &str, content_type: &str, body: &str) -> Reply {
        self.send_raw(Method::POST, path, content_type, body.to_owned()).await
    }

    /// A contact's card (asserting it is found).
    pub async fn card(&self, contact: ContactId) -> Card {
        self.get(&format!("/v1/contacts/{contact}")).await.ok()
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
    pub async fn published(&self, reader: &testkit::TopicReader) -> Vec<contracts::ContactChange> {
        let pool = testkit::pool(&self.database, "resolver").await;
        testkit::eventually(std::time::Duration::from_secs(60), "the outbox to publish everything", || async {
            let pending = count(&pool, "SELECT count(*) FROM outbox WHERE published_at IS NULL AND quarantined_at IS NULL").await;
            (pending == 0).then_some(())
        })
        .await;
        reader.present().await.iter().map(testkit::decode).collect()
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

/// Creates a contact through the API (the body as JSON, to keep the scenarios short) and
/// returns its card.
pub async fn create(api: &Api, body: serde_json::Value) -> Card {
    let reply = api.post("/v1/contacts", &body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{reply}");
    reply.json()
}
