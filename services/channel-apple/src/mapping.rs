//! Apple Messages for Business messages → normalized interactions. Every message Apple delivers
//! to the MSP comes from the customer, so every interaction is inbound. Text (with attachment
//! metadata), interactive answers (list picker, time picker, quick reply, authentication, Apple
//! Pay, forms) and the customer closing the conversation are interactions; typing indicators and
//! unknown types are not.
//!
//! The customer's opaque id is only unique for one business, so the identity is
//! `apple = source-id` scoped to the business id, and the conversation is
//! `{business id}:{opaque id}`. Apple sends no timestamp: the interaction happened when we
//! received it.
//!
//! Parameters: `locale`, `group` and `intent` (entry point), `capabilities` (the device's
//! `capability-list`), `device_agent`; for interactive answers `interactive_type`
//! (`list_picker`, `time_picker`, `quick_reply`, `authentication`, `apple_pay`, `form`, `custom`,
//! `large_payload`), `request_identifier`, `selected_identifiers` (comma-separated),
//! `time_slot_start`, `time_slot_duration_s`, `timezone_offset_min`, `interactive_data_ref_url`;
//! for a close `conversation_status = closed`.
//!
//! Authentication tokens, Apple Pay payment data and form answers are not copied: they are secrets
//! or personal data the timeline has no use for; only the kind of answer and its bubble text are.

use std::collections::BTreeMap;

use channel::AccountInteraction;
use chrono::{DateTime, Utc};
use contracts::{Attachment, Channel, Content, ConversationEvent, Direction, Identity, IdentityKind, InteractionBody};

use crate::payload::{Bubble, Envelope, InteractiveData, InteractiveDataRef, Message};

/// U+FFFC OBJECT REPLACEMENT CHARACTER: where an attachment sits in the text.
const ATTACHMENT_PLACEHOLDER: char = '\u{FFFC}';

/// What a message amounts to: an interaction, or nothing worth storing (and why).
#[derive(Debug, PartialEq)]
pub enum Mapped {
    Interaction(Box<AccountInteraction>),
    Skipped(&'static str),
}

/// Normalizes one message received at `received_at`.
pub fn interaction(envelope: &Envelope, message: Message, received_at: DateTime<Utc>) -> Mapped {
    let mut parameters = BTreeMap::new();
    let content = match message.kind.as_str() {
        "text" => Some(Content {
            text: clean_text(message.body.as_deref()),
            subject: None,
            attachments: message.attachments.into_iter().map(attachment).collect(),
        }),
        "interactive" => {
            let text = interactive(message.interactive_data, message.interactive_data_ref, &mut parameters);
            Some(Content { text, subject: None, attachments: message.attachments.into_iter().map(attachment).collect() })
        }
        // The customer closed (deleted) the conversation: a state change, not a message.
        "close" => {
            parameters.insert("conversation_status".to_owned(), "closed".to_owned());
            None
        }
        "typing_start" | "typing_end" => return Mapped::Skipped("typing indicator"),
        _ => return Mapped::Skipped("message type we do not store"),
    };
    let optional = [
        ("locale", message.locale),
        ("group", message.group),
        ("intent", message.intent),
        ("capabilities", envelope.capabilities.clone()),
        ("device_agent", envelope.device_agent.clone()),
    ];
    for (key, value) in optional {
        if let Some(value) = value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) {
            parameters.insert(key.to_owned(), value);
        }
    }
    let event = (message.kind == "close").then_some(ConversationEvent::Closed);
    let business = &envelope.destination_id;
    let customer = &envelope.source_id;
    let body = InteractionBody {
        channel: Channel::Apple,
        direction: Direction::Inbound,
        occurred_at: received_at,
        provider_ref: envelope.id.clone(),
        conversation_ref: Some(format!("{business}:{customer}")),
        identities: vec![Identity::new(IdentityKind::Apple, customer.clone(), Some(business.clone()))],
        profile: None,
        content,
        call: None,
        parameters,
        reaction: None,
        event,
        sanitized: Vec::new(),
    };
    Mapped::Interaction(Box::new(AccountInteraction { account: business.clone(), body }))
}

fn clean_text(body: Option<&str>) -> Option<String> {
    let text: String = body?.chars().filter(|c| *c != ATTACHMENT_PLACEHOLDER).collect();
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

fn attachment(a: crate::payload::Attachment) -> Attachment {
    Attachment { name: a.name, mime: a.mime_type, size: a.size.as_ref().and_then(|s| s.as_u64()), url: a.url }
}

/// A text summary of an interactive answer; its details go to `parameters`.
fn interactive(
    data: Option<InteractiveData>,
    data_ref: Option<InteractiveDataRef>,
    parameters: &mut BTreeMap<String, String>,
) -> Option<String> {
    let Some(data) = data else {
        // Larger than 10 KB: Apple stores the encrypted answer and sends a reference we do not
        // download here (the adapter stays stateless); keep what identifies it.
        parameters.insert("interactive_type".to_owned(), "large_payload".to_owned());
        let data_ref = data_ref?;
        if let Some(url) = data_ref.url {
            parameters.insert("interactive_data_ref_url".to_owned(), url);
        }
        return data_ref.title.filter(|t| !t.trim().is_empty());
    };
    let fallback = data
        .reply_message
        .as_ref()
        .or(data.data.as_ref().and_then(|d| d.reply_message.as_ref()))
        .or(data.received_message.as_ref())
        .and_then(bubble_text);
    let Some(body) = data.data else {
        parameters.insert("interactive_type".to_owned(), "custom".to_owned());
        return fallback;
    };
    if let Some(request) = body.request_identifier.filter(|r| !r.is_empty()) {
        parameters.insert("request_identifier".to_owned(), request);
    }
    let (kind, text) = if let Some(picker) = body.list_picker {
        let items: Vec<_> = picker.sections.into_iter().flat_map(|s| s.items).collect();
        select(parameters, items.iter().filter_map(|i| i.identifier.clone()).collect());
        let titles: Vec<_> = items.into_iter().filter_map(|i| i.title).filter(|t| !t.trim().is_empty()).collect();
        ("list_picker", (!titles.is_empty()).then(|| titles.join(", ")))
    } else if let Some(event) = body.event.or(body.time_picker.and_then(|t| t.event)) {
        if let Some(offset) = event.timezone_offset {
            parameters.insert("timezone_offset_min".to_owned(), offset.to_text());
        }
        let slot = event.timeslots.into_iter().next();
        let start = slot.as_ref().and_then(|s| s.start_time.clone());
        if let Some(slot) = slot {
            select(parameters, slot.identifier.into_iter().collect());
            if let Some(start) = slot.start_time {
                parameters.insert("time_slot_start".to_owned(), start);
            }
            if let Some(duration) = slot.duration {
                parameters.insert("time_slot_duration_s".to_owned(), duration.to_text());
            }
        }
        ("time_picker", fallback.clone().or(start))
    } else if let Some(quick) = body.quick_reply {
        let chosen = match (&quick.selected_identifier, quick.selected_index) {
            (Some(id), _) => quick.items.iter().find(|i| i.identifier.as_ref() == Some(id)),
            (None, Some(index)) => quick.items.get(index),
            (None, None) => None,
        };
        let identifier = quick.selected_identifier.clone().or_else(|| chosen.and_then(|i| i.identifier.clone()));
        select(parameters, identifier.into_iter().collect());
        ("quick_reply", chosen.and_then(|i| i.title.clone()))
    } else if body.authenticate.is_some() {
        ("authentication", None)
    } else if body.payment.is_some() {
        ("apple_pay", None)
    } else if body.dynamic.is_some() {
        ("form", None)
    } else {
        ("custom", None)
    };
    parameters.insert("interactive_type".to_owned(), kind.to_owned());
    text.or(fallback)
}

fn select(parameters: &mut BTreeMap<String, String>, identifiers: Vec<String>) {
    if !identifiers.is_empty() {
        parameters.insert("selected_identifiers".to_owned(), identifiers.join(","));
    }
}

fn bubble_text(bubble: &Bubble) -> Option<String> {
    let parts: Vec<&str> = [bubble.title.as_deref(), bubble.subtitle.as_deref()]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    (!parts.is_empty()).then(|| parts.join(" – "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope() -> Envelope {
        Envelope {
            id: "6f3a9c1e-0b7d-4c52-9e84-2a1d5b7c8e90".into(),
            source_id: "urn:mbid:AQAAY4x".into(),
            destination_id: "b7a4e1c2".into(),
            capabilities: Some("LIST,TIME,QUICK,AUTH".into()),
            device_agent: Some("iPhone OS".into()),
        }
    }

    fn map(json: &str) -> Mapped {
        interaction(&envelope(), serde_json::from_str(json).expect("valid message"), DateTime::UNIX_EPOCH)
    }

    fn body(json: &str) -> InteractionBody {
        match map(json) {
            Mapped::Interaction(i) => i.body,
            Mapped::Skipped(why) => panic!("skipped: {why}"),
        }
    }

    fn text(body: &InteractionBody) -> Option<&str> {
        body.content.as_ref().and_then(|c| c.text.as_deref())
    }

    #[test]
    fn a_text_is_an_inbound_interaction_of_the_business_scoped_apple_identity() {
        let got = match map(r#"{"type":"text","body":"Dobrý den, kdy otevíráte?","locale":"cs_CZ","v":1}"#) {
            Mapped::Interaction(i) => i,
            Mapped::Skipped(why) => panic!("skipped: {why}"),
        };
        assert_eq!(got.account, "b7a4e1c2");
        let body = &got.body;
        assert_eq!(body.channel, Channel::Apple);
        assert_eq!(body.direction, Direction::Inbound);
        assert_eq!(body.identities, vec![Identity::new(IdentityKind::Apple, "urn:mbid:AQAAY4x", Some("b7a4e1c2".into()))]);
        assert_eq!(body.conversation_ref.as_deref(), Some("b7a4e1c2:urn:mbid:AQAAY4x"));
        assert_eq!(body.provider_ref, "6f3a9c1e-0b7d-4c52-9e84-2a1d5b7c8e90");
        assert_eq!(text(body), Some("Dobrý den, kdy otevíráte?"));
        assert_eq!(body.parameters.get("locale").map(String::as_str), Some("cs_CZ"));
        assert_eq!(body.parameters.get("capabilities").map(String::as_str), Some("LIST,TIME,QUICK,AUTH"));
        assert_eq!(body.parameters.get("device_agent").map(String::as_str), Some("iPhone OS"));
    }

    #[test]
    fn attachments_keep_metadata_and_placeholders_leave_the_text() {
        let body = body(
            r#"{"type":"text","body":"Posílám fotku \ufffc","attachments":[{"name":"IMG_0042.jpeg","mimeType":"image/jpeg",
                "size":"284113","url":"https://p56-content.icloud.com/M1","owner":"o","key":"00aabb","signature":"ff"}]}"#,
        );
        assert_eq!(text(&body), Some("Posílám fotku"));
        let attachment = &body.content.as_ref().expect("content").attachments[0];
        assert_eq!(
            attachment,
            &Attachment {
                name: Some("IMG_0042.jpeg".into()),
                mime: Some("image/jpeg".into()),
                size: Some(284_113),
                url: Some("https://p56-content.icloud.com/M1".into())
            }
        );
        let only_placeholder = self::body(r#"{"type":"text","body":"\ufffc","attachments":[{"name":"a.pdf","size":12}]}"#);
        assert_eq!(text(&only_placeholder), None);
        assert_eq!(only_placeholder.content.expect("content").attachments[0].size, Some(12));
    }

    #[test]
    fn a_list_picker_answer_is_summarized_by_the_selected_items() {
        let body = body(
            r#"{"type":"interactive","interactiveData":{"bid":"com.apple.messages.MSMessageExtensionBalloonPlugin:0000000000:com.apple.icloud.apps.messages.business.extension",
                "data":{"requestIdentifier":"req-1","version":"1.0","listPicker":{"sections":[{"title":"Pobočky","items":[
                  {"identifier":"praha-1","title":"Praha – Na Příkopě"},{"identifier":"brno","title":"Brno – Náměstí Svobody"}]}]}},
                "receivedMessage":{"title":"Vyberte pobočku"},"replyMessage":{"title":"Vybráno"}}}"#,
        );
        assert_eq!(text(&body), Some("Praha – Na Příkopě, Brno – Náměstí Svobody"));
        assert_eq!(body.parameters.get("interactive_type").map(String::as_str), Some("list_picker"));
        assert_eq!(body.parameters.get("selected_identifiers").map(String::as_str), Some("praha-1,brno"));
        assert_eq!(body.parameters.get("request_identifier").map(String::as_str), Some("req-1"));
    }

    #[test]
    fn a_time_picker_answer_keeps_the_slot() {
        let body = body(
            r#"{"type":"interactive","interactiveData":{"data":{"event":{"title":"Servis","timezoneOffset":60,
                "timeslots":[{"identifier":"slot-3","startTime":"2025-11-27T08:00+0000","duration":3600}]}},
                "replyMessage":{"title":"Čtvrtek 27. 11. 9:00","subtitle":"Servis"}}}"#,
        );
        assert_eq!(text(&body), Some("Čtvrtek 27. 11. 9:00 – Servis"));
        assert_eq!(body.parameters.get("interactive_type").map(String::as_str), Some("time_picker"));
        assert_eq!(body.parameters.get("time_slot_start").map(String::as_str), Some("2025-11-27T08:00+0000"));
        assert_eq!(body.parameters.get("time_slot_duration_s").map(String::as_str), Some("3600"));
        assert_eq!(body.parameters.get("timezone_offset_min").map(String::as_str), Some("60"));
        assert_eq!(body.parameters.get("selected_identifiers").map(String::as_str), Some("slot-3"));
    }

    #[test]
    fn a_quick_reply_answer_is_the_chosen_item_by_index_or_identifier() {
        let by_index = body(
            r#"{"type":"interactive","interactiveData":{"data":{"quick-reply":{"summaryText":"Jak to dopadlo?",
                "items":[{"identifier":"ano","title":"Ano, vyřešeno"},{"identifier":"ne","title":"Ne"}],"selectedIndex":0}}}}"#,
        );
        assert_eq!(text(&by_index), Some("Ano, vyřešeno"));
        assert_eq!(by_index.parameters.get("selected_identifiers").map(String::as_str), Some("ano"));
        let by_identifier = body(
            r#"{"type":"interactive","interactiveData":{"data":{"quick-reply":{
                "items":[{"identifier":"ano","title":"Ano"},{"identifier":"ne","title":"Ne"}],"selectedIdentifier":"ne"}}}}"#,
        );
        assert_eq!(text(&by_identifier), Some("Ne"));
        assert_eq!(by_identifier.parameters.get("interactive_type").map(String::as_str), Some("quick_reply"));
    }

    #[test]
    fn other_and_large_interactive_answers_fall_back_to_the_bubble_or_the_reference() {
        let auth = body(
            r#"{"type":"interactive","interactiveData":{"data":{"authenticate":{"token":"x"}},"replyMessage":{"title":"Přihlášeno"}}}"#,
        );
        assert_eq!(auth.parameters.get("interactive_type").map(String::as_str), Some("authentication"));
        assert_eq!(text(&auth), Some("Přihlášeno"));
        let large = body(
            r#"{"type":"interactive","interactiveDataRef":{"title":"Objednávka","url":"https://p1.icloud.com/R","size":"20480","key":"00ff"}}"#,
        );
        assert_eq!(large.parameters.get("interactive_type").map(String::as_str), Some("large_payload"));
        assert_eq!(large.parameters.get("interactive_data_ref_url").map(String::as_str), Some("https://p1.icloud.com/R"));
        assert_eq!(text(&large), Some("Objednávka"));
    }

    #[test]
    fn a_close_marks_the_conversation_closed_and_typing_is_not_stored() {
        let close = body(r#"{"type":"close","locale":"cs_CZ"}"#);
        assert_eq!(close.parameters.get("conversation_status").map(String::as_str), Some("closed"));
        assert_eq!(close.event, Some(ConversationEvent::Closed), "a conversation event, not a message");
        assert_eq!(close.content, None);
        for kind in ["typing_start", "typing_end", "richLink"] {
            assert!(matches!(map(&format!(r#"{{"type":"{kind}"}}"#)), Mapped::Skipped(_)), "{kind}");
        }
    }
}
