//! The Messenger webhook through real HTTP and Kafka: what is accepted is published (and only
//! then acknowledged), what is forged or malformed is refused and publishes nothing.

use channel::AccountMap;
use channel_messenger::{Config, WEBHOOK_PATH};
use contracts::{Channel, Direction, Identity, IdentityKind, Provenance, Reaction};
use runtime::settings::HttpSettings;
use secrecy::SecretString;
use testkit::{fixture, json, meta_signature, parameter, spawn_adapter, Reply, SpawnedService};

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
    let (first, retry): (contracts::InteractionEvent, contracts::InteractionEvent) =
        (testkit::decode(&messages[0]), testkit::decode(&messages[1]));
    assert_eq!(first.interaction_id, retry.interaction_id, "a provider retry keeps the deterministic id");
    // The wire format itself: the schema version is written out, not left to a default.
    assert_eq!(json(&messages[0])["v"], 1);
    assert_eq!(first.tenant_id, "acme");
    assert_eq!(first.body.channel, Channel::Messenger);
    assert_eq!(first.body.direction, Direction::Inbound);
    let psid = &first.body.identities[0];
    assert_eq!(psid, &Identity::new(IdentityKind::Psid, "6254981234567890", Some(PAGE.into())));
    assert_eq!(psid.provenance, Provenance::Verified);
    let text = first.body.content.as_ref().and_then(|c| c.text.as_deref());
    assert!(text.expect("text").starts_with("Dobrý den"));
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
    let events = adapter.take_events(3).await;
    let echo = events.iter().find(|e| e.body.direction == Direction::Outbound).expect("the echo is outbound");
    assert_eq!(echo.body.identities[0].value, "6254981234567890", "an echo belongs to the recipient PSID");
    assert_eq!(parameter(echo, "app_id"), Some("1517776481860111"), "which app sent it");
    assert_eq!(parameter(echo, "metadata"), Some("operator:jana.dvorakova"), "what the app said about it");
    let image = events.iter().find(|e| parameter(e, "attachment_types") == Some("image")).expect("the image");
    let mime = image.body.content.as_ref().and_then(|c| c.attachments.first()).and_then(|a| a.mime.as_deref());
    assert_eq!(mime, Some("image/jpeg"), "from the URL's file name");
    assert!(events.iter().any(|e| parameter(e, "postback_payload") == Some("HANDOVER_TO_AGENT")));
}

#[tokio::test]
async fn attachments_get_the_mime_type_their_payload_allows_and_keep_their_kind() {
    let adapter = spawn(1 << 20).await;
    let body = fixture("messenger/attachments.json");
    let Reply { status, body: answer, .. } = post(&adapter, &body, Some(meta_signature(SECRET, body.as_bytes()))).await;
    assert_eq!(status, 200, "{answer}");
    let event = &adapter.take_events(1).await[0];
    let content = event.body.content.as_ref().expect("content");
    let mimes: Vec<Option<&str>> = content.attachments.iter().map(|a| a.mime.as_deref()).collect();
    assert_eq!(
        mimes,
        [Some("application/pdf"), Some("video/mp4"), Some("audio/*"), Some("image/png")],
        "a file's own type where its URL names one, else only the kind's range"
    );
    assert_eq!(parameter(event, "attachment_types"), Some("file,video,audio,image"));
    assert_eq!(parameter(event, "sticker_id"), Some("369239263222822"));
}

#[tokio::test]
async fn a_reaction_and_its_removal_are_reactions_on_the_message_they_name() {
    let adapter = spawn(1 << 20).await;
    let body = fixture("messenger/reactions.json");
    let Reply { status, body: answer, .. } = post(&adapter, &body, Some(meta_signature(SECRET, body.as_bytes()))).await;
    assert_eq!((status, &answer["published"]), (200, &serde_json::json!(2)), "{answer}");
    let events = adapter.take_events(2).await;
    let target = "m_1457764197618:41d102a3e1ae206a38-echo-4411";
    let reaction = |emoji: Option<&str>| Some(Reaction { target_provider_ref: target.into(), emoji: emoji.map(str::to_owned) });
    assert_eq!(events[0].body.reaction, reaction(Some("👍")));
    assert_eq!(events[1].body.reaction, reaction(None), "unreact");
    assert!(events.iter().all(|e| e.body.content.is_none() && e.body.identities[0].value == "6254981234567890"));
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
