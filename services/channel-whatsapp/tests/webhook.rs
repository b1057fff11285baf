//! The WhatsApp webhook through real HTTP and Kafka: what is accepted is published (and only
//! then acknowledged), delivery statuses land on their outbound message's interaction id, and
//! what is forged or malformed is refused and publishes nothing.

use channel::AccountMap;
use channel_whatsapp::{Config, WEBHOOK_PATH};
use chrono::{DateTime, Utc};
use contracts::{Attachment, Channel, Direction, IdentityKind, InteractionEvent, NameSource, Profile, Provenance, Reaction};
use runtime::settings::HttpSettings;
use secrecy::SecretString;
use serde_json::{json, Value};
use testkit::{attachments, fixture, identity_facts, meta_signature, parameter, spawn_adapter, text, Reply, SpawnedService};

const SECRET: &str = "app-secret";
const PHONE_NUMBER_ID: &str = "106540352242922";
const WA_ID: &str = "420777123456";
/// The operator's outbound message the fixtures' statuses (and reply, reaction) refer to.
const OUTBOUND_WAMID: &str = "wamid.HBgMNDIwNzc3MTIzNDU2FQIAERgSQjVCQzAxOTk4RjdFM0Q2QjNFAA==";

async fn spawn(body_limit: usize) -> SpawnedService {
    let config = Config {
        http: HttpSettings { body_limit_bytes: body_limit, ..HttpSettings::default() },
        app_secret: Some(SecretString::from(SECRET)),
        verify_token: Some(SecretString::from("verify-me")),
        phone_numbers: AccountMap([(PHONE_NUMBER_ID.to_owned(), "acme".to_owned())].into()),
    };
    spawn_adapter(move |publisher, shutdown| async move { channel_whatsapp::start(&config, publisher, shutdown).await }).await
}

async fn post(adapter: &SpawnedService, body: &str, signature: Option<String>) -> Reply {
    let signature = signature.map(|s| ("x-hub-signature-256", s));
    testkit::post(&adapter.url(WEBHOOK_PATH), "application/json", body, signature).await
}

async fn post_signed(adapter: &SpawnedService, name: &str) -> Value {
    let body = fixture(&format!("whatsapp/{name}"));
    let Reply { status, body: answer, .. } = post(adapter, &body, Some(meta_signature(SECRET, body.as_bytes()))).await;
    assert_eq!(status, 200, "{name}: {answer}");
    answer
}

async fn published(adapter: &SpawnedService, n: usize) -> Vec<InteractionEvent> {
    adapter.take_events(n).await
}

fn by_type<'a>(events: &'a [InteractionEvent], message_type: &str) -> &'a InteractionEvent {
    events
        .iter()
        .find(|e| parameter(e, "message_type") == Some(message_type))
        .unwrap_or_else(|| panic!("no {message_type} interaction in {events:#?}"))
}

/// The customer as a WhatsApp message names them: the wa_id, and the same number as a phone.
fn customer(wa_id: &str, phone: &str) -> [(IdentityKind, String, Option<String>, Provenance); 2] {
    [
        (IdentityKind::Whatsapp, wa_id.into(), None, Provenance::Verified),
        (IdentityKind::Phone, phone.into(), None, Provenance::Verified),
    ]
}

fn identities(event: &InteractionEvent) -> Vec<(IdentityKind, String, Option<String>, Provenance)> {
    event
        .body
        .identities
        .iter()
        .map(identity_facts)
        .map(|(kind, value, scope, provenance)| (kind, value.to_owned(), scope.map(str::to_owned), provenance))
        .collect()
}

fn reaction(emoji: Option<&str>) -> Option<Reaction> {
    Some(Reaction { target_provider_ref: OUTBOUND_WAMID.into(), emoji: emoji.map(str::to_owned) })
}

#[tokio::test]
async fn a_signed_message_is_published_before_the_200_and_retries_keep_its_id() {
    let adapter = spawn(1 << 20).await;
    let answer = post_signed(&adapter, "text_message.json").await;
    assert_eq!(answer["published"], 1);
    post_signed(&adapter, "text_message.json").await;

    let messages = adapter.take_ingested(2).await;
    let (first, retry): (InteractionEvent, InteractionEvent) = (testkit::decode(&messages[0]), testkit::decode(&messages[1]));
    assert_eq!(first.interaction_id, retry.interaction_id, "a provider retry keeps the deterministic id");
    // The wire format itself: the schema version is written out, not left to a default.
    assert_eq!(testkit::json(&messages[0])["v"], 1);
    assert_eq!(first.tenant_id, "acme");
    assert_eq!(first.body.channel, Channel::Whatsapp);
    assert_eq!(first.body.direction, Direction::Inbound);
    assert_eq!(identities(&first), customer(WA_ID, "+420777123456"));
    assert_eq!(first.body.profile, Some(Profile { name: Some("Jana Nováková".into()), name_source: NameSource::Channel }));
    assert_eq!(first.body.conversation_ref, Some(format!("{PHONE_NUMBER_ID}:{WA_ID}")));
    assert_eq!(first.body.occurred_at, "2025-11-25T11:29:59Z".parse::<DateTime<Utc>>().expect("a time"));
    assert!(text(&first).expect("text").starts_with("Dobrý den, objednávka č. 4411"));
    assert_eq!(testkit::key(&messages[0]), format!("acme|whatsapp|{WA_ID}"));
}

#[tokio::test]
async fn media_interactive_location_reaction_contacts_and_unsupported_messages_are_normalized() {
    let adapter = spawn(1 << 20).await;
    assert_eq!(post_signed(&adapter, "media_messages.json").await["published"], 3);
    assert_eq!(post_signed(&adapter, "replies_and_more.json").await["published"], 7);
    let events = published(&adapter, 10).await;
    assert!(events.iter().all(|e| e.body.direction == Direction::Inbound && e.body.identities[0].value == WA_ID));

    let image = by_type(&events, "image");
    assert_eq!(
        attachments(image),
        [Attachment { name: Some("1003383421387256".into()), mime: Some("image/jpeg".into()), size: None, url: None }]
    );
    assert_eq!(text(image), Some("Takhle vypadá poškozený obal"));
    assert_eq!(parameter(image, "media_id"), Some("1003383421387256"));
    let document = by_type(&events, "document");
    assert_eq!(attachments(document)[0].name.as_deref(), Some("faktura-4411.pdf"));
    assert_eq!(attachments(document)[0].mime.as_deref(), Some("application/pdf"));
    assert_eq!(parameter(document, "media_id"), Some("1588219205112452"));
    let audio = by_type(&events, "audio");
    assert_eq!(parameter(audio, "voice"), Some("true"));
    assert!(attachments(audio).first().is_some_and(|a| a.url.is_none()));

    let buttons: Vec<&InteractionEvent> = events.iter().filter(|e| parameter(e, "message_type") == Some("interactive")).collect();
    let button = buttons.iter().find(|e| parameter(e, "interactive_type") == Some("button_reply")).expect("button reply");
    assert_eq!(text(button), Some("Změnit termín"));
    assert_eq!(parameter(button, "reply_id"), Some("delivery-reschedule"));
    assert_eq!(parameter(button, "reply_to_id"), Some(OUTBOUND_WAMID));
    let list = buttons.iter().find(|e| parameter(e, "interactive_type") == Some("list_reply")).expect("list reply");
    assert_eq!(parameter(list, "reply_id"), Some("slot-2025-11-27-am"));
    assert_eq!(text(list), Some("Čtvrtek dopoledne"));
    assert_eq!(parameter(by_type(&events, "button"), "button_payload"), Some("CONFIRM_DELIVERY"));

    let location = by_type(&events, "location");
    assert_eq!(text(location), Some("Výdejní místo Můstek, Václavské náměstí 1, 110 00 Praha 1"));
    assert_eq!(parameter(location, "location_latitude"), Some("50.0813"));
    let reacted = by_type(&events, "reaction");
    assert_eq!(parameter(reacted, "reaction_to"), Some(OUTBOUND_WAMID));
    assert_eq!(parameter(reacted, "reaction_emoji"), Some("👍"));
    assert_eq!(reacted.body.reaction, reaction(Some("👍")));
    let card = by_type(&events, "contacts");
    assert_eq!(text(card), Some("Petr Svoboda +420 602 111 222"));
    assert_eq!(card.body.identities.len(), 2, "a shared card adds no identities");
    let unsupported = by_type(&events, "unsupported");
    assert_eq!(parameter(unsupported, "error_code"), Some("131051"));
}

#[tokio::test]
async fn a_reaction_its_change_and_its_removal_are_reactions_on_the_message_they_name() {
    let adapter = spawn(1 << 20).await;
    assert_eq!(post_signed(&adapter, "reactions.json").await["published"], 3);
    let events = published(&adapter, 3).await;
    let reactions: Vec<Option<Reaction>> = events.iter().map(|e| e.body.reaction.clone()).collect();
    assert_eq!(reactions, [reaction(Some("👍")), reaction(Some("❤️")), reaction(None)], "in order, the removal without an emoji");
    for event in &events {
        assert!(event.body.content.is_none(), "a reaction is no message: {event:?}");
        assert_eq!(event.body.direction, Direction::Inbound);
        assert_eq!(event.body.identities[0].value, WA_ID, "the reactor");
    }
    let ids: std::collections::HashSet<_> = events.iter().map(|e| e.interaction_id).collect();
    assert_eq!(ids.len(), 3, "each reaction is its own event");
}

#[tokio::test]
async fn delivery_statuses_update_the_outbound_message_interaction_instead_of_creating_new_ones() {
    let adapter = spawn(1 << 20).await;
    assert_eq!(post_signed(&adapter, "statuses.json").await["published"], 3);
    post_signed(&adapter, "status_failed.json").await;
    let events = published(&adapter, 4).await;

    let message_id = InteractionEvent::id_for("acme", Channel::Whatsapp, OUTBOUND_WAMID);
    let states: Vec<&InteractionEvent> = events.iter().filter(|e| e.body.provider_ref == OUTBOUND_WAMID).collect();
    assert_eq!(states.len(), 3);
    for state in &states {
        assert_eq!(state.interaction_id, message_id, "every status upserts the outbound message");
        assert_eq!(state.body.direction, Direction::Outbound);
        assert_eq!(identities(state)[..2], customer(WA_ID, "+420777123456"));
        assert!(state.body.content.is_none(), "a status carries no content");
    }
    let delivery: Vec<(&str, &str)> = states
        .iter()
        .map(|s| (parameter(s, "delivery_status").unwrap_or(""), parameter(s, "delivery_status_at").unwrap_or("")))
        .collect();
    assert_eq!(
        delivery,
        vec![("sent", "2025-11-25T11:31:41Z"), ("delivered", "2025-11-25T11:31:43Z"), ("read", "2025-11-25T11:31:52Z")]
    );
    assert_eq!(parameter(states[0], "pricing_category"), Some("service"));

    let failed = events.iter().find(|e| parameter(e, "delivery_status") == Some("failed")).expect("failed status");
    assert_eq!(failed.body.identities[0].value, "420605999888");
    assert_eq!(parameter(failed, "delivery_error_code"), Some("131026"));
    assert_eq!(parameter(failed, "delivery_error_details"), Some("Message Undeliverable."));
}

#[tokio::test]
async fn forged_malformed_unknown_and_oversized_requests_are_refused_and_publish_nothing() {
    let adapter = spawn(4096).await;
    let body = fixture("whatsapp/text_message.json");

    let tampered = body.replace("4411", "4412");
    let unknown = fixture("whatsapp/unknown_phone_number.json");
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

    let garbage = "{\"object\": \"whatsapp_business_account\", \"entry\": [";
    let Reply { status, content_type, body: problem, .. } =
        post(&adapter, garbage, Some(meta_signature(SECRET, garbage.as_bytes()))).await;
    assert_eq!((status, content_type.as_deref()), (400, Some("application/problem+json")));
    assert!(problem["detail"].as_str().expect("detail").contains("malformed"));

    let not_whatsapp = r#"{"object":"page","entry":[]}"#;
    assert_eq!(post(&adapter, not_whatsapp, Some(meta_signature(SECRET, not_whatsapp.as_bytes()))).await.status, 400);
    let no_metadata =
        r#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messages":[]}}]}]}"#;
    assert_eq!(post(&adapter, no_metadata, Some(meta_signature(SECRET, no_metadata.as_bytes()))).await.status, 400);

    let huge = format!("{{\"object\":\"whatsapp_business_account\",\"entry\":[],\"pad\":\"{}\"}}", "x".repeat(8192));
    assert_eq!(post(&adapter, &huge, Some(meta_signature(SECRET, huge.as_bytes()))).await.status, 413);

    let published = adapter.ingested().await;
    assert!(published.is_empty(), "refused requests published {} messages", published.len());
}

#[tokio::test]
async fn changes_that_are_not_messages_are_acknowledged_without_publishing() {
    let adapter = spawn(1 << 20).await;
    let body = r#"{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","time":1764070000,"changes":[
        {"field":"message_template_status_update","value":{"event":"APPROVED","message_template_id":594425479261596,
         "message_template_name":"potvrzeni_objednavky","message_template_language":"cs","reason":"NONE"}}]}]}"#;
    let Reply { status, body: answer, .. } = post(&adapter, body, Some(meta_signature(SECRET, body.as_bytes()))).await;
    assert_eq!((status, &answer["published"]), (200, &json!(0)));
    let published = adapter.ingested().await;
    assert!(published.is_empty());
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
    for query in ["hub.mode=unsubscribe&hub.verify_token=verify-me&hub.challenge=1", "hub.verify_token=verify-me&hub.challenge=1"]
    {
        let answer = testkit::get(&format!("{url}?{query}")).await;
        assert_eq!(answer.status, 403, "a wrong mode is forbidden like a wrong token: {query}");
    }
    let no_challenge = testkit::get(&format!("{url}?hub.mode=subscribe&hub.verify_token=verify-me")).await;
    assert_eq!(no_challenge.status, 400);
}
