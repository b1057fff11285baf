//! Pure rules of the write path, kept apart from SQL so they are tested directly:
//!
//! - [`fold`]: a later state of a stored message (a delivery status, an edit, the next state of a
//!   call) is folded into it. The newer state wins field by field; an older state delivered late
//!   only fills gaps. A call's states are ordered by its lifecycle
//!   ([`CallStatus::lifecycle_rank`]: queued < initiated < ringing < in progress < final), and
//!   only states of the same rank by provider time — a callback without a usable time, dated when
//!   it arrived, never makes a call go back from `completed` to `ringing`, in its status or in any
//!   other field (`provider_status`). Folding the same event twice changes nothing, which makes
//!   redelivery a no-op.
//! - [`summarize`]: the messages of one timeline interaction (a conversation within the idle gap,
//!   or one call or e-mail) become the interaction's preview, transcript, details, parameters,
//!   attachments and search document. Conversation state changes (a customer closing the chat)
//!   are entries of the transcript but not messages: they are listed in the details and not
//!   counted.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use contracts::api::timeline::{AttachmentRef, ConversationEventEntry, Details};
use contracts::{Call, CallStatus, Content, Direction, InteractionEvent, Resolution};
use uuid::Uuid;

use crate::search::{alias_terms, truncate_chars, MAX_INDEXED_CHARS};

/// Parameter names the channel adapters use for later states of a message.
pub mod param {
    /// Delivery state of an outbound message (`sent`, `delivered`, `read`, `failed`, …).
    pub const DELIVERY_STATUS: &str = "delivery_status";
    /// When the message reached that state (RFC 3339).
    pub const DELIVERY_STATUS_AT: &str = "delivery_status_at";
    /// When the message was last edited (RFC 3339).
    pub const EDITED_AT: &str = "edited_at";
}

fn param_time(event: &InteractionEvent, key: &str) -> Option<DateTime<Utc>> {
    let raw = event.body.parameters.get(key)?;
    DateTime::parse_from_rfc3339(raw).ok().map(|t| t.with_timezone(&Utc))
}

/// The newest provider time an event describes: its edit or delivery-status time when the
/// adapter gave one, else when it occurred.
pub fn as_of(event: &InteractionEvent) -> DateTime<Utc> {
    [param_time(event, param::EDITED_AT), param_time(event, param::DELIVERY_STATUS_AT)]
        .into_iter()
        .flatten()
        .fold(event.body.occurred_at, DateTime::max)
}

/// A stored message state.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageState {
    pub event: InteractionEvent,
    pub as_of: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
}

impl MessageState {
    /// The state of a message seen for the first time.
    pub fn first(event: &InteractionEvent) -> Self {
        Self { event: event.clone(), as_of: as_of(event), edited_at: param_time(event, param::EDITED_AT) }
    }
}

fn call_status(event: &InteractionEvent) -> Option<CallStatus> {
    event.body.call.as_ref().and_then(|call| call.status)
}

/// Whether `incoming` is a later state than `stored`: by the call's lifecycle when both are call
/// states of different ranks, else by provider time.
fn is_newer(stored: &MessageState, incoming: &InteractionEvent, incoming_as_of: DateTime<Utc>) -> bool {
    match (call_status(&stored.event), call_status(incoming)) {
        (Some(old), Some(new)) if old.lifecycle_rank() != new.lifecycle_rank() => new.lifecycle_rank() > old.lifecycle_rank(),
        _ => incoming_as_of >= stored.as_of,
    }
}

/// Folds `incoming` (another state of the same message) into `stored`.
pub fn fold(stored: &MessageState, incoming: &InteractionEvent) -> MessageState {
    let incoming_as_of = as_of(incoming);
    let newer = is_newer(stored, incoming, incoming_as_of);
    let (old, new) = (&stored.event.body, &incoming.body);
    let pick = |n: &Option<String>, o: &Option<String>| if newer { n.clone().or(o.clone()) } else { o.clone().or(n.clone()) };

    let content = match (&old.content, &new.content) {
        (None, None) => None,
        (o, n) => {
            let (o, n) = (o.clone().unwrap_or_default(), n.clone().unwrap_or_default());
            let attachments = match (newer, o.attachments.is_empty(), n.attachments.is_empty()) {
                (_, _, true) => o.attachments,
                (_, true, false) | (true, false, false) => n.attachments,
                (false, false, false) => o.attachments,
            };
            Some(Content { text: pick(&n.text, &o.text), subject: pick(&n.subject, &o.subject), attachments })
        }
    };
    let call = match (&old.call, &new.call) {
        (None, None) => None,
        (o, n) => {
            let (o, n) = (o.clone().unwrap_or_default(), n.clone().unwrap_or_default());
            let status = if newer { n.status.or(o.status) } else { o.status.or(n.status) };
            Some(Call {
                from: pick(&n.from, &o.from),
                to: pick(&n.to, &o.to),
                duration_s: if newer { n.duration_s.or(o.duration_s) } else { o.duration_s.or(n.duration_s) },
                status,
                recording_url: pick(&n.recording_url, &o.recording_url),
            })
        }
    };
    let mut parameters = if newer { old.parameters.clone() } else { new.parameters.clone() };
    parameters.extend(if newer { new.parameters.clone() } else { old.parameters.clone() });
    let mut identities = old.identities.clone();
    for identity in &new.identities {
        if !identities.contains(identity) {
            identities.push(identity.clone());
        }
    }

    let mut event = stored.event.clone();
    event.body.occurred_at = old.occurred_at.min(new.occurred_at);
    event.body.conversation_ref = pick(&new.conversation_ref, &old.conversation_ref);
    event.body.identities = identities;
    event.body.profile =
        if newer { new.profile.clone().or(old.profile.clone()) } else { old.profile.clone().or(new.profile.clone()) };
    event.body.content = content;
    event.body.call = call;
    event.body.parameters = parameters;

    let text_of = |e: &InteractionEvent| e.body.content.as_ref().and_then(|c| c.text.clone());
    let edited = text_of(&stored.event).is_some() && text_of(incoming).is_some() && text_of(&stored.event) != text_of(incoming);
    let edited_at = [stored.edited_at, param_time(incoming, param::EDITED_AT), edited.then(|| stored.as_of.max(incoming_as_of))]
        .into_iter()
        .flatten()
        .max();
    // An older state (by the lifecycle, even with a later arrival time) does not move the time
    // the stored state is as of.
    let as_of = if newer { stored.as_of.max(incoming_as_of) } else { stored.as_of };
    MessageState { event, as_of, edited_at }
}

/// One message of a timeline interaction, as stored.
#[derive(Debug, Clone)]
pub struct Message {
    pub message_id: Uuid,
    pub event: InteractionEvent,
    pub resolution: Resolution,
}

/// The keys of [`Details`] that hold personal data (removed on erasure).
pub const PERSONAL_DETAILS: [&str; 5] = ["subject", "participants", "from", "to", "recording_url"];

/// A timeline interaction computed from its messages.
#[derive(Debug, Clone)]
pub struct Summary {
    pub occurred_at: DateTime<Utc>,
    pub last_message_at: DateTime<Utc>,
    pub message_count: u32,
    pub direction: Direction,
    pub provider_ref: String,
    pub conversation_ref: Option<String>,
    /// The first subject (the thread's), shown in the list.
    pub subject: Option<String>,
    /// The first text: the preview of the interaction.
    pub text: Option<String>,
    /// Every text in order, one per line: the document snippets are cut from.
    pub transcript_text: Option<String>,
    /// The transcript as indexed (cut at [`MAX_INDEXED_CHARS`]).
    pub indexed_text: String,
    /// Every distinct subject: the highest-weighted part of the search document.
    pub subjects: String,
    /// Extra index terms ([`crate::search::alias_terms`]) of subjects and texts.
    pub aliases: String,
    pub details: Details,
    pub parameters: BTreeMap<String, String>,
    pub attachments: Vec<AttachmentRef>,
    /// The opening message's event and the resolver's decision for it.
    pub event: InteractionEvent,
    pub resolution: Resolution,
}

/// Summarizes the messages of one interaction, given in chronological order; `None` when empty.
pub fn summarize(messages: &[Message]) -> Option<Summary> {
    let (first, last) = (messages.first()?, messages.last()?);
    let is_message = |m: &&Message| m.event.body.event.is_none();
    // The interaction's direction and opening are its first real message's, when it has one.
    let opening = messages.iter().find(is_message).unwrap_or(first);
    let message_count = u32::try_from(messages.iter().filter(is_message).count()).unwrap_or(u32::MAX);
    let content = |m: &Message| m.event.body.content.clone().unwrap_or_default();
    let texts: Vec<String> = messages.iter().filter_map(|m| content(m).text).filter(|t| !t.trim().is_empty()).collect();
    let mut subjects: Vec<String> = Vec::new();
    for subject in messages.iter().filter_map(|m| content(m).subject) {
        if !subjects.contains(&subject) {
            subjects.push(subject);
        }
    }
    let mut details = Details {
        subject: subjects.first().cloned(),
        started_at: Some(first.event.body.occurred_at),
        ended_at: Some(last.event.body.occurred_at),
        message_count,
        ..Details::default()
    };
    let mut parameters = BTreeMap::new();
    let mut attachments = Vec::new();
    for message in messages {
        let body = &message.event.body;
        if let Some(event) = body.event {
            details.conversation_events.push(ConversationEventEntry { event, occurred_at: body.occurred_at });
        } else {
            match body.direction {
                Direction::Inbound => details.inbound += 1,
                Direction::Outbound => details.outbound += 1,
            }
        }
        for identity in &body.identities {
            if !details.participants.contains(identity) {
                details.participants.push(identity.clone());
            }
        }
        if let Some(call) = &body.call {
            details.call_status = call.status.or(details.call_status);
            details.duration_s = call.duration_s.or(details.duration_s);
            details.from = call.from.clone().or(details.from.take());
            details.to = call.to.clone().or(details.to.take());
            details.recording_url = call.recording_url.clone().or(details.recording_url.take());
        }
        if body.direction == Direction::Outbound {
            if let Some(status) = body.parameters.get(param::DELIVERY_STATUS) {
                details.delivery_status = Some(status.clone());
            }
        }
        parameters.extend(body.parameters.clone());
        attachments.extend(
            content(message)
                .attachments
                .into_iter()
                .map(|attachment| AttachmentRef { message_id: message.message_id, attachment }),
        );
    }
    let transcript_text = (!texts.is_empty()).then(|| texts.join("\n"));
    let indexed_text = truncate_chars(transcript_text.as_deref().unwrap_or(""), MAX_INDEXED_CHARS).to_owned();
    let subjects = truncate_chars(&subjects.join("\n"), MAX_INDEXED_CHARS / 10).to_owned();
    let aliases = alias_terms(&format!("{subjects} {indexed_text}"));
    Some(Summary {
        occurred_at: first.event.body.occurred_at,
        last_message_at: last.event.body.occurred_at,
        message_count,
        direction: opening.event.body.direction,
        provider_ref: first.event.body.provider_ref.clone(),
        conversation_ref: messages.iter().find_map(|m| m.event.body.conversation_ref.clone()),
        subject: details.subject.clone(),
        text: texts.first().cloned(),
        transcript_text,
        indexed_text,
        subjects,
        aliases,
        details,
        parameters,
        attachments,
        event: opening.event.clone(),
        resolution: opening.resolution.clone(),
    })
}

#[cfg(test)]
mod tests;
