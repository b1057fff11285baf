//! One inbound message → one normalized interaction.
//!
//! - **Tenant**: the first recipient that is a tenant mailbox ([`crate::routing`]: exact address,
//!   `+tag`, domain catch-all), looking at the envelope (`Delivered-To`, `X-Original-To`: the
//!   mailbox the relay really delivered to, which catches Bcc and aliases) before `To` and `Cc`
//!   (and, for a bounce, the sender of the returned original: our own mailbox). A message *from*
//!   a tenant mailbox (a copy of an operator's answer sent from a mail client) belongs to that
//!   mailbox's tenant and is outbound; the customer is then the first `To` (else `Cc`) address the
//!   tenant does not own. `parameters`: `mailbox` (the tenant mailbox), `mailbox_tag` (the `+tag`),
//!   `mailbox_route` (`exact`, `plus_tag`, `catch_all`).
//! - **Customer**: the `From` address as an `email` identity and its display name as the
//!   channel profile; `Reply-To` never identifies anybody (anyone can set it). A bounce comes from
//!   the mail system, so its identity is the failed recipient of the delivery report instead (else
//!   the returned original's recipient).
//! - **Threading**: `provider_ref` is the `Message-ID` (else `sha256:<hash of the raw message>`),
//!   `conversation_ref` the thread root: the first `References` id, else `In-Reply-To`, else (for
//!   a bounce) the returned original's thread, else the message's own id, so a thread's root,
//!   every reply and the bounce of any of them share it.
//! - **Auto-replies and bounces** are published like any message and flagged in `parameters`
//!   (`auto_submitted`, `auto_kind`, `auto_reason`) so the timeline can show or hide them.

use std::collections::BTreeMap;

use channel::AccountInteraction;
use chrono::Utc;
use contracts::{Attachment, Channel, Content, Direction, Identity, IdentityKind, InteractionBody, NameSource, Profile};

use crate::payload::{AutoKind, InboundMail, Mailbox};
use crate::routing::{mailbox_key, Mailboxes, Route};

/// Normalizes one message.
pub fn interaction(mail: InboundMail, mailboxes: &Mailboxes) -> AccountInteraction {
    let mut parameters = BTreeMap::new();
    let bounce = mail.auto.as_ref().is_some_and(|auto| auto.kind == AutoKind::Bounce);

    let sender_route = mail.from.as_ref().and_then(|from| mailboxes.route(&from.address));
    let (direction, route, unrouted, customer) = match sender_route {
        Some(route) => {
            let tenant = mailboxes.tenant_of(&route.key);
            let customer = mail.to.iter().chain(&mail.cc).find(|m| mailboxes.tenant_of(&m.address) != tenant);
            (Direction::Outbound, Some(route), None, customer.cloned())
        }
        None => {
            let returned = mail.returned.as_ref();
            let recipients: Vec<&str> = mail
                .envelope_to
                .iter()
                .map(String::as_str)
                .chain(mail.to.iter().chain(&mail.cc).map(|m| m.address.as_str()))
                // A bounce is addressed to whoever sent the original: our mailbox.
                .chain(returned.and_then(|r| r.from.as_deref()))
                .collect();
            let route = recipients.iter().find_map(|address| mailboxes.route(address));
            let unrouted = recipients.first().map(|address| mailbox_key(address));
            let customer = if bounce {
                // The sender of a bounce is the mail system; the customer is whom it failed to reach.
                mail.bounced_recipients
                    .first()
                    .or_else(|| returned.and_then(|r| r.to.iter().find(|address| !mailboxes.owns(address))))
                    .map(|address| Mailbox { name: None, address: address.clone() })
            } else {
                mail.from.clone()
            };
            (Direction::Inbound, route, unrouted, customer)
        }
    };
    // Nobody's mailbox: the kit refuses it (logging the first recipient).
    let account = route.as_ref().map(|r| r.key.clone()).or(unrouted).unwrap_or_else(|| "<no recipient>".to_owned());

    let mut identities = Vec::new();
    let mut profile = None;
    if let Some(customer) = &customer {
        match identity::normalize_email(&customer.address) {
            Ok(address) => {
                profile =
                    display_name(customer, &address).map(|name| Profile { name: Some(name), name_source: NameSource::Channel });
                identities.push(Identity::new(IdentityKind::Email, address, None));
            }
            Err(error) => {
                tracing::debug!(%error, "customer address is not usable as an identity");
                parameters.insert("customer_address".to_owned(), customer.address.clone());
            }
        }
    }

    let provider_ref = match &mail.message_id {
        Some(id) => id.clone(),
        None => {
            parameters.insert("message_id_missing".to_owned(), "true".to_owned());
            format!("sha256:{}", mail.raw_sha256)
        }
    };
    let returned_thread = mail.returned.as_ref().and_then(|r| r.thread());
    let conversation_ref = mail
        .references
        .first()
        .or_else(|| mail.in_reply_to.first())
        .or(returned_thread)
        .cloned()
        .unwrap_or_else(|| provider_ref.clone());

    match &route {
        Some(Route { mailbox, tag, kind, .. }) => {
            parameters.insert("mailbox".to_owned(), mailbox.clone());
            parameters.insert("mailbox_route".to_owned(), kind.as_str().to_owned());
            if let Some(tag) = tag {
                parameters.insert("mailbox_tag".to_owned(), tag.clone());
            }
        }
        None => {
            parameters.insert("mailbox".to_owned(), account.clone());
        }
    }
    if let Some(original) = mail.returned.as_ref().and_then(|r| r.message_id.clone()) {
        parameters.insert("bounced_message_id".to_owned(), original);
    }
    if let Some(parent) = mail.in_reply_to.first() {
        parameters.insert("in_reply_to".to_owned(), parent.clone());
    }
    if let Some(reply_to) = &mail.reply_to {
        parameters.insert("reply_to".to_owned(), reply_to.clone());
    }
    if let Some(auto) = &mail.auto {
        parameters.insert("auto_submitted".to_owned(), "true".to_owned());
        parameters.insert("auto_kind".to_owned(), auto.kind.as_str().to_owned());
        parameters.insert("auto_reason".to_owned(), auto.reason.clone());
    }
    if !mail.bounced_recipients.is_empty() {
        parameters.insert("bounced_recipients".to_owned(), mail.bounced_recipients.join(", "));
    }

    let attachments = mail
        .attachments
        .into_iter()
        .map(|a| Attachment { name: a.name, mime: Some(a.mime), size: Some(a.size), url: None })
        .collect();
    let body = InteractionBody {
        channel: Channel::Email,
        direction,
        occurred_at: mail.date.unwrap_or_else(Utc::now),
        provider_ref,
        conversation_ref: Some(conversation_ref),
        identities,
        profile,
        content: Some(Content { text: mail.text, subject: mail.subject, attachments }),
        call: None,
        parameters,
        reaction: None,
        event: None,
        sanitized: Vec::new(),
    };
    AccountInteraction { account, body }
}

/// Display names of mail systems, which are nobody's name.
const MAIL_SYSTEM_NAMES: [&str; 4] = ["Mail Delivery System", "Mail Delivery Subsystem", "postmaster", "MAILER-DAEMON"];

/// A display name worth keeping: not empty, not the address itself, and not a mail system's.
fn display_name(mailbox: &Mailbox, normalized_address: &str) -> Option<String> {
    let name = mailbox.name.as_deref()?.trim().trim_matches(|c| c == '"' || c == '\'').trim();
    if name.is_empty()
        || name.eq_ignore_ascii_case(normalized_address)
        || MAIL_SYSTEM_NAMES.iter().any(|system| system.eq_ignore_ascii_case(name))
    {
        return None;
    }
    Some(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    use channel::AccountMap;

    fn mailboxes() -> Mailboxes {
        Mailboxes::new(&AccountMap(
            [("Podpora@Acme.cz".to_owned(), "acme".to_owned()), ("info@beta.cz".to_owned(), "beta".to_owned())].into(),
        ))
        .expect("valid keys")
    }

    fn map(raw: &str) -> AccountInteraction {
        interaction(InboundMail::try_from(raw.as_bytes()).expect("valid message"), &mailboxes())
    }

    #[test]
    fn an_inbound_message_belongs_to_the_recipient_mailbox_and_the_sender() {
        let got = map("Message-ID: <m1@x.cz>\nFrom: \"Jan Novák\" <Jan@X.cz>\nTo: someone@else.cz, PODPORA@acme.cz\nReply-To: other@y.cz\n\nhi");
        assert_eq!(got.account, "podpora@acme.cz");
        assert_eq!(got.body.direction, Direction::Inbound);
        assert_eq!(got.body.identities, vec![Identity::new(IdentityKind::Email, "jan@x.cz", None)]);
        assert_eq!(got.body.profile.and_then(|p| p.name).as_deref(), Some("Jan Novák"));
        assert_eq!(got.body.parameters.get("reply_to").map(String::as_str), Some("other@y.cz"));
        assert_eq!(got.body.provider_ref, "m1@x.cz");
        assert_eq!(got.body.conversation_ref.as_deref(), Some("m1@x.cz"), "a thread root is its own conversation");
    }

    #[test]
    fn a_message_from_a_tenant_mailbox_is_outbound_to_the_first_foreign_recipient() {
        let got = map("From: podpora@acme.cz\nTo: podpora@acme.cz, Eva <eva@z.cz>\nIn-Reply-To: <a@z.cz>\n\nhi");
        assert_eq!(got.account, "podpora@acme.cz");
        assert_eq!(got.body.direction, Direction::Outbound);
        assert_eq!(got.body.identities[0].value, "eva@z.cz");
        assert_eq!(got.body.profile.and_then(|p| p.name).as_deref(), Some("Eva"));
        assert_eq!(got.body.conversation_ref.as_deref(), Some("a@z.cz"));
        assert_eq!(got.body.parameters.get("message_id_missing").map(String::as_str), Some("true"));
        assert!(got.body.provider_ref.starts_with("sha256:"));
    }

    #[test]
    fn the_envelope_recipient_wins_over_to() {
        let got = map("Delivered-To: info@beta.cz\nFrom: a@b.cz\nTo: podpora@acme.cz\n\nforwarded");
        assert_eq!(got.account, "info@beta.cz");
    }

    #[test]
    fn a_message_for_no_configured_mailbox_names_its_first_recipient() {
        assert_eq!(map("From: a@b.cz\nTo: Nobody@Nowhere.cz\n\nx").account, "nobody@nowhere.cz");
        assert_eq!(map("From: a@b.cz\n\nx").account, "<no recipient>");
    }

    #[test]
    fn the_thread_root_is_the_first_reference() {
        let got = map("Message-ID: <c@x>\nReferences: <a@x> <b@x>\nIn-Reply-To: <b@x>\nFrom: a@b.cz\nTo: podpora@acme.cz\n\nx");
        assert_eq!(got.body.conversation_ref.as_deref(), Some("a@x"));
        assert_eq!(got.body.parameters.get("in_reply_to").map(String::as_str), Some("b@x"));
    }

    #[test]
    fn a_bounce_identifies_the_failed_recipient_not_the_mail_system() {
        let got = map(concat!(
            "From: Mail Delivery System <MAILER-DAEMON@mx.acme.cz>\nTo: podpora@acme.cz\n",
            "Content-Type: multipart/report; report-type=delivery-status; boundary=b\n\n",
            "--b\nContent-Type: text/plain\n\nfailed\n",
            "--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx\n\nFinal-Recipient: rfc822; Eva@Z.cz\nAction: failed\n",
            "--b--\n",
        ));
        assert_eq!(got.body.identities, vec![Identity::new(IdentityKind::Email, "eva@z.cz", None)]);
        assert_eq!(got.body.profile, None);
        assert_eq!(got.body.parameters.get("auto_kind").map(String::as_str), Some("bounce"));
        assert_eq!(got.body.parameters.get("bounced_recipients").map(String::as_str), Some("Eva@Z.cz"));
    }

    #[test]
    fn a_bounce_without_a_report_names_the_returned_originals_recipient_and_reaches_its_sender() {
        let got = map(concat!(
            "From: <>\nTo: bounces+x7@mail.acme.cz\nMessage-ID: <b1@mx>\n",
            "Content-Type: multipart/mixed; boundary=q\n\n--q\nContent-Type: text/plain\n\nUndeliverable.\n",
            "--q\nContent-Type: message/rfc822\n\nMessage-ID: <out-1@acme.cz>\nFrom: podpora@acme.cz\nTo: eva@z.cz, podpora@acme.cz\n\nhi\n--q--\n",
        ));
        assert_eq!(got.account, "podpora@acme.cz", "the original's sender when the bounce address is no mailbox");
        assert_eq!(got.body.identities, vec![Identity::new(IdentityKind::Email, "eva@z.cz", None)]);
        assert_eq!(got.body.conversation_ref.as_deref(), Some("out-1@acme.cz"));
        assert_eq!(got.body.parameters.get("auto_reason").map(String::as_str), Some("From: <>"));
    }
}
