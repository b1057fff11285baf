//! WhatsApp webhook changes → normalized interactions.
//!
//! - Every entry of `messages[]` is one inbound interaction, whatever its type: unknown and
//!   `unsupported` types are kept (their type in `parameters.message_type`), never rejected.
//! - A `reaction` is not a message of its own: it is published as a [`Reaction`] on the message
//!   it names (`reaction.message_id`), without content; a change is a new reaction from the same
//!   user, a removal comes without `emoji` (or with an empty one).
//!   <https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages/reaction/>
//! - Every entry of `statuses[]` is a later state of one of *our* outbound messages. It is emitted
//!   with the outbound message's `wamid` as `provider_ref`, so its `interaction_id`
//!   (UUIDv5 of `tenant|whatsapp|wamid`) is the message's and the status upserts the same
//!   interaction downstream instead of creating a new one.
//! - The customer is identified by `whatsapp` = wa_id (global, so no scope) and `phone` =
//!   `+wa_id` (a wa_id is the E.164 number without `+`). Contact cards a user *shares* are
//!   someone else's details and only go to the text, never to the identities.

use std::collections::BTreeMap;

use channel::{AccountInteraction, WebhookError};
use chrono::{DateTime, SecondsFormat, Utc};
use contracts::{
    Attachment, Channel, Content, Direction, Identity, IdentityKind, InteractionBody, NameSource, Profile, Reaction,
};

use crate::payload::{Contact, Error, Media, Message, MessagesValue, Notification, Status, UnixTime, MESSAGES_FIELD};

/// Keys of `parameters` set by this adapter.
pub mod param {
    /// The WhatsApp message type (`text`, `image`, `interactive`, `unsupported`, …).
    pub const MESSAGE_TYPE: &str = "message_type";
    /// The `wamid` this message replies to, and who wrote it.
    pub const REPLY_TO_ID: &str = "reply_to_id";
    pub const REPLY_TO_FROM: &str = "reply_to_from";
    pub const FORWARDED: &str = "forwarded";
    pub const FREQUENTLY_FORWARDED: &str = "frequently_forwarded";
    /// Media id to download with `GET /<media id>` of the Graph API (webhooks carry no public URL).
    pub const MEDIA_ID: &str = "media_id";
    pub const MEDIA_SHA256: &str = "media_sha256";
    pub const VOICE: &str = "voice";
    pub const ANIMATED: &str = "animated";
    pub const LOCATION_LATITUDE: &str = "location_latitude";
    pub const LOCATION_LONGITUDE: &str = "location_longitude";
    pub const LOCATION_NAME: &str = "location_name";
    pub const LOCATION_ADDRESS: &str = "location_address";
    pub const LOCATION_URL: &str = "location_url";
    pub const SHARED_CONTACTS: &str = "shared_contacts";
    pub const INTERACTIVE_TYPE: &str = "interactive_type";
    pub const REPLY_ID: &str = "reply_id";
    pub const REPLY_DESCRIPTION: &str = "reply_description";
    pub const FLOW_NAME: &str = "flow_name";
    pub const FLOW_RESPONSE_JSON: &str = "flow_response_json";
    pub const BUTTON_PAYLOAD: &str = "button_payload";
    pub const REACTION_TO: &str = "reaction_to";
    pub const REACTION_EMOJI: &str = "reaction_emoji";
    pub const REACTION_REMOVED: &str = "reaction_removed";
    pub const REFERRAL_SOURCE_URL: &str = "referral_source_url";
    pub const REFERRAL_SOURCE_ID: &str = "referral_source_id";
    pub const REFERRAL_SOURCE_TYPE: &str = "referral_source_type";
    pub const REFERRAL_HEADLINE: &str = "referral_headline";
    pub const CTWA_CLID: &str = "ctwa_clid";
    pub const SYSTEM_TYPE: &str = "system_type";
    pub const SYSTEM_NEW_WA_ID: &str = "system_new_wa_id";
    pub const ERROR_CODE: &str = "error_code";
    pub const ERROR_TITLE: &str = "error_title";
    pub const ERROR_DETAILS: &str = "error_details";
    /// The user's business-scoped user id and username, when WhatsApp sends them.
    pub const WHATSAPP_USER_ID: &str = "whatsapp_user_id";
    pub const WHATSAPP_USERNAME: &str = "whatsapp_username";
    /// The business's own number the conversation is on.
    pub const BUSINESS_PHONE_NUMBER: &str = "business_phone_number";
    /// Delivery state of an outbound message: `sent`, `delivered`, `read`, `played`, `failed`.
    pub const DELIVERY_STATUS: &str = "delivery_status";
    /// When the message reached that state (RFC 3339); lets a consumer ignore out-of-order statuses.
    pub const DELIVERY_STATUS_AT: &str = "delivery_status_at";
    pub const DELIVERY_ERROR_CODE: &str = "delivery_error_code";
    pub const DELIVERY_ERROR_TITLE: &str = "delivery_error_title";
    pub const DELIVERY_ERROR_DETAILS: &str = "delivery_error_details";
    pub const CONVERSATION_ID: &str = "conversation_id";
    pub const PRICING_CATEGORY: &str = "pricing_category";
    pub const BIZ_OPAQUE_CALLBACK_DATA: &str = "biz_opaque_callback_data";
}

/// Normalizes every message and status of a notification. A `messages` change whose value is not
/// what Meta documents is malformed; changes of other fields publish nothing.
pub fn interactions(notification: Notification) -> Result<Vec<AccountInteraction>, WebhookError> {
    let mut out = Vec::new();
    for entry in notification.entry {
        // The business account scopes the users' business-scoped ids.
        let business_account = entry.id.unwrap_or_default();
        for change in entry.changes {
            if change.field != MESSAGES_FIELD {
                tracing::debug!(field = %change.field, "ignoring a change that is not about messages");
                continue;
            }
            let value: MessagesValue =
                serde_json::from_value(change.value).map_err(|e| WebhookError::Malformed(format!("messages change: {e}")))?;
            out.extend(from_value(&business_account, value));
        }
    }
    Ok(out)
}

fn from_value(business_account: &str, value: MessagesValue) -> Vec<AccountInteraction> {
    let phone_number_id = value.metadata.phone_number_id.as_str();
    let business_account = if business_account.is_empty() { phone_number_id } else { business_account };
    let business_number = value.metadata.display_phone_number.as_deref();
    let mut out = Vec::with_capacity(value.messages.len() + value.statuses.len());
    for message in &value.messages {
        match message_interaction(business_account, phone_number_id, business_number, &value.contacts, message) {
            Some(body) => out.push(AccountInteraction { account: phone_number_id.to_owned(), body }),
            None => tracing::warn!(wamid = %message.id, "skipping a message that names no sender"),
        }
    }
    for status in &value.statuses {
        match status_interaction(business_account, phone_number_id, business_number, status) {
            Some(body) => out.push(AccountInteraction { account: phone_number_id.to_owned(), body }),
            None => tracing::warn!(wamid = %status.id, "skipping a status that names no recipient"),
        }
    }
    out
}

/// The customer: wa_id when WhatsApp shares it, otherwise the business-scoped user id.
struct Customer<'a> {
    wa_id: Option<&'a str>,
    user_id: Option<&'a str>,
}

impl<'a> Customer<'a> {
    fn new(wa_id: Option<&'a str>, user_id: Option<&'a str>) -> Option<Self> {
        let wa_id = wa_id.filter(|s| !s.trim().is_empty());
        let user_id = user_id.filter(|s| !s.trim().is_empty());
        (wa_id.is_some() || user_id.is_some()).then_some(Self { wa_id, user_id })
    }

    /// The WhatsApp identity first (it keys the Kafka message), then the phone it implies, then
    /// the business-scoped user id (`whatsapp_user`, scoped to the business account) when
    /// WhatsApp sends one — the only identity of a user who hides their number.
    fn identities(&self, business_account: &str) -> Vec<Identity> {
        let mut identities = Vec::new();
        if let Some(wa_id) = self.wa_id {
            identities.push(Identity::new(IdentityKind::Whatsapp, wa_id, None));
            if let Some(phone) = phone_of(wa_id) {
                identities.push(Identity::new(IdentityKind::Phone, phone, None));
            }
        }
        if let Some(user_id) = self.user_id {
            identities.push(Identity::new(IdentityKind::WhatsappUser, user_id, Some(business_account.to_owned())));
        }
        identities
    }

    fn conversation_ref(&self, phone_number_id: &str) -> String {
        format!("{phone_number_id}:{}", self.wa_id.or(self.user_id).unwrap_or_default())
    }
}

/// The wa_id as a phone number in E.164 when it is a possible number (what the resolver
/// accepts as a phone): the identity is verified, so it is published in canonical form or not
/// at all; the wa_id itself stays an identity either way.
fn phone_of(wa_id: &str) -> Option<String> {
    let digits = (6..=15).contains(&wa_id.len()) && wa_id.bytes().all(|b| b.is_ascii_digit());
    digits.then(|| identity::normalize_phone(&format!("+{wa_id}"), None).ok()).flatten()
}

fn occurred_at(timestamp: Option<&UnixTime>) -> DateTime<Utc> {
    timestamp.and_then(UnixTime::seconds).and_then(|s| DateTime::from_timestamp(s, 0)).unwrap_or_else(Utc::now)
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

    fn flag(&mut self, key: &str, value: Option<bool>) {
        if value == Some(true) {
            self.0.insert(key.to_owned(), "true".to_owned());
        }
    }

    fn errors(&mut self, errors: &[Error], code: &str, title: &str, details: &str) {
        if let Some(error) = errors.first() {
            self.set(code, error.code.map(|c| c.to_string()));
            self.set(title, error.title.clone().or_else(|| error.message.clone()));
            self.set(details, error.error_data.as_ref().and_then(|d| d.details.clone()));
        }
    }
}

fn message_interaction(
    business_account: &str,
    phone_number_id: &str,
    business_number: Option<&str>,
    contacts: &[Contact],
    message: &Message,
) -> Option<InteractionBody> {
    let contact = sender_contact(contacts, message);
    let customer = Customer::new(
        message.from.as_deref().or_else(|| contact.and_then(|c| c.wa_id.as_deref())),
        message.from_user_id.as_deref().or_else(|| contact.and_then(|c| c.user_id.as_deref())),
    )?;
    let profile = contact.and_then(|c| c.profile.as_ref());

    let mut parameters = Parameters::default();
    parameters.set(param::MESSAGE_TYPE, Some(message.kind.as_str()));
    parameters.set(param::BUSINESS_PHONE_NUMBER, business_number);
    parameters.set(param::WHATSAPP_USER_ID, customer.user_id);
    parameters.set(param::WHATSAPP_USERNAME, profile.and_then(|p| p.username.clone()));
    if let Some(context) = &message.context {
        parameters.set(param::REPLY_TO_ID, context.id.clone());
        parameters.set(param::REPLY_TO_FROM, context.from.clone());
        parameters.flag(param::FORWARDED, context.forwarded);
        parameters.flag(param::FREQUENTLY_FORWARDED, context.frequently_forwarded);
    }
    if let Some(referral) = &message.referral {
        parameters.set(param::REFERRAL_SOURCE_URL, referral.source_url.clone());
        parameters.set(param::REFERRAL_SOURCE_ID, referral.source_id.clone());
        parameters.set(param::REFERRAL_SOURCE_TYPE, referral.source_type.clone());
        parameters.set(param::REFERRAL_HEADLINE, referral.headline.clone());
        parameters.set(param::CTWA_CLID, referral.ctwa_clid.clone());
    }
    parameters.errors(&message.errors, param::ERROR_CODE, param::ERROR_TITLE, param::ERROR_DETAILS);
    let content = content(message, &mut parameters);
    let reaction = reaction_of(message);

    Some(InteractionBody {
        channel: Channel::Whatsapp,
        direction: Direction::Inbound,
        occurred_at: occurred_at(message.timestamp.as_ref()),
        provider_ref: message.id.clone(),
        conversation_ref: Some(customer.conversation_ref(phone_number_id)),
        identities: customer.identities(business_account),
        profile: profile
            .and_then(|p| p.name.clone())
            .filter(|name| !name.trim().is_empty())
            .map(|name| Profile { name: Some(name), name_source: NameSource::Channel }),
        // A reaction carries no message content of its own.
        content: reaction.is_none().then_some(content),
        call: None,
        parameters: parameters.0,
        reaction,
        event: None,
        sanitized: Vec::new(),
    })
}

/// The reaction a message is, when it names the message it reacts to.
fn reaction_of(message: &Message) -> Option<Reaction> {
    let reaction = message.reaction.as_ref()?;
    let target = reaction.message_id.as_deref().map(str::trim).filter(|id| !id.is_empty())?;
    let emoji = reaction.emoji.as_deref().map(str::trim).filter(|e| !e.is_empty()).map(str::to_owned);
    Some(Reaction { target_provider_ref: target.to_owned(), emoji })
}

/// The `contacts[]` entry of the message's sender: matched by id, or the only one there is.
fn sender_contact<'a>(contacts: &'a [Contact], message: &Message) -> Option<&'a Contact> {
    let matches = |c: &&Contact| {
        (message.from.is_some() && c.wa_id == message.from)
            || (message.from_user_id.is_some() && c.user_id == message.from_user_id)
    };
    contacts.iter().find(matches).or(match contacts {
        [only] => Some(only),
        _ => None,
    })
}

/// Text and attachments of every message type; type-specific details go to `parameters`.
fn content(message: &Message, parameters: &mut Parameters) -> Content {
    let mut text = message.text.as_ref().and_then(|t| t.body.clone());
    let mut attachments = Vec::new();

    let media = [&message.image, &message.video, &message.audio, &message.document, &message.sticker];
    for media in media.into_iter().flatten() {
        attachments.push(attachment(media, parameters));
        text = text.or_else(|| media.caption.clone());
    }
    if let Some(location) = &message.location {
        parameters.set(param::LOCATION_LATITUDE, location.latitude.map(|v| v.to_string()));
        parameters.set(param::LOCATION_LONGITUDE, location.longitude.map(|v| v.to_string()));
        parameters.set(param::LOCATION_NAME, location.name.clone());
        parameters.set(param::LOCATION_ADDRESS, location.address.clone());
        parameters.set(param::LOCATION_URL, location.url.clone());
        text = text.or_else(|| join(", ", [location.name.as_deref(), location.address.as_deref()]));
    }
    if !message.contacts.is_empty() {
        parameters.set(param::SHARED_CONTACTS, Some(message.contacts.len().to_string()));
        let cards: Vec<String> = message
            .contacts
            .iter()
            .filter_map(|card| {
                let name = card.name.as_ref().and_then(|n| n.formatted_name.as_deref());
                let phones = card.phones.iter().map(|p| p.phone.as_deref());
                let emails = card.emails.iter().map(|e| e.email.as_deref());
                join(" ", std::iter::once(name).chain(phones).chain(emails))
            })
            .collect();
        text = text.or_else(|| (!cards.is_empty()).then(|| cards.join("\n")));
    }
    if let Some(interactive) = &message.interactive {
        parameters.set(param::INTERACTIVE_TYPE, Some(interactive.kind.as_str()));
        if let Some(reply) = interactive.button_reply.as_ref().or(interactive.list_reply.as_ref()) {
            parameters.set(param::REPLY_ID, reply.id.clone());
            parameters.set(param::REPLY_DESCRIPTION, reply.description.clone());
            text = text.or_else(|| reply.title.clone());
        }
        if let Some(flow) = &interactive.nfm_reply {
            parameters.set(param::FLOW_NAME, flow.name.clone());
            parameters.set(param::FLOW_RESPONSE_JSON, flow.response_json.clone());
            text = text.or_else(|| flow.body.clone());
        }
    }
    if let Some(button) = &message.button {
        parameters.set(param::BUTTON_PAYLOAD, button.payload.clone());
        text = text.or_else(|| button.text.clone());
    }
    if let Some(reaction) = &message.reaction {
        parameters.set(param::REACTION_TO, reaction.message_id.clone());
        parameters.set(param::REACTION_EMOJI, reaction.emoji.clone());
        if reaction.emoji.as_deref().is_none_or(str::is_empty) {
            parameters.flag(param::REACTION_REMOVED, Some(true));
        }
        // Only a reaction that names no message (it cannot be attached) is kept as a message.
        if reaction.message_id.as_deref().is_none_or(|id| id.trim().is_empty()) {
            text = text.or_else(|| reaction.emoji.clone());
        }
    }
    if let Some(system) = &message.system {
        parameters.set(param::SYSTEM_TYPE, system.kind.clone());
        parameters.set(param::SYSTEM_NEW_WA_ID, system.new_wa_id.clone().or_else(|| system.wa_id.clone()));
        text = text.or_else(|| system.body.clone());
    }
    Content { text: text.filter(|t| !t.is_empty()), subject: None, attachments }
}

/// A media attachment: webhooks carry a media id, not a URL, so `url` stays empty and the id goes
/// to `parameters.media_id` (and to the name when the file has none).
fn attachment(media: &Media, parameters: &mut Parameters) -> Attachment {
    parameters.set(param::MEDIA_ID, media.id.clone());
    parameters.set(param::MEDIA_SHA256, media.sha256.clone());
    parameters.flag(param::VOICE, media.voice);
    parameters.flag(param::ANIMATED, media.animated);
    Attachment { name: media.filename.clone().or_else(|| media.id.clone()), mime: media.mime_type.clone(), size: None, url: None }
}

fn join<'a>(separator: &str, parts: impl IntoIterator<Item = Option<&'a str>>) -> Option<String> {
    let parts: Vec<&str> = parts.into_iter().flatten().filter(|p| !p.trim().is_empty()).collect();
    (!parts.is_empty()).then(|| parts.join(separator))
}

/// A delivery status as a later state of the outbound message it is about.
fn status_interaction(
    business_account: &str,
    phone_number_id: &str,
    business_number: Option<&str>,
    status: &Status,
) -> Option<InteractionBody> {
    let customer = Customer::new(status.recipient_id.as_deref(), status.recipient_user_id.as_deref())?;
    let at = occurred_at(status.timestamp.as_ref());
    let mut parameters = Parameters::default();
    parameters.set(param::DELIVERY_STATUS, Some(status.status.as_str()));
    parameters.set(param::DELIVERY_STATUS_AT, Some(at.to_rfc3339_opts(SecondsFormat::Secs, true)));
    parameters.errors(&status.errors, param::DELIVERY_ERROR_CODE, param::DELIVERY_ERROR_TITLE, param::DELIVERY_ERROR_DETAILS);
    parameters.set(param::CONVERSATION_ID, status.conversation.as_ref().and_then(|c| c.id.clone()));
    parameters.set(param::PRICING_CATEGORY, status.pricing.as_ref().and_then(|p| p.category.clone()));
    parameters.set(param::BIZ_OPAQUE_CALLBACK_DATA, status.biz_opaque_callback_data.clone());
    parameters.set(param::BUSINESS_PHONE_NUMBER, business_number);
    parameters.set(param::WHATSAPP_USER_ID, customer.user_id);
    Some(InteractionBody {
        channel: Channel::Whatsapp,
        direction: Direction::Outbound,
        occurred_at: at,
        provider_ref: status.id.clone(),
        conversation_ref: Some(customer.conversation_ref(phone_number_id)),
        identities: customer.identities(business_account),
        profile: None,
        content: None,
        call: None,
        parameters: parameters.0,
        reaction: None,
        event: None,
        sanitized: Vec::new(),
    })
}

#[cfg(test)]
mod tests;
