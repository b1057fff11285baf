//! The Timeline API over real HTTP, fed through `interactions.resolved` and `contacts.changes`
//! on Kafka (the embedded mock cluster, or `TEST_KAFKA_BROKERS`), one fresh database per test.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use contracts::{
    topics, Actor, Attachment, Call, CallStatus, Channel, ContactChange, ContactChangeKind, Content, ConversationEvent,
    Direction, FieldChange, Identity, IdentityKind, InteractionBody, InteractionEvent, MatchedBy, Reaction, Resolution,
    ResolvedInteraction,
};
use runtime::http::auth::Role;
use runtime::kafka::Publisher;
use runtime::settings::DatabaseSettings;
use runtime::shutdown::CancellationToken;
use serde_json::{json, Value};
use testkit::{eventually, fresh_database, TestKafka};
use timeline::{Config, ErasureMode};
use tokio::task::JoinHandle;
use uuid::Uuid;

const T0: i64 = 1_764_000_000;
const SENTINEL_TENANT: &str = "sentinel";

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp(T0 + secs, 0).expect("valid time")
}

fn rfc3339(secs: i64) -> String {
    at(secs).to_rfc3339_opts(SecondsFormat::Secs, true)
}

// ---------------------------------------------------------------------------------------------
// The service under test

/// One running timeline process (HTTP + both consumers).
struct Instance {
    url: String,
    shutdown: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
}

async fn start_instance(
    kafka: &TestKafka,
    database: &DatabaseSettings,
    config: Config,
    group_prefix: Option<String>,
) -> Instance {
    let mut settings = kafka.settings_for(database, config);
    if let Some(prefix) = group_prefix {
        settings.kafka.group_prefix = prefix;
    }
    let shutdown = CancellationToken::new();
    let publisher = Publisher::new(&kafka.settings).expect("publisher");
    let running = timeline::start(&settings, publisher, shutdown.clone()).await.expect("timeline starts");
    let url = format!("http://{}", running.http_addr.expect("http"));
    Instance { url, shutdown, task: tokio::spawn(running.wait()) }
}

struct Timeline {
    instance: Instance,
    publisher: Publisher,
    database: testkit::TestDatabase,
    kafka: TestKafka,
}

impl Drop for Timeline {
    fn drop(&mut self) {
        self.instance.shutdown.cancel();
    }
}

async fn spawn() -> Timeline {
    spawn_with(Config::default()).await
}

async fn spawn_with(config: Config) -> Timeline {
    let kafka = TestKafka::start().await;
    let database = fresh_database();
    let instance = start_instance(&kafka, &database, config, None).await;
    let publisher = Publisher::new(&kafka.settings).expect("publisher");
    Timeline { instance, publisher, database, kafka }
}

impl Timeline {
    async fn publish(&self, items: &[ResolvedInteraction]) {
        for item in items {
            self.publisher
                .publish(topics::INTERACTIONS_RESOLVED, &item.key(), "interaction.resolved", item)
                .await
                .expect("published");
        }
    }

    async fn publish_changes(&self, changes: &[ContactChange]) {
        for change in changes {
            let key = topics::contact_key(&change.tenant_id, &change.contact_id);
            self.publisher.publish(topics::CONTACTS_CHANGES, &key, "contact.changed", change).await.expect("published");
        }
    }

    async fn get(&self, path: &str, tenant: &str) -> (u16, Value) {
        let response = testkit::http()
            .get(format!("{}{path}", self.instance.url))
            .bearer_auth(testkit::token(tenant, Role::Operator))
            .send()
            .await
            .expect("sent");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn ok(&self, path: &str, tenant: &str) -> Value {
        let (status, body) = self.get(path, tenant).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    /// The items of one page.
    async fn items(&self, path: &str, tenant: &str) -> Vec<Value> {
        self.ok(path, tenant).await["items"].as_array().cloned().unwrap_or_default()
    }

    /// Every item of a contact's timeline (`query` without `?`), newest first, walking the cursor.
    async fn timeline(&self, contact: Uuid, query: &str, tenant: &str) -> Vec<Value> {
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!("/v1/contacts/{contact}/timeline?limit=200&{query}");
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={c}"));
            }
            let page = self.ok(&path, tenant).await;
            all.extend(page["items"].as_array().cloned().unwrap_or_default());
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => return all,
            }
        }
    }

    /// Waits until everything published so far on both topics has been applied: a sentinel
    /// (another tenant, so nothing else changes) is published after it on every partition, and
    /// each partition is consumed in order.
    async fn settle(&self) {
        let mut partitions = BTreeSet::new();
        let mut interactions = Vec::new();
        for n in 0.. {
            if partitions.len() >= 3 || n >= 200 {
                break;
            }
            let item = msg(Uuid::new_v4(), &format!("sentinel-{}", Uuid::new_v4()), 0).tenant(SENTINEL_TENANT).resolved();
            let written = self
                .publisher
                .publish(topics::INTERACTIONS_RESOLVED, &item.key(), "interaction.resolved", &item)
                .await
                .expect("published");
            partitions.insert(written.partition);
            interactions.push(item.interaction.interaction_id);
        }
        let mut partitions = BTreeSet::new();
        let mut contacts = Vec::new();
        for n in 0.. {
            if partitions.len() >= 3 || n >= 200 {
                break;
            }
            let mut sentinel = change(Uuid::new_v4(), ContactChangeKind::Created, 0);
            sentinel.tenant_id = SENTINEL_TENANT.into();
            let key = topics::contact_key(&sentinel.tenant_id, &sentinel.contact_id);
            let written =
                self.publisher.publish(topics::CONTACTS_CHANGES, &key, "contact.changed", &sentinel).await.expect("published");
            partitions.insert(written.partition);
            contacts.push(sentinel.contact_id);
        }
        for id in interactions {
            eventually(Duration::from_secs(60), "the interaction sentinels", || async {
                (self.get(&format!("/v1/interactions/{id}"), SENTINEL_TENANT).await.0 == 200).then_some(())
            })
            .await;
        }
        for contact in contacts {
            eventually(Duration::from_secs(60), "the change sentinels", || async {
                let items = self.items(&format!("/v1/contacts/{contact}/timeline?type=contact_event"), SENTINEL_TENANT).await;
                (!items.is_empty()).then_some(())
            })
            .await;
        }
    }

    async fn pool(&self) -> sqlx::PgPool {
        testkit::pool(&self.database, timeline::SCHEMA).await
    }
}

// ---------------------------------------------------------------------------------------------
// Events

#[derive(Clone)]
struct Msg {
    tenant: String,
    contact: Uuid,
    body: InteractionBody,
    matched_by: Option<MatchedBy>,
}

/// A WhatsApp message of `contact` in conversation `conv-1`, `secs` after T0.
fn msg(contact: Uuid, provider_ref: &str, secs: i64) -> Msg {
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
    fn tenant(mut self, tenant: &str) -> Self {
        self.tenant = tenant.into();
        self
    }
    fn channel(mut self, channel: Channel) -> Self {
        self.body.channel = channel;
        self
    }
    fn outbound(mut self) -> Self {
        self.body.direction = Direction::Outbound;
        self
    }
    fn conversation(mut self, conversation: Option<&str>) -> Self {
        self.body.conversation_ref = conversation.map(str::to_owned);
        self
    }
    fn content(&mut self) -> &mut Content {
        self.body.content.get_or_insert_with(Content::default)
    }
    fn text(mut self, text: &str) -> Self {
        self.content().text = Some(text.into());
        self
    }
    fn subject(mut self, subject: &str) -> Self {
        self.content().subject = Some(subject.into());
        self
    }
    fn attachment(mut self, name: &str) -> Self {
        self.content().attachments.push(Attachment {
            name: Some(name.into()),
            mime: Some("image/jpeg".into()),
            size: Some(1234),
            url: Some(format!("https://files.example/{name}")),
        });
        self
    }
    fn call(mut self, status: &str, duration_s: Option<u64>, recording_url: Option<&str>) -> Self {
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
    fn param(mut self, key: &str, value: &str) -> Self {
        self.body.parameters.insert(key.into(), value.into());
        self
    }
    /// A reaction to `target` (`None`: its removal).
    fn reaction(mut self, target: &str, emoji: Option<&str>) -> Self {
        self.body.reaction = Some(Reaction { target_provider_ref: target.into(), emoji: emoji.map(str::to_owned) });
        self
    }
    fn conversation_event(mut self, event: ConversationEvent) -> Self {
        self.body.event = Some(event);
        self
    }
    fn id(&self) -> Uuid {
        InteractionEvent::id_for(&self.tenant, self.body.channel, &self.body.provider_ref)
    }
    fn resolved(&self) -> ResolvedInteraction {
        ResolvedInteraction {
            v: 1,
            tenant_id: self.tenant.clone(),
            contact_id: self.contact,
            interaction: InteractionEvent::new(self.tenant.clone(), self.body.clone()),
            resolution: Resolution {
                matched_by: self.matched_by.clone(),
                created_contact: self.matched_by.is_none(),
                candidates: vec![],
                ignored: vec![],
            },
        }
    }
}

fn resolved(items: &[&Msg]) -> Vec<ResolvedInteraction> {
    items.iter().map(|m| m.resolved()).collect()
}

/// A change of `contact` by an operator, `secs` after T0.
fn change(contact: Uuid, kind: ContactChangeKind, secs: i64) -> ContactChange {
    ContactChange {
        v: 1,
        change_id: Uuid::new_v4(),
        tenant_id: "acme".into(),
        contact_id: contact,
        kind,
        occurred_at: at(secs),
        actor: Actor::Operator { id: "op-1".into() },
        reason: "operator edit".into(),
        changes: vec![],
        related_contact_id: None,
    }
}

fn with_field(mut change: ContactChange, field: &str, before: Option<Value>, after: Option<Value>) -> ContactChange {
    change.changes.push(FieldChange { field: field.into(), before, after });
    change
}

fn email(value: &str) -> Value {
    json!({"kind": "email", "value": value, "scope": null})
}

fn kinds(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|i| match i["type"].as_str() {
            Some("interaction") => format!("interaction:{}", i["text"].as_str().unwrap_or("")),
            Some("contact_event") => format!("event:{}", i["kind"].as_str().unwrap_or("")),
            other => panic!("unexpected item type {other:?}"),
        })
        .collect()
}

fn texts(items: &[Value]) -> Vec<&str> {
    items.iter().map(|i| i["text"].as_str().unwrap_or("")).collect()
}

// ---------------------------------------------------------------------------------------------
// Pagination and basics

#[tokio::test]
async fn pages_are_newest_first_and_the_cursor_walks_every_entry_once() {
    let timeline = spawn().await;
    let contact = Uuid::new_v4();
    let items: Vec<_> = (0..5)
        .map(|n| {
            msg(contact, &format!("m{n}"), n * 60)
                .channel(Channel::Email)
                .conversation(None)
                .text(&format!("zpráva {n}"))
                .resolved()
        })
        .collect();
    timeline.publish(&items).await;
    timeline.publish(&items[..2]).await; // redelivery
    timeline.settle().await;

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/contacts/{contact}/timeline?limit=2&cursor={c}"),
            None => format!("/v1/contacts/{contact}/timeline?limit=2"),
        };
        let page = timeline.ok(&path, "acme").await;
        seen.extend(page["items"].as_array().expect("items").iter().map(|i| i["text"].as_str().unwrap_or_default().to_owned()));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, ["zpráva 4", "zpráva 3", "zpráva 2", "zpráva 1", "zpráva 0"], "newest first, each once");
}

#[tokio::test]
async fn the_channel_filter_and_the_detail_view_work_and_bad_input_is_a_problem() {
    let timeline = spawn().await;
    let contact = Uuid::new_v4();
    let email = msg(contact, "e1", 60).channel(Channel::Email).text("e-mail");
    let call = msg(contact, "c1", 120).call("completed", Some(5), None).text("call");
    timeline.publish(&resolved(&[&email, &call])).await;
    timeline.settle().await;

    let page = timeline.items(&format!("/v1/contacts/{contact}/timeline?channel=voip"), "acme").await;
    assert_eq!(page.len(), 1);
    assert_eq!(page[0]["channel"], "voip");

    let detail = timeline.ok(&format!("/v1/interactions/{}", email.id()), "acme").await;
    assert_eq!(detail["type"], "interaction");
    assert_eq!(detail["event"]["content"]["text"], "e-mail");
    assert_eq!(detail["resolution"]["created_contact"], false);
    assert_eq!(detail["matched_by"]["kind"], "whatsapp");

    let problems = [
        format!("/v1/contacts/{contact}/timeline?channel=fax"),
        format!("/v1/contacts/{contact}/timeline?cursor=%%%"),
        format!("/v1/contacts/{contact}/timeline?limit=many"),
        format!("/v1/contacts/{contact}/timeline?unknown=1"),
        format!("/v1/contacts/{contact}/timeline?type=note"),
        format!("/v1/contacts/{contact}/timeline?from=yesterday"),
        format!("/v1/contacts/{contact}/timeline?from={}&to={}", rfc3339(100), rfc3339(50)),
        format!("/v1/contacts/{contact}/timeline?q=%21%21%21"),
        "/v1/contacts/not-a-uuid/timeline".to_owned(),
        "/v1/interactions/not-a-uuid".to_owned(),
        "/v1/search".to_owned(),
        "/v1/search?q=kun&cursor=bm9wZQ".to_owned(),
    ];
    for path in problems {
        let response = testkit::http()
            .get(format!("{}{path}", timeline.instance.url))
            .bearer_auth(testkit::token("acme", Role::Operator))
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status().as_u16(), 400, "{path}");
        assert_eq!(
            response.headers().get("content-type").and_then(|v| v.to_str().ok()),
            Some("application/problem+json"),
            "{path}"
        );
    }
    assert_eq!(timeline.get(&format!("/v1/interactions/{}", Uuid::new_v4()), "acme").await.0, 404);
    let unauthenticated =
        testkit::http().get(format!("{}/v1/contacts/{contact}/timeline", timeline.instance.url)).send().await.expect("sent");
    assert_eq!(unauthenticated.status().as_u16(), 401);
    assert_eq!(unauthenticated.headers().get("content-type").and_then(|v| v.to_str().ok()), Some("application/problem+json"));
    for path in ["/v1/search?q=x".to_owned(), format!("/v1/interactions/{}", email.id())] {
        let response = testkit::http().get(format!("{}{path}", timeline.instance.url)).send().await.expect("sent");
        assert_eq!(response.status().as_u16(), 401, "{path}");
    }
    let openapi: Value = testkit::http()
        .get(format!("{}/openapi.json", timeline.instance.url))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    assert!(openapi["paths"]["/v1/search"].is_object());
}

#[tokio::test]
async fn pages_stay_stable_while_new_items_arrive_between_requests() {
    let timeline = spawn().await;
    let contact = Uuid::new_v4();
    let original: Vec<Msg> = (0..30)
        .map(|n| {
            msg(contact, &format!("orig-{n}"), 10_000 + n * 60)
                .channel(Channel::Email)
                .conversation(None)
                .text(&format!("původní {n}"))
        })
        .collect();
    timeline.publish(&original.iter().map(Msg::resolved).collect::<Vec<_>>()).await;
    timeline.settle().await;

    let (mut seen, mut newer, mut older_below_cursor) = (Vec::<Value>::new(), HashSet::new(), HashSet::new());
    let mut cursor: Option<String> = None;
    for round in 0.. {
        let path = match &cursor {
            Some(c) => format!("/v1/contacts/{contact}/timeline?limit=7&cursor={c}"),
            None => format!("/v1/contacts/{contact}/timeline?limit=7"),
        };
        let page = timeline.ok(&path, "acme").await;
        seen.extend(page["items"].as_array().cloned().unwrap_or_default());
        let Some(next) = page["next_cursor"].as_str() else { break };
        cursor = Some(next.to_owned());
        // Between two page requests: two items newer than everything, one older than the cursor.
        let last = seen.last().expect("a full page");
        let last_at =
            DateTime::parse_from_rfc3339(last["occurred_at"].as_str().expect("time")).expect("rfc3339").timestamp() - T0;
        let inserted = [
            msg(contact, &format!("new-{round}-a"), 100_000 + round * 10).channel(Channel::Email).conversation(None).text("nová"),
            msg(contact, &format!("new-{round}-b"), 100_001 + round * 10).channel(Channel::Email).conversation(None).text("nová"),
            msg(contact, &format!("old-{round}"), last_at - 7).channel(Channel::Email).conversation(None).text("starší"),
        ];
        newer.extend([inserted[0].id(), inserted[1].id()]);
        older_below_cursor.insert(inserted[2].id());
        timeline.publish(&inserted.iter().map(Msg::resolved).collect::<Vec<_>>()).await;
        for item in &inserted {
            eventually(Duration::from_secs(60), "the inserted item", || async {
                (timeline.get(&format!("/v1/interactions/{}", item.id()), "acme").await.0 == 200).then_some(())
            })
            .await;
        }
        assert!(round < 20, "the walk ends");
    }

    let ids: Vec<Uuid> = seen.iter().map(|i| Uuid::parse_str(i["id"].as_str().expect("id")).expect("uuid")).collect();
    let unique: HashSet<Uuid> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "no item twice");
    let positions: Vec<(String, Uuid)> =
        seen.iter().zip(&ids).map(|(i, id)| (i["occurred_at"].as_str().expect("time").to_owned(), *id)).collect();
    assert!(
        positions.windows(2).all(|w| (DateTime::parse_from_rfc3339(&w[0].0).expect("t"), w[0].1)
            > (DateTime::parse_from_rfc3339(&w[1].0).expect("t"), w[1].1)),
        "strictly newest first"
    );
    for item in &original {
        assert!(unique.contains(&item.id()), "every original item is seen once");
    }
    assert!(newer.iter().all(|id| !unique.contains(id)), "items newer than the first page never show up later");
    assert!(older_below_cursor.iter().all(|id| unique.contains(id)), "items inserted below the cursor are reached");
}

// ---------------------------------------------------------------------------------------------
// Transcripts and calls

#[tokio::test]
async fn messages_of_a_conversation_within_the_idle_gap_form_one_interaction_with_a_transcript() {
    let timeline = spawn().await;
    let contact = Uuid::new_v4();
    let m1 = msg(contact, "wamid.1", 0).text("Dobrý den, kde je moje zásilka?");
    let m2 = msg(contact, "wamid.2", 300).outbound().text("Zásilka 4411 je u dopravce.");
    let m3 = msg(contact, "wamid.3", 1200).text("Děkuji").attachment("foto.jpg");
    let after_gap = msg(contact, "wamid.4", 1200 + 31 * 60).text("Ještě jedna otázka");
    let other_conversation = msg(contact, "wamid.5", 600).conversation(Some("conv-2")).text("Jiná konverzace");
    let no_conversation = msg(contact, "web.1", 900).channel(Channel::Webchat).conversation(None).text("Bez konverzace");
    // A delivery status and an edit are later states of messages already stored.
    let status =
        msg(contact, "wamid.2", 400).outbound().param("delivery_status", "read").param("delivery_status_at", &rfc3339(400));
    let edit = msg(contact, "wamid.1", 0).text("Dobrý den, kde je moje zásilka 4411?").param("edited_at", &rfc3339(100));
    timeline.publish(&resolved(&[&m1, &m2, &m3, &after_gap, &other_conversation, &no_conversation])).await;
    timeline.publish(&resolved(&[&m2, &m3, &status, &edit])).await; // redelivery and later states
    timeline.settle().await;

    let items = timeline.timeline(contact, "", "acme").await;
    assert_eq!(
        texts(&items),
        ["Ještě jedna otázka", "Bez konverzace", "Jiná konverzace", "Dobrý den, kde je moje zásilka 4411?"],
        "one interaction per conversation and idle gap, newest first"
    );
    let conversation = &items[3];
    assert_eq!(conversation["interaction_id"], m1.id().to_string(), "the opening message names the interaction");
    assert_eq!(conversation["message_count"], 3);
    assert_eq!(conversation["last_message_at"], json!(at(1200)));
    assert_eq!(conversation["details"]["inbound"], 2);
    assert_eq!(conversation["details"]["outbound"], 1);
    assert_eq!(conversation["details"]["delivery_status"], "read");
    assert_eq!(conversation["details"]["participants"][0]["value"], "420777123456");
    assert_eq!(conversation["attachments"][0]["name"], "foto.jpg");
    assert_eq!(conversation["attachments"][0]["message_id"], m3.id().to_string());
    assert_eq!(conversation["matched_by"]["kind"], "whatsapp");

    // Any message id opens its interaction, with the whole transcript.
    let detail = timeline.ok(&format!("/v1/interactions/{}", m2.id()), "acme").await;
    assert_eq!(detail["interaction_id"], m1.id().to_string());
    let transcript = detail["transcript"].as_array().expect("transcript");
    assert_eq!(texts(transcript), ["Dobrý den, kde je moje zásilka 4411?", "Zásilka 4411 je u dopravce.", "Děkuji"]);
    assert_eq!(transcript[1]["direction"], "outbound");
    assert_eq!(transcript[1]["delivery_status"], "read");
    assert_eq!(transcript[1]["occurred_at"], json!(at(300)), "a status does not move the message");
    assert!(transcript[0]["edited_at"].is_string(), "the edit is marked");
    assert!(transcript[1]["edited_at"].is_null());
    assert_eq!(transcript[2]["attachments"][0]["mime"], "image/jpeg");
    assert_eq!(transcript[0]["matched_by"]["value"], "420777123456");
}

#[tokio::test]
async fn a_late_message_that_closes_the_idle_gap_joins_both_halves_of_the_conversation() {
    let timeline = spawn_with(Config { conversation_idle_gap_secs: 1000, ..Config::default() }).await;
    let contact = Uuid::new_v4();
    let first = msg(contact, "vk.1", 0).channel(Channel::Vk).text("první");
    let last = msg(contact, "vk.3", 1800).channel(Channel::Vk).text("třetí");
    timeline.publish(&resolved(&[&first, &last])).await;
    timeline.settle().await;
    assert_eq!(texts(&timeline.timeline(contact, "", "acme").await), ["třetí", "první"], "1800 s apart with a 1000 s gap");

    let middle = msg(contact, "vk.2", 900).channel(Channel::Vk).text("druhá");
    timeline.publish(&resolved(&[&middle])).await;
    timeline.settle().await;
    let items = timeline.timeline(contact, "", "acme").await;
    assert_eq!(items.len(), 1, "{items:#?}");
    assert_eq!(items[0]["message_count"], 3);
    let detail = timeline.ok(&format!("/v1/interactions/{}", last.id()), "acme").await;
    assert_eq!(detail["interaction_id"], first.id().to_string());
    assert_eq!(texts(detail["transcript"].as_array().expect("transcript")), ["první", "druhá", "třetí"]);
}

#[tokio::test]
async fn a_call_is_one_interaction_updated_through_its_states() {
    let timeline = spawn().await;
    let contact = Uuid::new_v4();
    let state = |status: &str, duration: Option<u64>, recording: Option<&str>| {
        msg(contact, "CA42", 0).conversation(Some("CA42")).call(status, duration, recording)
    };
    let ringing = state("ringing", None, None);
    let states = [
        &ringing,
        &state("in-progress", None, None),
        &state("completed", Some(63), None),
        &state("completed", None, Some("https://rec.example/CA42.mp3")),
    ];
    timeline.publish(&resolved(&states)).await;
    timeline.publish(&resolved(&[&ringing])).await; // a late duplicate of the first state
    timeline.settle().await;

    let items = timeline.timeline(contact, "", "acme").await;
    assert_eq!(items.len(), 1, "{items:#?}");
    let call = &items[0];
    assert_eq!(call["channel"], "voip");
    assert_eq!(call["interaction_id"], ringing.id().to_string());
    assert_eq!(call["message_count"], 1);
    assert_eq!(call["details"]["call_status"], "completed");
    assert_eq!(call["details"]["duration_s"], 63);
    assert_eq!(call["details"]["recording_url"], "https://rec.example/CA42.mp3");
    assert_eq!(call["details"]["from"], "+420777123456");
    assert_eq!(call["details"]["to"], "+420222000111");
    let detail = timeline.ok(&format!("/v1/interactions/{}", ringing.id()), "acme").await;
    assert_eq!(detail["transcript"][0]["call"]["status"], "completed");
}

#[tokio::test]
async fn a_state_without_a_usable_time_never_moves_a_call_back_in_its_lifecycle() {
    let timeline = spawn().await;
    let contact = Uuid::new_v4();
    let state = |status: &str, secs: i64| {
        msg(contact, "CA77", secs).conversation(Some("CA77")).call(status, None, None).param("provider_status", status)
    };
    // Twilio's ringing callback without a Timestamp is dated when it arrived, after the call.
    let completed = state("completed", 0);
    let late_ringing = state("ringing", 3600);
    timeline.publish(&resolved(&[&completed, &late_ringing])).await;
    let other = Uuid::new_v4();
    let (ringing_first, completed_after) = (
        msg(other, "CA78", 3600).conversation(Some("CA78")).call("ringing", None, None).param("provider_status", "ringing"),
        msg(other, "CA78", 0).conversation(Some("CA78")).call("completed", Some(95), None).param("provider_status", "completed"),
    );
    timeline.publish(&resolved(&[&ringing_first, &completed_after])).await;
    timeline.settle().await;

    for (contact, id) in [(contact, completed.id()), (other, ringing_first.id())] {
        let items = timeline.timeline(contact, "", "acme").await;
        assert_eq!(items.len(), 1);
        assert_eq!(items[0]["details"]["call_status"], "completed", "{contact}");
        assert_eq!(items[0]["parameters"]["provider_status"], "completed", "the provider's word agrees with the status");
        assert_eq!(items[0]["occurred_at"], json!(at(0)));
        let detail = timeline.ok(&format!("/v1/interactions/{id}"), "acme").await;
        assert_eq!(detail["transcript"][0]["call"]["status"], "completed");
        assert_eq!(detail["transcript"][0]["parameters"]["provider_status"], "completed");
    }
}

#[tokio::test]
async fn a_reaction_belongs_to_the_message_it_reacts_to_latest_wins_and_removal_clears() {
    let timeline = spawn().await;
    let contact = Uuid::new_v4();
    let question = msg(contact, "wamid.q", 0).text("Můžete to prověřit?");
    let answer = msg(contact, "wamid.a", 60).outbound().text("Zásilka dorazí zítra.");
    let like = msg(contact, "wamid.r1", 90).reaction("wamid.a", Some("👍"));
    let love = msg(contact, "wamid.r2", 120).reaction("wamid.a", Some("❤️"));
    timeline.publish(&resolved(&[&question, &answer, &like, &love])).await;
    timeline.publish(&resolved(&[&like])).await; // an older reaction delivered again, late
    timeline.settle().await;

    let items = timeline.timeline(contact, "", "acme").await;
    assert_eq!(items.len(), 1, "a reaction opens no interaction: {items:#?}");
    assert_eq!(items[0]["message_count"], 2, "nor is it counted");
    assert_eq!(items[0]["details"]["inbound"], 1);
    let detail = timeline.ok(&format!("/v1/interactions/{}", question.id()), "acme").await;
    let transcript = detail["transcript"].as_array().expect("transcript");
    assert_eq!(texts(transcript), ["Můžete to prověřit?", "Zásilka dorazí zítra."], "no transcript entry for a reaction");
    assert_eq!(transcript[0]["reactions"], json!([]));
    let reactions = &transcript[1]["reactions"];
    assert_eq!(reactions.as_array().map(Vec::len), Some(1), "one per reactor: {reactions}");
    assert_eq!(reactions[0]["emoji"], "❤️", "the latest wins");
    assert_eq!(reactions[0]["reactor"], "whatsapp:420777123456");
    assert_eq!(reactions[0]["direction"], "inbound");
    assert_eq!(timeline.get(&format!("/v1/interactions/{}", like.id()), "acme").await.0, 404);

    let removed = msg(contact, "wamid.r3", 150).reaction("wamid.a", None);
    timeline.publish(&resolved(&[&removed, &like])).await;
    timeline.settle().await;
    let detail = timeline.ok(&format!("/v1/interactions/{}", answer.id()), "acme").await;
    assert_eq!(detail["transcript"][1]["reactions"], json!([]), "the removal clears it and a late older one does not return");
    assert_eq!(timeline.timeline(contact, "", "acme").await[0]["message_count"], 2);
}

#[tokio::test]
async fn a_reaction_that_arrives_before_its_message_shows_once_the_message_does() {
    let timeline = spawn().await;
    let contact = Uuid::new_v4();
    let early = msg(contact, "wamid.r9", 30).reaction("wamid.late", Some("🙏"));
    timeline.publish(&resolved(&[&early])).await;
    timeline.settle().await;
    assert!(timeline.timeline(contact, "", "acme").await.is_empty(), "nothing to show without the message");

    let target = msg(contact, "wamid.late", 0).outbound().text("Objednávka je připravena k vyzvednutí.");
    timeline.publish(&resolved(&[&target])).await;
    timeline.settle().await;
    let detail = timeline.ok(&format!("/v1/interactions/{}", target.id()), "acme").await;
    assert_eq!(detail["message_count"], 1);
    assert_eq!(detail["transcript"][0]["reactions"][0]["emoji"], "🙏");
}

#[tokio::test]
async fn a_closed_conversation_is_an_event_of_its_transcript_not_a_message() {
    let timeline = spawn().await;
    let contact = Uuid::new_v4();
    let apple = |m: Msg| m.channel(Channel::Apple).conversation(Some("biz:urn:mbid:A"));
    let question = apple(msg(contact, "apple-1", 0).text("Kdy otevíráte?"));
    let reply = apple(msg(contact, "apple-2", 60).outbound().text("V 9:00."));
    let close = apple(msg(contact, "apple-3", 120).conversation_event(ConversationEvent::Closed));
    timeline.publish(&resolved(&[&question, &reply, &close])).await;
    timeline.publish(&resolved(&[&close])).await;
    timeline.settle().await;

    let items = timeline.timeline(contact, "", "acme").await;
    assert_eq!(items.len(), 1);
    let conversation = &items[0];
    assert_eq!(conversation["message_count"], 2, "the close is no message");
    assert_eq!((&conversation["details"]["inbound"], &conversation["details"]["outbound"]), (&json!(1), &json!(1)));
    assert_eq!(conversation["details"]["conversation_events"], json!([{"event": "closed", "occurred_at": at(120)}]));
    assert_eq!(conversation["text"], "Kdy otevíráte?");
    let detail = timeline.ok(&format!("/v1/interactions/{}", close.id()), "acme").await;
    let transcript = detail["transcript"].as_array().expect("transcript");
    let entries: Vec<(&str, Option<&str>)> =
        transcript.iter().map(|e| (e["type"].as_str().unwrap_or(""), e["conversation_event"].as_str())).collect();
    assert_eq!(entries, [("message", None), ("message", None), ("conversation_event", Some("closed"))]);
    assert!(transcript[2]["text"].is_null());
}

// ---------------------------------------------------------------------------------------------
// Contact events, merges

#[tokio::test]
async fn contact_detail_changes_are_interleaved_with_interactions_and_filterable_by_type() {
    let timeline = spawn().await;
    let contact = Uuid::new_v4();
    let created = with_field(change(contact, ContactChangeKind::Created, -3600), "name", None, Some(json!("Jan Novák")));
    let added = with_field(
        change(contact, ContactChangeKind::IdentifierAdded, 3600),
        "identities.email",
        None,
        Some(email("jan.novak@example.cz")),
    );
    let renamed = with_field(
        change(contact, ContactChangeKind::NameChanged, 10_800),
        "name",
        Some(json!("Jan Novák")),
        Some(json!("Jan Nováček")),
    );
    let removed = with_field(
        change(contact, ContactChangeKind::IdentifierRemoved, 14_400),
        "identities.email",
        Some(email("jan.novak@example.cz")),
        None,
    );
    let mut suggestion = change(contact, ContactChangeKind::DuplicateSuggested, 5000);
    suggestion.related_contact_id = Some(Uuid::new_v4());
    let first = msg(contact, "wamid.a", 0).text("první zpráva");
    let second = msg(contact, "wamid.b", 7200).text("druhá zpráva");
    timeline.publish_changes(&[created.clone(), added.clone(), suggestion, renamed.clone(), removed.clone()]).await;
    timeline.publish_changes(std::slice::from_ref(&added)).await; // redelivery
    timeline.publish(&resolved(&[&first, &second])).await;
    timeline.settle().await;

    let items = timeline.timeline(contact, "", "acme").await;
    assert_eq!(
        kinds(&items),
        [
            "event:identifier_removed",
            "event:name_changed",
            "interaction:druhá zpráva",
            "event:identifier_added",
            "interaction:první zpráva",
            "event:created"
        ],
        "one chronological history; the duplicate suggestion is not a change of the card"
    );
    let event = &items[3];
    assert_eq!(event["change_id"], added.change_id.to_string());
    assert_eq!(event["changes"][0]["field"], "identities.email");
    assert_eq!(event["changes"][0]["after"]["value"], "jan.novak@example.cz");
    assert_eq!(event["actor"]["type"], "operator");
    assert_eq!(event["reason"], "operator edit");

    // Small pages walk the same merged order.
    let mut walked = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = format!(
            "/v1/contacts/{contact}/timeline?limit=2{}",
            cursor.as_ref().map(|c| format!("&cursor={c}")).unwrap_or_default()
        );
        let page = timeline.ok(&path, "acme").await;
        walked.extend(page["items"].as_array().cloned().unwrap_or_default());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(kinds(&walked), kinds(&items));

    assert_eq!(
        kinds(&timeline.timeline(contact, "type=interaction", "acme").await),
        ["interaction:druhá zpráva", "interaction:první zpráva"]
    );
    assert_eq!(timeline.timeline(contact, "type=contact_event", "acme").await.len(), 4);
    assert_eq!(timeline.timeline(contact, "channel=whatsapp", "acme").await.len(), 2, "events have no channel");
    let window = timeline.timeline(contact, &format!("from={}&to={}", rfc3339(0), rfc3339(7200)), "acme").await;
    assert_eq!(kinds(&window), ["event:identifier_added", "interaction:první zpráva"]);
    let before = timeline.timeline(contact, &format!("before={}", rfc3339(0)), "acme").await;
    assert_eq!(kinds(&before), ["event:created"]);
    let found = timeline.timeline(contact, "q=novak", "acme").await;
    assert_eq!(kinds(&found), ["event:identifier_removed", "event:name_changed", "event:identifier_added", "event:created"]);
}

#[tokio::test]
async fn a_merge_moves_the_merged_contacts_history_and_an_unmerge_restores_it() {
    let timeline = spawn().await;
    let (survivor, merged) = (Uuid::new_v4(), Uuid::new_v4());
    let own = msg(survivor, "s.1", 0).channel(Channel::Email).conversation(None).text("přeživší");
    let m1 = msg(merged, "m.1", 100).conversation(Some("m-conv")).text("sloučený 1");
    let m2 = msg(merged, "m.2", 200).conversation(Some("m-conv")).text("sloučený 2");
    let survivor_created = change(survivor, ContactChangeKind::Created, -100);
    let merged_added = with_field(
        change(merged, ContactChangeKind::IdentifierAdded, 150),
        "identities.email",
        None,
        Some(email("m@example.cz")),
    );
    timeline.publish(&resolved(&[&own, &m1, &m2])).await;
    timeline.publish_changes(&[survivor_created, merged_added.clone()]).await;
    timeline.settle().await;

    let mut merge = change(survivor, ContactChangeKind::Merged, 1000);
    merge.related_contact_id = Some(merged);
    timeline.publish_changes(&[merge.clone()]).await;
    timeline.settle().await;
    // The resolver may still attribute a late message to the merged-away id.
    let late = msg(merged, "m.3", 1100).conversation(Some("m-conv")).text("sloučený 3");
    timeline.publish(&resolved(&[&late])).await;
    timeline.settle().await;

    let items = timeline.timeline(survivor, "", "acme").await;
    assert_eq!(
        kinds(&items),
        ["event:merged", "event:identifier_added", "interaction:sloučený 1", "interaction:přeživší", "event:created"]
    );
    assert_eq!(items[1]["merged_from"], merged.to_string());
    assert_eq!(items[2]["merged_from"], merged.to_string());
    assert_eq!(items[2]["message_count"], 3, "the late message joined its conversation on the survivor");
    assert!(items[3]["merged_from"].is_null());
    assert!(timeline.timeline(merged, "", "acme").await.is_empty(), "nothing is left on the merged-away contact");

    let mut unmerge = change(survivor, ContactChangeKind::Unmerged, 2000);
    unmerge.related_contact_id = Some(merged);
    timeline.publish_changes(&[unmerge]).await;
    timeline.settle().await;

    let restored = timeline.timeline(merged, "", "acme").await;
    assert_eq!(kinds(&restored), ["event:identifier_added", "interaction:sloučený 1"]);
    assert_eq!(restored[1]["message_count"], 3);
    assert!(restored.iter().all(|i| i["merged_from"].is_null() && i["contact_id"] == merged.to_string()));
    let back = timeline.timeline(survivor, "", "acme").await;
    assert_eq!(kinds(&back), ["event:unmerged", "event:merged", "interaction:přeživší", "event:created"]);

    // A replayed merge (same change id) is not applied again.
    timeline.publish_changes(&[merge]).await;
    timeline.settle().await;
    assert_eq!(timeline.timeline(merged, "", "acme").await.len(), 2);
}

// ---------------------------------------------------------------------------------------------
// Search

#[tokio::test]
async fn czech_text_is_found_without_diacritics_on_a_contact_and_tenant_wide_with_snippets() {
    let timeline = spawn().await;
    let (a, b, c) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let horse =
        msg(a, "w.1", 0).channel(Channel::Webchat).conversation(Some("chat-1")).text("Příliš žluťoučký kůň úpěl ďábelské ódy.");
    let thanks = msg(a, "w.2", 60).channel(Channel::Webchat).conversation(Some("chat-1")).text("Děkuji za informaci.");
    let claim = msg(a, "e.1", 5000)
        .channel(Channel::Email)
        .conversation(None)
        .subject("Reklamace: žluťoučký kůň")
        .text("Dobrý den, posílám reklamaci.");
    let other = msg(b, "wa.1", 100).text("Kůň je žluťoučký, ale ne příliš.");
    let markup = msg(c, "wa.2", 200).text("Pozor <script>alert(1)</script> na koně, kůň kope.");
    let foreign = msg(Uuid::new_v4(), "wa.3", 300).tenant("globex").text("Příliš žluťoučký kůň");
    timeline.publish(&resolved(&[&horse, &thanks, &claim, &other, &markup, &foreign])).await;
    timeline.settle().await;

    // One contact's timeline.
    let found = timeline.timeline(a, "q=prilis%20zlutoucky%20kun", "acme").await;
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0]["interaction_id"], horse.id().to_string());
    let snippet = found[0]["snippet"].as_str().expect("snippet");
    assert!(snippet.contains("<mark>Příliš</mark> <mark>žluťoučký</mark> <mark>kůň</mark>"), "{snippet}");
    assert!(found[0]["rank"].as_f64().is_some_and(|r| r > 0.0));
    assert_eq!(timeline.timeline(a, "q=ZLUTOU", "acme").await.len(), 2, "prefix, any case, subject included");
    assert_eq!(
        texts(&timeline.timeline(a, "q=dekuji", "acme").await),
        ["Příliš žluťoučký kůň úpěl ďábelské ódy."],
        "the whole transcript is searched"
    );
    assert!(timeline.timeline(a, "q=zlutoucky%20kone", "acme").await.is_empty(), "every term must match");

    // The whole tenant, best first.
    let hits = timeline.items("/v1/search?q=prilis%20zlutoucky%20kun", "acme").await;
    let ids: BTreeSet<String> = hits.iter().map(|h| h["interaction_id"].as_str().unwrap_or("").to_owned()).collect();
    assert_eq!(ids, [horse.id().to_string(), other.id().to_string()].into_iter().collect(), "{hits:#?}");
    assert!(hits.iter().all(|h| h["snippet"].as_str().is_some_and(|s| s.contains("<mark>"))));
    let ranks: Vec<f64> = hits.iter().map(|h| h["rank"].as_f64().expect("rank")).collect();
    assert!(ranks.windows(2).all(|w| w[0] >= w[1]), "ranked: {ranks:?}");
    let subject = timeline.items("/v1/search?q=reklam", "acme").await;
    assert_eq!(subject.len(), 1);
    assert!(subject[0]["snippet"].as_str().expect("snippet").contains("<mark>Reklamace</mark>"), "{}", subject[0]["snippet"]);
    let escaped = timeline.items("/v1/search?q=kope", "acme").await;
    let snippet = escaped[0]["snippet"].as_str().expect("snippet");
    let markup_left = snippet.replace("<mark>", "").replace("</mark>", "");
    assert!(snippet.contains("&gt;") && !markup_left.contains(['<', '>']), "snippets are HTML-safe: {snippet}");
    assert_eq!(timeline.items("/v1/search?q=kun&channel=email", "acme").await.len(), 1);

    // Paging through ranked hits returns each once.
    let mut walked = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = format!("/v1/search?q=zlut&limit=1{}", cursor.as_ref().map(|c| format!("&cursor={c}")).unwrap_or_default());
        let page = timeline.ok(&path, "acme").await;
        walked.extend(
            page["items"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(|h| h["interaction_id"].as_str().unwrap_or("").to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(walked.len(), 3, "{walked:?}");
    assert_eq!(walked.iter().collect::<HashSet<_>>().len(), 3);

    // Hostile input is only ever a bound search string.
    let injection = timeline
        .items("/v1/search?q=k%C5%AF%C5%88%27%3B%20DROP%20TABLE%20interactions%3B%20--%20%7C%20%21%20%3A%2A", "acme")
        .await;
    assert!(injection.is_empty());
    let page = timeline.ok("/v1/search?q=kun", "acme").await;
    assert_eq!(page["items"].as_array().map(Vec::len), Some(4), "and the table is still there");
    assert_eq!((page["ranked_matches"].as_i64(), page["rank_window"].as_i64()), (Some(4), Some(2000)), "every match was ranked");
}

#[tokio::test]
async fn another_tenant_sees_nothing_on_any_endpoint() {
    let timeline = spawn().await;
    let contact = Uuid::new_v4();
    let first = msg(contact, "wa.1", 0).text("tajné heslo");
    let second = msg(contact, "wa.2", 60).text("další tajemství");
    let added = with_field(
        change(contact, ContactChangeKind::IdentifierAdded, 30),
        "identities.email",
        None,
        Some(email("tajny@example.cz")),
    );
    timeline.publish(&resolved(&[&first, &second])).await;
    timeline.publish_changes(&[added]).await;
    // Another tenant with the same contact id has its own history.
    let theirs = msg(contact, "wa.1", 10).tenant("globex").text("globex zpráva");
    timeline.publish(&resolved(&[&theirs])).await;
    timeline.settle().await;

    let page = timeline.ok(&format!("/v1/contacts/{contact}/timeline?limit=1"), "acme").await;
    let cursor = page["next_cursor"].as_str().expect("more than one item").to_owned();
    assert_eq!(timeline.timeline(contact, "", "acme").await.len(), 2);
    assert_eq!(texts(&timeline.timeline(contact, "", "globex").await), ["globex zpráva"]);
    // A cursor is only a position: with another tenant's cursor, globex still sees only its own items.
    assert_eq!(
        texts(&timeline.items(&format!("/v1/contacts/{contact}/timeline?cursor={cursor}"), "globex").await),
        ["globex zpráva"]
    );
    assert_eq!(timeline.timeline(contact, "type=contact_event", "globex").await.len(), 0);
    assert_eq!(timeline.timeline(contact, "q=tajne", "globex").await.len(), 0);
    for id in [first.id(), second.id()] {
        assert_eq!(timeline.get(&format!("/v1/interactions/{id}"), "globex").await.0, 404, "by interaction and message id");
        assert_eq!(timeline.get(&format!("/v1/interactions/{id}"), "acme").await.0, 200);
    }
    assert_eq!(timeline.items("/v1/search?q=tajne", "globex").await.len(), 0);
    assert_eq!(timeline.items("/v1/search?q=tajne", "acme").await.len(), 1);
    assert_eq!(timeline.items("/v1/search?q=globex", "acme").await.len(), 0);
    assert_eq!(timeline.items("/v1/search?q=globex", "globex").await.len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Erasure

const SECRETS: [&str; 9] =
    ["žluťoučký", "zlutoucky", "Novák", "novak", "420777123456", "998877", "pas.jpg", "jan_novak", "rec.example"];

/// The history of a contact with personal data everywhere: texts, a subject, an attachment,
/// identities, a matched identifier, parameters, a call with numbers and a recording, and
/// identifier and name changes.
fn personal_history(contact: Uuid) -> (Vec<ResolvedInteraction>, Vec<ContactChange>, Vec<Uuid>) {
    let chat = msg(contact, "wamid.p1", 0)
        .text("Příliš žluťoučký kůň, volejte +420777123456")
        .attachment("pas.jpg")
        .param("whatsapp_username", "jan_novak");
    let reply = msg(contact, "wamid.p2", 60).outbound().text("Dobrý den, pane Nováku.");
    let reaction = msg(contact, "wamid.p3", 90).reaction("wamid.p2", Some("👍"));
    let mail = msg(contact, "mail.p1", 600)
        .channel(Channel::Email)
        .conversation(None)
        .subject("Smlouva Jan Novák")
        .text("Tajné číslo smlouvy 998877");
    let call = msg(contact, "CA-p1", 1200).conversation(None).call("completed", Some(30), Some("https://rec.example/p1.mp3"));
    let changes = vec![
        with_field(change(contact, ContactChangeKind::Created, -60), "name", None, Some(json!("Jan Novák"))),
        with_field(
            change(contact, ContactChangeKind::IdentifierAdded, 30),
            "identities.email",
            None,
            Some(email("jan.novak@example.cz")),
        ),
    ];
    let ids = vec![chat.id(), mail.id(), call.id()];
    (resolved(&[&chat, &reply, &reaction, &mail, &call]), changes, ids)
}

async fn leftovers(timeline: &Timeline, contact: Uuid) -> Vec<String> {
    let pool = timeline.pool().await;
    let mut found = Vec::new();
    for (table, filter) in [
        ("interactions", "contact_id = $1 OR merged_from = $1"),
        ("interaction_messages", "interaction_id IN (SELECT interaction_id FROM interactions WHERE contact_id = $1)"),
        ("contact_events", "contact_id = $1 OR related_contact_id = $1"),
        ("message_reactions", "contact_id = $1"),
    ] {
        let rows: Vec<String> = sqlx::query_scalar(&format!("SELECT t::text FROM {table} t WHERE {filter}"))
            .bind(contact)
            .fetch_all(&pool)
            .await
            .expect("rows");
        for row in rows {
            for secret in SECRETS {
                if row.to_lowercase().contains(&secret.to_lowercase()) {
                    found.push(format!("{table}: {secret} in {row}"));
                }
            }
        }
    }
    found
}

#[tokio::test]
async fn erasure_redacts_every_personal_trace_and_nothing_comes_back_on_replay() {
    let timeline = spawn().await;
    let (erased, kept) = (Uuid::new_v4(), Uuid::new_v4());
    let (interactions, changes, ids) = personal_history(erased);
    let bystander = msg(kept, "wamid.k1", 0).text("Příliš žluťoučký kůň");
    timeline.publish(&interactions).await;
    timeline.publish(&resolved(&[&bystander])).await;
    timeline.publish_changes(&changes).await;
    timeline.settle().await;
    assert_eq!(timeline.items("/v1/search?q=zlutoucky", "acme").await.len(), 2, "searchable before");
    assert!(!leftovers(&timeline, erased).await.is_empty(), "the check sees personal data when it is there");

    let deleted = change(erased, ContactChangeKind::Deleted, 5000);
    let erasure = change(erased, ContactChangeKind::Erased, 5001);
    timeline.publish_changes(&[deleted, erasure]).await;
    timeline.settle().await;

    let items = timeline.timeline(erased, "", "acme").await;
    assert_eq!(
        kinds(&items),
        [
            "event:erased",
            "event:deleted",
            "interaction:",
            "interaction:",
            "event:identifier_added",
            "interaction:",
            "event:created"
        ],
        "the entries stay, without content"
    );
    assert!(items.iter().all(|i| i["redacted"] == true || i["kind"] == "erased" || i["kind"] == "deleted"));
    let body = serde_json::to_string(&items).expect("json");
    for id in &ids {
        let detail = timeline.ok(&format!("/v1/interactions/{id}"), "acme").await;
        assert!(detail["transcript"].as_array().expect("transcript").iter().all(|m| m["text"].is_null()));
        assert_eq!(detail["attachments"], json!([]));
        assert_eq!(detail["parameters"], json!({}));
        assert_eq!(detail["event"]["identities"], json!([]));
        let detail = serde_json::to_string(&detail).expect("json");
        for secret in SECRETS {
            assert!(!detail.to_lowercase().contains(&secret.to_lowercase()), "{secret} in {detail}");
        }
    }
    for secret in SECRETS {
        assert!(!body.to_lowercase().contains(&secret.to_lowercase()), "{secret} in {body}");
    }
    let call = items.iter().find(|i| i["channel"] == "voip").expect("the call entry");
    assert_eq!(call["details"]["duration_s"], 30, "non-personal facts stay");
    for q in ["zlutoucky", "novak", "smlouva", "998877", "420777123456", "example"] {
        assert!(timeline.timeline(erased, &format!("q={q}"), "acme").await.is_empty(), "{q} on the timeline");
    }
    let hits = timeline.items("/v1/search?q=zlutoucky", "acme").await;
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0]["contact_id"], kept.to_string(), "only the other contact is found");
    for q in ["novak", "smlouva", "998877"] {
        assert!(timeline.items(&format!("/v1/search?q={q}"), "acme").await.is_empty(), "{q} tenant-wide");
    }
    assert_eq!(leftovers(&timeline, erased).await, Vec::<String>::new());

    // A replay of the contact's history, or a late change, stores nothing again.
    timeline.publish(&interactions).await;
    timeline.publish_changes(&changes).await;
    timeline
        .publish_changes(&[with_field(
            change(erased, ContactChangeKind::NameChanged, 6000),
            "name",
            None,
            Some(json!("Jan Novák")),
        )])
        .await;
    timeline.settle().await;
    assert_eq!(leftovers(&timeline, erased).await, Vec::<String>::new());
    assert_eq!(timeline.timeline(erased, "", "acme").await.len(), items.len());
}

#[tokio::test]
async fn erasure_in_delete_mode_removes_the_whole_history() {
    let timeline = spawn_with(Config { erasure_mode: ErasureMode::Delete, ..Config::default() }).await;
    let erased = Uuid::new_v4();
    let (interactions, changes, ids) = personal_history(erased);
    timeline.publish(&interactions).await;
    timeline.publish_changes(&changes).await;
    timeline.settle().await;
    assert_eq!(timeline.timeline(erased, "", "acme").await.len(), 5);

    timeline
        .publish_changes(&[change(erased, ContactChangeKind::Deleted, 5000), change(erased, ContactChangeKind::Erased, 5001)])
        .await;
    timeline.settle().await;
    assert!(timeline.timeline(erased, "", "acme").await.is_empty());
    for id in &ids {
        assert_eq!(timeline.get(&format!("/v1/interactions/{id}"), "acme").await.0, 404);
    }
    assert!(timeline.items("/v1/search?q=zlutoucky", "acme").await.is_empty());

    timeline.publish(&interactions).await;
    timeline.publish_changes(&changes).await;
    timeline.settle().await;
    assert!(timeline.timeline(erased, "", "acme").await.is_empty(), "a replay stores nothing");
    let pool = timeline.pool().await;
    let rows: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM interactions WHERE contact_id = $1) + (SELECT count(*) FROM contact_events WHERE contact_id = $1)
              + (SELECT count(*) FROM interaction_messages WHERE message_id = ANY($2))",
    )
    .bind(erased)
    .bind(&ids)
    .fetch_one(&pool)
    .await
    .expect("count");
    assert_eq!(rows, 0);
}

// ---------------------------------------------------------------------------------------------
// Replay

/// Every row of the timeline's tables, outside the sentinel tenant.
async fn snapshot(pool: &sqlx::PgPool) -> Vec<String> {
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
        let mut table_rows: Vec<String> =
            sqlx::query_scalar(&format!("SELECT to_jsonb(t)::text FROM {table} t WHERE tenant_id <> $1"))
                .bind(SENTINEL_TENANT)
                .fetch_all(pool)
                .await
                .expect("rows");
        table_rows.sort();
        rows.extend(table_rows.into_iter().map(|r| format!("{table} {r}")));
    }
    rows
}

#[tokio::test]
async fn replaying_both_topics_from_the_beginning_changes_nothing() {
    let mut timeline = spawn().await;
    let (a, b, erased) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let chat = [
        msg(a, "r.1", 0).text("Dobrý den"),
        msg(a, "r.2", 60).outbound().text("Dobrý den, jak pomohu?"),
        msg(a, "r.2", 90).outbound().param("delivery_status", "read").param("delivery_status_at", &rfc3339(90)),
        msg(a, "r.2r", 95).reaction("r.2", Some("👍")),
        msg(a, "r.3", 5000).text("Po pauze"),
    ];
    let call = [msg(b, "CA-r", 100).call("ringing", None, None), msg(b, "CA-r", 100).call("completed", Some(12), None)];
    let b_chat = msg(b, "r.4", 200).conversation(Some("b-conv")).text("Zpráva od B");
    let mut merge = change(a, ContactChangeKind::Merged, 6000);
    merge.related_contact_id = Some(b);
    let mut unmerge = change(a, ContactChangeKind::Unmerged, 7000);
    unmerge.related_contact_id = Some(b);
    let (erased_interactions, erased_changes, _) = personal_history(erased);
    timeline.publish(&chat.iter().chain(&call).chain([&b_chat]).map(Msg::resolved).collect::<Vec<_>>()).await;
    timeline.publish(&erased_interactions).await;
    timeline.publish_changes(&erased_changes).await;
    timeline
        .publish_changes(&[with_field(
            change(a, ContactChangeKind::IdentifierAdded, 30),
            "identities.email",
            None,
            Some(email("a@example.cz")),
        )])
        .await;
    timeline.settle().await;
    timeline.publish_changes(&[merge]).await;
    timeline.settle().await;
    timeline.publish(&[msg(b, "r.5", 6500).conversation(Some("b-conv")).text("Po sloučení").resolved()]).await;
    timeline.settle().await;
    timeline
        .publish_changes(&[
            unmerge,
            change(erased, ContactChangeKind::Deleted, 8000),
            change(erased, ContactChangeKind::Erased, 8001),
        ])
        .await;
    timeline.settle().await;
    let pool = timeline.pool().await;
    let before = snapshot(&pool).await;
    assert!(before.len() > 20, "{before:#?}");

    // Stop the service and start a new one on fresh consumer groups: it reads both topics from the beginning.
    timeline.instance.shutdown.cancel();
    let stopped = std::mem::replace(&mut timeline.instance.task, tokio::spawn(async { Ok(()) }));
    stopped.await.expect("joined").expect("stopped cleanly");
    let prefix = format!("replay-{}", Uuid::new_v4().simple());
    timeline.instance = start_instance(&timeline.kafka, &timeline.database, Config::default(), Some(prefix)).await;
    timeline.settle().await;

    let after = snapshot(&pool).await;
    let changed: Vec<_> = after.iter().filter(|r| !before.contains(r)).collect();
    assert!(changed.is_empty(), "rows changed by the replay: {changed:#?}");
    assert_eq!(before, after);
}
