//! The VK Callback API endpoint through real HTTP and Kafka: messages are published (and only
//! then answered `ok`), an edit lands on its message's interaction id, the confirmation handshake
//! publishes nothing, and what lacks the community secret or is malformed is refused and
//! publishes nothing; an unknown community is answered exactly like a wrong secret.

use std::collections::BTreeMap;

use channel_vk::{Community, Config, WEBHOOK_PATH};
use contracts::{Channel, InteractionEvent};
use runtime::settings::HttpSettings;
use secrecy::SecretString;
use serde_json::{json, Value};
use testkit::{fixture, spawn_adapter, Reply, SpawnedService};

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

async fn published(adapter: &SpawnedService, n: usize) -> Vec<Value> {
    adapter.take_ingested(n).await.iter().map(testkit::json).collect()
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
    let (first, retry) = (testkit::json(&messages[0]), testkit::json(&messages[1]));
    assert_eq!(first["interaction_id"], retry["interaction_id"], "a provider retry keeps the deterministic id");
    assert_eq!(first["v"], 1);
    assert_eq!(first["tenant_id"], "acme");
    assert_eq!(first["channel"], "vk");
    assert_eq!(first["direction"], "inbound");
    assert_eq!(first["identities"], json!([{"kind": "vk", "value": USER, "scope": GROUP}]));
    assert_eq!(first["provider_ref"], format!("{GROUP}:{USER}:17"));
    assert_eq!(first["conversation_ref"], format!("{GROUP}:{USER}"));
    assert_eq!(first["occurred_at"], "2025-11-25T11:29:59Z");
    assert!(first["profile"].is_null(), "VK events carry no name");
    assert!(first["content"]["text"].as_str().expect("text").starts_with("Dobrý den, objednávka č. 4411"));
    assert_eq!(first["parameters"]["event_type"], "message_new");
    assert_eq!(first["parameters"]["vk_event_id"], "5d3f1a9e7c2b4d6f8a0e1c3b5d7f9a2c4e6b8d0f");
    assert_eq!(testkit::key(&messages[0]), format!("acme|vk|{USER}"));
}

#[tokio::test]
async fn an_operator_reply_is_outbound_and_its_edit_upserts_the_same_interaction() {
    let adapter = spawn(1 << 20).await;
    post_ok(&adapter, "message_reply.json").await;
    post_ok(&adapter, "message_edit.json").await;
    let events = published(&adapter, 2).await;

    let reply_ref = format!("{GROUP}:{USER}:18");
    let id = InteractionEvent::id_for("acme", Channel::Vk, &reply_ref).to_string();
    for event in &events {
        assert_eq!(event["interaction_id"], id.as_str(), "reply and edit are one interaction");
        assert_eq!(event["provider_ref"], reply_ref.as_str());
        assert_eq!(event["direction"], "outbound");
        assert_eq!(event["identities"], json!([{"kind": "vk", "value": USER, "scope": GROUP}]), "the customer is the peer");
        assert_eq!(event["parameters"]["admin_author_id"], "7734521");
    }
    let edit = events.iter().find(|e| e["parameters"]["event_type"] == "message_edit").expect("the edit");
    assert!(edit["content"]["text"].as_str().expect("text").ends_with("a číslo objednávky."));
    assert_eq!(edit["parameters"]["edited_at"], "2025-11-25T11:32:40Z");
    assert_eq!(edit["occurred_at"], "2025-11-25T11:31:40Z", "an edit keeps the message's send time");
}

#[tokio::test]
async fn attachments_replies_and_button_payloads_are_normalized() {
    let adapter = spawn(1 << 20).await;
    post_ok(&adapter, "message_new_attachments.json").await;
    let event = published(&adapter, 1).await.remove(0);
    assert_eq!(event["parameters"]["reply_to_ref"], format!("{GROUP}:{USER}:18"));
    assert_eq!(event["parameters"]["button_payload"], "{\"command\":\"reklamace\"}");
    assert_eq!(event["parameters"]["attachment_types"], "photo,doc,audio_message");
    assert_eq!(event["content"]["text"], "Krabice byla promáčklá, posílám fotku a reklamační formulář.");
    let attachments = &event["content"]["attachments"];
    assert_eq!(
        attachments[0],
        json!({"name": "photo512093847_457239017", "mime": "image/jpeg", "size": null,
               "url": "https://sun9-74.userapi.com/impg/c8a1e4f2/w.jpg?size=1280x960&quality=95&type=album"})
    );
    assert_eq!(attachments[1]["name"], "reklamace-4411.pdf");
    assert_eq!(attachments[1]["mime"], "application/pdf");
    assert_eq!(attachments[1]["size"], 48213);
    assert_eq!(attachments[2]["mime"], "audio/ogg");
    assert_eq!(attachments[2]["url"], "https://psv4.userapi.com/s/v1/amsg/512093847_673320121.ogg");
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
    assert_eq!(allow["event"], "messaging_allowed");
    assert_eq!(allow["content"], Value::Null, "no message");
    assert_eq!(allow["identities"], json!([{"kind": "vk", "value": "512093847", "scope": "218374651"}]));
    assert_eq!(allow["conversation_ref"], "218374651:512093847", "the user's dialog");
    assert_eq!(allow["parameters"]["allow_key"], "eshop-checkout");
    assert_eq!(events[1]["event"], "messaging_denied");
    assert_ne!(events[0]["interaction_id"], events[1]["interaction_id"]);
    assert_eq!(events[0]["interaction_id"], events[2]["interaction_id"], "a retry keeps the id");
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
