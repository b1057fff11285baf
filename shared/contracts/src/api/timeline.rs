//! Timeline API bodies (DESIGN.md §6): a contact's timeline page, one interaction with its
//! transcript, and tenant-wide search results.
//!
//! A timeline *interaction* is a group: one call, one e-mail, or the messages of one conversation
//! within the idle gap; its id is the id of the message that opened it. A *contact event* is a
//! change of the contact's card from `contacts.changes`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    Actor, Attachment, Call, CallStatus, Channel, ContactChangeKind, ContactId, ConversationEvent, Direction, FieldChange,
    Identity, InteractionEvent, MatchedBy, Resolution,
};

/// The kinds of timeline items: the `type` of every item, and the `type` filter of a timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ItemType {
    Interaction,
    ContactEvent,
}

/// One entry of a contact's timeline, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Item {
    // Boxed: both are large and of different sizes, and pages are sorted and moved around.
    Interaction(Box<InteractionItem>),
    ContactEvent(Box<ContactEventItem>),
}

impl Item {
    pub fn item_type(&self) -> ItemType {
        match self {
            Item::Interaction(_) => ItemType::Interaction,
            Item::ContactEvent(_) => ItemType::ContactEvent,
        }
    }

    /// The item's place on the timeline, `(occurred_at, id)`: newest first, ties by id.
    pub fn position(&self) -> (DateTime<Utc>, Uuid) {
        match self {
            Item::Interaction(i) => (i.occurred_at, i.id),
            Item::ContactEvent(e) => (e.occurred_at, e.id),
        }
    }

    pub fn as_interaction(&self) -> Option<&InteractionItem> {
        match self {
            Item::Interaction(i) => Some(i),
            Item::ContactEvent(_) => None,
        }
    }

    pub fn as_contact_event(&self) -> Option<&ContactEventItem> {
        match self {
            Item::Interaction(_) => None,
            Item::ContactEvent(e) => Some(e),
        }
    }
}

/// A timeline interaction as lists show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct InteractionItem {
    /// The item's id: the interaction's.
    pub id: Uuid,
    /// The id of the message that opened the interaction.
    pub interaction_id: Uuid,
    /// `None` for an unidentified interaction (no contact yet; an operator links it).
    pub contact_id: Option<ContactId>,
    /// The contact this interaction belonged to before a merge moved it here.
    pub merged_from: Option<ContactId>,
    pub channel: Channel,
    /// The direction of its first message.
    pub direction: Direction,
    /// When its first entry occurred.
    pub occurred_at: DateTime<Utc>,
    /// When its last entry occurred.
    pub last_message_at: DateTime<Utc>,
    pub conversation_ref: Option<String>,
    /// The first subject (an e-mail thread's).
    pub subject: Option<String>,
    /// The first message's text: the preview.
    pub text: Option<String>,
    /// Messages in the transcript (conversation events are not counted).
    pub message_count: u32,
    pub details: Details,
    /// Every message's parameters, later messages overriding earlier ones.
    pub parameters: BTreeMap<String, String>,
    pub attachments: Vec<AttachmentRef>,
    /// The identifier that decided the contact (`null` when the interaction created it).
    pub matched_by: Option<MatchedBy>,
    /// The resolver's whole decision for the opening message.
    pub resolution: Resolution,
    /// The opening message's v1 event (all its states folded together).
    pub event: InteractionEvent,
    /// The contact was erased; personal content has been removed.
    pub redacted: bool,
    /// `ts_rank` of the search, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rank: Option<f32>,
    /// HTML-safe excerpt with the matched words in `<mark>…</mark>`, when there was a search.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snippet: Option<String>,
}

/// What the timeline shows about an interaction beyond its text. Keys holding personal data are
/// absent once the contact is erased, hence every field may be missing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct Details {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The customer's identities seen on the interaction.
    pub participants: Vec<Identity>,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub message_count: u32,
    pub inbound: u32,
    pub outbound: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_status: Option<CallStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recording_url: Option<String>,
    /// The delivery status of the latest outbound message that has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_status: Option<String>,
    /// Changes of the conversation's state (closed, …), oldest first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conversation_events: Vec<ConversationEventEntry>,
}

/// A conversation state change on the timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ConversationEventEntry {
    pub event: ConversationEvent,
    pub occurred_at: DateTime<Utc>,
}

/// An attachment of one of the interaction's messages (metadata only; files stay at the provider).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AttachmentRef {
    pub message_id: Uuid,
    #[serde(flatten)]
    pub attachment: Attachment,
}

/// A contact-detail change on the timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ContactEventItem {
    /// The item's id: the change's.
    pub id: Uuid,
    pub change_id: Uuid,
    pub contact_id: ContactId,
    /// The contact this change belonged to before a merge moved it here.
    pub merged_from: Option<ContactId>,
    pub kind: ContactChangeKind,
    pub occurred_at: DateTime<Utc>,
    pub actor: Actor,
    /// `null` once the contact is erased.
    pub reason: Option<String>,
    /// The changed fields with their values before and after (values removed on erasure).
    pub changes: Vec<FieldChange>,
    /// The other contact of a merge or unmerge.
    pub related_contact_id: Option<ContactId>,
    pub redacted: bool,
    /// `ts_rank` of the search, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rank: Option<f32>,
}

/// What a transcript entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntryType {
    Message,
    /// A change of the conversation's state; `conversation_event` says which.
    ConversationEvent,
}

/// One entry of a transcript: a message, or a change of the conversation's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TranscriptEntry {
    pub message_id: Uuid,
    #[serde(rename = "type")]
    pub entry_type: EntryType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_event: Option<ConversationEvent>,
    pub direction: Direction,
    pub occurred_at: DateTime<Utc>,
    pub text: Option<String>,
    pub subject: Option<String>,
    pub attachments: Vec<Attachment>,
    pub parameters: BTreeMap<String, String>,
    /// The message's latest delivery status (outbound messages).
    pub delivery_status: Option<String>,
    /// When the text was last edited.
    pub edited_at: Option<DateTime<Utc>>,
    pub call: Option<Call>,
    pub matched_by: Option<MatchedBy>,
    /// The reactions on the message, one per reactor, oldest first.
    pub reactions: Vec<MessageReaction>,
}

/// A reaction on a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MessageReaction {
    /// `business` for the business's reaction, else the customer's channel identity
    /// (`kind:value`) or `contact:<id>`.
    pub reactor: String,
    pub direction: Direction,
    pub emoji: String,
    pub reacted_at: DateTime<Utc>,
}

/// One interaction with its whole transcript.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct InteractionDetail {
    /// Always `interaction`.
    #[serde(rename = "type")]
    pub item_type: ItemType,
    #[serde(flatten)]
    pub interaction: InteractionItem,
    /// Messages and conversation events, oldest first.
    pub transcript: Vec<TranscriptEntry>,
}

/// A page of a contact's timeline, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TimelinePage {
    pub items: Vec<Item>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// A page of the tenant's unidentified conversations (no contact yet), the most recently active
/// first: what an operator opens a session from to add, pick or link the contact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UnidentifiedPage {
    /// Each is an interaction with `contact_id: null`; its detail (`GET /v1/interactions/{id}`)
    /// has the transcript and the resolution's candidates.
    pub items: Vec<InteractionItem>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// A page of tenant-wide search hits, best first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SearchResults {
    /// Interactions with `rank` and `snippet`.
    pub items: Vec<InteractionItem>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
    /// How many matches were ranked; hits are the best of the newest `rank_window` matches.
    #[schema(minimum = 0)]
    pub ranked_matches: i64,
    #[schema(minimum = 0)]
    pub rank_window: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_item_carries_its_type_as_a_tag_and_reads_back_typed() {
        let event = ContactEventItem {
            id: Uuid::from_u128(1),
            change_id: Uuid::from_u128(1),
            contact_id: ContactId(Uuid::from_u128(2)),
            merged_from: None,
            kind: ContactChangeKind::NameChanged,
            occurred_at: DateTime::from_timestamp(1_764_000_000, 0).expect("valid"),
            actor: Actor::Operator { id: "op".into() },
            reason: Some("edit".into()),
            changes: vec![],
            related_contact_id: None,
            redacted: false,
            rank: None,
        };
        let item = Item::ContactEvent(Box::new(event));
        let json = serde_json::to_value(&item).expect("serializable");
        assert_eq!((json["type"].as_str(), json["kind"].as_str()), (Some("contact_event"), Some("name_changed")));
        assert!(json.get("rank").is_none(), "no rank without a search");
        assert_eq!(serde_json::from_value::<Item>(json).expect("reads back"), item);
    }

    #[test]
    fn details_of_an_erased_interaction_read_back_with_the_personal_keys_gone() {
        let details: Details = serde_json::from_str(r#"{"message_count":2,"inbound":1,"outbound":1,"started_at":null}"#)
            .expect("personal keys removed");
        assert_eq!((details.message_count, details.participants.len()), (2, 0));
    }
}
