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
