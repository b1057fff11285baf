//! The Apple Messages for Business webhook through real HTTP and Kafka: what Apple's service sends
//! (plain or gzip-compressed, with a valid HS256 bearer JWT) is published and only then
//! acknowledged; what is forged, expired, malformed, oversized or for an unknown business is
//! refused and publishes nothing, an unknown business exactly like a forged token.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use channel::AccountMap;
use channel_apple::{Config, SecretEncoding, WEBHOOK_PATH};
use contracts::limits::{Action, Sanitized};
use contracts::{Channel, ConversationEvent, Direction, IdentityKind, InteractionEvent, Provenance};
use flate2::write::GzEncoder;
use flate2::Compression;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use runtime::settings::HttpSettings;
use secrecy::SecretString;
use serde_json::{json, Value};
use testkit::{attachments, identity_facts, parameter, text};
use testkit::{fixture, spawn_adapter, Reply, SpawnedService};

/// The Messaging API secret as Apple issues it (base64 of the signing key).
const SECRET_B64: &str = "c2VjcmV0LWZyb20tYXBwbGU=";
const SIGNING_KEY: &[u8] = b"secret-from-apple";
const MSP_ID: &str = "3c9e7a51-2b4d-4f68-9a0c-1e3b5d7f9a24";
const BUSINESS: &str = "b7a4e1c2-5d3f-4a8e-9c1b-2f6d8e0a4b7c";
const CUSTOMER: &str =
    "urn:mbid:AQAAY2p7Xq0Lw3FzR9kB1nCjEa8vT6uHdY0sG4iKmPqN2bV5xWcZ7yJ3fE1oL9tR8gU4hA6dS0kQ2mB5nX7vC3zY1pL8wF6jT4eK2=";

async fn spawn(body_limit: usize) -> SpawnedService {
    let config = Config {
        http: HttpSettings { body_limit_bytes: body_limit, ..HttpSettings::default() },
        secret: Some(SecretString::from(SECRET_B64)),
        secret_encoding: SecretEncoding::Base64,
        msp_id: Some(MSP_ID.to_owned()),
        businesses: AccountMap([(BUSINESS.to_owned(), "acme".to_owned())].into()),
        ..Config::default()
    };
    spawn_adapter(move |publisher, shutdown| async move { channel_apple::start(&config, publisher, shutdown).await }).await
}

fn now() -> i64 {
    i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_secs()).expect("fits")
}

fn jwt(alg: Algorithm, key: &[u8], claims: Value) -> String {
    jsonwebtoken::encode(&Header::new(alg), &claims, &EncodingKey::from_secret(key)).expect("encodable")
}

/// A token as Apple's service makes it: HS256 under the decoded secret, `aud` = our MSP id.
fn apple_token() -> String {
    jwt(Algorithm::HS256, SIGNING_KEY, json!({"aud": MSP_ID, "iat": now(), "exp": now() + 300}))
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).expect("in-memory write");
    encoder.finish().expect("in-memory finish")
}

/// The routing headers Apple sends, taken from the fixture's own ids.
fn routing(body: &str) -> Vec<(&'static str, String)> {
    let value: Value = serde_json::from_str(body).expect("fixture is JSON");
    let field = |name: &str| value[name].as_str().expect("fixture has the id").to_owned();
    vec![
        ("id", field("id")),
        ("source-id", field("sourceId")),
        ("destination-id", field("destinationId")),
        ("capability-list", "QUICK,LIST,TIME,AUTH,AUTH2,FORM".to_owned()),
        ("device-agent", "iPhone OS".to_owned()),
    ]
}

async fn post(adapter: &SpawnedService, body: Vec<u8>, token: Option<&str>, headers: &[(&str, String)]) -> Reply {
    let headers = token.map(testkit::bearer).into_iter().chain(headers.iter().map(|(name, value)| (*name, value.clone())));
    testkit::post(&adapter.url(WEBHOOK_PATH), "application/json", body, headers).await
}

/// Posts a fixture as Apple would, optionally gzip-compressed (`Some(true)`: with the
/// `Content-Encoding` header, `Some(false)`: recognized by the magic bytes alone).
async fn deliver(adapter: &SpawnedService, name: &str, gzipped: Option<bool>) -> Value {
    let body = fixture(&format!("apple/{name}"));
    let mut headers = routing(&body);
    let bytes = match gzipped {
        None => body.into_bytes(),
        Some(with_header) => {
            if with_header {
                headers.push(("content-encoding", "gzip".to_owned()));
            }
            gzip(body.as_bytes())
        }
    };
    let Reply { status, body: answer, .. } = post(adapter, bytes, Some(&apple_token()), &headers).await;
    assert_eq!(status, 200, "{name}: {answer}");
    answer
}

#[tokio::test]
async fn a_text_message_is_published_with_the_business_scoped_identity_and_retries_keep_its_id() {
    let adapter = spawn(1 << 20).await;
    assert_eq!(deliver(&adapter, "text_message.json", None).await["published"], 1);
    assert_eq!(deliver(&adapter, "text_message.json", Some(true)).await["published"], 1, "the same message, compressed");

    let messages = adapter.take_ingested(2).await;
    let (first, retry): (InteractionEvent, InteractionEvent) = (testkit::decode(&messages[0]), testkit::decode(&messages[1]));
    assert_eq!(first.interaction_id, retry.interaction_id, "a redelivery keeps the deterministic id");
    // The wire format itself: the schema version is written out, not left to a default.
    assert_eq!(testkit::json(&messages[0])["v"], 1);
    assert_eq!(first.tenant_id, "acme");
    assert_eq!(first.body.channel, Channel::Apple);
    assert_eq!(first.body.direction, Direction::Inbound);
    assert_eq!(first.body.provider_ref, "6f3a9c1e-0b7d-4c52-9e84-2a1d5b7c8e90");
    assert_eq!(
        first.body.identities.iter().map(identity_facts).collect::<Vec<_>>(),
        [(IdentityKind::Apple, CUSTOMER, Some(BUSINESS), Provenance::Verified)]
    );
    assert_eq!(first.body.conversation_ref, Some(format!("{BUSINESS}:{CUSTOMER}")));
    assert!(text(&first).expect("text").starts_with("Dobrý den, v pátek jsem si u vás objednal pračku"));
    assert_eq!(parameter(&first, "locale"), Some("cs_CZ"));
    assert_eq!(parameter(&first, "capabilities"), Some("QUICK,LIST,TIME,AUTH,AUTH2,FORM"));
    assert_eq!(parameter(&first, "device_agent"), Some("iPhone OS"));
    assert_eq!(parameter(&first, "group"), Some("servis"));
    assert_eq!(parameter(&first, "intent"), Some("objednavka"));
    assert_eq!(testkit::key(&messages[0]), format!("acme|apple|{CUSTOMER}"));
}

#[tokio::test]
async fn gzip_bodies_attachments_interactive_answers_and_closes_are_normalized() {
    let adapter = spawn(1 << 20).await;
    deliver(&adapter, "attachment.json", Some(true)).await;
    deliver(&adapter, "list_picker_reply.json", Some(false)).await;
    deliver(&adapter, "time_picker_reply.json", None).await;
    deliver(&adapter, "quick_reply.json", None).await;
    deliver(&adapter, "close.json", None).await;
    assert_eq!(deliver(&adapter, "typing_start.json", None).await["published"], 0, "typing is acknowledged, not stored");

    let messages = adapter.take_ingested(5).await;
    let events: Vec<InteractionEvent> = messages.iter().map(testkit::decode).collect();
    let by_ref = |id: &str| events.iter().find(|e| e.body.provider_ref == id).unwrap_or_else(|| panic!("{id} published"));

    let photo = by_ref("0c5e7b2a-91d4-4f3e-b8a6-5d2c1e9f7a34");
    assert_eq!(text(photo), Some("Posílám fotku poškozeného balíku a dodací list"), "attachment placeholders removed");
    let files = attachments(photo);
    assert_eq!(files[0].name.as_deref(), Some("IMG_4821.jpeg"));
    assert_eq!(files[0].mime.as_deref(), Some("image/jpeg"));
    assert_eq!(files[0].size, Some(1_843_216));
    assert_eq!(files[1].mime.as_deref(), Some("application/pdf"));
    // About the wire itself: the key appears nowhere in what was published.
    assert!(
        !messages.iter().any(|m| testkit::json(m).to_string().contains("00a1b2c3d4e5f6")),
        "attachment decryption keys never reach Kafka"
    );

    let list = by_ref("3d8b1f6a-2c4e-4a9b-8d7f-1e5a3c9b7d20");
    assert_eq!(text(list), Some("Praha – Anděl"));
    assert_eq!(parameter(list, "interactive_type"), Some("list_picker"));
    assert_eq!(parameter(list, "selected_identifiers"), Some("praha-smichov"));

    let time = by_ref("9a2e5c7b-4d1f-4e8a-b6c3-7f0d2a8e5b19");
    assert_eq!(text(time), Some("čtvrtek 27. listopadu 9:00–11:00 – Instalace pračky"));
    assert_eq!(parameter(time, "interactive_type"), Some("time_picker"));
    assert_eq!(parameter(time, "time_slot_start"), Some("2025-11-27T08:00+0000"));
    assert_eq!(parameter(time, "time_slot_duration_s"), Some("7200"));

    let quick = by_ref("e4b7d1a9-6c3f-4b2e-a8d5-0f9c7e3b1a62");
    assert_eq!(text(quick), Some("Ne, chci mluvit s operátorem"));
    assert_eq!(parameter(quick, "selected_identifiers"), Some("operator"));

    let close = by_ref("7c1f9e3b-5a2d-4c8e-9b6f-2d4a8c0e6f13");
    assert_eq!(parameter(close, "conversation_status"), Some("closed"));
    assert_eq!(close.body.event, Some(ConversationEvent::Closed), "a close is a conversation event");
    assert!(close.body.content.is_none(), "not an empty message");
    assert_eq!(close.body.identities[0].value, CUSTOMER);
}

#[tokio::test]
async fn a_body_that_is_not_utf8_once_inflated_is_stored_lossily_and_flagged() {
    let adapter = spawn(1 << 20).await;
    let body = fixture("apple/text_message.json");
    let headers = routing(&body);
    // "Dobrý" with the ý as one windows-1250 byte, as a broken client might send it.
    let mut bytes = Vec::new();
    for (i, part) in body.splitn(2, "Dobrý").enumerate() {
        if i > 0 {
            bytes.extend_from_slice(b"Dobr\xfd");
        }
        bytes.extend_from_slice(part.as_bytes());
    }
    assert!(std::str::from_utf8(&bytes).is_err(), "the test body is not UTF-8");
    let mut gz_headers = headers.clone();
    gz_headers.push(("content-encoding", "gzip".to_owned()));
    let Reply { status, body: answer, .. } = post(&adapter, gzip(&bytes), Some(&apple_token()), &gz_headers).await;
    assert_eq!((status, &answer["published"]), (200, &json!(1)), "{answer}");
    let event = &adapter.take_events(1).await[0];
    assert!(text(event).expect("text").starts_with("Dobr\u{fffd} den, v pátek"), "{event:?}");
    assert_eq!(event.body.sanitized, [Sanitized { field: "body".into(), action: Action::LossyUtf8, original_size: None }]);
}

#[tokio::test]
async fn forged_expired_malformed_unknown_and_oversized_requests_are_refused_and_publish_nothing() {
    let adapter = spawn(4096).await;
    let body = fixture("apple/text_message.json");
    let headers = routing(&body);
    let send = |bytes: Vec<u8>, token: Option<String>, headers: Vec<(&'static str, String)>| {
        let adapter = &adapter;
        async move { post(adapter, bytes, token.as_deref(), &headers).await }
    };

    let unknown = fixture("apple/unknown_business.json");
    let mut answers = vec![
        ("an unknown business", send(unknown.clone().into_bytes(), Some(apple_token()), routing(&unknown)).await),
        ("no token", send(body.clone().into_bytes(), None, headers.clone()).await),
        ("a token that is no JWT", send(body.clone().into_bytes(), Some("not.a.jwt".into()), headers.clone()).await),
    ];
    let claims = json!({"aud": MSP_ID, "iat": now(), "exp": now() + 300});
    let refused = [
        ("forged", jwt(Algorithm::HS256, b"guessed-secret", claims.clone())),
        ("signed with the base64 text", jwt(Algorithm::HS256, SECRET_B64.as_bytes(), claims.clone())),
        ("other algorithm", jwt(Algorithm::HS512, SIGNING_KEY, claims)),
        ("expired", jwt(Algorithm::HS256, SIGNING_KEY, json!({"aud": MSP_ID, "iat": now() - 7200, "exp": now() - 3600}))),
        ("other audience", jwt(Algorithm::HS256, SIGNING_KEY, json!({"aud": "someone-else", "iat": now(), "exp": now() + 300}))),
        ("never expires", jwt(Algorithm::HS256, SIGNING_KEY, json!({"aud": MSP_ID}))),
    ];
    for (case, token) in refused {
        answers.push((case, send(body.clone().into_bytes(), Some(token), headers.clone()).await));
    }
    let answers: Vec<(&str, &Reply)> = answers.iter().map(|(case, answer)| (*case, answer)).collect();
    testkit::assert_indistinguishable(&answers);

    let token = || Some(apple_token());
    let garbage = b"{\"type\": \"text\", \"body\": ".to_vec();
    let Reply { status, content_type, body: problem, .. } = send(garbage, token(), headers.clone()).await;
    assert_eq!((status, content_type.as_deref()), (400, Some("application/problem+json")), "malformed JSON");
    assert!(problem["detail"].as_str().expect("detail").contains("malformed"));

    let mut gz_headers = headers.clone();
    gz_headers.push(("content-encoding", "gzip".to_owned()));
    assert_eq!(send(body.clone().into_bytes(), token(), gz_headers.clone()).await.status, 400, "says gzip, is not");

    let mut mismatch = headers.clone();
    mismatch.retain(|(name, _)| *name != "source-id");
    mismatch.push(("source-id", "urn:mbid:SOMEONE-ELSE".to_owned()));
    assert_eq!(send(body.clone().into_bytes(), token(), mismatch).await.status, 400, "header and body disagree");

    let bomb = gzip(format!("{{\"type\":\"text\",\"body\":\"{}\"}}", " ".repeat(200_000)).as_bytes());
    assert!(bomb.len() < 4096, "the bomb itself fits the body limit");
    let Reply { status, content_type, .. } = send(bomb, token(), gz_headers).await;
    assert_eq!((status, content_type.as_deref()), (413, Some("application/problem+json")), "inflates past 10× the limit");

    let huge = format!("{{\"type\":\"text\",\"body\":\"{}\"}}", "x".repeat(8192));
    assert_eq!(send(huge.into_bytes(), token(), headers).await.status, 413, "raw body over the limit");

    let published = adapter.ingested().await;
    assert!(published.is_empty(), "refused requests published {} messages", published.len());
}
