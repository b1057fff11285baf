//! WhatsApp Cloud API webhook wire format (`object: "whatsapp_business_account"`). Only the
//! fields we use are typed and every one of them is optional where Meta may leave it out, so new
//! provider fields and new message types never break ingestion.
//!
//! - envelope, `messages[]`, `contacts[]`:
//!   <https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages>
//! - one page per message type (text, image, document, location, contacts, interactive, button,
//!   reaction, unsupported, …) under `…/webhooks/reference/messages/<type>`
//! - delivery `statuses[]`:
//!   <https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages/status>
//! - business-scoped user ids (`user_id`, `from_user_id`, `recipient_user_id`) for users who hide
//!   their phone number behind a username:
//!   <https://developers.facebook.com/documentation/business-messaging/whatsapp/business-scoped-user-ids>

use serde::Deserialize;

/// The `field` of the changes this adapter reads; other fields (template reviews, account
/// updates, …) have different `value` shapes and are acknowledged without publishing.
pub const MESSAGES_FIELD: &str = "messages";

#[derive(Debug, Deserialize)]
pub struct Notification {
    pub object: String,
    #[serde(default)]
    pub entry: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
pub struct Entry {
    /// The WhatsApp Business Account id.
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub changes: Vec<Change>,
}

/// One change; `value` is only typed (as [`MessagesValue`]) when `field` is `messages`.
#[derive(Debug, Deserialize)]
pub struct Change {
    #[serde(default)]
    pub field: String,
    #[serde(default)]
    pub value: serde_json::Value,
}

#[derive(Debug, Deserialize)]
pub struct MessagesValue {
    pub metadata: Metadata,
    #[serde(default)]
    pub contacts: Vec<Contact>,
    #[serde(default)]
    pub messages: Vec<Message>,
    #[serde(default)]
    pub statuses: Vec<Status>,
}

#[derive(Debug, Deserialize)]
pub struct Metadata {
    /// The business phone number's id: the provider account mapped to a tenant.
    pub phone_number_id: String,
    #[serde(default)]
    pub display_phone_number: Option<String>,
}

/// The WhatsApp user a message came from.
#[derive(Debug, Deserialize)]
pub struct Contact {
    /// The user's WhatsApp id (their phone number without `+`); omitted when the user hides it.
    #[serde(default)]
    pub wa_id: Option<String>,
    /// Business-scoped user id (`CC.digits`), present for every user since 2026.
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub profile: Option<ContactProfile>,
}

#[derive(Debug, Deserialize)]
pub struct ContactProfile {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Message {
    /// The sender's WhatsApp id (phone number without `+`).
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub from_user_id: Option<String>,
    /// The `wamid.…` message id.
    pub id: String,
    #[serde(default)]
    pub timestamp: Option<UnixTime>,
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub context: Option<Context>,
    #[serde(default)]
    pub text: Option<Text>,
    #[serde(default)]
    pub image: Option<Media>,
    #[serde(default)]
    pub video: Option<Media>,
    #[serde(default)]
    pub audio: Option<Media>,
    #[serde(default)]
    pub document: Option<Media>,
    #[serde(default)]
    pub sticker: Option<Media>,
    #[serde(default)]
    pub location: Option<Location>,
    #[serde(default)]
    pub contacts: Vec<SharedContact>,
    #[serde(default)]
    pub interactive: Option<Interactive>,
    #[serde(default)]
    pub button: Option<Button>,
    #[serde(default)]
    pub reaction: Option<Reaction>,
    #[serde(default)]
    pub referral: Option<Referral>,
    #[serde(default)]
    pub system: Option<System>,
    /// Set on `unsupported` messages (and messages WhatsApp could not process).
    #[serde(default)]
    pub errors: Vec<Error>,
}

/// Meta sends unix seconds as a string; a number is accepted too.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum UnixTime {
    Text(String),
    Number(i64),
}

impl UnixTime {
    pub fn seconds(&self) -> Option<i64> {
        match self {
            UnixTime::Text(text) => text.trim().parse().ok(),
            UnixTime::Number(n) => Some(*n),
        }
    }
}

/// The message this one replies to (or, for forwards, only the forwarding flags).
#[derive(Debug, Deserialize)]
pub struct Context {
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub forwarded: Option<bool>,
    #[serde(default)]
    pub frequently_forwarded: Option<bool>,
}

#[derive(Debug, Deserialize)]
pub struct Text {
    #[serde(default)]
    pub body: Option<String>,
}

/// Image, video, audio, document or sticker: a media id to download with the Graph API.
#[derive(Debug, Deserialize)]
pub struct Media {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub mime_type: Option<String>,
    #[serde(default)]
    pub sha256: Option<String>,
    #[serde(default)]
    pub caption: Option<String>,
    /// Documents only.
    #[serde(default)]
    pub filename: Option<String>,
    /// Audio only: recorded as a voice note.
    #[serde(default)]
    pub voice: Option<bool>,
    /// Stickers only.
    #[serde(default)]
    pub animated: Option<bool>,
}

#[derive(Debug, Deserialize)]
pub struct Location {
    #[serde(default)]
    pub latitude: Option<f64>,
    #[serde(default)]
    pub longitude: Option<f64>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
}

/// A contact card the user shared (someone else's details, never the sender's identity).
#[derive(Debug, Deserialize)]
pub struct SharedContact {
    #[serde(default)]
    pub name: Option<SharedName>,
    #[serde(default)]
    pub phones: Vec<SharedPhone>,
    #[serde(default)]
    pub emails: Vec<SharedEmail>,
}

#[derive(Debug, Deserialize)]
pub struct SharedName {
    #[serde(default)]
    pub formatted_name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct SharedPhone {
    #[serde(default)]
    pub phone: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct SharedEmail {
    #[serde(default)]
    pub email: Option<String>,
}

/// A reply to an interactive message: a reply button, a list row or a flow.
#[derive(Debug, Deserialize)]
pub struct Interactive {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub button_reply: Option<Reply>,
    #[serde(default)]
    pub list_reply: Option<Reply>,
    #[serde(default)]
    pub nfm_reply: Option<FlowReply>,
}

#[derive(Debug, Deserialize)]
pub struct Reply {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct FlowReply {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub response_json: Option<String>,
}

/// A quick-reply button of a template message.
#[derive(Debug, Deserialize)]
pub struct Button {
    #[serde(default)]
    pub payload: Option<String>,
    #[serde(default)]
    pub text: Option<String>,
}

/// An emoji reaction; without `emoji` the user removed their reaction.
#[derive(Debug, Deserialize)]
pub struct Reaction {
    #[serde(default)]
    pub message_id: Option<String>,
    #[serde(default)]
    pub emoji: Option<String>,
}

/// The Click-to-WhatsApp ad or post the conversation started from.
#[derive(Debug, Deserialize)]
pub struct Referral {
    #[serde(default)]
    pub source_url: Option<String>,
    #[serde(default)]
    pub source_id: Option<String>,
    #[serde(default)]
    pub source_type: Option<String>,
    #[serde(default)]
    pub headline: Option<String>,
    #[serde(default)]
    pub ctwa_clid: Option<String>,
}

/// A system notice, e.g. the user changed their number.
#[derive(Debug, Deserialize)]
pub struct System {
    #[serde(default)]
    pub body: Option<String>,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub wa_id: Option<String>,
    #[serde(default)]
    pub new_wa_id: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Error {
    #[serde(default)]
    pub code: Option<i64>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub error_data: Option<ErrorData>,
}

#[derive(Debug, Deserialize)]
pub struct ErrorData {
    #[serde(default)]
    pub details: Option<String>,
}

/// A delivery status of a message the business sent: `sent`, `delivered`, `read`, `played`,
/// `failed` (and possibly new ones).
#[derive(Debug, Deserialize)]
pub struct Status {
    /// The `wamid.…` of the business's outbound message.
    pub id: String,
    pub status: String,
    #[serde(default)]
    pub timestamp: Option<UnixTime>,
    #[serde(default)]
    pub recipient_id: Option<String>,
    #[serde(default)]
    pub recipient_user_id: Option<String>,
    #[serde(default)]
    pub conversation: Option<Conversation>,
    #[serde(default)]
    pub pricing: Option<Pricing>,
    #[serde(default)]
    pub biz_opaque_callback_data: Option<String>,
    #[serde(default)]
    pub errors: Vec<Error>,
}

#[derive(Debug, Deserialize)]
pub struct Conversation {
    #[serde(default)]
    pub id: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Pricing {
    #[serde(default)]
    pub category: Option<String>,
}
