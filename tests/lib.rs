//! Cross-service end-to-end scenarios: the Messenger adapter, the resolver and the timeline
//! wired on one Kafka (embedded mock cluster or a real broker over TCP) and a fresh database,
//! driven only through their public interfaces (signed webhooks in, HTTP APIs and topics out).

use std::time::Duration;

use channel::AccountMap;
use contracts::topics;
use runtime::http::auth::Role;
use runtime::kafka::Publisher;
use runtime::shutdown::CancellationToken;
use runtime::Running;
use secrecy::SecretString;
use serde_json::Value;
use testkit::{eventually, fixture, meta_signature, TestKafka};

pub const APP_SECRET: &str = "e2e-app-secret";
pub const PAGE: &str = "104729361234567";
pub const PSID: &str = "6254981234567890";

/// The three services of the slice, running.
pub struct Pipeline {
    pub kafka: TestKafka,
    pub webhook: String,
    pub resolver: String,
    pub timeline: String,
    pub shutdown: CancellationToken,
    running: Option<Running>,
    _database: testkit::TestDatabase,
}

impl Pipeline {
    pub async fn start(kafka: TestKafka) -> Self {
        let database = testkit::fresh_database();
        let shutdown = CancellationToken::new();
        let publisher = Publisher::new(&kafka.settings).expect("publisher");
        let resolver =
            resolver::start(&kafka.settings_for(&database, resolver::Config::default()), publisher.clone(), shutdown.clone())
                .await
                .expect("resolver starts");
        let timeline =
            timeline::start(&kafka.settings_for(&database, timeline::Config::default()), publisher.clone(), shutdown.clone())
                .await
                .expect("timeline starts");
        let messenger_config = channel_messenger::Config {
            app_secret: Some(SecretString::from(APP_SECRET)),
            verify_token: Some(SecretString::from("verify")),
            pages: AccountMap([(PAGE.to_owned(), "acme".to_owned())].into()),
            ..Default::default()
        };
        let messenger = channel_messenger::start(&messenger_config, publisher, shutdown.clone()).await.expect("adapter starts");
        let addr = |r: &Running| r.http_addr.expect("http address");
        let (webhook, resolver_url, timeline_url) = (
            format!("http://{}{}", addr(&messenger), channel_messenger::WEBHOOK_PATH),
            format!("http://{}", addr(&resolver)),
            format!("http://{}", addr(&timeline)),
        );
        let mut running = Running::new("e2e");
        running.absorb(messenger);
        running.absorb(resolver);
        running.absorb(timeline);
        Self {
            kafka,
            webhook,
            resolver: resolver_url,
            timeline: timeline_url,
            shutdown,
            running: Some(running),
            _database: database,
        }
    }

    pub async fn post_fixture(&self, name: &str, secret: &str) -> u16 {
        let body = fixture(&format!("messenger/{name}"));
        testkit::http()
            .post(&self.webhook)
            .header("content-type", "application/json")
            .header("x-hub-signature-256", meta_signature(secret, body.as_bytes()))
            .body(body)
            .send()
            .await
            .expect("webhook sent")
            .status()
            .as_u16()
    }

    pub async fn get(&self, url: String) -> Value {
        let response = testkit::http().get(&url).bearer_auth(testkit::token("acme", Role::Operator)).send().await.expect("sent");
        assert!(response.status().is_success(), "GET {url}: {}", response.status());
        response.json().await.expect("json")
    }

    /// Stops every service and waits until they are down.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(running) = self.running.take() {
            running.wait().await.expect("services stop cleanly");
        }
    }
}

/// Posts the Messenger fixtures (one twice, one forged) and checks the contact card, the
/// timeline and the topics: one contact, one entry per message, nothing from the forgery.
pub async fn messenger_to_timeline(pipeline: &Pipeline) {
    let reader = pipeline.kafka.reader(topics::INTERACTIONS_INGESTED);
    assert_eq!(pipeline.post_fixture("text_message.json", APP_SECRET).await, 200);
    assert_eq!(pipeline.post_fixture("text_message.json", APP_SECRET).await, 200, "a provider retry");
    assert_eq!(pipeline.post_fixture("text_message.json", "forged").await, 403);
    assert_eq!(pipeline.post_fixture("echo_reply.json", APP_SECRET).await, 200);
    assert_eq!(pipeline.post_fixture("attachment_and_postback.json", APP_SECRET).await, 200);

    let contact = eventually(Duration::from_secs(60), "the contact to be resolved", || async {
        let page = pipeline.get(format!("{}/v1/contacts", pipeline.resolver)).await;
        let items = page["items"].as_array().cloned().unwrap_or_default();
        (!items.is_empty()).then_some(items)
    })
    .await;
    assert_eq!(contact.len(), 1, "one contact for one PSID: {contact:#?}");
    assert_eq!(contact[0]["identities"][0]["kind"], "psid");
    assert_eq!(contact[0]["identities"][0]["value"], PSID);
    let contact_id = contact[0]["contact_id"].as_str().expect("id").to_owned();

    // The four messages of one Messenger thread, minutes apart, are one interaction with a
    // four-line transcript; the contact's creation is a contact event beside it.
    let timeline = format!("{}/v1/contacts/{contact_id}/timeline", pipeline.timeline);
    eventually(Duration::from_secs(60), "a four-message conversation", || async {
        let page = pipeline.get(timeline.clone()).await;
        let items = page["items"].as_array().cloned().unwrap_or_default();
        items.iter().any(|i| i["type"] == "interaction" && i["message_count"] == 4).then_some(())
    })
    .await;
    // Anything late (a duplicate) would be there once both consumers committed what was
    // written to their topics: wait for that before counting.
    eventually(Duration::from_secs(60), "the resolver and the timeline to catch up", || async {
        let kafka = &pipeline.kafka;
        (kafka.caught_up("resolver", topics::INTERACTIONS_INGESTED)
            && kafka.caught_up(timeline::consumer::INTERACTIONS_CONSUMER, topics::INTERACTIONS_RESOLVED))
        .then_some(())
    })
    .await;
    let items = pipeline.get(timeline).await["items"].as_array().cloned().unwrap_or_default();
    let interactions: Vec<&Value> = items.iter().filter(|i| i["type"] == "interaction").collect();
    assert_eq!(interactions.len(), 1, "one conversation: {items:#?}");
    assert_eq!(interactions[0]["message_count"], 4, "the provider retry is one message, not two");
    assert!(items.iter().any(|i| i["type"] == "contact_event" && i["kind"] == "created"), "{items:#?}");

    let detail = pipeline
        .get(format!("{}/v1/interactions/{}", pipeline.timeline, interactions[0]["interaction_id"].as_str().unwrap_or("")))
        .await;
    let transcript = detail["transcript"].as_array().cloned().unwrap_or_default();
    let directions: Vec<&str> = transcript.iter().map(|m| m["direction"].as_str().unwrap_or("")).collect();
    assert_eq!(directions, ["inbound", "outbound", "inbound", "inbound"], "oldest first: {detail:#}");
    assert_eq!(transcript[0]["matched_by"], Value::Null, "the first message created the contact");
    assert_eq!(transcript[1]["matched_by"]["kind"], "psid");

    // Every request was acknowledged after Kafka's ack, so these five are on the topic; the
    // forged request would be a third copy of the retried message. (Read by count, not up to the
    // high watermarks: tansu 0.6 reports a partition's last offset as its high watermark.)
    let ingested = reader.until(Duration::from_secs(30), |m| m.len() >= 5).await;
    let ids: std::collections::HashSet<String> =
        ingested.iter().map(|m| testkit::json(m)["interaction_id"].to_string()).collect();
    assert_eq!((ingested.len(), ids.len()), (5, 4), "two copies of the retried message, three others");

    operations_endpoints_report_what_happened(pipeline).await;
}

/// `/readyz` checks the database and Kafka; `/metrics` counts resolutions by what matched,
/// webhook rejections, request latencies and the consumer lag.
async fn operations_endpoints_report_what_happened(pipeline: &Pipeline) {
    let http = testkit::http();
    let ready: Value =
        http.get(format!("{}/readyz", pipeline.resolver)).send().await.expect("readyz").json().await.expect("json");
    assert_eq!(ready, serde_json::json!({"ready": true, "database": true, "kafka": true}));
    let metrics = eventually(Duration::from_secs(30), "consumer lag in /metrics (librdkafka reports every 5 s)", || async {
        let text = http.get(format!("{}/metrics", pipeline.resolver)).send().await.ok()?.text().await.ok()?;
        text.contains("kafka_consumer_lag{").then_some(text)
    })
    .await;
    for expected in [
        r#"resolutions_total{matched_by="created"} 1"#,
        r#"resolutions_total{matched_by="psid"} 3"#,
        r#"webhooks_rejected_total{reason="forbidden"} 1"#,
        "http_request_duration_seconds_bucket{",
        r#"kafka_consumer_lag{group=""#,
    ] {
        assert!(metrics.contains(expected), "/metrics lacks {expected}:\n{metrics}");
    }
}
