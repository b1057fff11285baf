//! The `interactions.resolved` v1 event: an ingested interaction plus the resolver's decision.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{IdentityKind, InteractionEvent};

/// The identifier that decided which contact an interaction belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchedBy {
    pub kind: IdentityKind,
    pub value: String,
    #[serde(default)]
    pub scope: Option<String>,
}

/// An identifier the resolver deliberately did not use, and why (`invalid`, `blocked`, `shared`, `owned_by_other`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IgnoredIdentity {
    pub kind: IdentityKind,
    pub value: String,
    pub reason: String,
}

/// Why the interaction landed on its contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
