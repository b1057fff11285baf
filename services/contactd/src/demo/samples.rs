//! The demo's sample webhooks — one or more per channel, as each provider sends them — and how
//! each is signed when posted.

use anyhow::Context;
use base64::Engine as _;
use serde_json::Value;

use crate::launcher::dev;

/// One sample request: which channel, where, how signed, and how many interactions it yields.
pub struct Sample {
    pub label: &'static str,
    pub path: &'static str,
    pub content_type: &'static str,
    pub body: &'static str,
    pub auth: Auth,
    pub interactions: usize,
    /// What the operator does once it is resolved.
    pub then: Then,
}

/// An operator's step after a sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Then {
    Nothing,
    /// The web chat form matched the contact by a typed phone only, so the e-mail it carried is
    /// merely *proposed*: the operator, having talked to her, confirms it and takes her name.
    ConfirmProposals,
}

pub enum Auth {
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

pub const SAMPLES: &[Sample] = &[
    Sample {
        label: "Messenger text",
        path: channel_messenger::WEBHOOK_PATH,
        content_type: "application/json",
        body: include_str!("../../../../tests/fixtures/messenger/text_message.json"),
        auth: Auth::Meta(dev::META_APP_SECRET),
        interactions: 1,
        then: Then::Nothing,
    },
    Sample {
        label: "Messenger echo",
        path: channel_messenger::WEBHOOK_PATH,
        content_type: "application/json",
        body: include_str!("../../../../tests/fixtures/messenger/echo_reply.json"),
        auth: Auth::Meta(dev::META_APP_SECRET),
        interactions: 1,
        then: Then::Nothing,
    },
    Sample {
        label: "WhatsApp text",
        path: channel_whatsapp::WEBHOOK_PATH,
        content_type: "application/json",
        body: include_str!("../../../../tests/fixtures/whatsapp/text_message.json"),
        auth: Auth::Meta(dev::META_APP_SECRET),
        interactions: 1,
        then: Then::Nothing,
    },
    Sample {
        label: "web chat with form",
        path: channel_webchat::WEBHOOK_PATH,
        content_type: "application/json",
        body: include_str!("../../samples/webchat_form.json"),
        auth: Auth::Hmac { header: "x-webchat-signature", secret: dev::WEBCHAT_SECRET },
        interactions: 1,
        then: Then::ConfirmProposals,
    },
    Sample {
        label: "e-mail",
        path: channel_email::WEBHOOK_PATH,
        content_type: "message/rfc822",
        body: include_str!("../../../../tests/fixtures/email/plain_czech_qp.eml"),
        auth: Auth::Bearer(dev::MAIL_RELAY_TOKEN),
        interactions: 1,
        then: Then::Nothing,
    },
    Sample {
        label: "phone call (PBX CDR)",
        path: channel_voip::CDR_PATH,
        content_type: "application/json",
        body: include_str!("../../../../tests/fixtures/voip/asterisk_answered.json"),
        auth: Auth::Hmac { header: "x-webhook-signature", secret: dev::CDR_SECRET },
        interactions: 1,
        then: Then::Nothing,
    },
    Sample {
        label: "VK message",
        path: channel_vk::WEBHOOK_PATH,
        content_type: "application/json",
        body: include_str!("../../../../tests/fixtures/vk/message_new.json"),
        auth: Auth::InBody,
        interactions: 1,
        then: Then::Nothing,
    },
    Sample {
        label: "Apple Messages text",
        path: channel_apple::WEBHOOK_PATH,
        content_type: "application/json",
        body: include_str!("../../../../tests/fixtures/apple/text_message.json"),
        auth: Auth::Apple,
        interactions: 1,
        then: Then::Nothing,
    },
    Sample {
        label: "e-mail with attachments",
        path: channel_email::WEBHOOK_PATH,
        content_type: "message/rfc822",
        body: include_str!("../../../../tests/fixtures/email/multipart_attachment.eml"),
        auth: Auth::Bearer(dev::MAIL_RELAY_TOKEN),
        interactions: 1,
        then: Then::Nothing,
    },
    Sample {
        label: "web chat with CRM number",
        path: channel_webchat::WEBHOOK_PATH,
        content_type: "application/json",
        body: include_str!("../../samples/webchat_crm.json"),
        auth: Auth::Hmac { header: "x-webchat-signature", secret: dev::WEBCHAT_SECRET },
        interactions: 1,
        then: Then::Nothing,
    },
    // Marie's e-mail and the phone an operator saved on another card: a duplicate suggestion.
    Sample {
        label: "web chat, two contacts",
        path: channel_webchat::WEBHOOK_PATH,
        content_type: "application/json",
        body: include_str!("../../samples/webchat_duplicate.json"),
        auth: Auth::Hmac { header: "x-webchat-signature", secret: dev::WEBCHAT_SECRET },
        interactions: 1,
        then: Then::Nothing,
    },
    // A second form of Jana's, from work: her phone matches, the work e-mail waits on her
    // card for an operator to confirm or reject.
    Sample {
        label: "web chat, new e-mail",
        path: channel_webchat::WEBHOOK_PATH,
        content_type: "application/json",
        body: include_str!("../../samples/webchat_proposal.json"),
        auth: Auth::Hmac { header: "x-webchat-signature", secret: dev::WEBCHAT_SECRET },
        interactions: 1,
        then: Then::Nothing,
    },
    // A visitor who filled in nothing: an unidentified conversation for an operator to link.
    Sample {
        label: "web chat, anonymous",
        path: channel_webchat::WEBHOOK_PATH,
        content_type: "application/json",
        body: include_str!("../../samples/webchat_anonymous.json"),
        auth: Auth::Hmac { header: "x-webchat-signature", secret: dev::WEBCHAT_SECRET },
        interactions: 1,
        then: Then::Nothing,
    },
];

/// Posts a sample with its channel's authentication (`forge` signs with a wrong secret).
pub async fn post(http: &reqwest::Client, base: &str, sample: &Sample, forge: bool) -> anyhow::Result<u16> {
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
