//! The `interactions.resolved` v1 event: an ingested interaction plus the resolver's decision.

use serde::{Deserialize, Serialize};

use crate::{ContactId, IdentityKind, InteractionEvent};

/// The identifier that decided which contact an interaction belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MatchedBy {
    pub kind: IdentityKind,
    pub value: String,
    #[serde(default)]
    pub scope: Option<String>,
}

/// Why an identifier took no part in resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IgnoreReason {
    /// It does not normalize (not a phone number, not an e-mail address); `detail` says why.
    Invalid,
    /// Longer than any identifier of its kind.
    TooLong,
    /// A placeholder, test or example value, or one the tenant blocked.
    Blocked,
    /// The tenant's own number or mailbox.
    Own,
    /// A role mailbox (`info@`, `sales@`, …): many people write from it.
    RoleAddress,
    /// Held by several contacts: it attaches nothing by itself (`detail` names how many).
    Shared,
    /// Another contact holds it: never taken from them.
    OwnedByOther,
    /// The contact holds the most identifiers of this kind it gains automatically.
    LimitPerKind,
    /// A custom parameter whose definition does not identify the client.
    NotIdentifying,
    /// A kind channels may not send (a conversation link).
    NotAcceptedFromChannels,
    /// A contact id that is no live contact of this tenant.
    UnknownContact,
}

impl IgnoreReason {
    pub fn as_str(self) -> &'static str {
        match self {
            IgnoreReason::Invalid => "invalid",
            IgnoreReason::TooLong => "too_long",
            IgnoreReason::Blocked => "blocked",
            IgnoreReason::Own => "own",
            IgnoreReason::RoleAddress => "role_address",
            IgnoreReason::Shared => "shared",
            IgnoreReason::OwnedByOther => "owned_by_other",
            IgnoreReason::LimitPerKind => "limit_per_kind",
            IgnoreReason::NotIdentifying => "not_identifying",
            IgnoreReason::NotAcceptedFromChannels => "not_accepted_from_channels",
            IgnoreReason::UnknownContact => "unknown_contact",
        }
    }
}

impl std::fmt::Display for IgnoreReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An identifier the resolver deliberately did not use, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IgnoredIdentity {
    pub kind: IdentityKind,
    pub value: String,
    pub reason: IgnoreReason,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl IgnoredIdentity {
    pub fn new(kind: IdentityKind, value: impl Into<String>, reason: IgnoreReason) -> Self {
        Self { kind, value: value.into(), reason, detail: None }
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
}

/// How sure the resolver is of the contact (DESIGN.md §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    /// Matched (or created) by an identifier the provider or a logged-in session asserted.
    #[default]
    Verified,
    /// Matched only by identifiers someone typed: the interaction is attached, but the card
    /// learned nothing from it (its new identifiers are `proposed`) and its name was kept.
    Typed,
    /// No contact: nothing usable identified the person, or only identifiers several people
    /// share (`candidates` lists them). An unidentified conversation, until an operator links it.
    Unidentified,
}

/// Why the interaction landed on its contact.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Resolution {
    /// `None` when the contact was created from the interaction, or there is none.
    pub matched_by: Option<MatchedBy>,
    pub created_contact: bool,
    #[serde(default)]
    pub confidence: Confidence,
    /// Other contacts that matched (never merged silently); for an unidentified interaction,
    /// the contacts its shared identifiers point at.
    #[serde(default)]
    pub candidates: Vec<ContactId>,
    #[serde(default)]
    pub ignored: Vec<IgnoredIdentity>,
    /// Identifiers offered to the contact for an operator to confirm (a typed-only match).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub proposed: Vec<crate::Identity>,
    /// Contacts merged into this one because the interaction carried verified identifiers of
    /// both (tenant policy `auto_merge = verified`); each merge is journaled and reversible.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged: Vec<ContactId>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ResolvedInteraction {
    #[serde(default = "crate::schema_version")]
    pub v: u16,
    pub tenant_id: String,
    /// `None` for an unidentified interaction (`resolution.confidence = unidentified`).
    pub contact_id: Option<ContactId>,
    pub interaction: InteractionEvent,
    pub resolution: Resolution,
}

impl ResolvedInteraction {
    /// Message key: `tenant|contact_id`, so one contact's history stays in order; an
    /// unidentified interaction is keyed by its conversation (or itself), like its siblings.
    pub fn key(&self) -> String {
        match self.contact_id {
            Some(contact_id) => crate::topics::contact_key(&self.tenant_id, &contact_id),
            None => {
                let conversation =
                    self.interaction.body.conversation_ref.clone().unwrap_or_else(|| self.interaction.interaction_id.to_string());
                format!("{}|conversation:{conversation}", self.tenant_id)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::{self, CANDIDATES, IDENTITIES, IDENTITY_VALUE_BYTES, PARAMETERS, RESOLUTION_BYTES, SCOPE_BYTES};

    /// The largest decision the resolver can record: every identity and identifying parameter
    /// ignored with the longest value and reason, the most candidates, the longest match.
    #[test]
    fn a_resolution_at_its_bounds_fits_what_the_resolver_may_add() {
        let value = "\"".repeat(IDENTITY_VALUE_BYTES);
        let ignored = IgnoredIdentity::new(IdentityKind::Email, value.clone(), IgnoreReason::Invalid)
            .detail(format!("`{value}` is not an e-mail address"));
        let proposed = crate::Identity::new(IdentityKind::Email, value.clone(), Some("s".repeat(SCOPE_BYTES)));
        let resolution = Resolution {
            matched_by: Some(MatchedBy { kind: IdentityKind::Custom, value, scope: Some("s".repeat(SCOPE_BYTES)) }),
            created_contact: false,
            confidence: Confidence::Typed,
            candidates: vec![ContactId(uuid::Uuid::nil()); CANDIDATES],
            ignored: vec![ignored; IDENTITIES + PARAMETERS],
            proposed: vec![proposed; IDENTITIES],
            merged: vec![ContactId(uuid::Uuid::nil()); CANDIDATES],
        };
        let size = serde_json::to_vec(&resolution).expect("serializable").len();
        assert!(size <= RESOLUTION_BYTES, "{size} bytes");
        const { assert!(limits::INGESTED_EVENT_BYTES + RESOLUTION_BYTES + 1024 <= limits::EVENT_BYTES) };
    }
}
