//! VK message events → normalized interactions.
//!
//! - `message_new` is the customer's inbound message, `message_reply` the community's outbound
//!   one (its object is the message itself; the customer is its `peer_id`), `message_edit` a
//!   later state of either (`out` tells which).
//! - `provider_ref` = `{group_id}:{peer_id}:{conversation_message_id}`: the same for a message's
//!   new/reply and edit events, so an edit gets the original's `interaction_id` and upserts it.
//! - `message_allow` and `message_deny` (the user allowed or forbade the community to message
//!   them) are conversation state changes ([`ConversationEvent`]), not messages.
//! - The customer is identified by `vk` = user id, scoped to the community (DESIGN.md: a VK user
//!   id is recorded per community). In group chats (`peer_id` ≥ 2000000000) the author of an
//!   inbound message is the customer; outbound chat messages name no single customer and are not
//!   ingested.

use std::collections::BTreeMap;

use channel::{AccountInteraction, WebhookError};
use chrono::{DateTime, SecondsFormat, Utc};
use contracts::{Attachment, Channel, Content, ConversationEvent, Direction, Identity, IdentityKind, InteractionBody};

use crate::payload::{self, event, Event, Image, Message, MessageNew, MessagingPermission};

/// The type of a document whose extension says nothing we know.
const OPAQUE_BYTES: &str = "application/octet-stream";

/// Peer ids from here on are chats, not users.
pub const CHAT_PEER_OFFSET: i64 = 2_000_000_000;

/// Keys of `parameters` set by this adapter.
pub mod param {
    /// `message_new`, `message_reply` or `message_edit`: the event that produced this state.
    pub const EVENT_TYPE: &str = "event_type";
    pub const VK_EVENT_ID: &str = "vk_event_id";
    pub const VK_API_VERSION: &str = "vk_api_version";
    pub const VK_MESSAGE_ID: &str = "vk_message_id";
    pub const VK_CONVERSATION_MESSAGE_ID: &str = "vk_conversation_message_id";
    /// When the message was last edited (RFC 3339), on `message_edit`.
    pub const EDITED_AT: &str = "edited_at";
    /// The payload of the keyboard button the user pressed.
    pub const BUTTON_PAYLOAD: &str = "button_payload";
    /// The `provider_ref` of the message this one replies to.
    pub const REPLY_TO_REF: &str = "reply_to_ref";
    pub const FORWARDED_MESSAGES: &str = "forwarded_messages";
    pub const ADMIN_AUTHOR_ID: &str = "admin_author_id";
    /// Comma-separated attachment types, including those not mapped to attachments (wall, poll, …).
    pub const ATTACHMENT_TYPES: &str = "attachment_types";
    pub const VOICE_TRANSCRIPT: &str = "voice_transcript";
    pub const GEO_LATITUDE: &str = "geo_latitude";
    pub const GEO_LONGITUDE: &str = "geo_longitude";
    pub const GEO_PLACE: &str = "geo_place";
    /// Deep-link `ref` and `ref_source` the conversation was opened with.
    pub const REF: &str = "ref";
    pub const REF_SOURCE: &str = "ref_source";
    /// `chat` when the conversation is a group chat rather than a dialog.
    pub const PEER_TYPE: &str = "peer_type";
    /// The `key` of a `message_allow` (where the user allowed messages).
    pub const ALLOW_KEY: &str = "allow_key";
}

/// The interaction a message event amounts to; `None` for events that are not about a
/// customer's message. A message event without the ids we key on is malformed.
pub fn interaction(event: &Event) -> Result<Option<AccountInteraction>, WebhookError> {
    let malformed = |e: serde_json::Error| WebhookError::Malformed(format!("{} object: {e}", event.kind));
    let message: Message = match event.kind.as_str() {
        event::MESSAGE_NEW if event.object.get("message").is_some() => {
            serde_json::from_value::<MessageNew>(event.object.clone()).map_err(malformed)?.message
        }
        // Before API 5.103 the object of `message_new` was the message itself.
        event::MESSAGE_NEW | event::MESSAGE_REPLY | event::MESSAGE_EDIT => {
            serde_json::from_value(event.object.clone()).map_err(malformed)?
        }
        event::MESSAGE_ALLOW => return permission(event, ConversationEvent::MessagingAllowed).map(Some),
        event::MESSAGE_DENY => return permission(event, ConversationEvent::MessagingDenied).map(Some),
        _ => return Ok(None),
    };
    let group = event.group_id.to_string();
    let direction = match event.kind.as_str() {
        event::MESSAGE_NEW => Direction::Inbound,
        event::MESSAGE_REPLY => Direction::Outbound,
        _ => edited_direction(&message),
    };

    let peer = message
        .peer_id
        .or(message.from_id.filter(|_| direction == Direction::Inbound))
        .ok_or_else(|| WebhookError::Malformed(format!("{} without peer_id", event.kind)))?;
    let is_chat = peer >= CHAT_PEER_OFFSET;
    let customer = match direction {
        Direction::Inbound => message.from_id.unwrap_or(peer),
        Direction::Outbound if is_chat => {
            tracing::debug!(group = %group, peer, "not ingesting an outbound message to a group chat");
            return Ok(None);
        }
        Direction::Outbound => peer,
    };
    let provider_ref = message_ref(&group, peer, message.conversation_message_id, message.id)
        .ok_or_else(|| WebhookError::Malformed(format!("{} without conversation_message_id or id", event.kind)))?;

    let mut parameters = Parameters::default();
    parameters.set(param::EVENT_TYPE, Some(event.kind.clone()));
    parameters.set(param::VK_EVENT_ID, event.event_id.as_ref().map(ToString::to_string));
    parameters.set(param::VK_API_VERSION, event.v.as_ref().map(ToString::to_string));
    parameters.set(param::VK_MESSAGE_ID, message.id.filter(|id| *id != 0).map(|id| id.to_string()));
    parameters.set(param::VK_CONVERSATION_MESSAGE_ID, message.conversation_message_id.map(|id| id.to_string()));
    if event.kind == event::MESSAGE_EDIT {
        parameters.set(param::EDITED_AT, message.update_time.and_then(rfc3339));
    }
    parameters.set(param::BUTTON_PAYLOAD, message.payload.clone());
    if let Some(reply) = &message.reply_message {
        parameters.set(param::REPLY_TO_REF, message_ref(&group, peer, reply.conversation_message_id, reply.id));
    }
    if !message.fwd_messages.is_empty() {
        parameters.set(param::FORWARDED_MESSAGES, Some(message.fwd_messages.len().to_string()));
    }
    parameters.set(param::ADMIN_AUTHOR_ID, message.admin_author_id.map(|id| id.to_string()));
    if let Some(geo) = &message.geo {
        let coordinates = geo.coordinates.as_ref();
        parameters.set(param::GEO_LATITUDE, coordinates.and_then(|c| c.latitude).map(|v| v.to_string()));
        parameters.set(param::GEO_LONGITUDE, coordinates.and_then(|c| c.longitude).map(|v| v.to_string()));
        parameters.set(param::GEO_PLACE, geo.place.as_ref().and_then(|p| p.title.clone()));
    }
    parameters.set(param::REF, message.referral.clone());
    parameters.set(param::REF_SOURCE, message.ref_source.clone());
    if is_chat {
        parameters.set(param::PEER_TYPE, Some("chat"));
    }
    let content = content(&message, &mut parameters);

    let body = InteractionBody {
        channel: Channel::Vk,
        direction,
        occurred_at: message.date.and_then(|s| DateTime::from_timestamp(s, 0)).unwrap_or_else(Utc::now),
        provider_ref,
        conversation_ref: Some(format!("{group}:{peer}")),
        identities: vec![Identity::new(IdentityKind::Vk, customer.to_string(), Some(group.clone()))],
        profile: None,
        content: Some(content),
        call: None,
        parameters: parameters.0,
        reaction: None,
        event: None,
        sanitized: Vec::new(),
    };
    Ok(Some(AccountInteraction { account: group, body }))
}

/// `{group_id}:{peer_id}:{conversation_message_id}`; events of API versions without
/// `conversation_message_id` fall back to the dialog message id, `{group_id}:{peer_id}:m{id}`.
pub fn message_ref(group: &str, peer: i64, conversation_message_id: Option<i64>, id: Option<i64>) -> Option<String> {
    match (conversation_message_id, id.filter(|id| *id != 0)) {
        (Some(cmid), _) => Some(format!("{group}:{peer}:{cmid}")),
        (None, Some(id)) => Some(format!("{group}:{peer}:m{id}")),
        (None, None) => None,
    }
}

/// An edit is outbound when the community wrote the message: `out`, or a community author.
fn edited_direction(message: &Message) -> Direction {
    let ours = match message.out {
        Some(out) => out.is_set(),
        None => message.from_id.is_some_and(|id| id < 0),
    };
    if ours {
        Direction::Outbound
    } else {
        Direction::Inbound
    }
}

fn rfc3339(seconds: i64) -> Option<String> {
    DateTime::from_timestamp(seconds, 0).map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
}

/// Parameters that skip empty values.
#[derive(Default)]
struct Parameters(BTreeMap<String, String>);

impl Parameters {
    fn set(&mut self, key: &str, value: Option<impl Into<String>>) {
        if let Some(value) = value.map(Into::into).filter(|v| !v.is_empty()) {
            self.0.insert(key.to_owned(), value);
        }
    }
}

fn content(message: &Message, parameters: &mut Parameters) -> Content {
    let mut text = message.text.clone().filter(|t| !t.trim().is_empty());
    let mut attachments = Vec::new();
    let mut kinds = Vec::new();
    for item in &message.attachments {
        kinds.push(item.kind.as_str());
        if let Some(voice) = &item.audio_message {
            parameters.set(param::VOICE_TRANSCRIPT, voice.transcript.clone());
            text = text.or_else(|| voice.transcript.clone().filter(|t| !t.trim().is_empty()));
        }
        attachments.push(attachment(item));
    }
    parameters.set(param::ATTACHMENT_TYPES, (!kinds.is_empty()).then(|| kinds.join(",")));
    Content { text, subject: None, attachments }
}

/// A user allowed or forbade the community to message them: an event of their dialog. VK sends
/// no time with it, so it is dated when it arrived; its id is the event's (a retry keeps it).
fn permission(event: &Event, change: ConversationEvent) -> Result<AccountInteraction, WebhookError> {
    let object: MessagingPermission = serde_json::from_value(event.object.clone())
        .map_err(|e| WebhookError::Malformed(format!("{} object: {e}", event.kind)))?;
    let group = event.group_id.to_string();
    let user = object.user_id.to_string();
    if user.is_empty() {
        return Err(WebhookError::Malformed(format!("{} without user_id", event.kind)));
    }
    let occurrence = event.event_id.as_ref().map_or_else(|| "-".to_owned(), ToString::to_string);
    let mut parameters = Parameters::default();
    parameters.set(param::EVENT_TYPE, Some(event.kind.clone()));
    parameters.set(param::VK_EVENT_ID, event.event_id.as_ref().map(ToString::to_string));
    parameters.set(param::VK_API_VERSION, event.v.as_ref().map(ToString::to_string));
    parameters.set(param::ALLOW_KEY, object.key);
    let body = InteractionBody {
        channel: Channel::Vk,
        direction: Direction::Inbound,
        occurred_at: Utc::now(),
        provider_ref: format!("{group}:{}:{user}:{occurrence}", event.kind),
        conversation_ref: Some(format!("{group}:{user}")),
        identities: vec![Identity::new(IdentityKind::Vk, user, Some(group.clone()))],
        profile: None,
        content: None,
        call: None,
        parameters: parameters.0,
        reaction: None,
        event: Some(change),
        sanitized: Vec::new(),
    };
    Ok(AccountInteraction { account: group, body })
}

/// VK's attachment string `<type><owner_id>_<id>` names media that has no title.
fn media_name(kind: &str, owner_id: Option<i64>, id: Option<i64>) -> Option<String> {
    Some(format!("{kind}{}_{}", owner_id?, id?))
}

/// The largest rendition of a photo or sticker.
fn largest(images: &[Image]) -> Option<String> {
    images
        .iter()
        .filter(|i| i.url.is_some())
        .max_by_key(|i| i.width.unwrap_or(0).saturating_mul(i.height.unwrap_or(0)))
        .and_then(|i| i.url.clone())
}

/// A media attachment with the URL VK gives (photos, documents, voice notes, stickers); types VK
/// gives no file for (video, wall post, poll, …) keep only their name.
fn attachment(item: &payload::Attachment) -> Attachment {
    let kind = item.kind.as_str();
    if let Some(photo) = &item.photo {
        return Attachment {
            name: media_name(kind, photo.owner_id, photo.id),
            mime: Some("image/jpeg".into()),
            size: None,
            url: largest(&photo.sizes),
        };
    }
    if let Some(doc) = &item.doc {
        return Attachment {
            name: doc.title.clone().or_else(|| media_name(kind, doc.owner_id, doc.id)),
            mime: doc.ext.as_deref().map(|ext| channel::mime::of_extension(ext).unwrap_or(OPAQUE_BYTES).to_owned()),
            size: doc.size,
            url: doc.url.clone(),
        };
    }
    if let Some(voice) = &item.audio_message {
        let (mime, url) = match (&voice.link_ogg, &voice.link_mp3) {
            (Some(ogg), _) => (Some("audio/ogg"), Some(ogg.clone())),
            (None, Some(mp3)) => (Some("audio/mpeg"), Some(mp3.clone())),
            (None, None) => (None, None),
        };
        return Attachment { name: media_name(kind, voice.owner_id, voice.id), mime: mime.map(str::to_owned), size: None, url };
    }
    if let Some(audio) = &item.audio {
        let title = [audio.artist.as_deref(), audio.title.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" – ");
        return Attachment {
            name: Some(title).filter(|t| !t.is_empty()).or_else(|| media_name(kind, audio.owner_id, audio.id)),
            mime: Some("audio/mpeg".into()),
            size: None,
            url: audio.url.clone(),
        };
    }
    if let Some(sticker) = &item.sticker {
        return Attachment {
            name: sticker.sticker_id.map(|id| format!("sticker{id}")),
            mime: Some("image/png".into()),
            size: None,
            url: largest(&sticker.images),
        };
    }
    if let Some(video) = &item.video {
        return Attachment {
            name: video.title.clone().or_else(|| media_name(kind, video.owner_id, video.id)),
            ..Attachment::default()
        };
    }
    if let Some(link) = &item.link {
        return Attachment {
            name: link.title.clone().or_else(|| link.url.clone()),
            url: link.url.clone(),
            ..Attachment::default()
        };
    }
    Attachment { name: Some(item.kind.clone()).filter(|k| !k.is_empty()), ..Attachment::default() }
}

#[cfg(test)]
mod tests;
