//! Messenger Platform webhook wire format (`object: "page"`). Only the fields we use are typed;
//! everything else is ignored so new provider fields never break ingestion.
//! <https://developers.facebook.com/docs/messenger-platform/reference/webhook-events>
//! - `messages` (attachments of `type` `audio`, `file`, `image`, `video`, `fallback`, `reel`,
//!   `ig_reel`, `template`, …, with a `payload.url`; stickers are images with a `sticker_id`):
//!   <https://developers.facebook.com/docs/messenger-platform/reference/webhook-events/messages>
//! - `message_echoes` (the page's own messages, with the sending `app_id` and the `metadata` it
//!   passed to the Send API):
//!   <https://developers.facebook.com/docs/messenger-platform/reference/webhook-events/message-echoes>
//! - `message_reactions`:
//!   <https://developers.facebook.com/documentation/business-messaging/messenger-platform/webhooks/webhook-events/message-reactions>

use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct Notification {
    pub object: String,
    #[serde(default)]
    pub entry: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
pub struct Entry {
    /// The page id.
    pub id: String,
    #[serde(default)]
    pub time: Option<i64>,
    #[serde(default)]
    pub messaging: Vec<Messaging>,
    /// Events delivered while another app owns the thread (handover protocol).
    #[serde(default)]
    pub standby: Vec<Messaging>,
}

#[derive(Debug, Deserialize)]
pub struct Messaging {
    pub sender: Party,
    pub recipient: Party,
    #[serde(default)]
    pub timestamp: Option<i64>,
    #[serde(default)]
    pub message: Option<Message>,
    #[serde(default)]
    pub postback: Option<Postback>,
    #[serde(default)]
    pub reaction: Option<Reaction>,
}

#[derive(Debug, Deserialize)]
pub struct Party {
    pub id: String,
}

#[derive(Debug, Deserialize)]
pub struct Message {
    pub mid: String,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub is_echo: bool,
    #[serde(default)]
    pub attachments: Vec<Attachment>,
    #[serde(default)]
    pub quick_reply: Option<QuickReply>,
    #[serde(default)]
    pub reply_to: Option<ReplyTo>,
    /// Echoes: the app that sent the message (a number in Meta's samples).
    #[serde(default)]
    pub app_id: Option<Scalar>,
    /// Echoes: the `metadata` the sending app passed to the Send API (e.g. which operator).
    #[serde(default)]
    pub metadata: Option<String>,
}

/// A string or a number (ids are written either way).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Scalar {
    Text(String),
    Number(serde_json::Number),
}

impl Scalar {
    pub fn to_text(&self) -> String {
        match self {
            Scalar::Text(text) => text.trim().to_owned(),
            Scalar::Number(number) => number.to_string(),
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct Attachment {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub payload: Option<AttachmentPayload>,
    #[serde(default)]
    pub title: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct AttachmentPayload {
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    /// Set on stickers (sent as `image`).
    #[serde(default)]
    pub sticker_id: Option<Scalar>,
}

/// A reaction to a message (`mid`); `action` is `react` or `unreact`.
#[derive(Debug, Deserialize)]
pub struct Reaction {
    #[serde(default)]
    pub mid: Option<String>,
    #[serde(default)]
    pub action: Option<String>,
    /// `smile`, `angry`, `sad`, `wow`, `love`, `like`, `dislike`, `other`.
    #[serde(default)]
    pub reaction: Option<String>,
    #[serde(default)]
    pub emoji: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct QuickReply {
    pub payload: String,
}

#[derive(Debug, Deserialize)]
pub struct ReplyTo {
    pub mid: String,
}

#[derive(Debug, Deserialize)]
pub struct Postback {
    #[serde(default)]
    pub mid: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub payload: Option<String>,
}
