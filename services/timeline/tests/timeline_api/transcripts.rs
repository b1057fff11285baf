//! Conversations grouped into interactions with transcripts, calls through their states,
//! reactions and conversation events.

use axum::http::StatusCode;
use contracts::api::timeline::{ConversationEventEntry, EntryType};
use contracts::{CallStatus, Channel, ConversationEvent, Direction};
use uuid::Uuid;

use crate::support::*;

#[tokio::test]
async fn messages_of_a_conversation_within_the_idle_gap_form_one_interaction_with_a_transcript() {
    let timeline = spawn().await;
    let contact = Uuid::new_v4();
    let m1 = msg(contact, "wamid.1", 0).text("Dobrý den, kde je moje zásilka?");
    let m2 = msg(contact, "wamid.2", 300).outbound().text("Zásilka 4411 je u dopravce.");
    let m3 = msg(contact, "wamid.3", 1200).text("Děkuji").attachment("foto.jpg");
    let after_gap = msg(contact, "wamid.4", 1200 + 31 * 60).text("Ještě jedna otázka");
    let other_conversation = msg(contact, "wamid.5", 600).conversation(Some("conv-2")).text("Jiná konverzace");
    let no_conversation = msg(contact, "web.1", 900).channel(Channel::Webchat).conversation(None).text("Bez konverzace");
    // A delivery status and an edit are later states of messages already stored.
    let status =
        msg(contact, "wamid.2", 400).outbound().param("delivery_status", "read").param("delivery_status_at", &rfc3339(400));
    let edit = msg(contact, "wamid.1", 0).text("Dobrý den, kde je moje zásilka 4411?").param("edited_at", &rfc3339(100));
    timeline.apply(&resolved(&[&m1, &m2, &m3, &after_gap, &other_conversation, &no_conversation])).await;
    timeline.apply(&resolved(&[&m2, &m3, &status, &edit])).await; // redelivery and later states

    let items = timeline.timeline(contact, "", "acme").await;
    assert_eq!(
        texts(&items),
        ["Ještě jedna otázka", "Bez konverzace", "Jiná konverzace", "Dobrý den, kde je moje zásilka 4411?"],
        "one interaction per conversation and idle gap, newest first"
    );
    let conversation = interactions(&items)[3];
    assert_eq!(conversation.interaction_id, m1.id(), "the opening message names the interaction");
    assert_eq!((conversation.message_count, conversation.last_message_at), (3, at(1200)));
    assert_eq!((conversation.details.inbound, conversation.details.outbound), (2, 1));
    assert_eq!(conversation.details.delivery_status.as_deref(), Some("read"));
    assert_eq!(conversation.details.participants[0].value, "420777123456");
    assert_eq!(conversation.attachments[0].attachment.name.as_deref(), Some("foto.jpg"));
    assert_eq!(conversation.attachments[0].message_id, m3.id());
    assert_eq!(conversation.matched_by.as_ref().map(|m| m.kind), Some(contracts::IdentityKind::Whatsapp));

    // Any message id opens its interaction, with the whole transcript.
    let detail = timeline.detail(m2.id(), "acme").await;
    assert_eq!(detail.interaction.interaction_id, m1.id());
    let transcript = &detail.transcript;
    assert_eq!(texts(transcript), ["Dobrý den, kde je moje zásilka 4411?", "Zásilka 4411 je u dopravce.", "Děkuji"]);
    assert_eq!(transcript[1].direction, Direction::Outbound);
    assert_eq!(transcript[1].delivery_status.as_deref(), Some("read"));
    assert_eq!(transcript[1].occurred_at, at(300), "a status does not move the message");
    assert!(transcript[0].edited_at.is_some(), "the edit is marked");
    assert!(transcript[1].edited_at.is_none());
    assert_eq!(transcript[2].attachments[0].mime.as_deref(), Some("image/jpeg"));
    assert_eq!(transcript[0].matched_by.as_ref().map(|m| m.value.as_str()), Some("420777123456"));
}

#[tokio::test]
async fn a_late_message_that_closes_the_idle_gap_joins_both_halves_of_the_conversation() {
    let timeline = spawn_with(timeline::Config { conversation_idle_gap_secs: 1000, ..timeline::Config::default() }).await;
    let contact = Uuid::new_v4();
    let first = msg(contact, "vk.1", 0).channel(Channel::Vk).text("první");
    let last = msg(contact, "vk.3", 1800).channel(Channel::Vk).text("třetí");
    timeline.apply(&resolved(&[&first, &last])).await;
    assert_eq!(texts(&timeline.timeline(contact, "", "acme").await), ["třetí", "první"], "1800 s apart with a 1000 s gap");

    let middle = msg(contact, "vk.2", 900).channel(Channel::Vk).text("druhá");
    timeline.apply(&resolved(&[&middle])).await;
    let items = timeline.timeline(contact, "", "acme").await;
    assert_eq!(items.len(), 1, "{items:#?}");
    assert_eq!(interactions(&items)[0].message_count, 3);
    let detail = timeline.detail(last.id(), "acme").await;
    assert_eq!(detail.interaction.interaction_id, first.id());
    assert_eq!(texts(&detail.transcript), ["první", "druhá", "třetí"]);
}

#[tokio::test]
async fn a_call_is_one_interaction_updated_through_its_states() {
    let timeline = spawn().await;
    let contact = Uuid::new_v4();
    let state = |status: &str, duration: Option<u64>, recording: Option<&str>| {
        msg(contact, "CA42", 0).conversation(Some("CA42")).call(status, duration, recording)
    };
    let ringing = state("ringing", None, None);
    let states = [
        &ringing,
        &state("in-progress", None, None),
        &state("completed", Some(63), None),
        &state("completed", None, Some("https://rec.example/CA42.mp3")),
    ];
    timeline.apply(&resolved(&states)).await;
    timeline.apply(&resolved(&[&ringing])).await; // a late duplicate of the first state

    let items = timeline.timeline(contact, "", "acme").await;
    assert_eq!(items.len(), 1, "{items:#?}");
    let call = interactions(&items)[0];
    assert_eq!((call.channel, call.interaction_id, call.message_count), (Channel::Voip, ringing.id(), 1));
    let details = &call.details;
    assert_eq!((details.call_status, details.duration_s), (Some(CallStatus::Completed), Some(63)));
    assert_eq!(details.recording_url.as_deref(), Some("https://rec.example/CA42.mp3"));
    assert_eq!((details.from.as_deref(), details.to.as_deref()), (Some("+420777123456"), Some("+420222000111")));
    let detail = timeline.detail(ringing.id(), "acme").await;
    assert_eq!(detail.transcript[0].call.as_ref().and_then(|c| c.status), Some(CallStatus::Completed));
}

#[tokio::test]
async fn a_state_without_a_usable_time_never_moves_a_call_back_in_its_lifecycle() {
    let timeline = spawn().await;
    let (contact, other) = (Uuid::new_v4(), Uuid::new_v4());
    let state = |contact: Uuid, call: &str, status: &str, secs: i64, duration: Option<u64>| {
        msg(contact, call, secs).conversation(Some(call)).call(status, duration, None).param("provider_status", status)
    };
    // Twilio's ringing callback without a Timestamp is dated when it arrived, after the call.
    let completed = state(contact, "CA77", "completed", 0, None);
    let late_ringing = state(contact, "CA77", "ringing", 3600, None);
    let ringing_first = state(other, "CA78", "ringing", 3600, None);
    let completed_after = state(other, "CA78", "completed", 0, Some(95));
    timeline.apply(&resolved(&[&completed, &late_ringing])).await;
    timeline.apply(&resolved(&[&ringing_first])).await;
    timeline.apply(&resolved(&[&completed_after])).await;

    for (contact, id) in [(contact, completed.id()), (other, ringing_first.id())] {
        let items = timeline.timeline(contact, "", "acme").await;
        let call = interactions(&items);
        assert_eq!(call.len(), 1);
        assert_eq!(call[0].details.call_status, Some(CallStatus::Completed), "{contact}");
        assert_eq!(call[0].parameters["provider_status"], "completed", "the provider's word agrees with the status");
        assert_eq!(call[0].occurred_at, at(0));
        let detail = timeline.detail(id, "acme").await;
        assert_eq!(detail.transcript[0].call.as_ref().and_then(|c| c.status), Some(CallStatus::Completed));
        assert_eq!(detail.transcript[0].parameters["provider_status"], "completed");
    }
}

#[tokio::test]
async fn a_reaction_belongs_to_the_message_it_reacts_to_latest_wins_and_removal_clears() {
    let timeline = spawn().await;
    let contact = Uuid::new_v4();
    let question = msg(contact, "wamid.q", 0).text("Můžete to prověřit?");
    let answer = msg(contact, "wamid.a", 60).outbound().text("Zásilka dorazí zítra.");
    let like = msg(contact, "wamid.r1", 90).reaction("wamid.a", Some("👍"));
    let love = msg(contact, "wamid.r2", 120).reaction("wamid.a", Some("❤️"));
    timeline.apply(&resolved(&[&question, &answer, &like, &love])).await;
    timeline.apply(&resolved(&[&like])).await; // an older reaction delivered again, late

    let items = timeline.timeline(contact, "", "acme").await;
    assert_eq!(items.len(), 1, "a reaction opens no interaction: {items:#?}");
    let conversation = interactions(&items)[0];
    assert_eq!((conversation.message_count, conversation.details.inbound), (2, 1), "nor is it counted");
    let detail = timeline.detail(question.id(), "acme").await;
    let transcript = &detail.transcript;
    assert_eq!(texts(transcript), ["Můžete to prověřit?", "Zásilka dorazí zítra."], "no transcript entry for a reaction");
    assert!(transcript[0].reactions.is_empty());
    let reactions = &transcript[1].reactions;
    assert_eq!(reactions.len(), 1, "one per reactor: {reactions:?}");
    assert_eq!(reactions[0].emoji, "❤️", "the latest wins");
    assert_eq!((reactions[0].reactor.as_str(), reactions[0].direction), ("whatsapp:420777123456", Direction::Inbound));
    assert_eq!(timeline.get(&format!("/v1/interactions/{}", like.id()), "acme").await.status, StatusCode::NOT_FOUND);

    let removed = msg(contact, "wamid.r3", 150).reaction("wamid.a", None);
    timeline.apply(&resolved(&[&removed, &like])).await;
    let detail = timeline.detail(answer.id(), "acme").await;
    assert!(detail.transcript[1].reactions.is_empty(), "the removal clears it and a late older one does not return");
    assert_eq!(interactions(&timeline.timeline(contact, "", "acme").await)[0].message_count, 2);
}

#[tokio::test]
async fn a_reaction_that_arrives_before_its_message_shows_once_the_message_does() {
    let timeline = spawn().await;
    let contact = Uuid::new_v4();
    let early = msg(contact, "wamid.r9", 30).reaction("wamid.late", Some("🙏"));
    timeline.apply(&resolved(&[&early])).await;
    assert!(timeline.timeline(contact, "", "acme").await.is_empty(), "nothing to show without the message");

    let target = msg(contact, "wamid.late", 0).outbound().text("Objednávka je připravena k vyzvednutí.");
    timeline.apply(&resolved(&[&target])).await;
    let detail = timeline.detail(target.id(), "acme").await;
    assert_eq!(detail.interaction.message_count, 1);
    assert_eq!(detail.transcript[0].reactions[0].emoji, "🙏");
}

#[tokio::test]
async fn a_closed_conversation_is_an_event_of_its_transcript_not_a_message() {
    let timeline = spawn().await;
    let contact = Uuid::new_v4();
    let apple = |m: Msg| m.channel(Channel::Apple).conversation(Some("biz:urn:mbid:A"));
    let question = apple(msg(contact, "apple-1", 0).text("Kdy otevíráte?"));
    let reply = apple(msg(contact, "apple-2", 60).outbound().text("V 9:00."));
    let close = apple(msg(contact, "apple-3", 120).conversation_event(ConversationEvent::Closed));
    timeline.apply(&resolved(&[&question, &reply, &close])).await;
    timeline.apply(&resolved(&[&close])).await;

    let items = timeline.timeline(contact, "", "acme").await;
    assert_eq!(items.len(), 1);
    let conversation = interactions(&items)[0];
    assert_eq!(conversation.message_count, 2, "the close is no message");
    assert_eq!((conversation.details.inbound, conversation.details.outbound), (1, 1));
    assert_eq!(
        conversation.details.conversation_events,
        [ConversationEventEntry { event: ConversationEvent::Closed, occurred_at: at(120) }]
    );
    assert_eq!(conversation.text.as_deref(), Some("Kdy otevíráte?"));
    let detail = timeline.detail(close.id(), "acme").await;
    let entries: Vec<_> = detail.transcript.iter().map(|e| (e.entry_type, e.conversation_event)).collect();
    assert_eq!(
        entries,
        [(EntryType::Message, None), (EntryType::Message, None), (EntryType::ConversationEvent, Some(ConversationEvent::Closed))]
    );
    assert!(detail.transcript[2].text.is_none());
}
