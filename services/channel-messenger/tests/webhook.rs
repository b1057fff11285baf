//! The Messenger webhook through real HTTP and Kafka: what is accepted is published (and only
//! then acknowledged), what is forged or malformed is refused and publishes nothing.

use channel::AccountMap;
use channel_messenger::{Config, WEBHOOK_PATH};
use runtime::settings::HttpSettings;
use secrecy::SecretString;
use serde_json::Value;
use testkit::{fixture, json, meta_signature, spawn_adapter, Reply, SpawnedService};

const SECRET: &str = "app-secret";
const PAGE: &str = "104729361234567";

async fn spawn(body_limit: usize) -> SpawnedService {
    let config = Config {
        http: HttpSettings { body_limit_bytes: body_limit, ..HttpSettings::default() },
        app_secret: Some(SecretString::from(SECRET)),
        verify_token: Some(SecretString::from("verify-me")),
        pages: AccountMap([(PAGE.to_owned(), "acme".to_owned())].into()),
    };
    spawn_adapter(move |publisher, shutdown| async move { channel_messenger::start(&config, publisher, shutdown).await }).await
}

async fn post(adapter: &SpawnedService, body: &str, signature: Option<String>) -> Reply {
    let signature = signature.map(|s| ("x-hub-signature-256", s));
    testkit::post(&adapter.url(WEBHOOK_PATH), "application/json", body, signature).await
}

#[tokio::test]
async fn a_signed_message_is_published_before_the_200_and_retries_keep_its_id() {
    let adapter = spawn(1 << 20).await;
    let body = fixture("messenger/text_message.json");
    let Reply { status, body: answer, .. } = post(&adapter, &body, Some(meta_signature(SECRET, body.as_bytes()))).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["published"], 1);
    let status = post(&adapter, &body, Some(meta_signature(SECRET, body.as_bytes()))).await.status;
    assert_eq!(status, 200);

    let messages = adapter.take_ingested(2).await;
    let (first, retry) = (json(&messages[0]), json(&messages[1]));
    assert_eq!(first["interaction_id"], retry["interaction_id"], "a provider retry keeps the deterministic id");
    assert_eq!(first["v"], 1);
    assert_eq!(first["tenant_id"], "acme");
    assert_eq!(first["channel"], "messenger");
    assert_eq!(first["direction"], "inbound");
    assert_eq!(first["identities"][0], serde_json::json!({"kind": "psid", "value": "6254981234567890", "scope": PAGE}));
    assert!(first["content"]["text"].as_str().expect("text").starts_with("Dobrý den"));
    assert_eq!(testkit::key(&messages[0]), "acme|messenger|6254981234567890");
}

#[tokio::test]
async fn echoes_attachments_and_postbacks_are_normalized() {
    let adapter = spawn(1 << 20).await;
    for name in ["echo_reply.json", "attachment_and_postback.json"] {
        let body = fixture(&format!("messenger/{name}"));
        let Reply { status, body: answer, .. } = post(&adapter, &body, Some(meta_signature(SECRET, body.as_bytes()))).await;
        assert_eq!(status, 200, "{name}: {answer}");
    }
    let messages = adapter.take_ingested(3).await;
    let events: Vec<Value> = messages.iter().map(json).collect();
    let echo = events.iter().find(|e| e["direction"] == "outbound").expect("the echo is outbound");
    assert_eq!(echo["identities"][0]["value"], "6254981234567890", "an echo belongs to the recipient PSID");
    assert_eq!(echo["parameters"]["app_id"], "1517776481860111", "which app sent it");
    assert_eq!(echo["parameters"]["metadata"], "operator:jana.dvorakova", "what the app said about it");
    let image = events.iter().find(|e| e["parameters"]["attachment_types"] == "image").expect("the image");
    assert_eq!(image["content"]["attachments"][0]["mime"], "image/jpeg", "from the URL's file name");
    assert!(events.iter().any(|e| e["parameters"]["postback_payload"] == "HANDOVER_TO_AGENT"));
}

#[tokio::test]
async fn attachments_get_the_mime_type_their_payload_allows_and_keep_their_kind() {
    let adapter = spawn(1 << 20).await;
    let body = fixture("messenger/attachments.json");
    let Reply { status, body: answer, .. } = post(&adapter, &body, Some(meta_signature(SECRET, body.as_bytes()))).await;
    assert_eq!(status, 200, "{answer}");
    let event = json(&adapter.take_ingested(1).await[0]);
    let mimes: Vec<&Value> =
        event["content"]["attachments"].as_array().expect("attachments").iter().map(|a| &a["mime"]).collect();
    assert_eq!(
        mimes,
        [
            &serde_json::json!("application/pdf"),
            &serde_json::json!("video/mp4"),
            &serde_json::json!("audio/*"),
            &serde_json::json!("image/png")
        ],
        "a file's own type where its URL names one, else only the kind's range"
    );
    assert_eq!(event["parameters"]["attachment_types"], "file,video,audio,image");
    assert_eq!(event["parameters"]["sticker_id"], "369239263222822");
}

#[tokio::test]
async fn a_reaction_and_its_removal_are_reactions_on_the_message_they_name() {
    let adapter = spawn(1 << 20).await;
    let body = fixture("messenger/reactions.json");
    let Reply { status, body: answer, .. } = post(&adapter, &body, Some(meta_signature(SECRET, body.as_bytes()))).await;
    assert_eq!((status, &answer["published"]), (200, &serde_json::json!(2)), "{answer}");
    let events: Vec<Value> = adapter.take_ingested(2).await.iter().map(json).collect();
    let target = "m_1457764197618:41d102a3e1ae206a38-echo-4411";
    assert_eq!(events[0]["reaction"], serde_json::json!({"target_provider_ref": target, "emoji": "👍"}));
    assert_eq!(events[1]["reaction"], serde_json::json!({"target_provider_ref": target, "emoji": null}), "unreact");
    assert!(events.iter().all(|e| e["content"].is_null() && e["identities"][0]["value"] == "6254981234567890"));
}

#[tokio::test]
async fn the_handshake_answers_403_for_any_wrong_mode_or_token() {
    let adapter = spawn(1 << 20).await;
    let url = adapter.url(WEBHOOK_PATH);
    let ok = testkit::get(&format!("{url}?hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=77")).await;
    assert_eq!((ok.status, ok.text.as_str()), (200, "77"));
    for query in [
        "hub.mode=unsubscribe&hub.verify_token=verify-me&hub.challenge=1",
        "hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1",
        "hub.challenge=1",
    ] {
        assert_eq!(testkit::get(&format!("{url}?{query}")).await.status, 403, "{query}");
    }
    assert_eq!(testkit::get(&format!("{url}?hub.mode=subscribe&hub.verify_token=verify-me")).await.status, 400);
}

#[tokio::test]
async fn forged_malformed_unknown_and_oversized_requests_are_refused_and_publish_nothing() {
    let adapter = spawn(4096).await;
    let body = fixture("messenger/text_message.json");

    let tampered = body.replace("4411", "4412");
    let unknown = fixture("messenger/unknown_page.json");
    testkit::assert_indistinguishable(&[
        ("an unknown account", &post(&adapter, &unknown, Some(meta_signature(SECRET, unknown.as_bytes()))).await),
        ("a wrong secret", &post(&adapter, &body, Some(meta_signature("wrong-secret", body.as_bytes()))).await),
        ("no signature", &post(&adapter, &body, None).await),
        ("a tampered body", &post(&adapter, &tampered, Some(meta_signature(SECRET, body.as_bytes()))).await),
        (
            "an unknown account, wrong secret",
            &post(&adapter, &unknown, Some(meta_signature("wrong-secret", unknown.as_bytes()))).await,
        ),
    ]);

    let garbage = "{\"object\": \"page\", \"entry\": [";
    let Reply { status, content_type, body: problem, .. } =
        post(&adapter, garbage, Some(meta_signature(SECRET, garbage.as_bytes()))).await;
    assert_eq!((status, content_type.as_deref()), (400, Some("application/problem+json")));
    assert!(problem["detail"].as_str().expect("detail").contains("malformed"));

    let not_page = r#"{"object":"instagram","entry":[]}"#;
    assert_eq!(post(&adapter, not_page, Some(meta_signature(SECRET, not_page.as_bytes()))).await.status, 400);

    let huge = format!("{{\"object\":\"page\",\"entry\":[],\"pad\":\"{}\"}}", "x".repeat(8192));
    assert_eq!(post(&adapter, &huge, Some(meta_signature(SECRET, huge.as_bytes()))).await.status, 413);

    let published = adapter.ingested().await;
    assert!(published.is_empty(), "refused requests published {} messages", published.len());
}

#[tokio::test]
async fn the_subscription_handshake_echoes_the_challenge_only_for_the_right_token() {
    let adapter = spawn(1 << 20).await;
    let url = adapter.url(WEBHOOK_PATH);
    let ok = testkit::get(&format!("{url}?hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=1158201444")).await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.text, "1158201444");
    let wrong = testkit::get(&format!("{url}?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1")).await;
    assert_eq!(wrong.status, 403);
}
