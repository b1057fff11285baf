//! Request and response bodies of the Directory API (the resolver, DESIGN.md §6). Requests are
//! valid by construction: they deserialize only when every field is within its bounds, so the
//! API answers 422 naming the field and handlers never see a value they must check again.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::text::{PersonName, TextError};
use crate::{limits, ContactId, IdentityId, IdentityKind, NameSource};

mod merges;
mod tenant;

pub use merges::*;
pub use tenant::*;

/// Where an identifier on a card came from: a channel's interaction, an operator, an import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "sqlx", derive(sqlx::Type), sqlx(type_name = "text", rename_all = "snake_case"))]
pub enum IdentitySource {
    Messenger,
    Whatsapp,
    Vk,
    Apple,
    Email,
    Voip,
    Webchat,
    Operator,
    Import,
}

impl From<crate::Channel> for IdentitySource {
    fn from(channel: crate::Channel) -> Self {
        use crate::Channel as C;
        match channel {
            C::Messenger => Self::Messenger,
            C::Whatsapp => Self::Whatsapp,
            C::Vk => Self::Vk,
            C::Apple => Self::Apple,
            C::Email => Self::Email,
            C::Voip => Self::Voip,
            C::Webchat => Self::Webchat,
        }
    }
}

/// One identifier on a contact card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CardIdentity {
    pub identity_id: IdentityId,
    pub kind: IdentityKind,
    pub value: String,
    /// The page, community, business or custom parameter the value is unique within.
    pub scope: Option<String>,
    pub source: IdentitySource,
    pub provenance: crate::Provenance,
    pub created_at: DateTime<Utc>,
}

/// An identifier a typed-only match offered to the card, for an operator to confirm or reject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProposedIdentity {
    pub proposal_id: Uuid,
    pub kind: IdentityKind,
    pub value: String,
    pub scope: Option<String>,
    pub source: IdentitySource,
    /// The interaction that carried it.
    pub interaction_id: Option<Uuid>,
    pub proposed_at: DateTime<Utc>,
}

/// An operator's answer to a proposed identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProposalDecision {
    /// The identifier becomes the contact's.
    Confirm,
    /// It is not the contact's; it is never proposed to this contact again.
    Reject,
}

/// `POST /v1/contacts/{id}/proposed-identities/{proposal_id}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecideProposal {
    pub decision: ProposalDecision,
}

/// A contact card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Card {
    pub contact_id: ContactId,
    pub name: Option<String>,
    pub name_source: Option<NameSource>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_interaction_at: Option<DateTime<Utc>>,
    /// Set when this contact was merged into another: the survivor's id.
    pub merged_into: Option<ContactId>,
    pub identities: Vec<CardIdentity>,
    /// Identifiers typed-only matches offered, waiting for an operator (open ones only).
    #[serde(default)]
    pub proposed_identities: Vec<ProposedIdentity>,
}

/// A page of contacts; `next_cursor` continues it (absent on the last page).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ContactPage {
    pub items: Vec<Card>,
    pub next_cursor: Option<String>,
}

/// An identifier an operator adds to a contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "NewIdentityFields")]
pub struct NewIdentity {
    pub kind: IdentityKind,
    /// As written (normalized by the directory: E.164 phones, lowercased e-mails).
    pub value: String,
    /// Required for `custom` (the parameter name); the page, community or business of a channel id.
    pub scope: Option<String>,
    /// Knowingly shared with another contact (a family phone): allowed on both.
    pub shared: bool,
}

/// The fields of [`NewIdentity`] as sent, checked by its `TryFrom` (and its schema).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewIdentity)]
pub struct NewIdentityFields {
    kind: IdentityKind,
    #[schema(min_length = 1, max_length = 256)]
    value: String,
    #[serde(default)]
    #[schema(max_length = 256)]
    scope: Option<String>,
    #[serde(default)]
    shared: bool,
}

impl TryFrom<NewIdentityFields> for NewIdentity {
    type Error = TextError;

    fn try_from(fields: NewIdentityFields) -> Result<Self, TextError> {
        if matches!(fields.kind, IdentityKind::ContactId | IdentityKind::ConversationLink) {
            return Err(TextError::Invalid(format!("{} is not an identifier a contact holds", fields.kind)));
        }
        let value = identity_value(fields.kind, &fields.value)?;
        let scope = match fields.scope.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(scope) => Some(super::text::one_line(scope, limits::SCOPE_BYTES)?),
            None if fields.kind == IdentityKind::Custom => {
                return Err(TextError::Invalid("a custom identifier needs `scope`, its parameter name".into()))
            }
            None => None,
        };
        Ok(Self { kind: fields.kind, value, scope, shared: fields.shared })
    }
}

/// An identifier value of `kind` as an operator typed it: one line, within the longest value of
/// its kind ([`IdentityKind::max_value_bytes`], counted in characters here).
pub fn identity_value(kind: IdentityKind, raw: &str) -> Result<String, TextError> {
    super::text::one_line(raw, kind.max_value_bytes())
}

/// `POST /v1/contacts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewContact {
    #[serde(default)]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200)]
    pub name: Option<PersonName>,
    #[serde(default, deserialize_with = "at_most_identities")]
    #[schema(value_type = Vec<NewIdentityFields>, max_items = 20)]
    pub identities: Vec<NewIdentity>,
}

fn at_most_identities<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<NewIdentity>, D::Error> {
    let identities = Vec::<NewIdentity>::deserialize(deserializer)?;
    if identities.len() > limits::IDENTITIES {
        return Err(serde::de::Error::custom(format!("at most {} identifiers per request", limits::IDENTITIES)));
    }
    Ok(identities)
}

/// `PATCH /v1/contacts/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rename {
    #[schema(value_type = String, min_length = 1, max_length = 200)]
    pub name: PersonName,
}

/// `PATCH /v1/contacts/{id}/identities/{identity_id}`: a new value of the same kind and scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditIdentity {
    #[schema(min_length = 1, max_length = 256)]
    pub value: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_contact_is_refused_with_the_field_that_is_wrong() {
        let ok: NewContact = serde_json::from_value(serde_json::json!({
            "name": " Jana ", "identities": [{"kind": "email", "value": "jana@novak.cz"}]
        }))
        .expect("valid");
        assert_eq!(ok.name.map(String::from).as_deref(), Some("Jana"));
        for (body, why) in [
            (serde_json::json!({"name": ""}), "blank name"),
            (serde_json::json!({"name": "x".repeat(201)}), "long name"),
            (serde_json::json!({"identities": [{"kind": "custom", "value": "C-1"}]}), "custom without scope"),
            (serde_json::json!({"identities": [{"kind": "contact_id", "value": "x"}]}), "not a held kind"),
            (serde_json::json!({"identities": [{"kind": "email", "value": "x".repeat(300)}]}), "value over its kind"),
            (
                serde_json::json!({"identities": (0..21).map(|i| serde_json::json!({"kind": "email", "value": format!("a{i}@b.cz")})).collect::<Vec<_>>()}),
                "too many",
            ),
            (serde_json::json!({"name": "x", "extra": 1}), "unknown field"),
        ] {
            assert!(serde_json::from_value::<NewContact>(body).is_err(), "{why}");
        }
    }
}
