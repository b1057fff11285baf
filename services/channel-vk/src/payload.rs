//! VK Callback API wire format: every request is one JSON event
//! `{ "type", "group_id", "secret", "event_id", "v", "object" }`. Only the fields we use are
//! typed; everything else is ignored so new provider fields never break ingestion. Ids are
//! accepted as numbers or strings, flags as `0/1` or booleans.
//!
//! - request format, `confirmation`, `secret`, the `ok` answer:
//!   <https://dev.vk.com/en/api/callback/getting-started>
//! - `message_new` (`object = { message, client_info }` since API 5.103), `message_reply` and
//!   `message_edit` (`object` = the message): <https://dev.vk.com/en/api/community-events/json-schema>
//! - the message object: <https://dev.vk.com/en/reference/objects/message>
//! - its attachments: <https://dev.vk.com/en/reference/objects/attachments-message>

use serde::Deserialize;

/// Event types this adapter handles; every other type is acknowledged and ignored.
pub mod event {
    pub const CONFIRMATION: &str = "confirmation";
    pub const MESSAGE_NEW: &str = "message_new";
    pub const MESSAGE_REPLY: &str = "message_reply";
    pub const MESSAGE_EDIT: &str = "message_edit";
    /// The user allowed the community to message them / forbade it.
    /// <https://dev.vk.com/en/api/community-events/json-schema#message_allow>
    pub const MESSAGE_ALLOW: &str = "message_allow";
    pub const MESSAGE_DENY: &str = "message_deny";
}

/// The object of `message_allow` and `message_deny`: whose permission changed, and (allow only)
/// the `key` the site's "allow messages" widget passed.
#[derive(Debug, Deserialize)]
pub struct MessagingPermission {
    pub user_id: Id,
    #[serde(default)]
    pub key: Option<String>,
}

/// What authentication needs: read before the rest of the body is trusted.
#[derive(Debug, Deserialize)]
pub struct Credentials {
    pub group_id: Id,
    #[serde(default)]
    pub secret: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Event {
    #[serde(rename = "type")]
    pub kind: String,
    pub group_id: Id,
    #[serde(default)]
    pub event_id: Option<Id>,
    /// The API version the event object follows.
    #[serde(default)]
    pub v: Option<Id>,
    #[serde(default)]
    pub object: serde_json::Value,
}

/// A VK id or version: a number, or a string in some events and API versions.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Id {
    Number(i64),
    Text(String),
}

impl Id {
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Id::Number(n) => Some(*n),
            Id::Text(text) => text.trim().parse().ok(),
        }
    }
}

impl std::fmt::Display for Id {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Id::Number(n) => write!(f, "{n}"),
            Id::Text(text) => f.write_str(text.trim()),
        }
    }
}

/// `0/1` in the API, a boolean in some SDKs.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(untagged)]
pub enum Flag {
    Bool(bool),
    Number(i64),
}

impl Flag {
    pub fn is_set(self) -> bool {
        match self {
            Flag::Bool(b) => b,
            Flag::Number(n) => n != 0,
        }
    }
}

/// The `object` of `message_new` since API 5.103 (before, the object was the message itself).
#[derive(Debug, Deserialize)]
pub struct MessageNew {
    pub message: Message,
}

#[derive(Debug, Deserialize)]
pub struct Message {
    /// The message id in the community's dialogs (0 in chats).
    #[serde(default)]
    pub id: Option<i64>,
    /// The message's number within its conversation: stable across new, reply and edit events.
    #[serde(default)]
    pub conversation_message_id: Option<i64>,
    /// Unix seconds the message was sent.
    #[serde(default)]
    pub date: Option<i64>,
    /// Unix seconds of the last edit.
    #[serde(default)]
    pub update_time: Option<i64>,
    /// Author: a user (positive) or a community (negative).
    #[serde(default)]
    pub from_id: Option<i64>,
    /// The conversation: a user id for a dialog, 2000000000 + chat id for a chat.
    #[serde(default)]
    pub peer_id: Option<i64>,
    /// Set when the community sent the message.
    #[serde(default)]
    pub out: Option<Flag>,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub attachments: Vec<Attachment>,
    #[serde(default)]
    pub fwd_messages: Vec<serde_json::Value>,
    #[serde(default)]
    pub reply_message: Option<ReplyMessage>,
    /// The payload of the keyboard button the user pressed (a JSON string).
    #[serde(default)]
    pub payload: Option<String>,
    /// The community administrator who wrote an outbound message.
    #[serde(default)]
    pub admin_author_id: Option<i64>,
    #[serde(default)]
    pub geo: Option<Geo>,
    /// Deep-link parameters (`vk.me/club?ref=…`).
    #[serde(rename = "ref", default)]
    pub referral: Option<String>,
    #[serde(default)]
    pub ref_source: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct ReplyMessage {
    #[serde(default)]
    pub id: Option<i64>,
    #[serde(default)]
    pub conversation_message_id: Option<i64>,
}

#[derive(Debug, Deserialize)]
pub struct Geo {
    #[serde(default)]
    pub coordinates: Option<Coordinates>,
    #[serde(default)]
    pub place: Option<Place>,
}

#[derive(Debug, Deserialize)]
pub struct Coordinates {
    #[serde(default)]
    pub latitude: Option<f64>,
    #[serde(default)]
    pub longitude: Option<f64>,
}

#[derive(Debug, Deserialize)]
pub struct Place {
    #[serde(default)]
    pub title: Option<String>,
}

/// `{ "type": "<kind>", "<kind>": { … } }`; only the kinds we describe are typed.
#[derive(Debug, Deserialize)]
pub struct Attachment {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub photo: Option<Photo>,
    #[serde(default)]
    pub doc: Option<Doc>,
    #[serde(default)]
    pub audio_message: Option<AudioMessage>,
    #[serde(default)]
    pub video: Option<Video>,
    #[serde(default)]
    pub audio: Option<Audio>,
    #[serde(default)]
    pub sticker: Option<Sticker>,
    #[serde(default)]
    pub link: Option<Link>,
}

#[derive(Debug, Deserialize)]
pub struct Photo {
    #[serde(default)]
    pub id: Option<i64>,
    #[serde(default)]
    pub owner_id: Option<i64>,
    #[serde(default)]
    pub sizes: Vec<Image>,
    #[serde(default)]
    pub text: Option<String>,
}

/// One size of a photo or sticker.
#[derive(Debug, Deserialize)]
pub struct Image {
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub width: Option<u64>,
    #[serde(default)]
    pub height: Option<u64>,
}

#[derive(Debug, Deserialize)]
pub struct Doc {
    #[serde(default)]
    pub id: Option<i64>,
    #[serde(default)]
    pub owner_id: Option<i64>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub size: Option<u64>,
    #[serde(default)]
    pub ext: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct AudioMessage {
    #[serde(default)]
    pub id: Option<i64>,
    #[serde(default)]
    pub owner_id: Option<i64>,
    #[serde(default)]
    pub duration: Option<u64>,
    #[serde(default)]
    pub link_ogg: Option<String>,
    #[serde(default)]
    pub link_mp3: Option<String>,
    /// Speech-to-text VK adds to voice messages (when available).
    #[serde(default)]
    pub transcript: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Video {
    #[serde(default)]
    pub id: Option<i64>,
    #[serde(default)]
    pub owner_id: Option<i64>,
    #[serde(default)]
    pub title: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Audio {
    #[serde(default)]
    pub id: Option<i64>,
    #[serde(default)]
    pub owner_id: Option<i64>,
    #[serde(default)]
    pub artist: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Sticker {
    #[serde(default)]
    pub sticker_id: Option<i64>,
    #[serde(default)]
    pub images: Vec<Image>,
}

#[derive(Debug, Deserialize)]
pub struct Link {
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
}
