//! Fault tests (issue 10, README "Guarantees"): `contactd serve` in its own process on a real
//! Kafka-protocol broker over TCP (tansu) and PostgreSQL, fed through its real webhooks. Each
//! prints what it sent and what was stored, and asserts they are equal.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::*;
use contracts::topics;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::TopicPartitionList;
use runtime::http::auth::Role;
use sqlx::PgPool;
use testkit::{eventually, fresh_database, TestKafka};

const WAIT: Duration = Duration::from_secs(90);

async fn timeline_pool(db: &testkit::TestDatabase) -> PgPool {
    testkit::pool(db, "timeline").await
}

async fn resolver_pool(db: &testkit::TestDatabase) -> PgPool {
    testkit::pool(db, "resolver").await
}

/// Provider refs of the messages the timeline stores, per tenant.
async fn stored_refs(pool: &PgPool, tenant: &str) -> Vec<String> {
    sqlx::query_scalar("SELECT event->>'provider_ref' FROM interaction_messages WHERE tenant_id = $1 ORDER BY 1")
        .bind(tenant)
        .fetch_all(pool)
        .await
        .unwrap_or_default()
}

async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap_or(-1)
}

fn email(from: &str, message_id: &str, extra_headers: &str, body: &[u8]) -> Vec<u8> {
    let mut message = format!(
        "Message-ID: <{message_id}>\r\nDate: Wed, 25 Nov 2026 10:00:00 +0100\r\nFrom: {from}\r\nTo: {MAILBOX}\r\n\
         {extra_headers}Subject: Dotaz\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    )
    .into_bytes();
    message.extend_from_slice(body);
    message
}

/// The poison corpus first, then ordinary traffic of two tenants: the ordinary messages reach
/// the timeline and `contacts.changes` promptly, and every poison input was stored, cut and
/// flagged, or refused at the edge with a problem+json 4xx.
#[tokio::test(flavor = "multi_thread")]
async fn poison_inputs_are_stored_within_the_limits_and_ordinary_traffic_of_two_tenants_still_flows() {
    let kafka = TestKafka::tansu().await;
    let db = fresh_database();
    let served = Served::start("poison", &kafka.settings.brokers, &db, &kafka.settings.group_prefix).await;
    let changes = kafka.reader(topics::CONTACTS_CHANGES);

    // Poison, each from outside the system.
    // About a million characters, within the web chat's 1 MiB request limit.
    let huge_text = "Prilis zlutoucky kun upel dabelske ody. ".repeat(25_000);
    let mut poison: Vec<(&str, String, u16)> = Vec::new();
    let posts = [
        ("webchat 1M-character text", webchat_message(ACME_SITE, "p1", "p-huge", "huge@klient.cz", "Huge", &huge_text)),
        ("webchat NUL in text and name", webchat_message(ACME_SITE, "p2", "p-nul", "nul@klient.cz", "Ja\u{0}na", "a\u{0}b")),
    ];
    for (what, body) in posts {
        let status = post_webchat(&served.webhooks, ACME_SECRET, &body).await;
        poison.push((what, body["message_id"].as_str().unwrap_or_default().to_owned(), status));
    }
    // The thread root (the first References id) becomes the conversation key.
    let references = format!("References: <{}@x.cz> <r1@x.cz>\r\n", "r".repeat(10_000));
    let long_local = "a".repeat(10_000);
    let mails = [
        ("e-mail with a 10 KB References header", email("Klient <refs@klient.cz>", "p-refs@x.cz", &references, b"hi")),
        ("e-mail with a 10 KB From local part", email(&format!("<{long_local}@klient.cz>"), "p-from@x.cz", "", b"hi")),
        ("e-mail with a raw 0x00 in the body", email("Nul <rawnul@klient.cz>", "p-rawnul@x.cz", "", b"a\x00b")),
    ];
    for (what, message) in mails {
        let id = String::from_utf8_lossy(&message)
            .split_once("Message-ID: <")
            .and_then(|(_, r)| r.split_once('@'))
            .map(|(id, _)| id.to_owned())
            .unwrap_or_default();
        poison.push((what, id, post_email(&served.webhooks, message).await));
    }
    for (what, id, status) in &poison {
        assert_eq!(*status, 200, "{what} ({id}) is accepted (the provider must not retry forever)");
    }
    // Operator input over every limit is refused at the edge, naming the problem.
    let operator = testkit::token("acme", Role::Operator);
    let http = testkit::http();
    let refused = [
        ("contact with a 1 MiB name", serde_json::json!({ "name": "x".repeat(1 << 20) })),
        (
            "contact with 10,000 identities",
            serde_json::json!({ "identities": (0..10_000).map(|i| serde_json::json!({"kind": "email", "value": format!("c{i}@klient.cz")})).collect::<Vec<_>>() }),
        ),
    ];
    let mut refused_statuses = Vec::new();
    for (what, body) in refused {
        let response =
            http.post(format!("{}/v1/contacts", served.resolver)).bearer_auth(&operator).json(&body).send().await.expect("sent");
        let status = response.status().as_u16();
        let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        assert!((400..500).contains(&status), "{what}: {status}");
        assert_eq!(content_type, "application/problem+json", "{what}");
        refused_statuses.push((what, status));
    }

    // Then ordinary traffic from two tenants.
    let started = Instant::now();
    let mut ordinary = Vec::new();
    for i in 0..10 {
        let (site, secret) = if i % 2 == 0 { (ACME_SITE, ACME_SECRET) } else { (GLOBEX_SITE, GLOBEX_SECRET) };
        let body =
            webchat_message(site, &format!("s{i}"), &format!("o{i}"), &format!("zakaznik{i}@klient.cz"), "Zákazník", "Dobrý den");
        assert_eq!(post_webchat(&served.webhooks, secret, &body).await, 200);
        ordinary.push(format!("{site}:o{i}"));
    }
    let timeline = timeline_pool(&db).await;
    let expected: BTreeSet<String> = ordinary.iter().cloned().collect();
    eventually(WAIT, "the ordinary messages of both tenants in the timeline", || async {
        let mut stored: BTreeSet<String> = stored_refs(&timeline, "acme").await.into_iter().collect();
        stored.extend(stored_refs(&timeline, "globex").await);
        expected.is_subset(&stored).then_some(())
    })
    .await;
    let visible_after = started.elapsed();
    changes
        .until(WAIT, |messages| {
            let tenants = testkit::distinct(messages, "tenant_id");
            tenants.contains("acme") && tenants.contains("globex")
        })
        .await;

    // Every poison input accepted at the edge is stored, within the limits.
    let stored_poison: Vec<(String, i64, String)> = eventually(WAIT, "every poison input stored", || async {
        let rows: Vec<(String, i64, String)> = sqlx::query_as(
            "SELECT event->>'provider_ref', octet_length(coalesce(text, ''))::int8, coalesce(event->'sanitized', '[]')::text
             FROM interaction_messages ORDER BY 1",
        )
        .fetch_all(&timeline)
        .await
        .expect("stored messages");
        let missing: Vec<&str> =
            poison.iter().filter(|(_, id, _)| !rows.iter().any(|(r, _, _)| r.contains(id.as_str()))).map(|p| p.0).collect();
        if !missing.is_empty() {
            eprintln!("not stored yet: {missing:?}; stored: {:?}", rows.iter().map(|r| &r.0).collect::<Vec<_>>());
        }
        missing.is_empty().then_some(rows)
    })
    .await;
    println!("{:<40} {:>6}  stored as", "poison input (sent)", "status");
    for (what, id, status) in &poison {
        let row = stored_poison.iter().find(|(r, _, _)| r.contains(id.as_str()));
        let shown =
            row.map_or("NOT STORED".to_owned(), |(_, bytes, sanitized)| format!("{bytes} text bytes, sanitized {sanitized}"));
        println!("{what:<40} {status:>6}  {shown}");
    }
    for (what, status) in &refused_statuses {
        println!("{what:<40} {status:>6}  refused at the edge (problem+json)");
    }
    println!(
        "ordinary: sent {} of two tenants, stored {} — visible {visible_after:?} after the first was sent",
        ordinary.len(),
        expected.len()
    );

    let stored = |id: &str| stored_poison.iter().find(|(r, _, _)| r.contains(id)).cloned().expect("stored");
    let huge = stored("p-huge");
    assert!(huge.1 as usize <= contracts::limits::TEXT_BYTES && huge.1 > 60_000, "cut at the limit: {}", huge.1);
    assert!(huge.2.contains("truncated"), "flagged: {}", huge.2);
    for id in ["p-nul", "p-rawnul"] {
        let (_, bytes, sanitized) = stored(id);
        assert_eq!(bytes, 2, "`a`, NUL removed, `b`");
        assert!(sanitized.contains("nul_removed"), "{sanitized}");
    }
    let (_, _, sanitized) = stored("p-refs");
    assert!(sanitized.contains("conversation_ref") && sanitized.contains("digested"), "{sanitized}");
    let resolver = resolver_pool(&db).await;
    let too_long = count(&resolver, "SELECT count(*) FROM processed_interactions WHERE resolved::text LIKE '%too_long%'").await;
    assert_eq!(too_long, 1, "the 10 KB From is screened out as too_long, and says so");
    let metrics =
        testkit::http().get(format!("{}/metrics", served.resolver)).send().await.expect("metrics").text().await.expect("text");
    let dead: Vec<&str> = metrics.lines().filter(|l| l.starts_with("events_dead_lettered_total")).collect();
    assert!(dead.is_empty(), "nothing needed the dead-letter topic: {dead:?}");
}

/// The broker is unreachable when a webhook arrives: the provider gets 503 and nothing is
/// stored; its retry once the broker is back is accepted and stored exactly once.
#[tokio::test(flavor = "multi_thread")]
async fn a_webhook_while_the_broker_is_down_gets_503_and_its_retry_is_stored_once() {
    let (kafka, proxy) = TestKafka::tansu_behind_proxy().await;
    let db = fresh_database();
    let served = Served::start("broker-down", &kafka.settings.brokers, &db, &kafka.settings.group_prefix).await;
    let body = webchat_message(ACME_SITE, "down-1", "down-1", "vypadek@klient.cz", "Výpadek", "Je tam někdo?");

    proxy.cut();
    let refused = post_webchat(&served.webhooks, ACME_SECRET, &body).await;
    proxy.restore();
    assert_eq!(refused, 503, "Kafka did not acknowledge: the provider must retry");
    let timeline = timeline_pool(&db).await;
    let accepted = eventually(WAIT, "the retry to be accepted once the broker is back", || async {
        let status = post_webchat(&served.webhooks, ACME_SECRET, &body).await;
        (status == 200).then_some(status)
    })
    .await;
    let stored = eventually(WAIT, "the message in the timeline", || async {
        let refs = stored_refs(&timeline, "acme").await;
        (!refs.is_empty()).then_some(refs)
    })
    .await;
    println!("sent: 1 refused (503) then retried ({accepted}); stored: {stored:?}");
    assert_eq!(stored, vec![format!("{ACME_SITE}:down-1")], "stored exactly once");
}

/// PostgreSQL goes away while messages are being consumed: nothing is dead-lettered, no offset
/// is committed past what was stored, and everything is stored exactly once when it is back.
#[tokio::test(flavor = "multi_thread")]
async fn a_database_outage_while_consuming_loses_and_duplicates_nothing() {
    let kafka = TestKafka::tansu().await;
    let db = fresh_database();
    let proxy = testkit::proxy::TcpProxy::start(std::net::SocketAddr::from(([127, 0, 0, 1], 5432))).await;
    let proxied = db.via(proxy.addr);
    let served = Served::start("db-down", &kafka.settings.brokers, &proxied, &kafka.settings.group_prefix).await;
    let timeline = timeline_pool(&db).await;

    let send = |range: std::ops::Range<usize>| {
        let webhooks = served.webhooks.clone();
        async move {
            for i in range {
                let body = webchat_message(
                    ACME_SITE,
                    &format!("s{}", i % 7),
                    &format!("m{i}"),
                    &format!("k{}@klient.cz", i % 7),
                    "Klient",
                    "zpráva",
                );
                assert_eq!(post_webchat(&webhooks, ACME_SECRET, &body).await, 200);
            }
        }
    };
    send(0..20).await;
    eventually(WAIT, "the first messages stored", || async { (stored_refs(&timeline, "acme").await.len() >= 5).then_some(()) })
        .await;
    proxy.cut();
    send(20..60).await;
    // The consumers notice: they retry (and wait) instead of committing or dead-lettering.
    let metrics_url = format!("{}/metrics", served.resolver);
    eventually(WAIT, "the resolver to retry against the unavailable database", || async {
        let text = testkit::http().get(&metrics_url).send().await.ok()?.text().await.ok()?;
        text.lines().any(|l| l.starts_with("events_batch_retries_total") && !l.ends_with(" 0")).then_some(())
    })
    .await;
    proxy.restore();
    let stored = eventually(WAIT, "all 60 messages stored", || async {
        let refs = stored_refs(&timeline, "acme").await;
        (refs.len() >= 60).then_some(refs)
    })
    .await;
    let distinct: BTreeSet<&String> = stored.iter().collect();
    let metrics = testkit::http().get(&metrics_url).send().await.expect("metrics").text().await.expect("text");
    let dead = metrics.lines().filter(|l| l.starts_with("events_dead_lettered_total")).collect::<Vec<_>>();
    println!(
        "sent 60 (40 during the outage); stored {} rows, {} distinct; dead-lettered: {dead:?}",
        stored.len(),
        distinct.len()
    );
    assert_eq!(stored.len(), 60, "no duplicates");
    assert_eq!(distinct.len(), 60);
    assert!(dead.is_empty(), "an outage dead-letters nothing: {dead:?}");
}

/// A SIGKILL in the middle of the stream, then a restart: every interaction is in the
/// directory and in the timeline exactly once.
///
/// The broker here is librdkafka's mock cluster, hosted by the test process and reached over
/// TCP: tansu 0.6's group coordinator never hands a killed member's partitions to the member
/// that replaces it (the restarted process would wait forever), which is tansu's gap, not ours.
#[tokio::test(flavor = "multi_thread")]
async fn a_service_killed_mid_batch_and_restarted_stores_every_interaction_exactly_once() {
    let kafka = TestKafka::start().await;
    let db = fresh_database();
    let mut served = Served::start("sigkill", &kafka.settings.brokers, &db, &kafka.settings.group_prefix).await;
    let timeline = timeline_pool(&db).await;
    let resolver = resolver_pool(&db).await;
    const N: usize = 400;
    const PEOPLE: usize = 100;
    let bodies: Vec<serde_json::Value> = (0..N)
        .map(|i| {
            webchat_message(
                ACME_SITE,
                &format!("s{}", i % PEOPLE),
                &format!("k{i}"),
                &format!("osoba{}@klient.cz", i % PEOPLE),
                "Osoba",
                "zpráva",
            )
        })
        .collect();
    for chunk in bodies.chunks(50) {
        let posts = chunk.iter().map(|b| post_webchat(&served.webhooks, ACME_SECRET, b));
        assert!(futures::future::join_all(posts).await.iter().all(|s| *s == 200));
    }
    eventually(WAIT, "some but not all interactions processed", || async {
        (count(&resolver, "SELECT count(*) FROM processed_interactions").await >= 20).then_some(())
    })
    .await;
    served.kill();
    let at_kill = count(&resolver, "SELECT count(*) FROM processed_interactions").await;
    served.restart().await;
    eventually(WAIT, "every interaction stored after the restart", || async {
        (count(&timeline, "SELECT count(*) FROM interaction_messages").await >= N as i64
            && count(&resolver, "SELECT count(*) FROM processed_interactions").await >= N as i64)
            .then_some(())
    })
    .await;
    let messages = count(&timeline, "SELECT count(*) FROM interaction_messages").await;
    let distinct = count(&timeline, "SELECT count(DISTINCT event->>'provider_ref') FROM interaction_messages").await;
    let processed = count(&resolver, "SELECT count(*) FROM processed_interactions").await;
    let contacts = count(&resolver, "SELECT count(*) FROM contacts WHERE deleted_at IS NULL").await;
    println!("sent {N} from {PEOPLE} people; killed with {at_kill} processed; stored: timeline {messages} ({distinct} distinct), directory {processed} resolutions, {contacts} contacts");
    assert_eq!((messages, distinct, processed), (N as i64, N as i64, N as i64));
    assert_eq!(contacts, PEOPLE as i64, "one contact per person");
}

/// SIGTERM drains: in-flight work finishes and its offsets are committed, so after a graceful
/// stop nothing stored is uncommitted (a restart would redeliver nothing stored).
#[tokio::test(flavor = "multi_thread")]
async fn sigterm_drains_in_flight_work_and_commits_its_offsets() {
    let kafka = TestKafka::tansu().await;
    let db = fresh_database();
    let mut served = Served::start("sigterm", &kafka.settings.brokers, &db, &kafka.settings.group_prefix).await;
    let resolver = resolver_pool(&db).await;
    const N: usize = 300;
    for chunk in (0..N).collect::<Vec<_>>().chunks(50) {
        let posts = chunk.iter().map(|i| {
            let body = webchat_message(ACME_SITE, &format!("s{i}"), &format!("t{i}"), &format!("t{i}@klient.cz"), "T", "zpráva");
            let webhooks = served.webhooks.clone();
            async move { post_webchat(&webhooks, ACME_SECRET, &body).await }
        });
        assert!(futures::future::join_all(posts).await.iter().all(|s| *s == 200));
    }
    eventually(WAIT, "processing under way", || async {
        (count(&resolver, "SELECT count(*) FROM processed_interactions").await >= 10).then_some(())
    })
    .await;
    served.terminate();
    let status = served.exited(Duration::from_secs(60)).await;
    assert!(status.success(), "a graceful stop exits 0: {status}");
    let processed = count(&resolver, "SELECT count(*) FROM processed_interactions").await;

    // What the resolver's group committed on interactions.ingested.
    let group = format!("{}.resolver", kafka.settings.group_prefix);
    let consumer: BaseConsumer =
        runtime::kafka::client_config(&kafka.settings).set("group.id", &group).create().expect("consumer");
    let mut partitions = TopicPartitionList::new();
    for partition in 0..3 {
        partitions.add_partition(topics::INTERACTIONS_INGESTED, partition);
    }
    let committed = consumer.committed_offsets(partitions, Duration::from_secs(10)).expect("committed offsets");
    let committed: i64 = committed.elements().iter().filter_map(|e| e.offset().to_raw()).filter(|o| *o > 0).sum();
    println!("sent {N}; at SIGTERM the resolver had stored {processed}; its group committed {committed} offsets");
    assert_eq!(committed, processed, "everything stored is committed, and nothing more");
}
