//! The identifiers a contact is found by: their kinds (strongest first, with each kind's bounds),
//! how far one is trusted ([`Provenance`]) and one identifier ([`Identity`]).

use std::fmt;

use serde::{Deserialize, Serialize};

/// Kinds of identifiers a contact can be found by, strongest first (DESIGN.md §4 rule 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "sqlx", derive(sqlx::Type), sqlx(type_name = "text", rename_all = "snake_case"))]
pub enum IdentityKind {
    ContactId,
    /// Resolver only: a conversation an operator linked to a contact (never sent by channels).
    ConversationLink,
    Custom,
    Psid,
    Whatsapp,
    /// WhatsApp's business-scoped user id (`user_id`, e.g. `CZ.1502576394655843`) of a user who
    /// hides their number; scoped to the business account.
    WhatsappUser,
    Vk,
    Apple,
    Email,
    Phone,
}

impl IdentityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IdentityKind::ContactId => "contact_id",
            IdentityKind::ConversationLink => "conversation_link",
            IdentityKind::Custom => "custom",
            IdentityKind::Psid => "psid",
            IdentityKind::Whatsapp => "whatsapp",
            IdentityKind::WhatsappUser => "whatsapp_user",
            IdentityKind::Vk => "vk",
            IdentityKind::Apple => "apple",
            IdentityKind::Email => "email",
            IdentityKind::Phone => "phone",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            IdentityKind::ContactId,
            IdentityKind::ConversationLink,
            IdentityKind::Custom,
            IdentityKind::Psid,
            IdentityKind::Whatsapp,
            IdentityKind::WhatsappUser,
            IdentityKind::Vk,
            IdentityKind::Apple,
            IdentityKind::Email,
            IdentityKind::Phone,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }

    /// The longest value of this kind that can identify anyone (UTF-8 bytes, as written before
    /// normalization); the resolver screens longer values out as `too_long`. E-mail: RFC 5321's
    /// 254; a phone as people write it (E.164 has at most 15 digits); ids: generous bounds over
    /// what the providers issue.
    pub fn max_value_bytes(self) -> usize {
        match self {
            IdentityKind::ContactId => 36,
            IdentityKind::Email => 254,
            IdentityKind::Phone | IdentityKind::Whatsapp => 64,
            IdentityKind::ConversationLink => crate::limits::REF_BYTES,
            IdentityKind::Custom | IdentityKind::Psid | IdentityKind::WhatsappUser | IdentityKind::Vk | IdentityKind::Apple => {
                256
            }
        }
    }

    /// Matching strength: lower is stronger (contact id > linked conversation > custom >
    /// channel ids > e-mail > phone). Channel ids share one rank.
    pub fn strength(self) -> u8 {
        match self {
            IdentityKind::ContactId => 0,
            IdentityKind::ConversationLink => 1,
            IdentityKind::Custom => 2,
            IdentityKind::Psid | IdentityKind::Whatsapp | IdentityKind::WhatsappUser | IdentityKind::Vk | IdentityKind::Apple => {
                3
            }
            IdentityKind::Email => 4,
            IdentityKind::Phone => 5,
        }
    }
}

impl fmt::Display for IdentityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How far an identifier can be trusted to belong to the person in the interaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "sqlx", derive(sqlx::Type), sqlx(type_name = "text", rename_all = "snake_case"))]
pub enum Provenance {
    /// Asserted by the provider or a logged-in session: a PSID, a wa_id, a VK or Apple id, a
    /// caller id, the sender of an e-mail, a logged-in visitor's contact id, an OAuth profile.
    #[default]
    Verified,
    /// Typed by someone into a form or free text: anyone can type anyone's e-mail.
    Typed,
}

/// One way of recognising the customer: `scope` is the page, community, business or custom
/// parameter name the value is only unique within. Two identities are *the same identifier*
/// when kind, scope and value agree, whatever their provenance (equality and hashing ignore it).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Identity {
    pub kind: IdentityKind,
    pub value: String,
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default, skip_serializing_if = "Provenance::is_verified")]
    pub provenance: Provenance,
}

impl Provenance {
    pub fn is_verified(&self) -> bool {
        *self == Provenance::Verified
    }
}

impl PartialEq for Identity {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && self.value == other.value && self.scope == other.scope
    }
}

impl Eq for Identity {}

impl std::hash::Hash for Identity {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (self.kind, &self.value, &self.scope).hash(state);
    }
}

impl Identity {
    /// A verified identifier (see [`Provenance`]).
    pub fn new(kind: IdentityKind, value: impl Into<String>, scope: Option<String>) -> Self {
        Self { kind, value: value.into(), scope, provenance: Provenance::Verified }
    }

    /// The same identifier as typed by someone.
    pub fn typed(self) -> Self {
        Self { provenance: Provenance::Typed, ..self }
    }

    pub fn is_verified(&self) -> bool {
        self.provenance.is_verified()
    }
}
