//! The `interactions.resolved` v1 event: an ingested interaction plus the resolver's decision.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{IdentityKind, InteractionEvent};

/// The identifier that decided which contact an interaction belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MatchedBy {
    pub kind: IdentityKind,
    pub value: String,
    #[serde(default)]
    pub scope: Option<String>,
}

/// An identifier the resolver deliberately did not use, and why (`invalid`, `blocked`, `shared`, `owned_by_other`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IgnoredIdentity {
    pub kind: IdentityKind,
    pub value: String,
    pub reason: String,
}

/// Why the interaction landed on its contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Resolution {
    /// `None` when the contact was created from the interaction.
    pub matched_by: Option<MatchedBy>,
    pub created_contact: bool,
    /// Other contacts that matched weaker identifiers (never merged automatically).
    #[serde(default)]
    pub candidates: Vec<Uuid>,
    #[serde(default)]
    pub ignored: Vec<IgnoredIdentity>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ResolvedInteraction {
    #[serde(default = "crate::schema_version")]
    pub v: u16,
    pub tenant_id: String,
    pub contact_id: Uuid,
    pub interaction: InteractionEvent,
    pub resolution: Resolution,
}

impl ResolvedInteraction {
    /// Message key: `tenant|contact_id`, so one contact's history stays in order.
    pub fn key(&self) -> String {
        crate::topics::contact_key(&self.tenant_id, &self.contact_id)
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
        let ignored = IgnoredIdentity {
            kind: IdentityKind::Email,
            value: value.clone(),
            reason: format!("invalid: `{value}` is not an e-mail address"),
        };
        let resolution = Resolution {
            matched_by: Some(MatchedBy { kind: IdentityKind::Custom, value, scope: Some("s".repeat(SCOPE_BYTES)) }),
            created_contact: false,
            candidates: vec![Uuid::nil(); CANDIDATES],
            ignored: vec![ignored; IDENTITIES + PARAMETERS],
        };
        let size = serde_json::to_vec(&resolution).expect("serializable").len();
        assert!(size <= RESOLUTION_BYTES, "{size} bytes");
        const { assert!(limits::INGESTED_EVENT_BYTES + RESOLUTION_BYTES + 1024 <= limits::EVENT_BYTES) };
    }
}
