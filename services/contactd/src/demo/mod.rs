//! `contactd demo`: the whole pipeline on embedded defaults. Posts signed sample webhooks of
//! every channel through the real HTTP endpoints (plus a provider retry and a forged request),
//! waits until each is resolved, prints the directory and one customer's cross-channel
//! timeline — Jana writes on WhatsApp, fills the web chat form with her phone and e-mail, sends
//! an e-mail and calls, and ends on one card — then serves the operator console on that data
//! until Ctrl-C. [`seed`] gives every screen of the console something real: custom identifier
//! definitions and a blocked value, a contact with a CRM number, an e-mail with attachments, a
//! call with a recording, a pair of duplicates, an e-mail proposed to Jana's card and an
//! anonymous web chat no contact was found for.

use std::time::Duration;

use anyhow::{bail, Context};
use contracts::api::timeline::{Item, TimelinePage};
use rdkafka::consumer::{Consumer, StreamConsumer};
use runtime::http::auth::{issue_hs256, Role};
use runtime::settings::AuthSettings;
use serde_json::{json, Value};

use crate::launcher::{self, dev};

mod samples;
pub use samples::{post, Auth, Sample, Then, SAMPLES};

/// Custom identifier definitions of the demo tenant: a CRM number that identifies the client
/// and an order number that does not.
const DEFINITIONS: [(&str, &str, bool); 2] =
    [("crm_customer_no", "Číslo zákazníka v CRM", true), ("order_no", "Číslo objednávky", false)];

/// The contact an operator saved by hand after a phone call (before Marie wrote in).
const OPERATOR_CONTACT: &str = r#"{"name": "M. Černá", "identities": [{"kind": "phone", "value": "603 111 222"}]}"#;

/// Runs the demo; with `keep_serving`, the console stays up on the demo data until Ctrl-C,
/// otherwise everything stops once the story is printed (`contactd demo --exit`, for scripts).
pub async fn run(keep_serving: bool) -> anyhow::Result<()> {
    let mut settings = launcher::load_settings(false)?;
    launcher::quiet_telemetry(&mut settings);
    let _telemetry = runtime::telemetry::init("contactd", &settings.telemetry)?;
    let token = issue_hs256(&settings.auth, "demo", dev::TENANT, Role::Operator, 600)?;
    let stack = launcher::start(settings.clone(), runtime::shutdown::on_signal()).await?;
    seed(&stack, &settings).await?;

    let http = reqwest::Client::new();
    let directory = get_json(&http, &format!("http://{}/v1/contacts?limit=50", stack.resolver), &token).await?;
    let contacts = directory["items"].as_array().cloned().unwrap_or_default();
    println!("\n== Directory of tenant {}: {} contacts", dev::TENANT, contacts.len());
    for contact in &contacts {
        let ids: Vec<String> = contact["identities"]
            .as_array()
            .map(|ids| {
                ids.iter()
                    .map(|i| format!("{}:{}", i["kind"].as_str().unwrap_or(""), i["value"].as_str().unwrap_or("")))
                    .collect()
            })
            .unwrap_or_default();
        println!(
            "   {}  {:<18} ({:<9}) {}",
            contact["contact_id"].as_str().unwrap_or(""),
            contact["name"].as_str().unwrap_or("—"),
            contact["name_source"].as_str().unwrap_or("—"),
            ids.join(", ")
        );
    }
    let jana = contacts
        .iter()
        .find(|c| c["name"].as_str().is_some_and(|n| n.starts_with("Jana")))
        .context("Jana is not in the directory")?;
    let contact_id = jana["contact_id"].as_str().context("contact id")?;
    let timeline: TimelinePage = serde_json::from_value(
        get_json(&http, &format!("http://{}/v1/contacts/{contact_id}/timeline?limit=50", stack.timeline), &token).await?,
    )
    .context("the timeline page")?;

    println!("\n== Card of the customer who used the most channels");
    println!("{}", serde_json::to_string_pretty(jana)?);
    println!("\n== Her timeline (newest first)");
    for item in &timeline.items {
        match item {
            Item::ContactEvent(event) => {
                let fields: Vec<String> = event
                    .changes
                    .iter()
                    .map(|c| {
                        let after = c.after.as_ref().map(|a| a["value"].as_str().or(a.as_str()).unwrap_or("").to_owned());
                        format!("{} {}", c.field, after.unwrap_or_default())
                    })
                    .collect();
                let kind = serde_json::to_value(event.kind)?;
                println!(
                    "   {}  contact   {:<8} {}",
                    event.occurred_at.to_rfc3339(),
                    kind.as_str().unwrap_or(""),
                    fields.join(", ")
                );
            }
            Item::Interaction(interaction) => {
                let text = interaction.text.as_deref().or(interaction.subject.as_deref()).unwrap_or("");
                let text: String = text.chars().take(60).collect();
                let matched = match &interaction.matched_by {
                    None if interaction.resolution.created_contact => "created the contact".to_owned(),
                    None => String::new(),
                    Some(m) => format!("matched by {} {}", m.kind, m.value),
                };
                let direction = serde_json::to_value(interaction.direction)?;
                println!(
                    "   {}  {:<9} {:<8} [{} msg] {}  ({matched})",
                    interaction.occurred_at.to_rfc3339(),
                    interaction.channel,
                    direction.as_str().unwrap_or(""),
                    interaction.message_count,
                    text.replace('\n', " "),
                );
            }
        }
    }

    let vk = get_json(&http, &format!("http://{}/v1/contacts?channel=vk", stack.resolver), &token).await?;
    let vk_session = match vk["items"][0]["contact_id"].as_str() {
        Some(vk_contact) => {
            let url = format!("http://{}/v1/contacts/{vk_contact}/timeline?type=interaction&limit=1", stack.timeline);
            get_json(&http, &url, &token).await?["items"][0]["interaction_id"].as_str().map(str::to_owned)
        }
        None => None,
    };
    match stack.console_url().filter(|_| keep_serving) {
        Some(url) => {
            println!("\n== Operator console: {url}");
            println!("   sign in as tenant `{}` (development sign-in); Jana's card: {url}#/contacts/{contact_id}", dev::TENANT);
            if let Some(session) = vk_session {
                println!("   a VK session to link to a contact: {url}#/session/{session}");
            }
            println!("   serving until Ctrl-C");
            stack.wait().await?;
        }
        None => {
            println!("\n== Done (run without --exit to browse it in the operator console)");
            stack.shutdown.cancel();
            stack.wait().await?;
        }
    }
    Ok(())
}

/// Feeds the demo data through the public interfaces: parameters, a blocked value and an
/// operator's contact through the Directory API, then every sample webhook (one at a time, so
/// the story is the same on every run), a provider retry and a forged request.
pub async fn seed(stack: &launcher::Stack, settings: &runtime::Settings<launcher::Services>) -> anyhow::Result<()> {
    let resolved = resolved_reader(stack, settings)?;
    let http = reqwest::Client::new();
    let directory = format!("http://{}", stack.resolver);
    let admin = issue_hs256(&settings.auth, "demo-admin", dev::TENANT, Role::Admin, 600)?;
    for (name, label, identifies_client) in DEFINITIONS {
        let body = json!({ "name": name, "label": label, "identifies_client": identifies_client });
        send_json(&http, reqwest::Method::POST, &format!("{directory}/v1/identifier-definitions"), &admin, &body).await?;
    }
    let own = json!({ "kind": "email", "pattern": "*@acme.cz", "reason": "own" });
    send_json(&http, reqwest::Method::POST, &format!("{directory}/v1/blocked-values"), &admin, &own).await?;
    let operator_contact: Value = serde_json::from_str(OPERATOR_CONTACT)?;
    if !has_contact(&http, &directory, &settings.auth, "603111222").await? {
        send_json(&http, reqwest::Method::POST, &format!("{directory}/v1/contacts"), &admin, &operator_contact).await?;
    }

    let base = format!("http://{}", stack.webhooks);
    println!("== Posting signed sample webhooks to {base}");
    let mut interactions = Vec::new();
    for sample in SAMPLES {
        let status = post(&http, &base, sample, false).await?;
        println!("   {:<24} {:<24} -> HTTP {status}", sample.label, sample.path);
        if status != 200 {
            bail!("{} was refused with HTTP {status}", sample.label);
        }
        // One at a time, so the story below is the same on every run (different channels
        // travel on different partitions, whose relative order is free).
        let events = wait_resolved(&resolved, sample.interactions).await?;
        if sample.then == Then::ConfirmProposals {
            for event in &events {
                confirm_proposals(&http, &directory, &admin, event).await?;
            }
        }
        interactions.extend(events.iter().filter_map(|e| e["interaction_id"].as_str().map(str::to_owned)));
    }
    let retry = post(&http, &base, &SAMPLES[0], false).await?;
    println!("   {:<24} {:<24} -> HTTP {retry} (same message id: stays one interaction)", "provider retry", SAMPLES[0].path);
    wait_resolved(&resolved, 1).await?;
    let forged = post(&http, &base, &SAMPLES[0], true).await?;
    println!("   {:<24} {:<24} -> HTTP {forged} (nothing published)", "forged signature", SAMPLES[0].path);
    let operator = issue_hs256(&settings.auth, "demo", dev::TENANT, Role::Operator, 600)?;
    wait_in_timeline(&http, &format!("http://{}", stack.timeline), &operator, &interactions).await
}

/// Whether a contact holds `phone` (the demo runs again on the same database).
async fn has_contact(http: &reqwest::Client, directory: &str, auth: &AuthSettings, phone: &str) -> anyhow::Result<bool> {
    let token = issue_hs256(auth, "demo", dev::TENANT, Role::Operator, 600)?;
    let page = get_json(http, &format!("{directory}/v1/contacts?phone={phone}"), &token).await?;
    Ok(page["items"].as_array().is_some_and(|items| !items.is_empty()))
}

async fn send_json(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    token: &str,
    body: &Value,
) -> anyhow::Result<Value> {
    let response = http.request(method.clone(), url).bearer_auth(token).json(body).send().await?;
    let status = response.status();
    let answer: Value = response.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        bail!("{method} {url}: {status} {answer}");
    }
    Ok(answer)
}

fn resolved_reader(stack: &launcher::Stack, settings: &runtime::Settings<launcher::Services>) -> anyhow::Result<StreamConsumer> {
    let mut kafka = settings.kafka.clone();
    kafka.brokers = stack.kafka_brokers.clone();
    let consumer: StreamConsumer = runtime::kafka::client_config(&kafka)
        .set("group.id", format!("demo-{}", uuid::Uuid::new_v4()))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()?;
    consumer.subscribe(&[contracts::topics::INTERACTIONS_RESOLVED])?;
    Ok(consumer)
}

/// Waits for `n` resolved interactions; their ids.
async fn wait_resolved(consumer: &StreamConsumer, n: usize) -> anyhow::Result<Vec<Value>> {
    let mut events = Vec::with_capacity(n);
    for _ in 0..n {
        let message = tokio::time::timeout(Duration::from_secs(60), consumer.recv())
            .await
            .context("no resolved interaction within 60 s; is the resolver consuming?")??;
        events.push(serde_json::from_slice(rdkafka::Message::payload(&message).unwrap_or_default())?);
    }
    Ok(events)
}

/// The operator's [`Then::ConfirmProposals`]: every identifier the interaction proposed to its
/// contact is confirmed, and the name the visitor gave becomes the card's.
async fn confirm_proposals(http: &reqwest::Client, directory: &str, token: &str, event: &Value) -> anyhow::Result<()> {
    let Some(contact) = event["contact_id"].as_str() else { return Ok(()) };
    let card = get_json(http, &format!("{directory}/v1/contacts/{contact}"), token).await?;
    for proposal in card["proposed_identities"].as_array().into_iter().flatten() {
        let (Some(id), Some(value)) = (proposal["proposal_id"].as_str(), proposal["value"].as_str()) else { continue };
        let url = format!("{directory}/v1/contacts/{contact}/proposed-identities/{id}");
        send_json(http, reqwest::Method::POST, &url, token, &json!({ "decision": "confirm" })).await?;
        println!("   {:<24} {:<24} -> confirms {value} (the form only proposed it)", "operator", "Directory API");
    }
    if let Some(name) = event["interaction"]["profile"]["name"].as_str() {
        send_json(http, reqwest::Method::PATCH, &format!("{directory}/v1/contacts/{contact}"), token, &json!({ "name": name }))
            .await?;
        println!("   {:<24} {:<24} -> names the card {name}", "operator", "Directory API");
    }
    Ok(())
}

/// Waits until the Timeline API shows every interaction of `ids` (its consumer runs behind the
/// resolver's), polling for at most a minute.
async fn wait_in_timeline(http: &reqwest::Client, timeline: &str, token: &str, ids: &[String]) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    for id in ids {
        loop {
            let response = http.get(format!("{timeline}/v1/interactions/{id}")).bearer_auth(token).send().await?;
            if response.status().is_success() {
                break;
            }
            if tokio::time::Instant::now() > deadline {
                bail!("interaction {id} is not in the timeline after 60 s; is the timeline consuming?");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Ok(())
}

async fn get_json(http: &reqwest::Client, url: &str, token: &str) -> anyhow::Result<Value> {
    let response = http.get(url).bearer_auth(token).send().await?;
    let status = response.status();
    let body: Value = response.json().await?;
    if !status.is_success() {
        bail!("GET {url}: {status} {body}");
    }
    Ok(body)
}
