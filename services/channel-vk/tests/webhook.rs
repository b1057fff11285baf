//! The VK Callback API endpoint through real HTTP and Kafka: messages are published (and only
//! then answered `ok`), an edit lands on its message's interaction id, the confirmation handshake
//! publishes nothing, and what lacks the community secret or is malformed is refused and
//! publishes nothing; an unknown community is answered exactly like a wrong secret.

use std::collections::BTreeMap;

use channel_vk::{Community, Config, WEBHOOK_PATH};
use chrono::{DateTime, Utc};
use contracts::{Attachment, Channel, ConversationEvent, Direction, IdentityKind, InteractionEvent, Provenance};
use runtime::settings::HttpSettings;
use secrecy::SecretString;
use serde_json::Value;
use testkit::{attachments, fixture, identity_facts, parameter, spawn_adapter, text, Reply, SpawnedService};

const GROUP: &str = "218374651";
const SECRET: &str = "Zt4q9VxK2mLp";
const CONFIRMATION: &str = "6d3f2a1b";
const USER: &str = "512093847";

async fn spawn(body_limit: usize) -> SpawnedService {
    let community =
        Community { tenant: "acme".into(), secret: Some(SecretString::from(SECRET)), confirmation: Some(CONFIRMATION.into()) };
    let config = Config {
        http: HttpSettings { body_limit_bytes: body_limit, ..HttpSettings::default() },
        communities: BTreeMap::from([(GROUP.to_owned(), community)]),
    };
    spawn_adapter(move |publisher, shutdown| async move { channel_vk::start(&config, publisher, shutdown).await }).await
}

/// VK signs nothing: the community secret travels in the body.
async fn post(adapter: &SpawnedService, body: &str) -> Reply {
    testkit::post(&adapter.url(WEBHOOK_PATH), "application/json", body, testkit::NO_HEADERS).await
}

async fn post_ok(adapter: &SpawnedService, name: &str) {
    let answer = post(adapter, &fixture(&format!("vk/{name}"))).await;
    assert_eq!((answer.status, answer.text.as_str()), (200, "ok"), "{name}");
}

async fn published(adapter: &SpawnedService, n: usize) -> Vec<InteractionEvent> {
    adapter.take_events(n).await
}

fn time(rfc3339: &str) -> DateTime<Utc> {
    rfc3339.parse().expect("an RFC 3339 time")
}

/// The identities of an event as the VK user of a community.
fn vk_user(event: &InteractionEvent) -> Vec<(IdentityKind, &str, Option<&str>, Provenance)> {
    event.body.identities.iter().map(identity_facts).collect()
}

#[tokio::test]
async fn a_new_message_is_published_before_the_literal_ok_and_retries_keep_its_id() {
    let adapter = spawn(1 << 20).await;
    let body = fixture("vk/message_new.json");
    let answer = post(&adapter, &body).await;
    assert_eq!((answer.status, answer.text.as_str()), (200, "ok"));
    assert!(answer.content_type.as_deref().is_some_and(|t| t.starts_with("text/plain")), "{:?}", answer.content_type);
    post_ok(&adapter, "message_new.json").await;

    let messages = adapter.take_ingested(2).await;
    let (first, retry): (InteractionEvent, InteractionEvent) = (testkit::decode(&messages[0]), testkit::decode(&messages[1]));
    assert_eq!(first.interaction_id, retry.interaction_id, "a provider retry keeps the deterministic id");
    // The wire format itself: the schema version is written out, not left to a default.
    assert_eq!(testkit::json(&messages[0])["v"], 1);
    assert_eq!(first.tenant_id, "acme");
    assert_eq!(first.body.channel, Channel::Vk);
    assert_eq!(first.body.direction, Direction::Inbound);
    assert_eq!(vk_user(&first), [(IdentityKind::Vk, USER, Some(GROUP), Provenance::Verified)]);
    assert_eq!(first.body.provider_ref, format!("{GROUP}:{USER}:17"));
    assert_eq!(first.body.conversation_ref, Some(format!("{GROUP}:{USER}")));
    assert_eq!(first.body.occurred_at, time("2025-11-25T11:29:59Z"));
    assert!(first.body.profile.is_none(), "VK events carry no name");
    assert!(text(&first).expect("text").starts_with("Dobrý den, objednávka č. 4411"));
    assert_eq!(parameter(&first, "event_type"), Some("message_new"));
    assert_eq!(parameter(&first, "vk_event_id"), Some("5d3f1a9e7c2b4d6f8a0e1c3b5d7f9a2c4e6b8d0f"));
    assert_eq!(testkit::key(&messages[0]), format!("acme|vk|{USER}"));
}

#[tokio::test]
async fn an_operator_reply_is_outbound_and_its_edit_upserts_the_same_interaction() {
    let adapter = spawn(1 << 20).await;
    post_ok(&adapter, "message_reply.json").await;
    post_ok(&adapter, "message_edit.json").await;
    let events = published(&adapter, 2).await;

    let reply_ref = format!("{GROUP}:{USER}:18");
    let id = InteractionEvent::id_for("acme", Channel::Vk, &reply_ref);
    for event in &events {
        assert_eq!(event.interaction_id, id, "reply and edit are one interaction");
        assert_eq!(event.body.provider_ref, reply_ref);
        assert_eq!(event.body.direction, Direction::Outbound);
        assert_eq!(vk_user(event), [(IdentityKind::Vk, USER, Some(GROUP), Provenance::Verified)], "the customer is the peer");
        assert_eq!(parameter(event, "admin_author_id"), Some("7734521"));
    }
    let edit = events.iter().find(|e| parameter(e, "event_type") == Some("message_edit")).expect("the edit");
    assert!(text(edit).expect("text").ends_with("a číslo objednávky."));
    assert_eq!(parameter(edit, "edited_at"), Some("2025-11-25T11:32:40Z"));
    assert_eq!(edit.body.occurred_at, time("2025-11-25T11:31:40Z"), "an edit keeps the message's send time");
}

#[tokio::test]
async fn attachments_replies_and_button_payloads_are_normalized() {
    let adapter = spawn(1 << 20).await;
    post_ok(&adapter, "message_new_attachments.json").await;
    let event = published(&adapter, 1).await.remove(0);
    assert_eq!(parameter(&event, "reply_to_ref"), Some(format!("{GROUP}:{USER}:18").as_str()));
    assert_eq!(parameter(&event, "button_payload"), Some("{\"command\":\"reklamace\"}"));
    assert_eq!(parameter(&event, "attachment_types"), Some("photo,doc,audio_message"));
    assert_eq!(text(&event), Some("Krabice byla promáčklá, posílám fotku a reklamační formulář."));
    let attachments = attachments(&event);
    assert_eq!(
        attachments[0],
        Attachment {
            name: Some("photo512093847_457239017".into()),
            mime: Some("image/jpeg".into()),
            size: None,
            url: Some("https://sun9-74.userapi.com/impg/c8a1e4f2/w.jpg?size=1280x960&quality=95&type=album".into()),
        }
    );
    assert_eq!(attachments[1].name.as_deref(), Some("reklamace-4411.pdf"));
    assert_eq!(attachments[1].mime.as_deref(), Some("application/pdf"));
    assert_eq!(attachments[1].size, Some(48213));
    assert_eq!(attachments[2].mime.as_deref(), Some("audio/ogg"));
    assert_eq!(attachments[2].url.as_deref(), Some("https://psv4.userapi.com/s/v1/amsg/512093847_673320121.ogg"));
}

#[tokio::test]
async fn the_confirmation_answers_the_community_string_and_other_events_only_ok() {
    let adapter = spawn(1 << 20).await;
    let answer = post(&adapter, &fixture("vk/confirmation.json")).await;
    assert_eq!((answer.status, answer.text.as_str()), (200, CONFIRMATION));
    assert!(answer.content_type.as_deref().is_some_and(|t| t.starts_with("text/plain")));
    let forged = fixture("vk/confirmation.json").replace(SECRET, "guess");
    let unknown = fixture("vk/confirmation.json").replace(GROUP, "999999999");
    testkit::assert_indistinguishable(&[
        ("a confirmation with a wrong secret", &post(&adapter, &forged).await),
        ("a confirmation for an unknown community", &post(&adapter, &unknown).await),
    ]);

    post_ok(&adapter, "message_typing_state.json").await;
    let published = adapter.ingested().await;
    assert!(published.is_empty(), "published {} messages", published.len());
}

#[tokio::test]
async fn allowing_and_forbidding_messages_are_conversation_events_of_the_users_dialog() {
    let adapter = spawn(1 << 20).await;
    post_ok(&adapter, "message_allow.json").await;
    post_ok(&adapter, "message_deny.json").await;
    post_ok(&adapter, "message_allow.json").await; // VK's retry of the same event
    let events = published(&adapter, 3).await;
    let allow = &events[0];
    assert_eq!(allow.body.event, Some(ConversationEvent::MessagingAllowed));
    assert_eq!(allow.body.content, None, "no message");
    assert_eq!(vk_user(allow), [(IdentityKind::Vk, "512093847", Some("218374651"), Provenance::Verified)]);
    assert_eq!(allow.body.conversation_ref.as_deref(), Some("218374651:512093847"), "the user's dialog");
    assert_eq!(parameter(allow, "allow_key"), Some("eshop-checkout"));
    assert_eq!(events[1].body.event, Some(ConversationEvent::MessagingDenied));
    assert_ne!(events[0].interaction_id, events[1].interaction_id);
    assert_eq!(events[0].interaction_id, events[2].interaction_id, "a retry keeps the id");
}

#[tokio::test]
async fn missing_or_wrong_secrets_malformed_unknown_and_oversized_requests_are_refused_and_publish_nothing() {
    let adapter = spawn(4096).await;
    let body = fixture("vk/message_new.json");

    let wrong = post(&adapter, &body.replace(SECRET, "guess")).await;
    let mut unsigned: Value = serde_json::from_str(&body).expect("fixture is JSON");
    unsigned.as_object_mut().expect("an object").remove("secret");
    let unsigned = post(&adapter, &unsigned.to_string()).await;
    let unknown = post(&adapter, &fixture("vk/unknown_community.json")).await;
    let unknown_guessed = post(&adapter, &fixture("vk/unknown_community.json").replace(SECRET, "guess")).await;
    testkit::assert_indistinguishable(&[
        ("a wrong secret", &wrong),
        ("no secret", &unsigned),
        ("an unknown community", &unknown),
        ("an unknown community with a guessed secret", &unknown_guessed),
    ]);

    let garbage = format!("{{\"type\": \"message_new\", \"group_id\": {GROUP}, \"secret\": \"{SECRET}\", \"object\": ");
    let answer = post(&adapter, &garbage).await;
    assert_eq!((answer.status, answer.content_type.as_deref()), (400, Some("application/problem+json")));
    assert!(answer.text.contains("malformed"));
    let no_ids =
        format!(r#"{{"type":"message_new","group_id":{GROUP},"secret":"{SECRET}","object":{{"message":{{"text":"x"}}}}}}"#);
    assert_eq!(post(&adapter, &no_ids).await.status, 400);

    let huge = format!(r#"{{"type":"message_new","group_id":{GROUP},"secret":"{SECRET}","pad":"{}"}}"#, "x".repeat(8192));
    assert_eq!(post(&adapter, &huge).await.status, 413);

    let published = adapter.ingested().await;
    assert!(published.is_empty(), "refused requests published {} messages", published.len());
}
