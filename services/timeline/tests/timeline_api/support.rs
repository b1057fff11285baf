//! The timeline under test without a broker: both batch handlers called directly with
//! deliveries built as the consumer loop builds them (payload decoded from its JSON), the API
//! through `oneshot` on its router, and one database per test (dropped with the [`Timeline`]).
//! Every 200 and every problem the API answers is checked against the schema its own
//! `/openapi.json` documents for it. Plus the event builders every scenario uses.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use chrono::{DateTime, SecondsFormat, Utc};
use contracts::api::timeline::{InteractionDetail, InteractionItem, Item, SearchResults, TimelinePage};
use contracts::{
    topics, Actor, Attachment, Call, CallStatus, Channel, ContactChange, ContactChangeKind, Content, ConversationEvent,
    Direction, FieldChange, Identity, IdentityKind, InteractionBody, InteractionEvent, MatchedBy, Reaction, Resolution,
    ResolvedInteraction,
};
use rdkafka::message::OwnedMessage;
use rdkafka::Timestamp;
use runtime::http::auth::Role;
use runtime::http::JwtVerifier;
use runtime::kafka::{BatchHandler, Delivery};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use sqlx::PgPool;
use testkit::TestDatabase;
use timeline::consumer::{ChangesHandler, InteractionsHandler};
use timeline::http::ApiState;
use timeline::store::interactions::Grouping;
use timeline::Config;
use tower::ServiceExt as _;
use uuid::Uuid;

pub const T0: i64 = 1_764_000_000;

pub fn at(secs: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp(T0 + secs, 0).expect("valid time")
}

pub fn rfc3339(secs: i64) -> String {
    at(secs).to_rfc3339_opts(SecondsFormat::Secs, true)
}

// ---------------------------------------------------------------------------------------------
// The service under test

pub struct Timeline {
    router: Router,
    interactions: InteractionsHandler,
    changes: ChangesHandler,
    document: Value,
    offsets: AtomicI64,
    pub pool: PgPool,
    /// Last, so the database is dropped after everything that uses it.
    _database: TestDatabase,
}

pub async fn spawn() -> Timeline {
    spawn_with(Config::default()).await
}

pub async fn spawn_with(config: Config) -> Timeline {
    let database = testkit::fresh_database();
    let pool = runtime::db::connect(&database, timeline::SCHEMA, &timeline::MIGRATOR).await.expect("database migrated");
    let verifier = Arc::new(JwtVerifier::new(&testkit::auth()).expect("verifier"));
    let mut timeline = Timeline {
        router: timeline::http::router(ApiState { pool: pool.clone(), verifier }),
        interactions: InteractionsHandler { pool: pool.clone(), grouping: Grouping::from_config(&config) },
        changes: ChangesHandler { pool: pool.clone(), erasure: config.erasure_mode },
        document: Value::Null,
        offsets: AtomicI64::new(0),
        pool,
        _database: database,
    };
    let served = timeline.request(Method::GET, "/openapi.json", None).await;
    assert_eq!(served.status, StatusCode::OK);
    timeline.document = served.body;
    timeline
}

/// A delivery as the consumer loop hands it to a handler: the event decoded from the message.
fn delivery<E: Serialize + DeserializeOwned>(topic: &str, key: String, event: &E, offset: i64) -> Delivery<E> {
    let payload = serde_json::to_vec(event).expect("serializable");
    let event = serde_json::from_slice(&payload).expect("decodes as the loop decodes it");
    let message =
        OwnedMessage::new(Some(payload), Some(key.into_bytes()), topic.to_owned(), Timestamp::NotAvailable, 0, offset, None);
    Delivery { event, message, span: tracing::Span::none() }
}

/// A response of the API.
pub struct Reply {
    pub status: StatusCode,
    pub content_type: Option<String>,
    pub body: Value,
}

impl Timeline {
    fn next_offset(&self) -> i64 {
        self.offsets.fetch_add(1, Ordering::Relaxed)
    }

    /// Applies `items` as one batch of `interactions.resolved`.
    pub async fn apply(&self, items: &[ResolvedInteraction]) {
        let batch: Vec<_> =
            items.iter().map(|i| delivery(topics::INTERACTIONS_RESOLVED, i.key(), i, self.next_offset())).collect();
        self.interactions.handle(&batch).await.expect("batch applied");
    }

    /// Applies `changes` as one batch of `contacts.changes`.
    pub async fn apply_changes(&self, changes: &[ContactChange]) {
        let batch: Vec<_> = changes
            .iter()
            .map(|c| delivery(topics::CONTACTS_CHANGES, topics::contact_key(&c.tenant_id, &c.contact_id), c, self.next_offset()))
            .collect();
        self.changes.handle(&batch).await.expect("batch applied");
    }

    pub async fn request(&self, method: Method, path: &str, token: Option<&str>) -> Reply {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let response =
            self.router.clone().oneshot(request.body(Body::empty()).expect("request")).await.expect("infallible service");
        let status = response.status();
        let content_type = response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("body");
        let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
        Reply { status, content_type, body }
    }

    /// `GET path` as an operator of `tenant`; a problem is checked against the `Problem` schema.
    pub async fn get(&self, path: &str, tenant: &str) -> Reply {
        let reply = self.request(Method::GET, path, Some(&testkit::token(tenant, Role::Operator))).await;
        if reply.status != StatusCode::OK {
            assert_eq!(reply.content_type.as_deref(), Some("application/problem+json"), "GET {path}: {}", reply.body);
            self.conforms("Problem", &reply.body);
        }
        reply
    }

    /// `GET path` answered 200 with a body of the documented `schema`, read as `T`.
    pub async fn ok<T: DeserializeOwned>(&self, path: &str, tenant: &str, schema: &str) -> T {
        let reply = self.get(path, tenant).await;
        assert_eq!(reply.status, StatusCode::OK, "GET {path}: {}", reply.body);
        self.conforms(schema, &reply.body);
        serde_json::from_value(reply.body).unwrap_or_else(|e| panic!("GET {path}: not a {schema}: {e}"))
    }

    /// Panics unless `body` is valid against `components.schemas.<schema>` of the served document.
    pub fn conforms(&self, schema: &str, body: &Value) {
        let root = json!({ "$ref": format!("#/components/schemas/{schema}"), "components": self.document["components"] });
        let validator = jsonschema::draft202012::options()
            .should_validate_formats(true)
            .build(&root)
            .unwrap_or_else(|e| panic!("the {schema} schema compiles: {e}"));
        let errors: Vec<String> = validator.iter_errors(body).map(|e| format!("{} at {}", e, e.instance_path())).collect();
        assert!(errors.is_empty(), "the body does not match its documented {schema} schema: {errors:#?}\n{body:#}");
    }

    pub async fn page(&self, path: &str, tenant: &str) -> TimelinePage {
        self.ok(path, tenant, "TimelinePage").await
    }

    pub async fn detail(&self, id: Uuid, tenant: &str) -> InteractionDetail {
        self.ok(&format!("/v1/interactions/{id}"), tenant, "InteractionDetail").await
    }

    pub async fn search(&self, query: &str, tenant: &str) -> SearchResults {
        self.ok(&format!("/v1/search?{query}"), tenant, "SearchResults").await
    }

    /// Every item of a contact's timeline (`query` without `?`), newest first, walking the cursor.
    pub async fn timeline(&self, contact: Uuid, query: &str, tenant: &str) -> Vec<Item> {
        self.walk(&format!("/v1/contacts/{contact}/timeline?limit=200&{query}"), tenant).await
    }

    /// Every item of the pages of `path` (which has a query string), following `next_cursor`.
    pub async fn walk(&self, path: &str, tenant: &str) -> Vec<Item> {
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..100 {
            let page = self.page(&format!("{path}{}", cursor.map(|c| format!("&cursor={c}")).unwrap_or_default()), tenant).await;
            all.extend(page.items);
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return all,
            }
        }
        panic!("more than 100 pages of {path}");
    }
}

// ---------------------------------------------------------------------------------------------
// Reading items

pub fn interactions(items: &[Item]) -> Vec<&InteractionItem> {
    items.iter().filter_map(Item::as_interaction).collect()
}

/// `interaction:<text>` or `event:<kind>` per item.
pub fn kinds(items: &[Item]) -> Vec<String> {
    items
        .iter()
        .map(|item| match item {
            Item::Interaction(i) => format!("interaction:{}", i.text.as_deref().unwrap_or("")),
            Item::ContactEvent(e) => format!("event:{}", kind_name(e.kind)),
        })
        .collect()
}

pub fn kind_name(kind: ContactChangeKind) -> String {
    serde_json::to_value(kind).ok().and_then(|v| v.as_str().map(str::to_owned)).expect("a unit variant")
}

pub fn texts<'a, T: HasText + 'a>(items: impl IntoIterator<Item = &'a T>) -> Vec<&'a str> {
    items.into_iter().map(|i| i.text().unwrap_or("")).collect()
}

pub trait HasText {
    fn text(&self) -> Option<&str>;
}

impl HasText for Item {
    fn text(&self) -> Option<&str> {
        self.as_interaction().and_then(|i| i.text.as_deref())
    }
}

impl HasText for contracts::api::timeline::TranscriptEntry {
    fn text(&self) -> Option<&str> {
        self.text.as_deref()
    }
}

// ---------------------------------------------------------------------------------------------
// Events

#[derive(Clone)]
pub struct Msg {
    pub tenant: String,
    pub contact: Uuid,
    pub body: InteractionBody,
    pub matched_by: Option<MatchedBy>,
}

/// A WhatsApp message of `contact` in conversation `conv-1`, `secs` after T0.
pub fn msg(contact: Uuid, provider_ref: &str, secs: i64) -> Msg {
    Msg {
        tenant: "acme".into(),
        contact,
        body: InteractionBody {
            channel: Channel::Whatsapp,
            direction: Direction::Inbound,
            occurred_at: at(secs),
            provider_ref: provider_ref.into(),
            conversation_ref: Some("conv-1".into()),
            identities: vec![Identity::new(IdentityKind::Whatsapp, "420777123456", None)],
            profile: None,
            content: None,
            call: None,
            parameters: BTreeMap::new(),
            reaction: None,
            event: None,
            sanitized: Vec::new(),
        },
        matched_by: Some(MatchedBy { kind: IdentityKind::Whatsapp, value: "420777123456".into(), scope: None }),
    }
}

impl Msg {
    pub fn tenant(mut self, tenant: &str) -> Self {
        self.tenant = tenant.into();
        self
    }
    pub fn channel(mut self, channel: Channel) -> Self {
        self.body.channel = channel;
        self
    }
    pub fn outbound(mut self) -> Self {
        self.body.direction = Direction::Outbound;
        self
    }
    pub fn conversation(mut self, conversation: Option<&str>) -> Self {
        self.body.conversation_ref = conversation.map(str::to_owned);
        self
    }
    fn content(&mut self) -> &mut Content {
        self.body.content.get_or_insert_with(Content::default)
    }
    pub fn text(mut self, text: &str) -> Self {
        self.content().text = Some(text.into());
        self
    }
    pub fn subject(mut self, subject: &str) -> Self {
        self.content().subject = Some(subject.into());
        self
    }
    pub fn attachment(mut self, name: &str) -> Self {
        self.content().attachments.push(Attachment {
            name: Some(name.into()),
            mime: Some("image/jpeg".into()),
            size: Some(1234),
            url: Some(format!("https://files.example/{name}")),
        });
        self
    }
    pub fn call(mut self, status: &str, duration_s: Option<u64>, recording_url: Option<&str>) -> Self {
        self.body.channel = Channel::Voip;
        self.body.call = Some(Call {
            from: Some("+420777123456".into()),
            to: Some("+420222000111".into()),
            duration_s,
            status: Some(CallStatus::parse(status)),
            recording_url: recording_url.map(str::to_owned),
        });
        self
    }
    pub fn param(mut self, key: &str, value: &str) -> Self {
        self.body.parameters.insert(key.into(), value.into());
        self
    }
    /// A reaction to `target` (`None`: its removal).
    pub fn reaction(mut self, target: &str, emoji: Option<&str>) -> Self {
        self.body.reaction = Some(Reaction { target_provider_ref: target.into(), emoji: emoji.map(str::to_owned) });
        self
    }
    pub fn conversation_event(mut self, event: ConversationEvent) -> Self {
        self.body.event = Some(event);
        self
    }
    pub fn id(&self) -> Uuid {
        InteractionEvent::id_for(&self.tenant, self.body.channel, &self.body.provider_ref)
    }
    pub fn resolved(&self) -> ResolvedInteraction {
        ResolvedInteraction {
            v: 1,
            tenant_id: self.tenant.clone(),
            contact_id: Some(self.contact.into()),
            interaction: InteractionEvent::new(self.tenant.clone(), self.body.clone()),
            resolution: Resolution {
                matched_by: self.matched_by.clone(),
                created_contact: self.matched_by.is_none(),
                ..Resolution::default()
            },
        }
    }
}

pub fn resolved(items: &[&Msg]) -> Vec<ResolvedInteraction> {
    items.iter().map(|m| m.resolved()).collect()
}

/// A change of `contact` by an operator, `secs` after T0.
pub fn change(contact: Uuid, kind: ContactChangeKind, secs: i64) -> ContactChange {
    ContactChange {
        v: 1,
        change_id: Uuid::new_v4(),
        tenant_id: "acme".into(),
        contact_id: contact.into(),
        kind,
        occurred_at: at(secs),
        actor: Actor::Operator { id: "op-1".into() },
        reason: "operator edit".into(),
        changes: vec![],
        related_contact_id: None,
    }
}

pub fn with_field(mut change: ContactChange, field: &str, before: Option<Value>, after: Option<Value>) -> ContactChange {
    change.changes.push(FieldChange { field: field.into(), before, after });
    change
}

pub fn email(value: &str) -> Value {
    json!({"kind": "email", "value": value, "scope": null})
}

/// Every row of the timeline's tables, as text, sorted per table.
pub async fn snapshot(pool: &PgPool) -> Vec<String> {
    let mut rows = Vec::new();
    for table in [
        "interactions",
        "interaction_messages",
        "message_reactions",
        "contact_events",
        "processed_changes",
        "contact_merges",
        "erased_contacts",
    ] {
        // Table names are this list's constants.
        let mut table_rows: Vec<String> =
            sqlx::query_scalar(&format!("SELECT to_jsonb(t)::text FROM {table} t")).fetch_all(pool).await.expect("rows");
        table_rows.sort();
        rows.extend(table_rows.into_iter().map(|r| format!("{table} {r}")));
    }
    rows
}
