//! Web chat messages → normalized interactions. Visitor messages are inbound, operator messages
//! outbound; both belong to the visitor's identities.
//!
//! Identities, strongest first: `contact_id` (a logged-in visitor: *verified*), `custom` (every
//! custom form parameter, scoped by its name: the resolver decides which of them identify a
//! client), `email`, `phone` — the form's fields are *typed*: anyone can type anyone's e-mail,
//! so the resolver never lets them alone teach a card. The form's name is the profile with `name_source = form`. A chat session is not an
//! identity: it is the conversation, `{site_id}:{session_id}`, which operators can link to a
//! contact. Ids are site-scoped (`provider_ref = {site_id}:{message_id}`) so two sites of one
//! tenant never collide.
//!
//! Parameters: `site_id`, `operator_invitation = true` for chats an operator started,
//! `operator_id`, `page_url`. A session event (`closed`) is a conversation event without content.

use std::collections::BTreeMap;

use channel::{AccountInteraction, WebhookError};
use contracts::{Channel, Content, ConversationEvent, Direction, Identity, IdentityKind, InteractionBody, NameSource, Profile};

use crate::payload::{self, Message};

/// Normalizes a message that arrived for `site`.
pub fn interaction(site: &str, message: Message) -> Result<AccountInteraction, WebhookError> {
    if let Some(in_body) = message.site_id.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        if in_body != site {
            return Err(WebhookError::Malformed("X-Webchat-Site header and body site_id disagree".into()));
        }
    }
    let session_id = required(&message.session_id, "session_id")?;
    let message_id = required(&message.message_id, "message_id")?;

    let visitor = message.visitor;
    let mut identities = Vec::new();
    if let Some(contact_id) = present(visitor.contact_id) {
        identities.push(Identity::new(IdentityKind::ContactId, contact_id, None));
    }
    for (parameter, value) in visitor.custom {
        let (parameter, value) = (parameter.trim().to_owned(), value.into_text().trim().to_owned());
        if !parameter.is_empty() && !value.is_empty() {
            identities.push(Identity::new(IdentityKind::Custom, value, Some(parameter)).typed());
        }
    }
    if let Some(email) = present(visitor.email) {
        identities.push(Identity::new(IdentityKind::Email, email, None).typed());
    }
    if let Some(phone) = present(visitor.phone) {
        identities.push(Identity::new(IdentityKind::Phone, phone, None).typed());
    }
    let profile = present(visitor.name).map(|name| Profile { name: Some(name), name_source: NameSource::Form });

    let mut parameters = BTreeMap::from([("site_id".to_owned(), site.to_owned())]);
    if message.operator_invitation {
        parameters.insert("operator_invitation".to_owned(), "true".to_owned());
    }
    if let Some(operator) = present(message.operator_id) {
        parameters.insert("operator_id".to_owned(), operator);
    }
    if let Some(page) = present(message.page_url) {
        parameters.insert("page_url".to_owned(), page);
    }

    let body = InteractionBody {
        channel: Channel::Webchat,
        direction: match message.direction {
            payload::Direction::Inbound => Direction::Inbound,
            payload::Direction::Outbound => Direction::Outbound,
        },
        occurred_at: message.sent_at,
        provider_ref: format!("{site}:{message_id}"),
        conversation_ref: Some(format!("{site}:{session_id}")),
        identities,
        profile,
        content: message.event.is_none().then(|| Content {
            text: message.text.filter(|t| !t.trim().is_empty()),
            subject: None,
            attachments: message.attachments,
        }),
        call: None,
        parameters,
        reaction: None,
        event: message.event.map(|event| match event {
            payload::SessionEvent::Closed => ConversationEvent::Closed,
        }),
        sanitized: Vec::new(),
    };
    Ok(AccountInteraction { account: site.to_owned(), body })
}

fn required<'a>(value: &'a str, field: &str) -> Result<&'a str, WebhookError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(WebhookError::Malformed(format!("`{field}` must not be empty")));
    }
    Ok(value)
}

fn present(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(json: &str) -> Result<AccountInteraction, WebhookError> {
        interaction("eshop-cz", serde_json::from_str(json).expect("valid message"))
    }

    const BASE: &str = r#""session_id":"s-1","message_id":"m-1","sent_at":"2025-11-25T10:15:03+01:00""#;

    #[test]
    fn a_visitor_message_carries_the_form_identities_and_name() {
        let got = map(&format!(
            r#"{{{BASE},"site_id":"eshop-cz","direction":"inbound","text":"Dobrý den, kde je moje zásilka?",
               "visitor":{{"name":" Jana Nováková ","email":"jana.novakova@example.cz","phone":"+420 601 123 456",
                          "custom":{{"crm_customer_no":"C-100234","loyalty_card":4711,"empty":" "}}}}}}"#
        ))
        .expect("valid");
        assert_eq!(got.account, "eshop-cz");
        let body = got.body;
        assert_eq!((body.channel, body.direction), (Channel::Webchat, Direction::Inbound));
        assert_eq!(body.provider_ref, "eshop-cz:m-1");
        assert_eq!(body.conversation_ref.as_deref(), Some("eshop-cz:s-1"));
        assert_eq!(body.occurred_at.to_rfc3339(), "2025-11-25T09:15:03+00:00");
        assert_eq!(
            body.identities,
            vec![
                Identity::new(IdentityKind::Custom, "C-100234", Some("crm_customer_no".into())),
                Identity::new(IdentityKind::Custom, "4711", Some("loyalty_card".into())),
                Identity::new(IdentityKind::Email, "jana.novakova@example.cz", None),
                Identity::new(IdentityKind::Phone, "+420 601 123 456", None),
            ]
        );
        assert_eq!(body.profile, Some(Profile { name: Some("Jana Nováková".into()), name_source: NameSource::Form }));
        assert_eq!(body.content.and_then(|c| c.text).as_deref(), Some("Dobrý den, kde je moje zásilka?"));
        assert_eq!(body.parameters.get("site_id").map(String::as_str), Some("eshop-cz"));
    }

    #[test]
    fn a_logged_in_visitor_is_identified_by_contact_id_first() {
        let body = map(&format!(
            r#"{{{BASE},"direction":"inbound","visitor":{{"contact_id":"7d1e6f0a-3b2c-4d5e-8f90-a1b2c3d4e5f6","email":"j@example.cz"}}}}"#
        ))
        .expect("valid")
        .body;
        assert_eq!(body.identities[0], Identity::new(IdentityKind::ContactId, "7d1e6f0a-3b2c-4d5e-8f90-a1b2c3d4e5f6", None));
        assert_eq!(body.profile, None);
    }

    #[test]
    fn an_operator_invitation_is_outbound_and_marked() {
        let body = map(&format!(
            r#"{{{BASE},"direction":"outbound","operator_invitation":true,"operator_id":"op-17","text":"Můžeme vám pomoci?",
               "attachments":[{{"name":"cenik.pdf","mime":"application/pdf","size":48213,"url":"https://cdn.example.cz/cenik.pdf"}}]}}"#
        ))
        .expect("valid")
        .body;
        assert_eq!(body.direction, Direction::Outbound);
        assert_eq!(body.parameters.get("operator_invitation").map(String::as_str), Some("true"));
        assert_eq!(body.parameters.get("operator_id").map(String::as_str), Some("op-17"));
        assert_eq!(body.content.expect("content").attachments[0].size, Some(48_213));
        assert!(body.identities.is_empty(), "an anonymous visitor has no identities, only the conversation");
    }

    #[test]
    fn invalid_looking_contact_details_pass_through_for_the_resolver() {
        let body = map(&format!(r#"{{{BASE},"direction":"inbound","visitor":{{"email":"jana@","phone":"nevím"}}}}"#))
            .expect("valid")
            .body;
        assert_eq!(body.identities.len(), 2);
    }

    #[test]
    fn empty_ids_and_a_site_mismatch_are_malformed() {
        let empty_session = r#"{"session_id":" ","message_id":"m","sent_at":"2025-11-25T10:15:03Z","direction":"inbound"}"#;
        assert!(matches!(map(empty_session), Err(WebhookError::Malformed(_))));
        let empty_message = r#"{"session_id":"s","message_id":"","sent_at":"2025-11-25T10:15:03Z","direction":"inbound"}"#;
        assert!(matches!(map(empty_message), Err(WebhookError::Malformed(_))));
        let other_site = format!(r#"{{{BASE},"site_id":"other","direction":"inbound"}}"#);
        assert!(matches!(map(&other_site), Err(WebhookError::Malformed(_))));
    }
}
