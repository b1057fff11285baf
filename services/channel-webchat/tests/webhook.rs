//! The web chat webhook through real HTTP and Kafka: a signed message from a configured site is
//! published (and only then acknowledged) with the visitor's login and form details as
//! identities; what is unsigned, forged, malformed, oversized or for an unknown site is refused
//! and publishes nothing, an unknown site exactly like a forged signature.

use channel_webchat::{Config, Site, WEBHOOK_PATH};
use contracts::{Channel, ConversationEvent, Direction, IdentityKind, InteractionEvent, NameSource, Profile, Provenance};
use runtime::settings::HttpSettings;
use secrecy::SecretString;
use serde_json::json;
use testkit::{fixture, identity_facts, parameter, sha256_signature, spawn_adapter, Reply, SpawnedService};

const SITE: &str = "eshop-cz";
const SECRET: &str = "eshop-cz-chat-secret";

async fn spawn(body_limit: usize) -> SpawnedService {
    let sites = [
        (SITE.to_owned(), Site { tenant: "acme".into(), secret: SecretString::from(SECRET) }),
        ("blog-sk".to_owned(), Site { tenant: "globex".into(), secret: SecretString::from("blog-sk-secret") }),
    ];
    let config = Config { http: HttpSettings { body_limit_bytes: body_limit, ..HttpSettings::default() }, sites: sites.into() };
    spawn_adapter(move |publisher, shutdown| async move { channel_webchat::start(&config, publisher, shutdown).await }).await
}

async fn post(adapter: &SpawnedService, body: &str, signature: Option<String>, site: Option<&str>) -> Reply {
    let signature = signature.map(|s| ("x-webchat-signature", s));
    let site = site.map(|s| ("x-webchat-site", s.to_owned()));
    testkit::post(&adapter.url(WEBHOOK_PATH), "application/json", body, signature.into_iter().chain(site)).await
}

#[tokio::test]
async fn a_signed_visitor_message_is_published_with_the_form_identities_and_retries_keep_its_id() {
    let adapter = spawn(1 << 20).await;
    let body = fixture("webchat/visitor_form_message.json");
    for _ in 0..2 {
        let Reply { status, body: answer, .. } = post(&adapter, &body, Some(sha256_signature(SECRET, &body)), None).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["published"], 1);
    }

    let messages = adapter.take_ingested(2).await;
    let (first, retry): (InteractionEvent, InteractionEvent) = (testkit::decode(&messages[0]), testkit::decode(&messages[1]));
    assert_eq!(first.interaction_id, retry.interaction_id, "a retry keeps the deterministic id");
    // The wire format itself: the schema version is written out, not left to a default.
    assert_eq!(testkit::json(&messages[0])["v"], 1);
    assert_eq!(first.tenant_id, "acme");
    assert_eq!(first.body.channel, Channel::Webchat);
    assert_eq!(first.body.direction, Direction::Inbound);
    assert_eq!(first.body.occurred_at, "2025-11-25T09:15:03Z".parse::<chrono::DateTime<chrono::Utc>>().expect("a time"));
    assert_eq!(first.body.provider_ref, "eshop-cz:01JDB8Z4K7QW3N5XH2M9C6V1RT");
    assert_eq!(
        first.body.conversation_ref.as_deref(),
        Some("eshop-cz:4f9c2a7e-8b1d-4e36-a5c0-9d7e3f1b2a64"),
        "the session is the conversation"
    );
    let typed = Provenance::Typed;
    assert_eq!(
        first.body.identities.iter().map(identity_facts).collect::<Vec<_>>(),
        [
            (IdentityKind::Custom, "C-100234", Some("crm_customer_no"), typed),
            (IdentityKind::Custom, "2025-11873", Some("order_no"), typed),
            (IdentityKind::Email, "Jana.Novakova@Example.cz", None, typed),
            (IdentityKind::Phone, "+420 601 123 456", None, typed),
        ]
    );
    assert_eq!(first.body.profile, Some(Profile { name: Some("Jana Nováková".into()), name_source: NameSource::Form }));
    let text = first.body.content.as_ref().and_then(|c| c.text.as_deref());
    assert!(text.expect("text").contains("„čeká na platbu“"));
    assert_eq!(parameter(&first, "site_id"), Some(SITE));
    assert_eq!(parameter(&first, "page_url"), Some("https://eshop.example.cz/kosik"));
    assert_eq!(testkit::key(&messages[0]), "acme|webchat|C-100234");
}

#[tokio::test]
async fn logged_in_visitors_operator_invitations_and_unparseable_contact_details_are_published() {
    let adapter = spawn(1 << 20).await;
    for (name, site_header) in
        [("logged_in_visitor.json", None), ("operator_invitation.json", Some(SITE)), ("invalid_contact_details.json", None)]
    {
        let body = fixture(&format!("webchat/{name}"));
        let Reply { status, body: answer, .. } = post(&adapter, &body, Some(sha256_signature(SECRET, &body)), site_header).await;
        assert_eq!(status, 200, "{name}: {answer}");
    }
    let events = adapter.take_events(3).await;
    let by_ref = |id: &str| {
        events.iter().find(|e| e.body.provider_ref == format!("{SITE}:{id}")).unwrap_or_else(|| panic!("{id} published"))
    };

    let logged_in = by_ref("01JDB9A1F3H5K7M9P2R4T6V8XZ");
    assert_eq!(
        identity_facts(&logged_in.body.identities[0]),
        (IdentityKind::ContactId, "7d1e6f0a-3b2c-4d5e-8f90-a1b2c3d4e5f6", None, Provenance::Verified)
    );
    assert_eq!(logged_in.body.profile.as_ref().and_then(|p| p.name.as_deref()), Some("Petr Svoboda"));

    let invitation = by_ref("01JDBA3C5E7G9J2L4N6Q8S0U2W");
    assert_eq!(invitation.body.direction, Direction::Outbound);
    assert_eq!(parameter(invitation, "operator_invitation"), Some("true"));
    assert_eq!(parameter(invitation, "operator_id"), Some("op-17"));
    let attachment = invitation.body.content.as_ref().and_then(|c| c.attachments.first()).expect("an attachment");
    assert_eq!(attachment.name.as_deref(), Some("cenik-pracky-listopad.pdf"));
    assert_eq!(attachment.size, Some(48_213));
    assert!(invitation.body.identities.is_empty(), "an anonymous visitor is known by the conversation only");

    let unparseable = by_ref("01JDBB7F9H1K3M5P7R9T1V3X5Z");
    let kinds: Vec<IdentityKind> = unparseable.body.identities.iter().map(|i| i.kind).collect();
    assert_eq!(
        kinds,
        [IdentityKind::Email, IdentityKind::Phone],
        "the resolver, not the adapter, decides what an invalid detail is worth"
    );
}

#[tokio::test]
async fn a_closed_session_is_a_conversation_event_not_an_empty_message() {
    let adapter = spawn(1 << 20).await;
    let body = fixture("webchat/session_closed.json");
    let Reply { status, body: answer, .. } = post(&adapter, &body, Some(sha256_signature(SECRET, &body)), None).await;
    assert_eq!((status, &answer["published"]), (200, &json!(1)), "{answer}");
    let event = &adapter.take_events(1).await[0];
    assert_eq!(event.body.event, Some(ConversationEvent::Closed));
    assert!(event.body.content.is_none());
    assert_eq!(
        event.body.conversation_ref.as_deref(),
        Some("eshop-cz:4f9c2a7e-8b1d-4e36-a5c0-9d7e3f1b2a64"),
        "the session it closes"
    );
    assert_eq!(
        identity_facts(&event.body.identities[0]),
        (IdentityKind::Custom, "C-100234", Some("crm_customer_no"), Provenance::Typed)
    );

    let unknown = body.replace("\"closed\"", "\"exploded\"");
    let Reply { status, .. } = post(&adapter, &unknown, Some(sha256_signature(SECRET, &unknown)), None).await;
    assert_eq!(status, 400, "an event this adapter does not know is refused, never stored as a message");
    assert!(adapter.ingested().await.is_empty());
}

#[tokio::test]
async fn unsigned_forged_malformed_unknown_and_oversized_requests_are_refused_and_publish_nothing() {
    let adapter = spawn(4096).await;
    let body = fixture("webchat/visitor_form_message.json");

    let tampered = body.replace("C-100234", "C-999999");
    let unknown = fixture("webchat/unknown_site.json");
    testkit::assert_indistinguishable(&[
        ("no signature", &post(&adapter, &body, None, None).await),
        ("not a sha256= signature", &post(&adapter, &body, Some("md5=abc".into()), None).await),
        ("a forged signature", &post(&adapter, &body, Some(sha256_signature("guessed", &body)), None).await),
        ("another site's secret", &post(&adapter, &body, Some(sha256_signature("blog-sk-secret", &body)), None).await),
        ("a tampered body", &post(&adapter, &tampered, Some(sha256_signature(SECRET, &body)), None).await),
        ("an unknown site", &post(&adapter, &unknown, Some(sha256_signature(SECRET, &unknown)), None).await),
        ("an unknown site, not a sha256= signature", &post(&adapter, &unknown, Some("md5=abc".into()), None).await),
        (
            "an unknown site named in the header",
            &post(&adapter, &body, Some(sha256_signature(SECRET, &body)), Some("nosuch")).await,
        ),
    ]);
    assert_eq!(
        post(&adapter, &body, Some(sha256_signature("blog-sk-secret", &body)), Some("blog-sk")).await.status,
        400,
        "header names another site"
    );

    let missing = fixture("webchat/missing_session.json");
    let Reply { status, content_type, body: problem, .. } =
        post(&adapter, &missing, Some(sha256_signature(SECRET, &missing)), None).await;
    assert_eq!((status, content_type.as_deref()), (400, Some("application/problem+json")), "no session_id");
    assert!(problem["detail"].as_str().expect("detail").contains("session_id"));
    let garbage = "{\"site_id\": \"eshop-cz\", \"session_id\": ";
    assert_eq!(post(&adapter, garbage, Some(sha256_signature(SECRET, garbage)), Some(SITE)).await.status, 400, "not JSON");
    let no_site = r#"{"session_id":"s","message_id":"m","sent_at":"2025-11-25T10:15:03Z","direction":"inbound"}"#;
    assert_eq!(post(&adapter, no_site, Some(sha256_signature(SECRET, no_site)), None).await.status, 400, "no site at all");

    let huge = format!("{{\"site_id\":\"eshop-cz\",\"text\":\"{}\"}}", "x".repeat(8192));
    assert_eq!(post(&adapter, &huge, Some(sha256_signature(SECRET, &huge)), None).await.status, 413);

    let published = adapter.ingested().await;
    assert!(published.is_empty(), "refused requests published {} messages", published.len());
}
