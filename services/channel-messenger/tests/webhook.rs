//! The Messenger webhook through real HTTP and Kafka: what is accepted is published (and only
//! then acknowledged), what is forged or malformed is refused and publishes nothing.

use std::time::Duration;

use channel::AccountMap;
use channel_messenger::{Config, WEBHOOK_PATH};
use contracts::topics;
use runtime::kafka::Publisher;
use runtime::settings::HttpSettings;
use runtime::shutdown::CancellationToken;
use secrecy::SecretString;
use serde_json::Value;
use testkit::{fixture, json, meta_signature, TestKafka};

const SECRET: &str = "app-secret";
const PAGE: &str = "104729361234567";

struct Adapter {
    url: String,
    kafka: TestKafka,
    shutdown: CancellationToken,
}

impl Drop for Adapter {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

async fn spawn(body_limit: usize) -> Adapter {
    let kafka = TestKafka::start().await;
    let config = Config {
        http: HttpSettings { body_limit_bytes: body_limit, ..HttpSettings::default() },
        app_secret: Some(SecretString::from(SECRET)),
        verify_token: Some(SecretString::from("verify-me")),
        pages: AccountMap([(PAGE.to_owned(), "acme".to_owned())].into()),
    };
    let shutdown = CancellationToken::new();
    let publisher = Publisher::new(&kafka.settings).expect("publisher");
    let running = channel_messenger::start(&config, publisher, shutdown.clone()).await.expect("adapter starts");
    let url = format!("http://{}{WEBHOOK_PATH}", running.http_addr.expect("http address"));
    tokio::spawn(running.wait());
    Adapter { url, kafka, shutdown }
}

async fn post(url: &str, body: &str, signature: Option<String>) -> (u16, Option<String>, Value) {
    let mut request = testkit::http().post(url).header("content-type", "application/json").body(body.to_owned());
    if let Some(signature) = signature {
        request = request.header("x-hub-signature-256", signature);
    }
    let response = request.send().await.expect("request sent");
    let status = response.status().as_u16();
    let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let body = response.json().await.unwrap_or(Value::Null);
    (status, content_type, body)
}

#[tokio::test]
async fn a_signed_message_is_published_before_the_200_and_retries_keep_its_id() {
    let adapter = spawn(1 << 20).await;
    let body = fixture("messenger/text_message.json");
    let (status, _, answer) = post(&adapter.url, &body, Some(meta_signature(SECRET, body.as_bytes()))).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["published"], 1);
    let (status, _, _) = post(&adapter.url, &body, Some(meta_signature(SECRET, body.as_bytes()))).await;
    assert_eq!(status, 200);

    let messages = adapter.kafka.reader(topics::INTERACTIONS_INGESTED).take(2, Duration::from_secs(30)).await;
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
        let (status, _, answer) = post(&adapter.url, &body, Some(meta_signature(SECRET, body.as_bytes()))).await;
        assert_eq!(status, 200, "{name}: {answer}");
    }
    let messages = adapter.kafka.reader(topics::INTERACTIONS_INGESTED).take(3, Duration::from_secs(30)).await;
    let events: Vec<Value> = messages.iter().map(json).collect();
    let echo = events.iter().find(|e| e["direction"] == "outbound").expect("the echo is outbound");
    assert_eq!(echo["identities"][0]["value"], "6254981234567890", "an echo belongs to the recipient PSID");
    assert!(events.iter().any(|e| e["content"]["attachments"][0]["mime"] == "image"));
    assert!(events.iter().any(|e| e["parameters"]["postback_payload"] == "HANDOVER_TO_AGENT"));
}

#[tokio::test]
async fn forged_malformed_unknown_and_oversized_requests_are_refused_and_publish_nothing() {
    let adapter = spawn(4096).await;
    let body = fixture("messenger/text_message.json");

    let (status, content_type, problem) = post(&adapter.url, &body, Some(meta_signature("wrong-secret", body.as_bytes()))).await;
    assert_eq!(status, 403);
    assert_eq!(content_type.as_deref(), Some("application/problem+json"));
    assert_eq!(problem["status"], 403);

    assert_eq!(post(&adapter.url, &body, None).await.0, 401, "missing signature");
    let tampered = body.replace("4411", "4412");
    assert_eq!(post(&adapter.url, &tampered, Some(meta_signature(SECRET, body.as_bytes()))).await.0, 403, "tampered body");

    let garbage = "{\"object\": \"page\", \"entry\": [";
    let (status, content_type, problem) = post(&adapter.url, garbage, Some(meta_signature(SECRET, garbage.as_bytes()))).await;
    assert_eq!((status, content_type.as_deref()), (400, Some("application/problem+json")));
    assert!(problem["detail"].as_str().expect("detail").contains("malformed"));

    let not_page = r#"{"object":"instagram","entry":[]}"#;
    assert_eq!(post(&adapter.url, not_page, Some(meta_signature(SECRET, not_page.as_bytes()))).await.0, 400);

    let unknown = fixture("messenger/unknown_page.json");
    assert_eq!(post(&adapter.url, &unknown, Some(meta_signature(SECRET, unknown.as_bytes()))).await.0, 404);

    let huge = format!("{{\"object\":\"page\",\"entry\":[],\"pad\":\"{}\"}}", "x".repeat(8192));
    assert_eq!(post(&adapter.url, &huge, Some(meta_signature(SECRET, huge.as_bytes()))).await.0, 413);

    let published = adapter.kafka.reader(topics::INTERACTIONS_INGESTED).drain(Duration::from_secs(3)).await;
    assert!(published.is_empty(), "refused requests published {} messages", published.len());
}

#[tokio::test]
async fn the_subscription_handshake_echoes_the_challenge_only_for_the_right_token() {
    let adapter = spawn(1 << 20).await;
    let http = testkit::http();
    let ok = http
        .get(format!("{}?hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=1158201444", adapter.url))
        .send()
        .await
        .expect("sent");
    assert_eq!(ok.status().as_u16(), 200);
    assert_eq!(ok.text().await.expect("body"), "1158201444");
    let wrong = http
        .get(format!("{}?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1", adapter.url))
        .send()
        .await
        .expect("sent");
    assert_eq!(wrong.status().as_u16(), 403);
}
