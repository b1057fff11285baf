//! The web chat wire format: our own protocol between a site's chat server (the backend of the
//! platform's chat widget) and this adapter. One request carries one chat message.
//!
//! ```text
//! POST /webhooks/webchat
//! Content-Type: application/json
//! X-Webchat-Signature: sha256=<hex HMAC-SHA256 of the raw body under the site's secret>
//! X-Webchat-Site: <site id>            (optional when the body has site_id)
//! ```
//!
//! ```json
//! {
//!   "v": 1,
//!   "site_id": "eshop-cz",
//!   "session_id": "4f9c2a7e-…",            // required: one chat session (→ conversation_ref)
//!   "message_id": "01JD8Z…",                // required: unique within the site (→ provider_ref)
//!   "sent_at": "2025-11-25T10:15:03+01:00", // required, RFC 3339
//!   "direction": "inbound",                 // required: inbound (visitor) | outbound (operator)
//!   "text": "Dobrý den, …",
//!   "attachments": [{ "name": "faktura.pdf", "mime": "application/pdf", "size": 48213, "url": "https://…" }],
//!   "operator_invitation": false,           // the operator started the chat (proactive invitation)
//!   "operator_id": "op-17",                 // optional: who wrote an outbound message
//!   "event": "closed",                      // optional: a session state change instead of a message
//!   "page_url": "https://eshop.example.cz/kosik",
//!   "visitor": {
//!     "contact_id": "…",                    // logged-in visitor whose contact the site knows
//!     "name": "Jana Nováková",              // pre-chat form fields
//!     "email": "jana.novakova@example.cz",
//!     "phone": "+420 601 123 456",
//!     "custom": { "crm_customer_no": "C-100234" }
//!   }
//! }
//! ```
//!
//! `event` turns the request into a change of the session's state instead of a message: `closed`
//! (the visitor or the operator ended the chat, or the widget timed it out); its text and
//! attachments, if any, are ignored. Unknown event names are malformed (400), so a newer widget
//! never has its events stored as empty messages.
//!
//! Rules: `session_id`, `message_id`, `sent_at` and `direction` are required (else 400); the site
//! id in the header and the body must agree. Visitor fields are passed on as typed, unvalidated:
//! an e-mail or phone number that does not parse never rejects a message, the resolver normalizes
//! and ignores what it cannot use. Custom values may be strings or numbers. Unknown fields are
//! ignored, so a newer widget can talk to an older adapter.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct Message {
    #[serde(default)]
    pub site_id: Option<String>,
    pub session_id: String,
    pub message_id: String,
    pub sent_at: DateTime<Utc>,
    pub direction: Direction,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub attachments: Vec<Attachment>,
    #[serde(default)]
    pub operator_invitation: bool,
    #[serde(default)]
    pub operator_id: Option<String>,
    #[serde(default)]
    pub page_url: Option<String>,
    #[serde(default)]
    pub visitor: Visitor,
    #[serde(default)]
    pub event: Option<SessionEvent>,
}

/// A change of the chat session's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionEvent {
    /// The chat ended (`session_ended` accepted as a synonym).
    #[serde(alias = "session_ended")]
    Closed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Written by the visitor.
    Inbound,
    /// Written by an operator (or a bot) of the site.
    Outbound,
}

/// Attachment metadata: the widget sends it in the shape of the interaction contract.
pub use contracts::Attachment;

/// What the site knows about the visitor: login and pre-chat form.
#[derive(Debug, Default, Deserialize)]
pub struct Visitor {
    #[serde(default)]
    pub contact_id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    /// Tenant-defined parameter name → value.
    #[serde(default)]
    pub custom: BTreeMap<String, CustomValue>,
}

/// A custom parameter value: text, or a number a form sent unquoted.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum CustomValue {
    Text(String),
    Number(serde_json::Number),
}

impl CustomValue {
    pub fn into_text(self) -> String {
        match self {
            CustomValue::Text(text) => text,
            CustomValue::Number(number) => number.to_string(),
        }
    }
}
