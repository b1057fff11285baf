//! The `interactions.ingested` v1 event (DESIGN.md §3).

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use crate::identifiers::{Identity, IdentityKind, Provenance};
use crate::CallStatus;

/// Namespace of the deterministic interaction ids: UUIDv5(namespace, `tenant|channel|provider_ref`).
pub const INTERACTION_NAMESPACE: Uuid = Uuid::from_u128(0x6f1c_2d4e_8a3b_4c5d_9e0f_1a2b_3c4d_5e6f);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "sqlx", derive(sqlx::Type), sqlx(type_name = "text", rename_all = "snake_case"))]
pub enum Channel {
    Messenger,
    Whatsapp,
    Vk,
    Apple,
    Email,
    Voip,
    Webchat,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Messenger => "messenger",
            Channel::Whatsapp => "whatsapp",
            Channel::Vk => "vk",
            Channel::Apple => "apple",
            Channel::Email => "email",
            Channel::Voip => "voip",
            Channel::Webchat => "webchat",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Channel::Messenger, Channel::Whatsapp, Channel::Vk, Channel::Apple, Channel::Email, Channel::Voip, Channel::Webchat]
            .into_iter()
            .find(|c| c.as_str() == s)
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "sqlx", derive(sqlx::Type), sqlx(type_name = "text", rename_all = "snake_case"))]
pub enum Direction {
    Inbound,
    Outbound,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "sqlx", derive(sqlx::Type), sqlx(type_name = "text", rename_all = "snake_case"))]
pub enum NameSource {
    Channel,
    Form,
    Oauth,
    HeroCard,
    Operator,
}

impl NameSource {
    pub fn as_str(self) -> &'static str {
        match self {
            NameSource::Channel => "channel",
            NameSource::Form => "form",
            NameSource::Oauth => "oauth",
            NameSource::HeroCard => "hero_card",
            NameSource::Operator => "operator",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [NameSource::Channel, NameSource::Form, NameSource::Oauth, NameSource::HeroCard, NameSource::Operator]
            .into_iter()
            .find(|n| n.as_str() == s)
    }

    /// Priority of a name source: operator > form/oauth/hero card > channel profile.
    pub fn priority(self) -> u8 {
        match self {
            NameSource::Channel => 0,
            NameSource::Form | NameSource::Oauth | NameSource::HeroCard => 1,
            NameSource::Operator => 2,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Profile {
    pub name: Option<String>,
    pub name_source: NameSource,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Attachment {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub mime: Option<String>,
    #[serde(default)]
    pub size: Option<u64>,
    #[serde(default)]
    pub url: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Content {
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub attachments: Vec<Attachment>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Call {
    pub from: Option<String>,
    pub to: Option<String>,
    #[serde(default)]
    pub duration_s: Option<u64>,
    /// The call's state; consumers order a call's states by its lifecycle, not by arrival.
    #[serde(default)]
    pub status: Option<CallStatus>,
    #[serde(default)]
    pub recording_url: Option<String>,
}

/// A reaction to an earlier message (an emoji on it), not a message of its own: consumers attach
/// it to the message it names. One reactor has at most one reaction per message; a later one
/// replaces it and one without `emoji` removes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Reaction {
    /// The `provider_ref` of the message reacted to (same channel and tenant), so its
    /// interaction id is `InteractionEvent::id_for(tenant, channel, target_provider_ref)`.
    pub target_provider_ref: String,
    /// The emoji; `None` when the reactor removed their reaction.
    #[serde(default)]
    pub emoji: Option<String>,
}

/// A change of the conversation's state reported by the channel, shown in the transcript as an
/// event rather than as a message (it has no content and is not counted among messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConversationEvent {
    /// The customer closed (or deleted) the conversation, or the chat session ended.
    Closed,
    /// The customer allowed the business to message them (VK `message_allow`).
    MessagingAllowed,
    /// The customer forbade the business to message them (VK `message_deny`).
    MessagingDenied,
}

impl ConversationEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            ConversationEvent::Closed => "closed",
            ConversationEvent::MessagingAllowed => "messaging_allowed",
            ConversationEvent::MessagingDenied => "messaging_denied",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [ConversationEvent::Closed, ConversationEvent::MessagingAllowed, ConversationEvent::MessagingDenied]
            .into_iter()
            .find(|e| e.as_str() == s)
    }
}

/// Everything an adapter knows about one interaction before it is assigned to a tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InteractionBody {
    pub channel: Channel,
    pub direction: Direction,
    pub occurred_at: DateTime<Utc>,
    pub provider_ref: String,
    #[serde(default)]
    pub conversation_ref: Option<String>,
    /// The first identity is the channel identity used in the message key.
    pub identities: Vec<Identity>,
    #[serde(default)]
    pub profile: Option<Profile>,
    #[serde(default)]
    pub content: Option<Content>,
    #[serde(default)]
    pub call: Option<Call>,
    #[serde(default)]
    pub parameters: BTreeMap<String, String>,
    /// Set when the interaction is a reaction to another message rather than a message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reaction: Option<Reaction>,
    /// Set when the interaction is a conversation state change rather than a message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<ConversationEvent>,
    /// What the adapter cut or cleaned to bring the interaction within the limits
    /// ([`crate::limits::enforce`]): truncated text with its original size, digested keys,
    /// removed NUL characters. Empty for almost every interaction.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sanitized: Vec<crate::limits::Sanitized>,
}

/// The `interactions.ingested` v1 event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InteractionEvent {
    #[serde(default = "crate::schema_version")]
    pub v: u16,
    pub interaction_id: Uuid,
    pub tenant_id: String,
    #[serde(flatten)]
    pub body: InteractionBody,
}

impl InteractionEvent {
    /// Assigns the body to a tenant with the deterministic id, so provider retries are idempotent.
    pub fn new(tenant_id: impl Into<String>, body: InteractionBody) -> Self {
        let tenant_id = tenant_id.into();
        let interaction_id = Self::id_for(&tenant_id, body.channel, &body.provider_ref);
        Self { v: crate::SCHEMA_VERSION, interaction_id, tenant_id, body }
    }

    /// UUIDv5(namespace, `tenant|channel|provider_ref`).
    pub fn id_for(tenant_id: &str, channel: Channel, provider_ref: &str) -> Uuid {
        Uuid::new_v5(&INTERACTION_NAMESPACE, format!("{tenant_id}|{channel}|{provider_ref}").as_bytes())
    }

    /// Message key: `tenant|channel|channel_identity`; an interaction without identities (an
    /// anonymous web chat visitor) is keyed by its conversation, so it still keeps its order.
    pub fn key(&self) -> String {
        let identity =
            self.body.identities.first().map(|i| i.value.as_str()).or(self.body.conversation_ref.as_deref()).unwrap_or("");
        format!("{}|{}|{}", self.tenant_id, self.body.channel, identity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body() -> InteractionBody {
        InteractionBody {
            channel: Channel::Messenger,
            direction: Direction::Inbound,
            occurred_at: DateTime::from_timestamp(1_700_000_000, 0).expect("valid timestamp"),
            provider_ref: "m_1".into(),
            conversation_ref: None,
            identities: vec![Identity::new(IdentityKind::Psid, "123", Some("page".into()))],
            profile: None,
            content: Some(Content { text: Some("hi".into()), ..Default::default() }),
            call: None,
            parameters: BTreeMap::new(),
            reaction: None,
            event: None,
            sanitized: Vec::new(),
        }
    }

    #[test]
    fn the_same_provider_message_always_gets_the_same_id() {
        let a = InteractionEvent::new("acme", body());
        let b = InteractionEvent::new("acme", body());
        assert_eq!(a.interaction_id, b.interaction_id);
        assert_ne!(a.interaction_id, InteractionEvent::new("other", body()).interaction_id);
    }

    #[test]
    fn the_event_serializes_to_the_flat_v1_shape_and_back() {
        let event = InteractionEvent::new("acme", body());
        let json = serde_json::to_value(&event).expect("serializable");
        assert_eq!(json["v"], 1);
        assert_eq!(json["channel"], "messenger");
        assert_eq!(json["identities"][0]["kind"], "psid");
        let back: InteractionEvent = serde_json::from_value(json).expect("round trip");
        assert_eq!(back, event);
        assert_eq!(event.key(), "acme|messenger|123");
    }

    #[test]
    fn an_old_event_without_the_new_fields_still_decodes() {
        let old = serde_json::json!({
            "v": 1, "interaction_id": "8c1e0d6e-1b2a-5c3d-9e4f-0a1b2c3d4e5f", "tenant_id": "acme", "channel": "voip",
            "direction": "inbound", "occurred_at": "2024-03-14T09:15:00Z", "provider_ref": "CA1",
            "identities": [{"kind": "phone", "value": "+420777123456"}],
            "call": {"from": "+420777123456", "to": null, "status": "in-progress"}
        });
        let event: InteractionEvent = serde_json::from_value(old).expect("an old event decodes");
        assert_eq!(event.body.call.and_then(|c| c.status), Some(CallStatus::InProgress));
        assert_eq!((event.body.reaction, event.body.event), (None, None));
        let json = serde_json::to_value(InteractionEvent::new("acme", body())).expect("serializable");
        assert!(json.get("reaction").is_none() && json.get("event").is_none(), "absent fields are not written: {json}");
    }

    #[test]
    fn reactions_and_conversation_events_round_trip() {
        let mut reaction = body();
        reaction.reaction = Some(Reaction { target_provider_ref: "m_0".into(), emoji: None });
        reaction.event = Some(ConversationEvent::Closed);
        let json = serde_json::to_value(&reaction).expect("serializable");
        assert_eq!(json["reaction"], serde_json::json!({"target_provider_ref": "m_0", "emoji": null}));
        assert_eq!(json["event"], "closed");
        assert_eq!(serde_json::from_value::<InteractionBody>(json).expect("round trip"), reaction);
        assert_eq!(ConversationEvent::parse("messaging_denied"), Some(ConversationEvent::MessagingDenied));
    }
}
