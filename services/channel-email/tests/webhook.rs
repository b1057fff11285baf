//! The e-mail webhook through real HTTP and Kafka: raw messages from the fixtures are decoded
//! (charsets, transfer encodings, encoded words), threaded and published; what is forged,
//! malformed, unowned or oversized is refused and publishes nothing, an unowned mailbox exactly
//! like a wrong token.

use channel::AccountMap;
use channel_email::{Config, WEBHOOK_PATH};
use chrono::{DateTime, Utc};
use contracts::{Attachment, Channel, Direction, IdentityKind, InteractionEvent, NameSource, Profile, Provenance};
use runtime::settings::HttpSettings;
use secrecy::SecretString;
use serde_json::Value;
use testkit::{attachments, fixture, identity_facts, parameter, spawn_adapter, text, Reply, SpawnedService};

const TOKEN: &str = "relay-secret";

async fn spawn(body_limit: usize) -> SpawnedService {
    let config = Config {
        http: HttpSettings { body_limit_bytes: body_limit, ..HttpSettings::default() },
        relay_token: Some(SecretString::from(TOKEN)),
        signing_secret: None,
        mailboxes: AccountMap(
            [
                ("Podpora@acme.cz".to_owned(), "acme".to_owned()),
                ("obchod@acme.cz".to_owned(), "acme".to_owned()),
                ("*@acme-shop.cz".to_owned(), "acme".to_owned()),
                ("vip@acme-shop.cz".to_owned(), "beta".to_owned()),
            ]
            .into(),
        ),
    };
    spawn_adapter(move |publisher, shutdown| async move { channel_email::start(&config, publisher, shutdown).await }).await
}

async fn post(adapter: &SpawnedService, body: impl Into<Vec<u8>>, token: Option<&str>) -> Reply {
    testkit::post(&adapter.url(WEBHOOK_PATH), "message/rfc822", body, token.map(testkit::bearer)).await
}

/// A published event read as its contract type, with its Kafka message key and the payload as
/// sent (for the checks of the wire format itself).
#[derive(Debug, Clone)]
struct Published {
    event: InteractionEvent,
    kafka_key: String,
    wire: Value,
}

impl std::ops::Deref for Published {
    type Target = InteractionEvent;

    fn deref(&self) -> &InteractionEvent {
        &self.event
    }
}

/// An event's only identity, as one e-mail address the provider asserted.
fn sender(event: &InteractionEvent) -> Vec<(IdentityKind, &str, Option<&str>, Provenance)> {
    event.body.identities.iter().map(identity_facts).collect()
}

fn profile_name(event: &InteractionEvent) -> Option<&str> {
    event.body.profile.as_ref().and_then(|p| p.name.as_deref())
}

fn subject(event: &InteractionEvent) -> Option<&str> {
    event.body.content.as_ref().and_then(|c| c.subject.as_deref())
}

/// Posts fixtures in order and returns their events in the same order.
async fn ingest(adapter: &SpawnedService, names: &[&str]) -> Vec<Published> {
    for name in names {
        let Reply { status, body: answer, .. } = post(adapter, fixture(&format!("email/{name}")), Some(TOKEN)).await;
        assert_eq!(status, 200, "{name}: {answer}");
        assert_eq!(answer["published"], 1, "{name}");
    }
    let messages = adapter.take_ingested(names.len()).await;
    let events: Vec<Published> = messages
        .iter()
        .map(|m| Published { event: testkit::decode(m), kafka_key: testkit::key(m), wire: testkit::json(m) })
        .collect();
    // One partition key per customer, so order across fixtures is not guaranteed: find by id.
    names
        .iter()
        .map(|name| {
            let id = message_id(&fixture(&format!("email/{name}")));
            events.iter().find(|e| e.body.provider_ref == id).unwrap_or_else(|| panic!("no event for {name}")).clone()
        })
        .collect()
}

fn message_id(raw: &str) -> String {
    let line = raw.lines().find(|l| l.to_ascii_lowercase().starts_with("message-id:")).expect("fixture has a Message-ID");
    line.split_once('<').and_then(|(_, rest)| rest.split_once('>')).map(|(id, _)| id.to_owned()).expect("bracketed id")
}

#[tokio::test]
async fn czech_messages_in_every_encoding_are_decoded_and_published() {
    let adapter = spawn(1 << 20).await;
    let events = ingest(&adapter, &["plain_czech_qp.eml", "html_only.eml", "base64_windows1250.eml"]).await;
    let (plain, html, cp1250) = (&events[0], &events[1], &events[2]);

    // The wire format itself: the schema version is written out, not left to a default.
    assert_eq!(plain.wire["v"], 1);
    assert_eq!(plain.tenant_id, "acme");
    assert_eq!(plain.body.channel, Channel::Email);
    assert_eq!(plain.body.direction, Direction::Inbound);
    assert_eq!(plain.body.occurred_at, "2024-03-14T09:15:00Z".parse::<DateTime<Utc>>().expect("a time"));
    assert_eq!(sender(plain), [(IdentityKind::Email, "jana.dvorakova@klient-mail.cz", None, Provenance::Verified)]);
    assert_eq!(plain.body.profile, Some(Profile { name: Some("Jana Dvořáková".into()), name_source: NameSource::Channel }));
    assert_eq!(subject(plain), Some("Dotaz na objednávku č. 1234"));
    let body = text(plain).expect("text");
    assert!(body.starts_with("Dobrý den,"), "{body}");
    assert!(body.contains("Příliš žluťoučký kůň úpěl ďábelské ódy."), "{body}");
    assert!(body.contains("objednávka č. 1234"), "quoted-printable soft line breaks are joined: {body}");
    assert_eq!(parameter(plain, "mailbox"), Some("podpora@acme.cz"));
    assert_eq!(parameter(plain, "reply_to"), Some("jana.soukroma@jinde.cz"), "Reply-To is kept, but is no identity");
    assert!(parameter(plain, "auto_submitted").is_none());

    assert_eq!(subject(html), Some("Reklamace zboží"));
    assert_eq!(profile_name(html), Some("Petr Šťastný"));
    let body = text(html).expect("HTML converted to text");
    assert!(body.contains("reklamuji poškozené zboží & žádám o výměnu."), "{body}");
    assert!(!body.contains('<') && !body.contains("color: red"), "no markup or style left: {body}");

    assert_eq!(parameter(cp1250, "mailbox"), Some("obchod@acme.cz"), "the envelope recipient names the mailbox");
    assert_eq!(subject(cp1250), Some("Žádost o změnu tarifu"));
    assert_eq!(profile_name(cp1250), Some("Zdeněk Říha"));
    assert_eq!(cp1250.body.identities[0].value, "zdenek.riha@firma-riha.cz");
    assert!(text(cp1250).expect("text").contains("posílám žádost o změnu tarifu. Číslo smlouvy: 998877."));
}

#[tokio::test]
async fn multipart_messages_keep_the_plain_alternative_and_attachment_metadata() {
    let adapter = spawn(1 << 20).await;
    let event = ingest(&adapter, &["multipart_attachment.eml"]).await.remove(0);
    let body = text(&event).expect("text");
    assert!(body.contains("v příloze posílám fakturu a fotku poškození."), "{body}");
    assert!(!body.contains("<p>") && !body.contains("<i>"), "the text/plain alternative is used: {body}");
    assert_eq!(subject(&event), Some("Faktura a fotografie poškození"));
    let file = |name: &str, mime: &str, size| Attachment {
        name: Some(name.into()),
        mime: Some(mime.into()),
        size: Some(size),
        url: None,
    };
    assert_eq!(
        attachments(&event),
        [file("faktura č. 42.pdf", "application/pdf", 1040), file("poškození.png", "image/png", 100)]
    );
    assert_eq!(parameter(&event, "mailbox"), Some("obchod@acme.cz"), "the first configured To mailbox");
}

#[tokio::test]
async fn a_thread_shares_its_root_across_inbound_and_outbound_messages() {
    let adapter = spawn(1 << 20).await;
    let events = ingest(&adapter, &["plain_czech_qp.eml", "outbound_reply.eml", "reply_in_thread.eml"]).await;
    let (root, answer, reply) = (&events[0], &events[1], &events[2]);
    for event in &events {
        assert_eq!(event.body.conversation_ref.as_deref(), Some("root-4711@klient-mail.cz"), "{event:?}");
        assert_eq!(event.body.identities[0].value, "jana.dvorakova@klient-mail.cz", "{event:?}");
        assert_eq!(event.kafka_key, "acme|email|jana.dvorakova@klient-mail.cz");
    }
    assert_eq!(root.body.direction, Direction::Inbound);
    assert_eq!(answer.body.direction, Direction::Outbound, "sent from the tenant's own mailbox");
    assert_eq!(profile_name(answer), Some("Jana Dvořáková"), "the customer's name, not the mailbox's");
    assert_eq!(subject(answer), Some("Re: Dotaz na objednávku č. 1234"));
    assert_eq!(reply.body.direction, Direction::Inbound);
    assert_eq!(parameter(reply, "in_reply_to"), Some("reply-1@acme.cz"));
    let ids: std::collections::HashSet<_> = events.iter().map(|e| e.interaction_id).collect();
    assert_eq!(ids.len(), 3, "each message is its own interaction");
}

#[tokio::test]
async fn auto_replies_and_bounces_are_published_flagged() {
    let adapter = spawn(1 << 20).await;
    let events = ingest(&adapter, &["auto_reply.eml", "bounce.eml"]).await;
    let (ooo, bounce) = (&events[0], &events[1]);
    assert_eq!(parameter(ooo, "auto_submitted"), Some("true"));
    assert_eq!(parameter(ooo, "auto_kind"), Some("auto_reply"));
    assert_eq!(parameter(ooo, "auto_reason"), Some("Auto-Submitted: auto-replied"));
    assert_eq!(ooo.body.identities[0].value, "zdenek.riha@firma-riha.cz", "an out-of-office still comes from the customer");
    assert_eq!(ooo.body.conversation_ref.as_deref(), Some("reply-9@acme.cz"));

    assert_eq!(parameter(bounce, "auto_submitted"), Some("true"));
    assert_eq!(parameter(bounce, "auto_kind"), Some("bounce"));
    assert_eq!(sender(bounce), [(IdentityKind::Email, "nikdo@klient-mail.cz", None, Provenance::Verified)]);
    assert_eq!(bounce.body.profile, None, "a mail system has no name to keep");
    assert_eq!(bounce.body.direction, Direction::Inbound);
    assert_eq!(bounce.body.conversation_ref.as_deref(), Some("reply-10@acme.cz"), "the thread of the returned original");
    assert_eq!(parameter(bounce, "bounced_message_id"), Some("reply-10@acme.cz"));
}

#[tokio::test]
async fn a_bounce_from_a_null_sender_is_stored_against_the_failed_recipient_and_the_original_thread() {
    let adapter = spawn(1 << 20).await;
    let bounce = ingest(&adapter, &["bounce_null_sender.eml"]).await.remove(0);
    assert_eq!(bounce.tenant_id, "acme");
    assert_eq!(bounce.body.direction, Direction::Inbound);
    assert_eq!(sender(&bounce), [(IdentityKind::Email, "jana.stara@klient-mail.cz", None, Provenance::Verified)]);
    assert_eq!(bounce.body.profile, None);
    assert_eq!(bounce.body.conversation_ref.as_deref(), Some("root-5522@klient-mail.cz"), "the original's thread root");
    assert_eq!(parameter(&bounce, "auto_kind"), Some("bounce"));
    assert_eq!(parameter(&bounce, "bounced_recipients"), Some("Jana.Stara@Klient-Mail.cz"));
    assert_eq!(parameter(&bounce, "bounced_message_id"), Some("reply-7@acme.cz"));
    assert_eq!(parameter(&bounce, "mailbox"), Some("podpora@acme.cz"));
    let body = text(&bounce).expect("the report's text");
    assert!(body.contains("could not be delivered"), "{body}");
    assert!(!body.contains("byla odeslana"), "our own returned message is not the customer's text: {body}");
}

#[tokio::test]
async fn body_text_survives_broken_wrapped_and_nested_mime() {
    let adapter = spawn(1 << 20).await;
    let names = [
        "broken_boundary.eml",
        "nested_same_boundary.eml",
        "forwarded_rfc822.eml",
        "nested_multipart.eml",
        "unclosed_multipart.eml",
    ];
    let events = ingest(&adapter, &names).await;
    let text = |i: usize| text(&events[i]).unwrap_or_else(|| panic!("{}: no text: {:?}", names[i], events[i]));
    assert_eq!(text(0), "Dobrý den, pračka po týdnu přestala ždímat. Prosím o opravu.", "a boundary that never occurs");
    assert_eq!(text(1), "Dobrý den, posílám fakturu za březen.", "a nested multipart reusing its parent's boundary");
    assert_eq!(attachments(&events[1])[0].name.as_deref(), Some("logo.gif"));
    let forwarded = text(2);
    assert!(forwarded.starts_with("Přeposílám potvrzení, zboží ale nedorazilo."), "{forwarded}");
    assert!(forwarded.contains("From: E-shop ACME <objednavky@eshop.acme.cz>"), "{forwarded}");
    assert!(forwarded.contains("Subject: Potvrzení objednávky 8844"), "{forwarded}");
    assert!(forwarded.ends_with("Děkujeme za objednávku č. 8844, doručíme ji do 20. 3."), "{forwarded}");
    assert!(
        attachments(&events[2]).iter().any(|a| a.mime.as_deref() == Some("message/rfc822")),
        "the forwarded message stays an attachment too"
    );
    assert_eq!(text(3), "Posílám fotky poškozeného balíku, viz obrázek v textu.", "plain text three levels deep");
    assert!(attachments(&events[3]).iter().any(|a| a.name.as_deref() == Some("dodaci-list.pdf")));
    assert_eq!(text(4), "Dobrý den, zpráva se odeslala bez konce, ale text tu je.", "no closing boundary");
}

#[tokio::test]
async fn mailboxes_route_by_exact_address_plus_tag_and_domain_catch_all() {
    let adapter = spawn(1 << 20).await;
    let events = ingest(&adapter, &["plus_tag.eml", "catch_all.eml", "exact_beats_catch_all.eml"]).await;
    let (tagged, caught, exact) = (&events[0], &events[1], &events[2]);
    assert_eq!(tagged.tenant_id, "acme");
    assert_eq!(parameter(tagged, "mailbox"), Some("podpora@acme.cz"));
    assert_eq!(parameter(tagged, "mailbox_tag"), Some("eshop"));
    assert_eq!(parameter(tagged, "mailbox_route"), Some("plus_tag"));
    assert_eq!(caught.tenant_id, "acme");
    assert_eq!(parameter(caught, "mailbox"), Some("reklamace@acme-shop.cz"));
    assert_eq!(parameter(caught, "mailbox_route"), Some("catch_all"));
    assert_eq!(exact.tenant_id, "beta", "an exact address beats its domain's catch-all");
    assert_eq!(parameter(exact, "mailbox_route"), Some("exact"));
}

#[tokio::test]
async fn a_relay_retry_keeps_the_interaction_id() {
    let adapter = spawn(1 << 20).await;
    let raw = fixture("email/plain_czech_qp.eml");
    for _ in 0..2 {
        assert_eq!(post(&adapter, raw.clone(), Some(TOKEN)).await.status, 200);
    }
    let events = adapter.take_events(2).await;
    assert_eq!(events[0].interaction_id, events[1].interaction_id);
}

#[tokio::test]
async fn forged_malformed_unknown_and_oversized_requests_are_refused_and_publish_nothing() {
    let adapter = spawn(4096).await;
    let raw = fixture("email/plain_czech_qp.eml");

    let unknown = fixture("email/unknown_mailbox.eml");
    testkit::assert_indistinguishable(&[
        ("an unknown mailbox", &post(&adapter, unknown.clone(), Some(TOKEN)).await),
        ("a wrong token", &post(&adapter, raw.clone(), Some("guess")).await),
        ("no token", &post(&adapter, raw.clone(), None).await),
        ("an unknown mailbox, wrong token", &post(&adapter, unknown, Some("guess")).await),
    ]);

    for garbage in ["", "this is not an e-mail", "Subject: no sender\n\nbody", "\u{0}\u{1}binary\u{ff}"] {
        let Reply { status, content_type, body: problem, .. } = post(&adapter, garbage, Some(TOKEN)).await;
        assert_eq!((status, content_type.as_deref()), (400, Some("application/problem+json")), "{garbage:?}: {problem}");
    }

    let huge = format!("{raw}\n{}", "x".repeat(8192));
    assert_eq!(post(&adapter, huge, Some(TOKEN)).await.status, 413);

    let published = adapter.ingested().await;
    assert!(published.is_empty(), "refused requests published {} messages", published.len());
}
