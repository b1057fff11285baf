//! The operator console end to end, in a real headless Chromium: every service of contactd runs
//! in this process (embedded Kafka, a fresh database, random ports) with the demo's data fed
//! through the real webhooks and APIs, and `tests/browser/console.mjs` works through every
//! screen as an operator would. Afterwards the APIs must show what the browser did.
//!
//! Needs Debian's Chromium (`CHROMIUM`, default `/usr/bin/chromium`), Node.js and the script's
//! `npm ci`; `scripts/test` installs all three. A missing one fails the test: it never skips.

mod console_support;

use std::time::Duration;

use contactd::launcher::{self, dev, Services, Stack};
use runtime::http::auth::{issue_hs256, Role};
use runtime::shutdown::CancellationToken;
use runtime::Settings;
use serde_json::{json, Value};
use testkit::eventually;

const WAIT: Duration = Duration::from_secs(60);
/// The VK conversation of the demo's VK message (`group_id:peer_id`).
const VK_CONVERSATION: &str = "218374651:512093847";

async fn start() -> (Stack, Settings<Services>, testkit::TestDatabase) {
    let database = testkit::fresh_database();
    let mut settings = launcher::load_settings(false).expect("settings");
    settings.database = (*database).clone();
    settings.kafka.brokers = String::new();
    // Pages of three: the directory's "load more" and the history's infinite scroll both page.
    settings.service.resolver.console.page_size = 3;
    let stack = launcher::start(settings.clone(), CancellationToken::new()).await.expect("contactd starts");
    (stack, settings, database)
}

struct Api {
    http: reqwest::Client,
    token: String,
}

impl Api {
    async fn get(&self, url: String) -> (u16, Value) {
        let response = self.http.get(&url).bearer_auth(&self.token).send().await.expect("request sent");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// The first contact the directory finds for `q`.
    async fn contact(&self, stack: &Stack, q: &str) -> Value {
        let (_, page) = self.get(format!("http://{}/v1/contacts?q={q}", stack.resolver)).await;
        page["items"][0].clone()
    }
}

/// A web chat message whose text is markup: the console must show it as text.
async fn post_hostile_message(stack: &Stack) {
    let body = json!({
        "v": 1, "site_id": dev::WEBCHAT_SITE, "session_id": "0f7e6d5c-4b3a-4291-8e7f-6a5b4c3d2e1f",
        "message_id": "01JDHOSTILE0000000000000001", "sent_at": "2025-11-27T10:00:00+01:00", "direction": "inbound",
        "text": "Reklamace: <img src=x onerror=\"window.pwned=1\"> <script>window.pwned=2</script> <b>tučně</b> & \"uvozovky\"",
        "visitor": {"name": "Jana Dvořáková", "email": "jana.dvorakova@klient-mail.cz"}
    })
    .to_string();
    let signature = testkit::sha256_signature(dev::WEBCHAT_SECRET, &body);
    let status = reqwest::Client::new()
        .post(format!("http://{}{}", stack.webhooks, channel_webchat::WEBHOOK_PATH))
        .header("content-type", "application/json")
        .header("x-webchat-signature", signature)
        .body(body)
        .send()
        .await
        .expect("webhook sent")
        .status();
    assert_eq!(status, 200);
}

/// A later VK message of the demo's conversation (the provider's next message id).
async fn post_vk_follow_up(stack: &Stack) {
    let mut body: Value = serde_json::from_str(&testkit::fixture("vk/message_new.json")).expect("fixture");
    body["event_id"] = json!("a1b2c3d4e5f60718293a4b5c6d7e8f9012345678");
    body["object"]["message"]["id"] = json!(842);
    body["object"]["message"]["conversation_message_id"] = json!(18);
    body["object"]["message"]["date"] = json!(1_764_070_260);
    body["object"]["message"]["text"] = json!("Posílám ještě číslo objednávky: 2025-12007.");
    let status = reqwest::Client::new()
        .post(format!("http://{}{}", stack.webhooks, channel_vk::WEBHOOK_PATH))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("webhook sent")
        .status();
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_works_through_every_screen_in_a_real_browser() {
    console_support::chromium();
    let (stack, settings, _database) = start().await;
    contactd::demo::seed(&stack, &settings).await.expect("demo data");
    post_hostile_message(&stack).await;
    let api = Api {
        http: reqwest::Client::new(),
        token: issue_hs256(&settings.auth, "console-test", dev::TENANT, Role::Operator, 600).expect("token"),
    };
    let jana = api.contact(&stack, "dvorakova").await;
    let jana_id = jana["contact_id"].as_str().expect("Jana's id").to_owned();
    eventually(WAIT, "the hostile message in Jana's history", || async {
        let url = format!("http://{}/v1/contacts/{jana_id}/timeline?q=reklamace", stack.timeline);
        let (_, page) = api.get(url).await;
        (!page["items"].as_array()?.is_empty()).then_some(())
    })
    .await;
    let vk_contact = api.get(format!("http://{}/v1/contacts?channel=vk", stack.resolver)).await.1["items"][0].clone();
    let vk_url = format!(
        "http://{}/v1/contacts/{}/timeline?type=interaction",
        stack.timeline,
        vk_contact["contact_id"].as_str().expect("id")
    );
    let session = api.get(vk_url).await.1["items"][0]["interaction_id"].as_str().expect("the VK interaction").to_owned();

    let console = stack.console_url().expect("the console is served");
    console_support::run_scenario("console.mjs", vec![("CONSOLE_URL", console), ("SESSION_INTERACTION", session)]).await;

    // What the browser did, read back through the APIs.
    let (_, jana) = api.get(format!("http://{}/v1/contacts/{jana_id}", stack.resolver)).await;
    assert_eq!(jana["name"], "Jana Dvořáková Malá");
    assert_eq!(jana["name_source"], "operator");
    let identities = jana["identities"].as_array().expect("identities");
    assert!(identities.iter().any(|i| i["value"] == "+420605123456"), "{jana}");
    assert!(identities.iter().any(|i| i["value"] == "jana.dvorakova@prace-firma.cz"), "the proposal was confirmed: {jana}");
    assert_eq!(jana["proposed_identities"], json!([]), "{jana}");
    // The anonymous web chat was linked to her: it left the unidentified list for her history.
    let (_, unidentified) = api.get(format!("http://{}/v1/conversations/unidentified", stack.timeline)).await;
    assert_eq!(unidentified["items"], json!([]), "{unidentified}");
    eventually(WAIT, "the anonymous chat in Jana's history", || async {
        let url = format!("http://{}/v1/contacts/{jana_id}/timeline?q=myčky", stack.timeline);
        let (_, page) = api.get(url).await;
        (!page["items"].as_array()?.is_empty()).then_some(())
    })
    .await;

    let marie = api.contact(&stack, "marie").await;
    let (_, merges) =
        api.get(format!("http://{}/v1/contacts/{}/merges", stack.resolver, marie["contact_id"].as_str().expect("id"))).await;
    let merges = merges["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(merges.len(), 1, "one merge, by the browser: {merges:?}");
    assert!(merges[0]["unmerged_at"].is_string(), "and undone: {merges:?}");
    assert_eq!(marie["name"], "Marie Černá", "the unmerge restored the name");
    let (_, duplicates) = api.get(format!("http://{}/v1/duplicates", stack.resolver)).await;
    assert_eq!(duplicates["items"], json!([]), "the suggestion was dismissed");
    let (_, messenger) = api.get(format!("http://{}/v1/contacts?channel=messenger", stack.resolver)).await;
    assert_eq!(messenger["items"], json!([]), "the Messenger contact was deleted");

    // The VK conversation was linked to Petr, unlinked, and linked to a contact added for it.
    let pavel = api.contact(&stack, "pavel").await;
    let pavel_id = pavel["contact_id"].as_str().expect("the added contact").to_owned();
    assert_eq!(pavel["name"], "Pavel Svoboda");
    let (status, link) = api.get(format!("http://{}/v1/conversations/{VK_CONVERSATION}/link", stack.resolver)).await;
    assert_eq!((status, &link["contact_id"]), (200, &json!(pavel_id)), "{link}");
    // The conversation's next message follows the link to that contact.
    post_vk_follow_up(&stack).await;
    eventually(WAIT, "the VK follow-up on the linked contact's timeline", || async {
        let url = format!("http://{}/v1/contacts/{pavel_id}/timeline?channel=vk", stack.timeline);
        let (_, page) = api.get(url).await;
        (!page["items"].as_array()?.is_empty()).then_some(())
    })
    .await;

    stack.shutdown.cancel();
    stack.wait().await.expect("contactd stops cleanly");
}
