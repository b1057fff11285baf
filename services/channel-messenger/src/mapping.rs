//! Messenger events → normalized interactions. A message, an echo (the page's own outbound
//! message) and a postback (button tap) are interactions; a reaction is published as a
//! [`Reaction`] on the message it names; deliveries, reads and typing are not stored.
//!
//! - Attachments: the MIME type of the file the URL names (`…/4411_n.jpg` → `image/jpeg`), else
//!   the media range of the kind (`image/*`), else none; Messenger's own `type`s are kept in
//!   `parameters.attachment_types`.
//! - Echoes keep the sending `app_id` and the Send API `metadata` in `parameters`.

use std::collections::BTreeMap;

use channel::AccountInteraction;
use chrono::{DateTime, Utc};
use contracts::{Attachment, Channel, Content, Direction, Identity, IdentityKind, InteractionBody, Reaction};

use crate::payload::{Messaging, Notification};

/// Normalizes every messaging event of a notification.
pub fn interactions(notification: Notification) -> Vec<AccountInteraction> {
    let mut out = Vec::new();
    for entry in notification.entry {
        let entry_time = entry.time;
        for event in entry.messaging.into_iter().chain(entry.standby) {
            if let Some(interaction) = interaction(&entry.id, entry_time, event) {
                out.push(interaction);
            }
        }
    }
    out
}

fn interaction(page_id: &str, entry_time: Option<i64>, event: Messaging) -> Option<AccountInteraction> {
    let occurred_at = event.timestamp.or(entry_time).and_then(DateTime::from_timestamp_millis).unwrap_or_else(Utc::now);
    let mut parameters = BTreeMap::new();
    let mut reaction = None;
    let (direction, psid, provider_ref, content) = if let Some(message) = event.message {
        let (direction, psid) =
            if message.is_echo { (Direction::Outbound, event.recipient.id) } else { (Direction::Inbound, event.sender.id) };
        if let Some(quick_reply) = message.quick_reply {
            parameters.insert("quick_reply_payload".to_owned(), quick_reply.payload);
        }
        if let Some(reply_to) = message.reply_to {
            parameters.insert("reply_to_mid".to_owned(), reply_to.mid);
        }
        if let Some(app_id) = message.app_id.map(|id| id.to_text()).filter(|id| !id.is_empty()) {
            parameters.insert("app_id".to_owned(), app_id);
        }
        if let Some(metadata) = message.metadata.filter(|m| !m.is_empty()) {
            parameters.insert("metadata".to_owned(), metadata);
        }
        let kinds: Vec<&str> = message.attachments.iter().map(|a| a.kind.as_str()).filter(|k| !k.is_empty()).collect();
        if !kinds.is_empty() {
            parameters.insert("attachment_types".to_owned(), kinds.join(","));
        }
        let stickers: Vec<String> =
            message.attachments.iter().filter_map(|a| a.payload.as_ref()?.sticker_id.as_ref()).map(|id| id.to_text()).collect();
        if !stickers.is_empty() {
            parameters.insert("sticker_id".to_owned(), stickers.join(","));
        }
        let attachments = message.attachments.into_iter().map(attachment).collect();
        (direction, psid, message.mid, Content { text: message.text, subject: None, attachments })
    } else if let Some(postback) = event.postback {
        let psid = event.sender.id;
        let provider_ref = postback.mid.unwrap_or_else(|| format!("postback:{psid}:{}", occurred_at.timestamp_millis()));
        if let Some(payload) = postback.payload {
            parameters.insert("postback_payload".to_owned(), payload);
        }
        (Direction::Inbound, psid, provider_ref, Content { text: postback.title, ..Content::default() })
    } else if let Some(event_reaction) = event.reaction {
        let target = event_reaction.mid.filter(|mid| !mid.trim().is_empty())?;
        let psid = event.sender.id;
        let removed = event_reaction.action.as_deref().is_some_and(|a| a.eq_ignore_ascii_case("unreact"));
        let emoji = event_reaction.emoji.filter(|e| !e.trim().is_empty() && !removed);
        if let Some(kind) = event_reaction.reaction {
            parameters.insert("reaction_type".to_owned(), kind);
        }
        if let Some(action) = event_reaction.action {
            parameters.insert("reaction_action".to_owned(), action);
        }
        // Messenger gives a reaction no id of its own: the reactor, the message and the time name it.
        let provider_ref = format!("reaction:{psid}:{target}:{}", occurred_at.timestamp_millis());
        reaction = Some(Reaction { target_provider_ref: target, emoji });
        (Direction::Inbound, psid, provider_ref, Content::default())
    } else {
        return None;
    };
    let body = InteractionBody {
        channel: Channel::Messenger,
        direction,
        occurred_at,
        provider_ref,
        conversation_ref: Some(format!("{page_id}:{psid}")),
        identities: vec![Identity::new(IdentityKind::Psid, psid, Some(page_id.to_owned()))],
        profile: None,
        content: reaction.is_none().then_some(content),
        call: None,
        parameters,
        reaction,
        event: None,
        sanitized: Vec::new(),
    };
    Some(AccountInteraction { account: page_id.to_owned(), body })
}

/// An attachment with the best MIME type the payload allows (see the module docs).
fn attachment(a: crate::payload::Attachment) -> Attachment {
    let url = a.payload.as_ref().and_then(|p| p.url.clone());
    let mime = url.as_deref().and_then(channel::mime::of_url).or_else(|| channel::mime::range_of_kind(&a.kind));
    Attachment {
        name: a.title.or_else(|| a.payload.as_ref().and_then(|p| p.title.clone())),
        mime: mime.map(str::to_owned),
        size: None,
        url,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Vec<AccountInteraction> {
        interactions(serde_json::from_str(json).expect("valid notification"))
    }

    #[test]
    fn an_inbound_text_message_is_one_interaction_from_the_sender_psid() {
        let got = parse(
            r#"{"object":"page","entry":[{"id":"PAGE1","time":1700000000000,"messaging":[
                {"sender":{"id":"PSID1"},"recipient":{"id":"PAGE1"},"timestamp":1700000000123,
                 "message":{"mid":"m_1","text":"Dobrý den"}}]}]}"#,
        );
        assert_eq!(got.len(), 1);
        let body = &got[0].body;
        assert_eq!(got[0].account, "PAGE1");
        assert_eq!(body.direction, Direction::Inbound);
        assert_eq!(body.identities, vec![Identity::new(IdentityKind::Psid, "PSID1", Some("PAGE1".into()))]);
        assert_eq!(body.provider_ref, "m_1");
        assert_eq!(body.content.as_ref().and_then(|c| c.text.as_deref()), Some("Dobrý den"));
        assert_eq!(body.occurred_at.timestamp_millis(), 1_700_000_000_123);
    }

    #[test]
    fn an_echo_is_outbound_to_the_recipient_psid() {
        let got = parse(
            r#"{"object":"page","entry":[{"id":"PAGE1","time":1,"messaging":[
                {"sender":{"id":"PAGE1"},"recipient":{"id":"PSID1"},"timestamp":2,
                 "message":{"mid":"m_2","is_echo":true,"app_id":1,"text":"Reply"}}]}]}"#,
        );
        assert_eq!(got[0].body.direction, Direction::Outbound);
        assert_eq!(got[0].body.identities[0].value, "PSID1");
        assert_eq!(got[0].body.parameters.get("app_id").map(String::as_str), Some("1"));
    }

    #[test]
    fn attachment_types_come_from_the_file_or_the_kind_and_the_kind_is_kept() {
        let got = parse(
            r#"{"object":"page","entry":[{"id":"P","time":1,"messaging":[
                {"sender":{"id":"U"},"recipient":{"id":"P"},"timestamp":3,"message":{"mid":"m_5","attachments":[
                  {"type":"image","payload":{"url":"https://cdn.example/x"}},
                  {"type":"file","payload":{"url":"https://cdn.example/faktura.pdf?dl=1"}},
                  {"type":"file","payload":{"url":"https://cdn.example/download"}},
                  {"type":"image","payload":{"url":"https://cdn.example/s.png","sticker_id":369239263222822}},
                  {"type":"fallback","title":"Odkaz","payload":null}]}}]}]}"#,
        );
        let body = &got[0].body;
        let mimes: Vec<Option<&str>> =
            body.content.as_ref().expect("content").attachments.iter().map(|a| a.mime.as_deref()).collect();
        assert_eq!(mimes, [Some("image/*"), Some("application/pdf"), None, Some("image/png"), None]);
        assert_eq!(body.parameters.get("attachment_types").map(String::as_str), Some("image,file,file,image,fallback"));
        assert_eq!(body.parameters.get("sticker_id").map(String::as_str), Some("369239263222822"));
    }

    #[test]
    fn a_reaction_and_its_removal_are_reactions_on_the_message_they_name() {
        let got = parse(
            r#"{"object":"page","entry":[{"id":"P","time":1,"messaging":[
                {"sender":{"id":"U"},"recipient":{"id":"P"},"timestamp":7,
                 "reaction":{"reaction":"love","emoji":"❤️","action":"react","mid":"m_9"}},
                {"sender":{"id":"U"},"recipient":{"id":"P"},"timestamp":8,"reaction":{"action":"unreact","mid":"m_9"}},
                {"sender":{"id":"U"},"recipient":{"id":"P"},"timestamp":9,"reaction":{"action":"react","emoji":"x"}}]}]}"#,
        );
        assert_eq!(got.len(), 2, "a reaction naming no message is dropped");
        assert_eq!(got[0].body.reaction, Some(Reaction { target_provider_ref: "m_9".into(), emoji: Some("❤️".into()) }));
        assert_eq!(got[0].body.content, None);
        assert_eq!(got[0].body.parameters.get("reaction_type").map(String::as_str), Some("love"));
        assert_eq!(got[1].body.reaction, Some(Reaction { target_provider_ref: "m_9".into(), emoji: None }));
        assert_ne!(got[0].body.provider_ref, got[1].body.provider_ref);
    }

    #[test]
    fn attachments_and_postbacks_are_kept() {
        let got = parse(
            r#"{"object":"page","entry":[{"id":"P","time":1,"messaging":[
                {"sender":{"id":"U"},"recipient":{"id":"P"},"timestamp":3,
                 "message":{"mid":"m_3","attachments":[{"type":"image","payload":{"url":"https://cdn.example/x.jpg"}}]}},
                {"sender":{"id":"U"},"recipient":{"id":"P"},"timestamp":4,
                 "postback":{"title":"Talk to agent","payload":"AGENT","mid":"m_4"}}]}]}"#,
        );
        assert_eq!(got.len(), 2);
        let attachment = &got[0].body.content.as_ref().expect("content").attachments[0];
        assert_eq!(attachment.mime.as_deref(), Some("image/jpeg"));
        assert_eq!(attachment.url.as_deref(), Some("https://cdn.example/x.jpg"));
        assert_eq!(got[1].body.parameters.get("postback_payload").map(String::as_str), Some("AGENT"));
        assert_eq!(got[1].body.content.as_ref().and_then(|c| c.text.as_deref()), Some("Talk to agent"));
    }

    #[test]
    fn deliveries_and_reads_are_not_interactions() {
        let got = parse(
            r#"{"object":"page","entry":[{"id":"P","time":1,"messaging":[
                {"sender":{"id":"U"},"recipient":{"id":"P"},"delivery":{"mids":["m"],"watermark":1}},
                {"sender":{"id":"U"},"recipient":{"id":"P"},"timestamp":5,"read":{"watermark":1}}]}]}"#,
        );
        assert!(got.is_empty());
    }
}
