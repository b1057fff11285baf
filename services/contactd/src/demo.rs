//! `contactd demo`: the whole pipeline on embedded defaults. Posts signed sample Messenger
//! webhooks through the real HTTP endpoint (plus a provider retry and a forged request), waits
//! until the resolver and the timeline have them, and prints the contact card and its timeline.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use runtime::http::auth::{issue_hs256, Role};
use serde_json::Value;

use crate::launcher::{self, DEV_TENANT};

const SAMPLES: [(&str, &str); 3] = [
    ("inbound text", include_str!("../../../tests/fixtures/messenger/text_message.json")),
    ("operator reply (echo)", include_str!("../../../tests/fixtures/messenger/echo_reply.json")),
    ("image + button tap", include_str!("../../../tests/fixtures/messenger/attachment_and_postback.json")),
];
const EXPECTED_INTERACTIONS: usize = 4;
const PSID: &str = "6254981234567890";

pub async fn run() -> anyhow::Result<()> {
    let mut settings = launcher::load_settings(false)?;
    launcher::quiet_telemetry(&mut settings);
    let _telemetry = runtime::telemetry::init("contactd", &settings.telemetry)?;
    let app_secret = settings.service.messenger.app_secret.clone().context("messenger app secret")?;
    let token = issue_hs256(&settings.auth, "demo", DEV_TENANT, Role::Operator, 600)?;
    let stack = launcher::start(settings, runtime::shutdown::CancellationToken::new()).await?;
    let http = reqwest::Client::new();
    let webhook = format!("http://{}{}", stack.messenger, channel_messenger::WEBHOOK_PATH);

    println!("== Posting signed Messenger webhooks to {webhook}");
    for (label, body) in SAMPLES {
        let status = post_signed(&http, &webhook, secrecy::ExposeSecret::expose_secret(&app_secret), body).await?;
        println!("   {label:<24} -> HTTP {status}");
    }
    let status = post_signed(&http, &webhook, secrecy::ExposeSecret::expose_secret(&app_secret), SAMPLES[0].1).await?;
    println!("   {:<24} -> HTTP {status} (same message id: stays one interaction)", "provider retry");
    let status = post_signed(&http, &webhook, "not-the-app-secret", SAMPLES[0].1).await?;
    println!("   {:<24} -> HTTP {status} (nothing published)", "forged signature");

    let contact = wait_for_contact(&http, &stack.resolver.to_string(), &token).await?;
    let contact_id = contact["contact_id"].as_str().context("contact id")?.to_owned();
    let timeline = wait_for_timeline(&http, &stack.timeline.to_string(), &token, &contact_id).await?;

    println!("\n== Contact resolved from Messenger PSID {PSID}");
    println!("{}", serde_json::to_string_pretty(&contact)?);
    println!("\n== Timeline of {contact_id} (newest first)");
    for item in &timeline {
        let text = item["text"].as_str().map(str::to_owned).or_else(|| {
            item["event"]["content"]["attachments"][0]["mime"].as_str().map(|m| format!("[{m} attachment]"))
        });
        let matched = match &item["resolution"]["matched_by"] {
            Value::Null => "created contact".to_owned(),
            m => format!("matched by {} {}", m["kind"].as_str().unwrap_or("?"), m["value"].as_str().unwrap_or("?")),
        };
        println!(
            "   {}  {:<9} {:<8} {}  ({matched})",
            item["occurred_at"].as_str().unwrap_or(""),
            item["channel"].as_str().unwrap_or(""),
            item["direction"].as_str().unwrap_or(""),
            text.unwrap_or_default(),
        );
    }

    stack.shutdown.cancel();
    stack.running.wait().await?;
    Ok(())
}

async fn post_signed(http: &reqwest::Client, url: &str, secret: &str, body: &str) -> anyhow::Result<u16> {
    let signature = format!("sha256={}", channel::signature::hmac_sha256_hex(secret.as_bytes(), body.as_bytes()));
    let response = http
        .post(url)
        .header("content-type", "application/json")
        .header("x-hub-signature-256", signature)
        .body(body.to_owned())
        .send()
        .await
        .context("posting the webhook")?;
    Ok(response.status().as_u16())
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

async fn wait_for_contact(http: &reqwest::Client, resolver: &str, token: &str) -> anyhow::Result<Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let page = get_json(http, &format!("http://{resolver}/v1/contacts?limit=200"), token).await?;
        let found = page["items"].as_array().and_then(|items| {
            items.iter().find(|c| c["identities"].as_array().is_some_and(|ids| ids.iter().any(|i| i["value"] == PSID))).cloned()
        });
        if let Some(contact) = found {
            return Ok(contact);
        }
        if Instant::now() > deadline {
            bail!("no contact for PSID {PSID} after 60 s; is the resolver consuming?");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn wait_for_timeline(http: &reqwest::Client, timeline: &str, token: &str, contact_id: &str) -> anyhow::Result<Vec<Value>> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let page = get_json(http, &format!("http://{timeline}/v1/contacts/{contact_id}/timeline?limit=50"), token).await?;
        let items = page["items"].as_array().cloned().unwrap_or_default();
        if items.len() >= EXPECTED_INTERACTIONS {
            return Ok(items);
        }
        if Instant::now() > deadline {
            bail!("timeline has {} of {EXPECTED_INTERACTIONS} interactions after 60 s", items.len());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
