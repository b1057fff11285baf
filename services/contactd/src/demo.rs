//! `contactd demo`: the whole pipeline on embedded defaults. Posts signed sample webhooks of
//! every channel through the real HTTP endpoints (plus a provider retry and a forged request),
//! waits until each is resolved, and prints the directory and one customer's cross-channel
//! timeline: Jana writes on WhatsApp, fills the web chat form with her phone and e-mail, sends
//! an e-mail and calls — and ends on one card.

use std::time::Duration;

use anyhow::{bail, Context};
use base64::Engine as _;
use contracts::api::timeline::{Item, TimelinePage};
use rdkafka::consumer::{Consumer, StreamConsumer};
use runtime::http::auth::{issue_hs256, Role};
use serde_json::Value;

use crate::launcher::{self, dev};

/// One sample request: which channel, where, how signed, and how many interactions it yields.
struct Sample {
    label: &'static str,
    path: &'static str,
    content_type: &'static str,
    body: &'static str,
    auth: Auth,
    interactions: usize,
}

enum Auth {
    /// `X-Hub-Signature-256` (Messenger, WhatsApp) with the Meta app secret.
    Meta(&'static str),
    /// The secret travels in the body (VK).
    InBody,
    /// Apple's bearer JWT plus the routing headers taken from the sample.
    Apple,
    /// `sha256=` HMAC in the named header.
    Hmac { header: &'static str, secret: &'static str },
    /// `Authorization: Bearer` shared token.
    Bearer(&'static str),
}

const SAMPLES: &[Sample] = &[
    Sample {
        label: "Messenger text",
        path: channel_messenger::WEBHOOK_PATH,
        content_type: "application/json",
        body: include_str!("../../../tests/fixtures/messenger/text_message.json"),
        auth: Auth::Meta(dev::META_APP_SECRET),
        interactions: 1,
    },
    Sample {
        label: "Messenger echo",
        path: channel_messenger::WEBHOOK_PATH,
        content_type: "application/json",
        body: include_str!("../../../tests/fixtures/messenger/echo_reply.json"),
        auth: Auth::Meta(dev::META_APP_SECRET),
        interactions: 1,
    },
    Sample {
        label: "WhatsApp text",
        path: channel_whatsapp::WEBHOOK_PATH,
        content_type: "application/json",
        body: include_str!("../../../tests/fixtures/whatsapp/text_message.json"),
        auth: Auth::Meta(dev::META_APP_SECRET),
        interactions: 1,
    },
    Sample {
        label: "web chat with form",
        path: channel_webchat::WEBHOOK_PATH,
        content_type: "application/json",
        body: include_str!("../samples/webchat_form.json"),
        auth: Auth::Hmac { header: "x-webchat-signature", secret: dev::WEBCHAT_SECRET },
        interactions: 1,
    },
    Sample {
        label: "e-mail",
        path: channel_email::WEBHOOK_PATH,
        content_type: "message/rfc822",
        body: include_str!("../../../tests/fixtures/email/plain_czech_qp.eml"),
        auth: Auth::Bearer(dev::MAIL_RELAY_TOKEN),
        interactions: 1,
    },
    Sample {
        label: "phone call (PBX CDR)",
        path: channel_voip::CDR_PATH,
        content_type: "application/json",
        body: include_str!("../../../tests/fixtures/voip/asterisk_answered.json"),
        auth: Auth::Hmac { header: "x-webhook-signature", secret: dev::CDR_SECRET },
        interactions: 1,
    },
    Sample {
        label: "VK message",
        path: channel_vk::WEBHOOK_PATH,
        content_type: "application/json",
        body: include_str!("../../../tests/fixtures/vk/message_new.json"),
        auth: Auth::InBody,
        interactions: 1,
    },
    Sample {
        label: "Apple Messages text",
        path: channel_apple::WEBHOOK_PATH,
        content_type: "application/json",
        body: include_str!("../../../tests/fixtures/apple/text_message.json"),
        auth: Auth::Apple,
        interactions: 1,
    },
];

pub async fn run() -> anyhow::Result<()> {
    let mut settings = launcher::load_settings(false)?;
    launcher::quiet_telemetry(&mut settings);
    let _telemetry = runtime::telemetry::init("contactd", &settings.telemetry)?;
    let token = issue_hs256(&settings.auth, "demo", dev::TENANT, Role::Operator, 600)?;
    let stack = launcher::start(settings.clone(), runtime::shutdown::CancellationToken::new()).await?;
    let resolved = resolved_reader(&stack, &settings)?;
    let http = reqwest::Client::new();
    let base = format!("http://{}", stack.webhooks);

    println!("== Posting signed sample webhooks to {base}");
    for sample in SAMPLES {
        let status = post(&http, &base, sample, false).await?;
        println!("   {:<24} {:<24} -> HTTP {status}", sample.label, sample.path);
        if status != 200 {
            bail!("{} was refused with HTTP {status}", sample.label);
        }
        // One at a time, so the story below is the same on every run (different channels
        // travel on different partitions, whose relative order is free).
        wait_resolved(&resolved, sample.interactions).await?;
    }
    let retry = post(&http, &base, &SAMPLES[0], false).await?;
    println!("   {:<24} {:<24} -> HTTP {retry} (same message id: stays one interaction)", "provider retry", SAMPLES[0].path);
    wait_resolved(&resolved, 1).await?;
    let forged = post(&http, &base, &SAMPLES[0], true).await?;
    println!("   {:<24} {:<24} -> HTTP {forged} (nothing published)", "forged signature", SAMPLES[0].path);

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
    let jana =
        contacts.iter().max_by_key(|c| c["identities"].as_array().map_or(0, Vec::len)).context("the directory is empty")?;
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

    stack.shutdown.cancel();
    stack.running.wait().await?;
    Ok(())
}

/// Posts a sample with its channel's authentication (`forge` signs with a wrong secret).
async fn post(http: &reqwest::Client, base: &str, sample: &Sample, forge: bool) -> anyhow::Result<u16> {
    let sign = |secret: &str| {
        let secret = if forge { "not-the-secret" } else { secret };
        format!("sha256={}", channel::signature::hmac_sha256_hex(secret.as_bytes(), sample.body.as_bytes()))
    };
    let mut request = http.post(format!("{base}{}", sample.path)).header("content-type", sample.content_type).body(sample.body);
    request = match &sample.auth {
        Auth::Meta(secret) => request.header("x-hub-signature-256", sign(secret)),
        Auth::Hmac { header, secret } => request.header(*header, sign(secret)),
        Auth::Bearer(token) => request.bearer_auth(token),
        Auth::InBody => request,
        Auth::Apple => {
            let message: Value = serde_json::from_str(sample.body)?;
            let field = |name: &str| message[name].as_str().unwrap_or_default().to_owned();
            request
                .bearer_auth(apple_token()?)
                .header("id", field("id"))
                .header("source-id", field("sourceId"))
                .header("destination-id", field("destinationId"))
        }
    };
    Ok(request.send().await.context("posting a webhook")?.status().as_u16())
}

/// A token as Apple's service makes it: HS256 under the decoded secret.
fn apple_token() -> anyhow::Result<String> {
    let key = base64::engine::general_purpose::STANDARD.decode(dev::APPLE_SECRET_B64)?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
    let claims = serde_json::json!({ "iat": now, "exp": now + 300 });
    Ok(jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &jsonwebtoken::EncodingKey::from_secret(&key))?)
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

async fn wait_resolved(consumer: &StreamConsumer, n: usize) -> anyhow::Result<()> {
    for _ in 0..n {
        tokio::time::timeout(Duration::from_secs(60), consumer.recv())
            .await
            .context("no resolved interaction within 60 s; is the resolver consuming?")??;
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
