//! Messenger events → normalized interactions. A message, an echo (the page's own outbound
//! message) and a postback (button tap) are interactions; deliveries, reads and reactions are not.

use std::collections::BTreeMap;

use channel::AccountInteraction;
use chrono::{DateTime, Utc};
use contracts::{Attachment, Channel, Content, Direction, Identity, IdentityKind, InteractionBody};

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
    let (direction, psid, provider_ref, content) = if let Some(message) = event.message {
        let (direction, psid) =
            if message.is_echo { (Direction::Outbound, event.recipient.id) } else { (Direction::Inbound, event.sender.id) };
        if let Some(quick_reply) = message.quick_reply {
            parameters.insert("quick_reply_payload".to_owned(), quick_reply.payload);
        }
        if let Some(reply_to) = message.reply_to {
            parameters.insert("reply_to_mid".to_owned(), reply_to.mid);
        }
        let attachments = message
            .attachments
            .into_iter()
            .map(|a| Attachment {
                name: a.title.or_else(|| a.payload.as_ref().and_then(|p| p.title.clone())),
                mime: Some(a.kind),
                size: None,
                url: a.payload.and_then(|p| p.url),
            })
            .collect();
        (direction, psid, message.mid, Content { text: message.text, subject: None, attachments })
    } else if let Some(postback) = event.postback {
        let psid = event.sender.id;
        let provider_ref = postback.mid.unwrap_or_else(|| format!("postback:{psid}:{}", occurred_at.timestamp_millis()));
        if let Some(payload) = postback.payload {
            parameters.insert("postback_payload".to_owned(), payload);
        }
        (Direction::Inbound, psid, provider_ref, Content { text: postback.title, ..Content::default() })
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
        content: Some(content),
        call: None,
        parameters,
        reaction: None,
        event: None,
        sanitized: Vec::new(),
    };
    Some(AccountInteraction { account: page_id.to_owned(), body })
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
        assert_eq!(attachment.mime.as_deref(), Some("image"));
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
