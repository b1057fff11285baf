//! Erasure leaves nothing behind (issue 18): a person reaches the contact center on WhatsApp,
//! the web chat and e-mail with their address, IBAN and birth number in the texts; an operator
//! confirms a proposed e-mail, adds a phone and merges a second card of theirs in. An admin
//! erases them. Then every table of every schema is dumped and searched for every value of the
//! person — and the original webhooks are replayed (a provider's retry), after which the dump is
//! searched again.

use std::time::Duration;

use contactd::launcher::{self, dev, Stack};
use runtime::http::auth::{issue_hs256, Role};
use runtime::shutdown::CancellationToken;
use serde_json::{json, Value};
use sqlx::PgPool;
use testkit::{eventually, fresh_database, TestDatabase};

const WAIT: Duration = Duration::from_secs(90);
const WA_ID: &str = "420601111222";
const EMAIL: &str = "jana.erasova@email.cz";
const WORK_EMAIL: &str = "jana.e@prace-firma.cz";

/// Everything that names the person, as written and as search indexes fold it.
const NEEDLES: [&str; 13] = [
    "Erasová",
    "erasova",
    "jana.erasova",
    "601111222",
    "CZ6508000000192000145399",
    "6508000000192000145399",
    "815212/1234",
    "Vodičkova 681",
    "vodickova",
    "OBJ-99887766",
    "99887766",
    "777999888",
    "prace-firma",
];

fn whatsapp() -> String {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "420800555123", "phone_number_id": dev::WHATSAPP_NUMBER_ID},
        "contacts": [{"profile": {"name": "Jana Erasová"}, "wa_id": WA_ID}],
        "messages": [{"from": WA_ID, "id": "wamid.ERASURE1", "timestamp": "1764070199", "type": "text",
                      "text": {"body": "Vraťte peníze na účet CZ6508000000192000145399, rodné číslo 815212/1234."}}]
    }}]}]})
    .to_string()
}

fn webchat() -> String {
    json!({"v": 1, "site_id": dev::WEBCHAT_SITE, "session_id": "erasure-s1", "message_id": "erasure-m1",
           "sent_at": "2025-11-26T10:00:00+01:00", "direction": "inbound",
           "text": "Objednávka OBJ-99887766, doručte na Vodičkova 681/18, Praha.",
           "visitor": {"name": "Jana Erasová", "email": EMAIL, "phone": "+420 601 111 222"}})
    .to_string()
}

fn email(from: &str, id: &str) -> String {
    format!(
        "Message-ID: <{id}@email.cz>\r\nDate: Thu, 27 Nov 2025 09:00:00 +0100\r\nFrom: Jana =?utf-8?q?Erasov=C3=A1?= <{from}>\r\n\
         To: {}\r\nSubject: Reklamace OBJ-99887766\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Bydlím na adrese Vodičkova 681/18, telefon 777 999 888.\r\n",
        dev::MAILBOX
    )
}

struct Served {
    stack: Stack,
    http: reqwest::Client,
    admin: String,
    _database: TestDatabase,
}

impl Served {
    async fn start() -> Self {
        let database = fresh_database();
        let mut settings = launcher::load_settings(false).expect("settings");
        settings.database = (*database).clone();
        settings.kafka.brokers = String::new();
        let stack = launcher::start(settings.clone(), CancellationToken::new()).await.expect("contactd starts");
        let admin = issue_hs256(&settings.auth, "admin", dev::TENANT, Role::Admin, 600).expect("token");
        Self { stack, http: testkit::http(), admin, _database: database }
    }

    async fn webhook(&self, path: &str, content_type: &str, body: &str, auth: (&str, String)) {
        let response = self
            .http
            .post(format!("http://{}{path}", self.stack.webhooks))
            .header("content-type", content_type)
            .header(auth.0, auth.1)
            .body(body.to_owned())
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), 200, "{path}: {}", response.text().await.unwrap_or_default());
    }

    async fn all_webhooks(&self) {
        self.chats().await;
        self.emails().await;
    }

    /// WhatsApp and the web chat form, which proposes her e-mail to the card.
    async fn chats(&self) {
        let wa = whatsapp();
        self.webhook(
            "/webhooks/whatsapp",
            "application/json",
            &wa,
            ("x-hub-signature-256", testkit::meta_signature(dev::META_APP_SECRET, wa.as_bytes())),
        )
        .await;
        let chat = webchat();
        self.webhook(
            "/webhooks/webchat",
            "application/json",
            &chat,
            ("x-webchat-signature", testkit::sha256_signature(dev::WEBCHAT_SECRET, &chat)),
        )
        .await;
    }

    async fn emails(&self) {
        for (from, id) in [(EMAIL, "erasure-mail-1"), (WORK_EMAIL, "erasure-mail-2")] {
            let mail = email(from, id);
            self.webhook(
                "/webhooks/email",
                "message/rfc822",
                &mail,
                ("authorization", format!("Bearer {}", dev::MAIL_RELAY_TOKEN)),
            )
            .await;
        }
    }

    async fn api(&self, method: reqwest::Method, url: String, body: Option<Value>) -> (u16, Value) {
        let mut request = self.http.request(method, url).bearer_auth(&self.admin);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("sent");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    fn directory(&self, path: &str) -> String {
        format!("http://{}{path}", self.stack.resolver)
    }

    async fn contact_holding(&self, query: String) -> Option<String> {
        let (_, page) = self.api(reqwest::Method::GET, self.directory(&format!("/v1/contacts?{query}")), None).await;
        page["items"][0]["contact_id"].as_str().map(str::to_owned)
    }
}

/// Every row of every table of the services' schemas, as text, that contains a needle.
async fn remains(pool: &PgPool) -> Vec<String> {
    let tables: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_schema::text, table_name::text FROM information_schema.tables
         WHERE table_schema IN ('resolver', 'timeline') AND table_type = 'BASE TABLE' ORDER BY 1, 2",
    )
    .fetch_all(pool)
    .await
    .expect("tables");
    assert!(tables.len() >= 15, "every table of both schemas: {tables:?}");
    let mut found = Vec::new();
    for (schema, table) in tables {
        // Identifiers from the catalog, quoted: no value of a request reaches this statement.
        let sql = format!("SELECT t::text FROM \"{schema}\".\"{table}\" t");
        let rows: Vec<String> = sqlx::query_scalar(&sql).fetch_all(pool).await.expect("dump");
        for row in rows {
            let lower = row.to_lowercase();
            if let Some(needle) = NEEDLES.iter().find(|n| lower.contains(&n.to_lowercase())) {
                found.push(format!("{schema}.{table} holds {needle:?}: {}", row.chars().take(300).collect::<String>()));
            }
        }
    }
    found
}

async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap_or(-1)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_erased_person_leaves_nothing_in_any_table_and_a_replay_brings_nothing_back() {
    let served = Served::start().await;
    let pool = testkit::pool(&served._database, "public").await;
    served.chats().await;

    // The web chat form matched her by a typed phone: the e-mail it carried is only proposed;
    // the operator confirms it, and her mail from it lands on her card. Her work e-mail makes a
    // second card, merged into hers.
    let jana = eventually(WAIT, "Jana's card from WhatsApp", || served.contact_holding(format!("phone=%2B{WA_ID}"))).await;
    let card = eventually(WAIT, "the proposal", || async {
        let (_, card) = served.api(reqwest::Method::GET, served.directory(&format!("/v1/contacts/{jana}")), None).await;
        card["proposed_identities"].as_array().is_some_and(|p| !p.is_empty()).then_some(card)
    })
    .await;
    let proposal = card["proposed_identities"][0]["proposal_id"].as_str().expect("proposal").to_owned();
    let url = served.directory(&format!("/v1/contacts/{jana}/proposed-identities/{proposal}"));
    let (status, body) = served.api(reqwest::Method::POST, url, Some(json!({"decision": "confirm"}))).await;
    assert_eq!(status, 200, "{body}");
    let url = served.directory(&format!("/v1/contacts/{jana}/identities"));
    assert_eq!(served.api(reqwest::Method::POST, url, Some(json!({"kind": "phone", "value": "777 999 888"}))).await.0, 201);
    served.emails().await;
    let work = eventually(WAIT, "the work e-mail's card", || served.contact_holding(format!("email={WORK_EMAIL}"))).await;
    let url = served.directory(&format!("/v1/contacts/{jana}/merge"));
    let (status, merged) =
        served.api(reqwest::Method::POST, url, Some(json!({"merged_contact_id": work, "name": "merged"}))).await;
    assert_eq!(status, 200, "{merged}");
    eventually(WAIT, "her whole history in the timeline", || async {
        let n = count(&pool, "SELECT count(*) FROM timeline.interaction_messages WHERE tenant_id = 'acme'").await;
        (n >= 4).then_some(())
    })
    .await;
    assert!(!remains(&pool).await.is_empty(), "before the erasure she is everywhere (the search works)");

    let (status, body) =
        served.api(reqwest::Method::DELETE, served.directory(&format!("/v1/contacts/{jana}?erase=true")), None).await;
    assert_eq!(status, 204, "{body}");
    eventually(WAIT, "the timeline to erase and the outbox to drain", || async {
        let erased = count(&pool, "SELECT count(*) FROM timeline.erased_contacts").await >= 1;
        let pending =
            count(&pool, "SELECT count(*) FROM resolver.outbox WHERE published_at IS NULL AND quarantined_at IS NULL").await;
        (erased && pending == 0).then_some(())
    })
    .await;
    // The relay clears each row's payload as the broker acknowledges it.
    let left = remains(&pool).await;
    assert!(left.is_empty(), "erased, yet:\n{}", left.join("\n"));

    // A provider's retry of every original message: processed before, so nothing is published
    // again and nothing of her comes back.
    let consumed = || async {
        let metrics =
            served.http.get(format!("http://{}/metrics", served.stack.resolver)).send().await.ok()?.text().await.ok()?;
        metrics
            .lines()
            .find(|l| l.starts_with("events_consumed_total{topic=\"interactions.ingested\"}"))
            .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
    };
    let before = consumed().await.unwrap_or(0.0);
    served.all_webhooks().await;
    eventually(WAIT, "the resolver to consume the retries", || async { consumed().await.filter(|n| *n >= before + 4.0) }).await;
    let left = remains(&pool).await;
    assert!(left.is_empty(), "a replay brought her back:\n{}", left.join("\n"));
    assert_eq!(count(&pool, "SELECT count(*) FROM resolver.contacts WHERE name IS NOT NULL AND name LIKE '%Erasov%'").await, 0);
}
