//! The Timeline API over real HTTP, fed through `interactions.resolved` on Kafka.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use contracts::{
    topics, Channel, Content, Direction, Identity, IdentityKind, InteractionBody, InteractionEvent, Resolution, ResolvedInteraction,
};
use runtime::http::auth::Role;
use runtime::kafka::Publisher;
use runtime::shutdown::CancellationToken;
use serde_json::Value;
use testkit::{eventually, fresh_database, TestKafka};
use uuid::Uuid;

struct Timeline {
    url: String,
    publisher: Publisher,
    _kafka: TestKafka,
    shutdown: CancellationToken,
}

impl Drop for Timeline {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

async fn spawn() -> Timeline {
    let kafka = TestKafka::start().await;
    let settings = kafka.settings_for(&fresh_database(), timeline::Config::default());
    let shutdown = CancellationToken::new();
    let publisher = Publisher::new(&kafka.settings).expect("publisher");
    let running = timeline::start(&settings, publisher.clone(), shutdown.clone()).await.expect("timeline starts");
    let url = format!("http://{}", running.http_addr.expect("http"));
    tokio::spawn(running.wait());
    Timeline { url, publisher, _kafka: kafka, shutdown }
}

fn resolved(tenant: &str, contact: Uuid, n: i64, channel: Channel, text: &str) -> ResolvedInteraction {
    let event = InteractionEvent::new(
        tenant,
        InteractionBody {
            channel,
            direction: Direction::Inbound,
            occurred_at: DateTime::<Utc>::from_timestamp(1_764_000_000 + n * 60, 0).expect("valid"),
            provider_ref: format!("{contact}-{n}"),
            conversation_ref: Some("conv".into()),
            identities: vec![Identity::new(IdentityKind::Email, "jan@example.cz", None)],
            profile: None,
            content: Some(Content { text: Some(text.into()), ..Content::default() }),
            call: None,
            parameters: BTreeMap::new(),
        },
    );
    ResolvedInteraction {
        v: 1,
        tenant_id: tenant.into(),
        contact_id: contact,
        interaction: event,
        resolution: Resolution { matched_by: None, created_contact: true, candidates: vec![], ignored: vec![] },
    }
}

async fn publish(timeline: &Timeline, items: &[ResolvedInteraction]) {
    for item in items {
        timeline.publisher.publish(topics::INTERACTIONS_RESOLVED, &item.key(), "interaction.resolved", item).await.expect("published");
    }
}

async fn get(timeline: &Timeline, path: &str, tenant: &str) -> (u16, Value) {
    let response = testkit::http()
        .get(format!("{}{path}", timeline.url))
        .bearer_auth(testkit::token(tenant, Role::Operator))
        .send()
        .await
        .expect("sent");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn wait_for(timeline: &Timeline, contact: Uuid, tenant: &str, n: usize) {
    eventually(Duration::from_secs(60), "the timeline to fill", || async {
        let (_, page) = get(timeline, &format!("/v1/contacts/{contact}/timeline?limit=200"), tenant).await;
        (page["items"].as_array().map_or(0, Vec::len) >= n).then_some(())
    })
    .await;
}

#[tokio::test]
async fn pages_are_newest_first_and_the_cursor_walks_every_entry_once() {
    let timeline = spawn().await;
    let contact = Uuid::new_v4();
    let items: Vec<_> = (0..5).map(|n| resolved("acme", contact, n, Channel::Email, &format!("zpráva {n}"))).collect();
    publish(&timeline, &items).await;
    publish(&timeline, &items[..2]).await; // redelivery
    wait_for(&timeline, contact, "acme", 5).await;

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/contacts/{contact}/timeline?limit=2&cursor={c}"),
            None => format!("/v1/contacts/{contact}/timeline?limit=2"),
        };
        let (status, page) = get(&timeline, &path, "acme").await;
        assert_eq!(status, 200, "{page}");
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
    let items = [resolved("acme", contact, 1, Channel::Email, "e-mail"), resolved("acme", contact, 2, Channel::Voip, "call")];
    publish(&timeline, &items).await;
    wait_for(&timeline, contact, "acme", 2).await;

    let (_, page) = get(&timeline, &format!("/v1/contacts/{contact}/timeline?channel=voip"), "acme").await;
    assert_eq!(page["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(page["items"][0]["channel"], "voip");

    let id = items[0].interaction.interaction_id;
    let (status, detail) = get(&timeline, &format!("/v1/interactions/{id}"), "acme").await;
    assert_eq!(status, 200);
    assert_eq!(detail["event"]["content"]["text"], "e-mail");
    assert_eq!(detail["resolution"]["created_contact"], true);

    assert_eq!(get(&timeline, &format!("/v1/contacts/{contact}/timeline?channel=fax"), "acme").await.0, 400);
    assert_eq!(get(&timeline, &format!("/v1/contacts/{contact}/timeline?cursor=%%%"), "acme").await.0, 400);
    assert_eq!(get(&timeline, "/v1/contacts/not-a-uuid/timeline", "acme").await.0, 400);
    let unauthenticated = testkit::http().get(format!("{}/v1/contacts/{contact}/timeline", timeline.url)).send().await.expect("sent");
    assert_eq!(unauthenticated.status().as_u16(), 401);
    assert_eq!(
        unauthenticated.headers().get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/problem+json")
    );
}

#[tokio::test]
async fn another_tenant_sees_nothing_of_a_contact_or_interaction() {
    let timeline = spawn().await;
    let contact = Uuid::new_v4();
    let item = resolved("acme", contact, 1, Channel::Webchat, "tajné");
    publish(&timeline, std::slice::from_ref(&item)).await;
    wait_for(&timeline, contact, "acme", 1).await;

    let (status, page) = get(&timeline, &format!("/v1/contacts/{contact}/timeline"), "globex").await;
    assert_eq!(status, 200);
    assert_eq!(page["items"].as_array().map(Vec::len), Some(0));
    let id = item.interaction.interaction_id;
    assert_eq!(get(&timeline, &format!("/v1/interactions/{id}"), "globex").await.0, 404);
}
