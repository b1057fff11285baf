//! Size limits of everything that crosses the pipeline (DESIGN.md §4b), defined once and chosen
//! so that whatever passes the first edge fits every later stage: a Kafka message
//! ([`EVENT_BYTES`]), a PostgreSQL btree index row (about 2,700 bytes), a `tsvector` (1 MB).
//!
//! Channel adapters call [`enforce`] on every interaction before publishing it: content over a
//! limit is *kept*, cut to the limit, and the cut is recorded in [`InteractionBody::sanitized`]
//! with the original size, so nothing a customer wrote is silently lost and the timeline can say
//! that a message was truncated. The resolver calls it again on what it consumes (it is
//! idempotent), so an event from an older adapter is bounded as well.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Identity, InteractionBody};

/// Largest event any producer of the project writes (librdkafka's `message.max.bytes`; every
/// topic's `max.message.bytes` is Kafka's default 1,048,588, above it with room for headers).
pub const EVENT_BYTES: usize = 1_000_000;
/// Largest `interactions.ingested` event an adapter publishes (serialized JSON).
pub const INGESTED_EVENT_BYTES: usize = 512 * 1024;
/// Most the resolver adds to an ingested event (its decision: matched identity, candidates,
/// ignored identities with reasons), so a resolved event always fits [`EVENT_BYTES`].
pub const RESOLUTION_BYTES: usize = 128 * 1024;

/// Message text (UTF-8 bytes); longer text is cut at a character boundary.
pub const TEXT_BYTES: usize = 64 * 1024;
/// Subject (an e-mail subject line; RFC 5322 allows 998 characters per line).
pub const SUBJECT_BYTES: usize = 998;
/// A person's name (profile name, operator-given name).
pub const NAME_BYTES: usize = 256;
/// `provider_ref` and `conversation_ref`; a longer reference becomes [`digest`] of itself, which
/// is stable, so retries and later messages of the same thread still get the same key.
pub const REF_BYTES: usize = 256;
/// An identity value as published; longer values are cut here and screened out by the resolver
/// as `too_long` (every kind's own bound, [`crate::IdentityKind::max_value_bytes`], is lower).
pub const IDENTITY_VALUE_BYTES: usize = 320;
/// An identity scope (page, community, business, custom parameter name).
pub const SCOPE_BYTES: usize = 256;
/// Identities of one interaction (the first ones are kept; a channel lists the strongest first).
pub const IDENTITIES: usize = 20;
/// Attachments of one interaction.
pub const ATTACHMENTS: usize = 50;
/// Attachment name and MIME type.
pub const ATTACHMENT_NAME_BYTES: usize = 255;
pub const MIME_BYTES: usize = 127;
/// URLs (attachment, recording).
pub const URL_BYTES: usize = 2048;
/// Parameters of one interaction, and their key and value sizes.
pub const PARAMETERS: usize = 50;
pub const PARAMETER_KEY_BYTES: usize = 64;
pub const PARAMETER_VALUE_BYTES: usize = 2048;
/// Candidate contacts a resolved event names (all of them are in the duplicates queue).
pub const CANDIDATES: usize = 50;
/// Call fields (numbers).
pub const CALL_FIELD_BYTES: usize = 64;
/// A reaction's emoji (one emoji is a few code points; a provider may send a short name).
pub const EMOJI_BYTES: usize = 64;
/// A tenant id ([`is_tenant_id`]): it is part of every Kafka key (`tenant|…`), of the names of
/// deterministic ids and of every row, so it is short and cannot contain the key separator.
pub const TENANT_ID_BYTES: usize = 64;
/// What a tenant id is described as to a caller whose one is refused.
pub const TENANT_ID_RULE: &str = "1–64 ASCII letters, digits, `-`, `_` or `.`";

/// Whether `value` is a tenant id: 1–[`TENANT_ID_BYTES`] ASCII letters, digits, `-`, `_` or `.`
/// (no separator `|`, no space, no control character, nothing that needs escaping anywhere).
pub fn is_tenant_id(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= TENANT_ID_BYTES
        && value.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// What [`enforce`] did to a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Cut to the limit; `original_size` is the size in bytes before.
    Truncated,
    /// Replaced by the SHA-256 digest of the value (a key that must stay unique and stable).
    Digested,
    /// Items over the count limit dropped; `original_size` is the count before.
    Dropped,
    /// U+0000 removed (PostgreSQL cannot store it in text or jsonb).
    NulRemoved,
    /// The provider's bytes were not valid UTF-8 and were decoded with replacement characters.
    LossyUtf8,
}

/// One change [`enforce`] made, with the field's path in the event (`content.text`, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Sanitized {
    pub field: String,
    pub action: Action,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_size: Option<u64>,
}

/// `sha256:<hex>` of `value`: the stable stand-in for an over-long key.
pub fn digest(value: &str) -> String {
    format!("sha256:{}", hex(&Sha256::digest(value.as_bytes())))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The longest prefix of `value` of at most `max` bytes that ends on a character boundary.
pub fn prefix(value: &str, max: usize) -> &str {
    if value.len() <= max {
        return value;
    }
    let mut end = max;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    &value[..end]
}

/// Brings every field of `body` within its limit and removes NUL characters, recording each
/// change in `body.sanitized`. Idempotent: a second call changes nothing and records nothing.
pub fn enforce(body: &mut InteractionBody) {
    let mut log = Vec::new();
    let mut fit = Fitter { log: &mut log };
    fit.reference("provider_ref", &mut body.provider_ref);
    if let Some(conversation) = body.conversation_ref.as_mut() {
        fit.reference("conversation_ref", conversation);
    }
    fit.count("identities", &mut body.identities, IDENTITIES);
    for identity in &mut body.identities {
        fit.identity(identity);
    }
    if let Some(profile) = body.profile.as_mut() {
        if let Some(name) = profile.name.as_mut() {
            fit.text("profile.name", name, NAME_BYTES);
        }
    }
    if let Some(content) = body.content.as_mut() {
        if let Some(text) = content.text.as_mut() {
            fit.text("content.text", text, TEXT_BYTES);
        }
        if let Some(subject) = content.subject.as_mut() {
            fit.text("content.subject", subject, SUBJECT_BYTES);
        }
        fit.count("content.attachments", &mut content.attachments, ATTACHMENTS);
        for attachment in &mut content.attachments {
            for (field, value, max) in [
                ("content.attachments.name", &mut attachment.name, ATTACHMENT_NAME_BYTES),
                ("content.attachments.mime", &mut attachment.mime, MIME_BYTES),
                ("content.attachments.url", &mut attachment.url, URL_BYTES),
            ] {
                if let Some(value) = value.as_mut() {
                    fit.text(field, value, max);
                }
            }
        }
    }
    if let Some(call) = body.call.as_mut() {
        for (field, value, max) in [
            ("call.from", &mut call.from, CALL_FIELD_BYTES),
            ("call.to", &mut call.to, CALL_FIELD_BYTES),
            ("call.recording_url", &mut call.recording_url, URL_BYTES),
        ] {
            if let Some(value) = value.as_mut() {
                fit.text(field, value, max);
            }
        }
    }
    if let Some(reaction) = body.reaction.as_mut() {
        // Digested like `provider_ref`, so it still names the target's (digested) reference.
        fit.reference("reaction.target_provider_ref", &mut reaction.target_provider_ref);
        if let Some(emoji) = reaction.emoji.as_mut() {
            fit.text("reaction.emoji", emoji, EMOJI_BYTES);
        }
    }
    fit.parameters(&mut body.parameters);
    body.sanitized.extend(log);
    fit_event_size(body);
}

/// The per-field limits bound the event; JSON escaping can still double a string's size, so a
/// final check cuts the text (the only large field) until the serialized event fits.
fn fit_event_size(body: &mut InteractionBody) {
    loop {
        let size = serde_json::to_vec(body).map_or(0, |json| json.len());
        // Room for the envelope the kit adds (version, ids, tenant).
        let budget = INGESTED_EVENT_BYTES - 512;
        if size <= budget {
            return;
        }
        let excess = size - budget;
        let Some(text) = body.content.as_mut().and_then(|c| c.text.as_mut()).filter(|t| !t.is_empty()) else {
            // Without text the field limits alone keep the event far below the budget; should a
            // future field break that, drop what is left of the bulk rather than the event.
            if let Some(content) = body.content.as_mut() {
                let before = content.attachments.len() as u64;
                if before > 0 {
                    content.attachments.clear();
                    body.sanitized.push(Sanitized {
                        field: "content.attachments".into(),
                        action: Action::Dropped,
                        original_size: Some(before),
                    });
                    continue;
                }
            }
            let before = body.parameters.len() as u64;
            body.parameters.clear();
            body.sanitized.push(Sanitized { field: "parameters".into(), action: Action::Dropped, original_size: Some(before) });
            return;
        };
        let original = text.len() as u64;
        // Escaped characters take at most 6 bytes each: cutting the excess (at least) once
        // more per round converges in a few rounds.
        let keep = text.len().saturating_sub(excess.max(1024));
        let cut = prefix(text, keep).len();
        text.truncate(cut);
        match body.sanitized.iter_mut().find(|s| s.field == "content.text" && s.action == Action::Truncated) {
            Some(entry) => entry.original_size = entry.original_size.max(Some(original)),
            None => body.sanitized.push(Sanitized {
                field: "content.text".into(),
                action: Action::Truncated,
                original_size: Some(original),
            }),
        }
    }
}

struct Fitter<'a> {
    log: &'a mut Vec<Sanitized>,
}

impl Fitter<'_> {
    fn record(&mut self, field: &str, action: Action, original_size: Option<u64>) {
        if !self.log.iter().any(|s| s.field == field && s.action == action) {
            self.log.push(Sanitized { field: field.to_owned(), action, original_size });
        }
    }

    fn strip_nul(&mut self, field: &str, value: &mut String) {
        if value.contains('\0') {
            value.retain(|c| c != '\0');
            self.record(field, Action::NulRemoved, None);
        }
    }

    fn text(&mut self, field: &str, value: &mut String, max: usize) {
        self.strip_nul(field, value);
        if value.len() > max {
            let original = value.len() as u64;
            let cut = prefix(value, max).len();
            value.truncate(cut);
            self.record(field, Action::Truncated, Some(original));
        }
    }

    fn reference(&mut self, field: &str, value: &mut String) {
        self.strip_nul(field, value);
        if value.len() > REF_BYTES {
            let original = value.len() as u64;
            *value = digest(value);
            self.record(field, Action::Digested, Some(original));
        }
    }

    fn identity(&mut self, identity: &mut Identity) {
        self.text("identities.value", &mut identity.value, IDENTITY_VALUE_BYTES);
        if let Some(scope) = identity.scope.as_mut() {
            self.strip_nul("identities.scope", scope);
            if scope.len() > SCOPE_BYTES {
                let original = scope.len() as u64;
                *scope = digest(scope);
                self.record("identities.scope", Action::Digested, Some(original));
            }
        }
    }

    fn count<T>(&mut self, field: &str, items: &mut Vec<T>, max: usize) {
        if items.len() > max {
            let original = items.len() as u64;
            items.truncate(max);
            self.record(field, Action::Dropped, Some(original));
        }
    }

    fn parameters(&mut self, parameters: &mut std::collections::BTreeMap<String, String>) {
        let needs_work = parameters.len() > PARAMETERS
            || parameters.iter().any(|(k, v)| {
                k.len() > PARAMETER_KEY_BYTES || v.len() > PARAMETER_VALUE_BYTES || k.contains('\0') || v.contains('\0')
            });
        if !needs_work {
            return;
        }
        let original = parameters.len();
        let mut kept = std::collections::BTreeMap::new();
        for (mut key, mut value) in std::mem::take(parameters) {
            if kept.len() == PARAMETERS {
                break;
            }
            self.strip_nul("parameters", &mut key);
            if key.len() > PARAMETER_KEY_BYTES {
                let original = key.len() as u64;
                // Keys must stay distinct: a readable prefix plus part of the digest.
                key = format!("{}~{}", prefix(&key, PARAMETER_KEY_BYTES - 17), &digest(&key)[7..23]);
                self.record("parameters.key", Action::Digested, Some(original));
            }
            self.text("parameters.value", &mut value, PARAMETER_VALUE_BYTES);
            kept.insert(key, value);
        }
        if original > PARAMETERS {
            self.record("parameters", Action::Dropped, Some(original as u64));
        }
        *parameters = kept;
    }
}

#[cfg(test)]
mod tests;
