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
mod tests {
    use super::*;
    use contracts::{Attachment, Channel, ConversationEvent, Identity, IdentityKind, InteractionBody};

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_764_000_000 + secs, 0).expect("valid")
    }

    fn event(secs: i64, text: Option<&str>, parameters: &[(&str, &str)]) -> InteractionEvent {
        InteractionEvent::new(
            "acme",
            InteractionBody {
                channel: Channel::Whatsapp,
                direction: Direction::Outbound,
                occurred_at: at(secs),
                provider_ref: "wamid.1".into(),
                conversation_ref: Some("conv".into()),
                identities: vec![Identity::new(IdentityKind::Whatsapp, "420777123456", None)],
                profile: None,
                content: text.map(|t| Content { text: Some(t.into()), ..Content::default() }),
                call: None,
                parameters: parameters.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
                reaction: None,
                event: None,
                sanitized: Vec::new(),
            },
        )
    }

    fn call(secs: i64, status: &str, duration: Option<u64>, recording: Option<&str>) -> InteractionEvent {
        let mut e = event(secs, None, &[("provider_status", status)]);
        e.body.channel = Channel::Voip;
        e.body.call = Some(Call {
            from: Some("+420777123456".into()),
            to: Some("+420222000111".into()),
            duration_s: duration,
            status: Some(CallStatus::parse(status)),
            recording_url: recording.map(str::to_owned),
        });
        e
    }

    #[test]
    fn a_delivery_status_keeps_the_text_and_time_of_the_message() {
        let stored = MessageState::first(&event(0, Some("Dobrý den"), &[]));
        let status = event(30, None, &[("delivery_status", "delivered"), ("delivery_status_at", "2025-11-24T16:00:30Z")]);
        let folded = fold(&stored, &status);
        assert_eq!(folded.event.body.content.and_then(|c| c.text).as_deref(), Some("Dobrý den"));
        assert_eq!(folded.event.body.occurred_at, at(0));
        assert_eq!(folded.event.body.parameters.get("delivery_status").map(String::as_str), Some("delivered"));
        assert_eq!(folded.edited_at, None);
    }

    #[test]
    fn an_older_status_delivered_late_does_not_overwrite_a_newer_one() {
        let read = event(60, None, &[("delivery_status", "read"), ("delivery_status_at", "2025-11-24T16:01:00Z")]);
        let sent = event(10, None, &[("delivery_status", "sent"), ("delivery_status_at", "2025-11-24T16:00:10Z")]);
        let stored = fold(&MessageState::first(&event(0, Some("Dobrý den"), &[])), &read);
        let late = fold(&stored, &sent);
        assert_eq!(late.event.body.parameters.get("delivery_status").map(String::as_str), Some("read"));
        assert_eq!(late, fold(&late, &sent), "folding the same state again changes nothing");
    }

    #[test]
    fn an_edit_replaces_the_text_and_is_marked() {
        let stored = MessageState::first(&event(0, Some("Dobry den"), &[]));
        let edit = event(0, Some("Dobrý den"), &[("edited_at", "2025-11-24T16:05:00Z")]);
        let folded = fold(&stored, &edit);
        assert_eq!(folded.event.body.content.as_ref().and_then(|c| c.text.as_deref()), Some("Dobrý den"));
        assert!(folded.edited_at.is_some());
        let replayed = fold(&folded, &event(0, Some("Dobry den"), &[]));
        assert_eq!(replayed.event.body.content.and_then(|c| c.text).as_deref(), Some("Dobrý den"), "the original replayed late");
    }

    #[test]
    fn call_states_fold_into_one_call_that_never_goes_back_to_ringing() {
        let ringing = MessageState::first(&call(0, "ringing", None, None));
        let completed = fold(&ringing, &call(0, "completed", Some(63), None));
        let recorded = fold(&completed, &call(0, "completed", None, Some("https://rec/1.mp3")));
        let body = recorded.event.body.call.clone().expect("call");
        assert_eq!(
            (body.status, body.duration_s, body.recording_url.as_deref()),
            (Some(CallStatus::Completed), Some(63), Some("https://rec/1.mp3"))
        );
        let replayed = fold(&recorded, &call(0, "ringing", None, None));
        assert_eq!(replayed.event.body.call.and_then(|c| c.status), Some(CallStatus::Completed));
    }

    #[test]
    fn a_states_place_in_the_lifecycle_beats_its_arrival_time() {
        let provider_status = |s: &MessageState| s.event.body.parameters.get("provider_status").cloned();
        let status = |s: &MessageState| s.event.body.call.as_ref().and_then(|c| c.status);
        // A ringing callback without a usable time is dated when it arrived, long after the call.
        let late_ringing = call(3600, "ringing", None, None);
        let completed = call(0, "completed", Some(95), None);
        for (first, second) in [(&late_ringing, &completed), (&completed, &late_ringing)] {
            let folded = fold(&MessageState::first(first), second);
            assert_eq!(status(&folded), Some(CallStatus::Completed));
            assert_eq!(provider_status(&folded).as_deref(), Some("completed"), "params follow the lifecycle too");
            assert_eq!(folded.event.body.call.as_ref().and_then(|c| c.duration_s), Some(95));
            assert_eq!(folded.event.body.occurred_at, at(0));
        }
        let queued = fold(&MessageState::first(&call(10, "in-progress", None, None)), &call(20, "queued", None, None));
        assert_eq!(status(&queued), Some(CallStatus::InProgress), "queued < in progress, whatever the times");
        let unknown = fold(&MessageState::first(&call(0, "ringing", None, None)), &call(50, "voicemail", None, None));
        assert_eq!(status(&unknown), Some(CallStatus::Ringing), "an unknown status never replaces a known one");
    }

    #[test]
    fn a_conversation_event_is_listed_but_not_counted_as_a_message() {
        let resolution = Resolution::default();
        let mut question = event(0, Some("Kdy otevíráte?"), &[]);
        question.body.direction = Direction::Inbound;
        let mut close = event(90, None, &[]);
        close.body.direction = Direction::Inbound;
        close.body.event = Some(ConversationEvent::Closed);
        let messages = [
            Message { message_id: Uuid::from_u128(1), event: question, resolution: resolution.clone() },
            Message { message_id: Uuid::from_u128(2), event: close, resolution: resolution.clone() },
        ];
        let summary = summarize(&messages).expect("entries");
        assert_eq!((summary.message_count, summary.details.message_count, summary.details.inbound), (1, 1, 1));
        assert_eq!(
            summary.details.conversation_events,
            vec![ConversationEventEntry { event: ConversationEvent::Closed, occurred_at: at(90) }]
        );
        assert_eq!(summary.details.ended_at, Some(at(90)), "the conversation ended when it was closed");
        assert_eq!(summary.transcript_text.as_deref(), Some("Kdy otevíráte?"));

        let mut only_close = messages[1].clone();
        only_close.event.body.direction = Direction::Inbound;
        let summary = summarize(&[only_close]).expect("an event alone");
        assert_eq!((summary.message_count, summary.text.as_deref()), (0, None));
    }

    #[test]
    fn a_conversation_summary_has_the_transcript_details_and_attachments() {
        let mut inbound = event(0, Some("Kde je zásilka? jan.novak@example.cz"), &[("message_type", "text")]);
        inbound.body.direction = Direction::Inbound;
        let mut reply = event(60, Some("Zítra."), &[("delivery_status", "read")]);
        reply
            .body
            .content
            .as_mut()
            .expect("content")
            .attachments
            .push(Attachment { name: Some("faktura.pdf".into()), ..Attachment::default() });
        let resolution = Resolution { created_contact: true, ..Resolution::default() };
        let messages = [
            Message { message_id: Uuid::from_u128(1), event: inbound, resolution: resolution.clone() },
            Message { message_id: Uuid::from_u128(2), event: reply, resolution },
        ];
        let summary = summarize(&messages).expect("messages");
        assert_eq!(summary.text.as_deref(), Some("Kde je zásilka? jan.novak@example.cz"));
        assert_eq!(summary.transcript_text.as_deref(), Some("Kde je zásilka? jan.novak@example.cz\nZítra."));
        assert_eq!((summary.details.inbound, summary.details.outbound, summary.message_count), (1, 1, 2));
        assert_eq!(summary.details.delivery_status.as_deref(), Some("read"));
        assert_eq!(summary.attachments[0].message_id, Uuid::from_u128(2));
        assert_eq!(summary.last_message_at, at(60));
        assert_eq!(summary.direction, Direction::Inbound);
        assert_eq!(summary.aliases, "zásilka jan novak example cz zítra");
        assert_eq!(summary.details.participants.len(), 1);
        assert_eq!(summarize(&[]).map(|s| s.message_count), None);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// The states of one call before its end, and one final state: each rank at most once.
        const LIFECYCLE: [&str; 5] = ["queued", "initiated", "ringing", "in-progress", "completed"];

        fn fold_all(states: &[InteractionEvent]) -> MessageState {
            let (first, rest) = states.split_first().expect("at least one state");
            rest.iter().fold(MessageState::first(first), |state, next| fold(&state, next))
        }

        /// Some states of one call, each at an arbitrary provider time (callbacks without a
        /// usable time are dated when they arrive), in an arbitrary arrival order.
        fn call_states() -> impl Strategy<Value = (Vec<InteractionEvent>, Vec<InteractionEvent>)> {
            (proptest::sample::subsequence(LIFECYCLE.to_vec(), 1..=5), proptest::collection::vec(-3600i64..3600, 5))
                .prop_map(|(statuses, times)| {
                    statuses
                        .iter()
                        .zip(times)
                        .map(|(status, secs)| {
                            let done = *status == "completed";
                            call(secs, status, done.then_some(63), done.then_some("https://rec/1.mp3"))
                        })
                        .collect::<Vec<_>>()
                })
                .prop_flat_map(|states| (Just(states.clone()), Just(states).prop_shuffle()))
        }

        /// Delivery statuses of one message at distinct provider times, oldest first, and the same
        /// in an arbitrary arrival order.
        fn delivery_states() -> impl Strategy<Value = (Vec<InteractionEvent>, Vec<InteractionEvent>)> {
            proptest::collection::btree_set(0i64..86_400, 1..6)
                .prop_map(|times| {
                    times
                        .iter()
                        .enumerate()
                        .map(|(n, secs)| {
                            let status_at = at(*secs).to_rfc3339();
                            event(*secs, None, &[("delivery_status", &format!("status-{n}")), ("delivery_status_at", &status_at)])
                        })
                        .collect::<Vec<_>>()
                })
                .prop_flat_map(|states| (Just(states.clone()), Just(states).prop_shuffle()))
        }

        proptest! {
            #[test]
            fn a_calls_states_fold_to_the_same_call_in_any_arrival_order((states, shuffled) in call_states()) {
                let (in_order, any_order) = (fold_all(&states), fold_all(&shuffled));
                prop_assert_eq!(&any_order.event, &in_order.event);
                let latest = states.last().expect("a state");
                let status = |s: &MessageState| s.event.body.call.as_ref().and_then(|c| c.status);
                prop_assert_eq!(status(&any_order), latest.body.call.as_ref().and_then(|c| c.status), "the furthest state wins");
                prop_assert_eq!(any_order.event.body.parameters.get("provider_status"), latest.body.parameters.get("provider_status"));
                let earliest = states.iter().map(|s| s.body.occurred_at).min();
                prop_assert_eq!(Some(any_order.event.body.occurred_at), earliest);
            }

            #[test]
            fn delivery_statuses_fold_to_the_newest_in_any_arrival_order((statuses, shuffled) in delivery_states()) {
                let message = event(0, Some("Dobrý den"), &[]);
                let fold_from = |states: &[InteractionEvent]| {
                    states.iter().fold(MessageState::first(&message), |state, next| fold(&state, next))
                };
                let (in_order, any_order) = (fold_from(&statuses), fold_from(&shuffled));
                prop_assert_eq!(&any_order, &in_order);
                let newest = statuses.last().and_then(|s| s.body.parameters.get("delivery_status"));
                prop_assert_eq!(any_order.event.body.parameters.get("delivery_status"), newest);
                let text = any_order.event.body.content.and_then(|c| c.text);
                prop_assert_eq!(text.as_deref(), Some("Dobrý den"));
            }

            #[test]
            fn folding_a_state_again_changes_nothing((states, _) in call_states(), again in 0usize..5) {
                let folded = fold_all(&states);
                let repeated = &states[again % states.len()];
                prop_assert_eq!(fold(&folded, repeated), folded);
            }
        }
    }
}
