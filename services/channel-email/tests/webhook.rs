//! The e-mail webhook through real HTTP and Kafka: raw messages from the fixtures are decoded
//! (charsets, transfer encodings, encoded words), threaded and published; what is forged,
//! malformed, unowned or oversized is refused and publishes nothing, an unowned mailbox exactly
//! like a wrong token.

use channel::AccountMap;
use channel_email::{Config, WEBHOOK_PATH};
use runtime::settings::HttpSettings;
use secrecy::SecretString;
use serde_json::{json, Value};
use testkit::{fixture, spawn_adapter, Reply, SpawnedService};

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

/// Posts fixtures in order and returns their events in the same order (each with its Kafka
/// message key as `kafka_key`).
async fn ingest(adapter: &SpawnedService, names: &[&str]) -> Vec<Value> {
    for name in names {
        let Reply { status, body: answer, .. } = post(adapter, fixture(&format!("email/{name}")), Some(TOKEN)).await;
        assert_eq!(status, 200, "{name}: {answer}");
        assert_eq!(answer["published"], 1, "{name}");
    }
    let messages = adapter.take_ingested(names.len()).await;
    let events: Vec<Value> = messages
        .iter()
        .map(|m| {
            let mut event = testkit::json(m);
            event["kafka_key"] = Value::from(testkit::key(m));
            event
        })
        .collect();
    // One partition key per customer, so order across fixtures is not guaranteed: find by id.
    names
        .iter()
        .map(|name| {
            let id = message_id(&fixture(&format!("email/{name}")));
            events.iter().find(|e| e["provider_ref"] == id).unwrap_or_else(|| panic!("no event for {name}")).clone()
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

    assert_eq!(plain["v"], 1);
    assert_eq!(plain["tenant_id"], "acme");
    assert_eq!(plain["channel"], "email");
    assert_eq!(plain["direction"], "inbound");
    assert_eq!(plain["occurred_at"], "2024-03-14T09:15:00Z");
    assert_eq!(plain["identities"], json!([{"kind": "email", "value": "jana.dvorakova@klient-mail.cz", "scope": null}]));
    assert_eq!(plain["profile"], json!({"name": "Jana Dvořáková", "name_source": "channel"}));
    assert_eq!(plain["content"]["subject"], "Dotaz na objednávku č. 1234");
    let text = plain["content"]["text"].as_str().expect("text");
    assert!(text.starts_with("Dobrý den,"), "{text}");
    assert!(text.contains("Příliš žluťoučký kůň úpěl ďábelské ódy."), "{text}");
    assert!(text.contains("objednávka č. 1234"), "quoted-printable soft line breaks are joined: {text}");
    assert_eq!(plain["parameters"]["mailbox"], "podpora@acme.cz");
    assert_eq!(plain["parameters"]["reply_to"], "jana.soukroma@jinde.cz", "Reply-To is kept, but is no identity");
    assert!(plain["parameters"].get("auto_submitted").is_none());

    assert_eq!(html["content"]["subject"], "Reklamace zboží");
    assert_eq!(html["profile"]["name"], "Petr Šťastný");
    let text = html["content"]["text"].as_str().expect("HTML converted to text");
    assert!(text.contains("reklamuji poškozené zboží & žádám o výměnu."), "{text}");
    assert!(!text.contains('<') && !text.contains("color: red"), "no markup or style left: {text}");

    assert_eq!(cp1250["parameters"]["mailbox"], "obchod@acme.cz", "the envelope recipient names the mailbox");
    assert_eq!(cp1250["content"]["subject"], "Žádost o změnu tarifu");
    assert_eq!(cp1250["profile"]["name"], "Zdeněk Říha");
    assert_eq!(cp1250["identities"][0]["value"], "zdenek.riha@firma-riha.cz");
    assert!(cp1250["content"]["text"].as_str().expect("text").contains("posílám žádost o změnu tarifu. Číslo smlouvy: 998877."));
}

#[tokio::test]
async fn multipart_messages_keep_the_plain_alternative_and_attachment_metadata() {
    let adapter = spawn(1 << 20).await;
    let event = ingest(&adapter, &["multipart_attachment.eml"]).await.remove(0);
    let text = event["content"]["text"].as_str().expect("text");
    assert!(text.contains("v příloze posílám fakturu a fotku poškození."), "{text}");
    assert!(!text.contains("<p>") && !text.contains("<i>"), "the text/plain alternative is used: {text}");
    assert_eq!(event["content"]["subject"], "Faktura a fotografie poškození");
    assert_eq!(
        event["content"]["attachments"],
        json!([
            {"name": "faktura č. 42.pdf", "mime": "application/pdf", "size": 1040, "url": null},
            {"name": "poškození.png", "mime": "image/png", "size": 100, "url": null},
        ])
    );
    assert_eq!(event["parameters"]["mailbox"], "obchod@acme.cz", "the first configured To mailbox");
}

#[tokio::test]
async fn a_thread_shares_its_root_across_inbound_and_outbound_messages() {
    let adapter = spawn(1 << 20).await;
    let events = ingest(&adapter, &["plain_czech_qp.eml", "outbound_reply.eml", "reply_in_thread.eml"]).await;
    let (root, answer, reply) = (&events[0], &events[1], &events[2]);
    for event in &events {
        assert_eq!(event["conversation_ref"], "root-4711@klient-mail.cz", "{event}");
        assert_eq!(event["identities"][0]["value"], "jana.dvorakova@klient-mail.cz", "{event}");
        assert_eq!(event["kafka_key"], "acme|email|jana.dvorakova@klient-mail.cz");
    }
    assert_eq!(root["direction"], "inbound");
    assert_eq!(answer["direction"], "outbound", "sent from the tenant's own mailbox");
    assert_eq!(answer["profile"]["name"], "Jana Dvořáková", "the customer's name, not the mailbox's");
    assert_eq!(answer["content"]["subject"], "Re: Dotaz na objednávku č. 1234");
    assert_eq!(reply["direction"], "inbound");
    assert_eq!(reply["parameters"]["in_reply_to"], "reply-1@acme.cz");
    let ids: std::collections::HashSet<&str> = events.iter().filter_map(|e| e["interaction_id"].as_str()).collect();
    assert_eq!(ids.len(), 3, "each message is its own interaction");
}

#[tokio::test]
async fn auto_replies_and_bounces_are_published_flagged() {
    let adapter = spawn(1 << 20).await;
    let events = ingest(&adapter, &["auto_reply.eml", "bounce.eml"]).await;
    let (ooo, bounce) = (&events[0], &events[1]);
    assert_eq!(ooo["parameters"]["auto_submitted"], "true");
    assert_eq!(ooo["parameters"]["auto_kind"], "auto_reply");
    assert_eq!(ooo["parameters"]["auto_reason"], "Auto-Submitted: auto-replied");
    assert_eq!(ooo["identities"][0]["value"], "zdenek.riha@firma-riha.cz", "an out-of-office still comes from the customer");
    assert_eq!(ooo["conversation_ref"], "reply-9@acme.cz");

    assert_eq!(bounce["parameters"]["auto_submitted"], "true");
    assert_eq!(bounce["parameters"]["auto_kind"], "bounce");
    assert_eq!(bounce["identities"], json!([{"kind": "email", "value": "nikdo@klient-mail.cz", "scope": null}]));
    assert_eq!(bounce["profile"], Value::Null, "a mail system has no name to keep");
    assert_eq!(bounce["direction"], "inbound");
    assert_eq!(bounce["conversation_ref"], "reply-10@acme.cz", "the thread of the returned original");
    assert_eq!(bounce["parameters"]["bounced_message_id"], "reply-10@acme.cz");
}

#[tokio::test]
async fn a_bounce_from_a_null_sender_is_stored_against_the_failed_recipient_and_the_original_thread() {
    let adapter = spawn(1 << 20).await;
    let bounce = ingest(&adapter, &["bounce_null_sender.eml"]).await.remove(0);
    assert_eq!(bounce["tenant_id"], "acme");
    assert_eq!(bounce["direction"], "inbound");
    assert_eq!(bounce["identities"], json!([{"kind": "email", "value": "jana.stara@klient-mail.cz", "scope": null}]));
    assert_eq!(bounce["profile"], Value::Null);
    assert_eq!(bounce["conversation_ref"], "root-5522@klient-mail.cz", "the original's thread root");
    assert_eq!(bounce["parameters"]["auto_kind"], "bounce");
    assert_eq!(bounce["parameters"]["bounced_recipients"], "Jana.Stara@Klient-Mail.cz");
    assert_eq!(bounce["parameters"]["bounced_message_id"], "reply-7@acme.cz");
    assert_eq!(bounce["parameters"]["mailbox"], "podpora@acme.cz");
    let text = bounce["content"]["text"].as_str().expect("the report's text");
    assert!(text.contains("could not be delivered"), "{text}");
    assert!(!text.contains("byla odeslana"), "our own returned message is not the customer's text: {text}");
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
    let text = |i: usize| events[i]["content"]["text"].as_str().unwrap_or_else(|| panic!("{}: no text: {}", names[i], events[i]));
    assert_eq!(text(0), "Dobrý den, pračka po týdnu přestala ždímat. Prosím o opravu.", "a boundary that never occurs");
    assert_eq!(text(1), "Dobrý den, posílám fakturu za březen.", "a nested multipart reusing its parent's boundary");
    assert_eq!(events[1]["content"]["attachments"][0]["name"], "logo.gif");
    let forwarded = text(2);
    assert!(forwarded.starts_with("Přeposílám potvrzení, zboží ale nedorazilo."), "{forwarded}");
    assert!(forwarded.contains("From: E-shop ACME <objednavky@eshop.acme.cz>"), "{forwarded}");
    assert!(forwarded.contains("Subject: Potvrzení objednávky 8844"), "{forwarded}");
    assert!(forwarded.ends_with("Děkujeme za objednávku č. 8844, doručíme ji do 20. 3."), "{forwarded}");
    assert!(
        events[2]["content"]["attachments"].as_array().expect("attachments").iter().any(|a| a["mime"] == "message/rfc822"),
        "the forwarded message stays an attachment too"
    );
    assert_eq!(text(3), "Posílám fotky poškozeného balíku, viz obrázek v textu.", "plain text three levels deep");
    assert!(events[3]["content"]["attachments"].as_array().expect("attachments").iter().any(|a| a["name"] == "dodaci-list.pdf"));
    assert_eq!(text(4), "Dobrý den, zpráva se odeslala bez konce, ale text tu je.", "no closing boundary");
}

#[tokio::test]
async fn mailboxes_route_by_exact_address_plus_tag_and_domain_catch_all() {
    let adapter = spawn(1 << 20).await;
    let events = ingest(&adapter, &["plus_tag.eml", "catch_all.eml", "exact_beats_catch_all.eml"]).await;
    let (tagged, caught, exact) = (&events[0], &events[1], &events[2]);
    assert_eq!(tagged["tenant_id"], "acme");
    assert_eq!(tagged["parameters"]["mailbox"], "podpora@acme.cz");
    assert_eq!(tagged["parameters"]["mailbox_tag"], "eshop");
    assert_eq!(tagged["parameters"]["mailbox_route"], "plus_tag");
    assert_eq!(caught["tenant_id"], "acme");
    assert_eq!(caught["parameters"]["mailbox"], "reklamace@acme-shop.cz");
    assert_eq!(caught["parameters"]["mailbox_route"], "catch_all");
    assert_eq!(exact["tenant_id"], "beta", "an exact address beats its domain's catch-all");
    assert_eq!(exact["parameters"]["mailbox_route"], "exact");
}

#[tokio::test]
async fn a_relay_retry_keeps_the_interaction_id() {
    let adapter = spawn(1 << 20).await;
    let raw = fixture("email/plain_czech_qp.eml");
    for _ in 0..2 {
        assert_eq!(post(&adapter, raw.clone(), Some(TOKEN)).await.status, 200);
    }
    let messages = adapter.take_ingested(2).await;
    assert_eq!(testkit::json(&messages[0])["interaction_id"], testkit::json(&messages[1])["interaction_id"]);
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
