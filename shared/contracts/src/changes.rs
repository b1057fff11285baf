//! `contacts.changes` and `contacts.snapshot` v1 events for CRM consumers.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::{ContactId, Identity, NameSource};

/// What happened to a contact. For `merged` and `unmerged`, `contact_id` is the survivor and
/// `related_contact_id` the contact merged into it (and restored from it); consumers re-point
/// (and restore) the merged contact's history. `erased` follows `deleted` when the operator asked
/// for erasure (GDPR): consumers remove the contact's personal content. `conversation_linked`
/// names the conversation (field `conversation_ref`) an operator linked to the contact: its
/// unidentified interactions belong to the contact from now on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "sqlx", derive(sqlx::Type), sqlx(type_name = "text", rename_all = "snake_case"))]
pub enum ContactChangeKind {
    Created,
    NameChanged,
    IdentifierAdded,
    IdentifierEdited,
    IdentifierRemoved,
    Merged,
    Unmerged,
    Deleted,
    Erased,
    DuplicateSuggested,
    /// A typed-only match offered identifiers to the card; an operator confirms or rejects them.
    IdentifierProposed,
    /// An operator rejected a proposed identifier (confirming one is `identifier_added`).
    ProposalRejected,
    ConversationLinked,
    ConversationUnlinked,
    /// An operator recorded two contacts as different people (an unmerge, a dismissed duplicate):
    /// never suggested or merged automatically again.
    DifferentPeople,
}

/// Who made the change: a channel (automatic resolution), an operator or an integration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Actor {
    Channel { channel: String, interaction_id: Uuid },
    Operator { id: String },
    Integration { id: String },
}

/// One changed field with its value before and after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FieldChange {
    pub field: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ContactChange {
    #[serde(default = "crate::schema_version")]
    pub v: u16,
    pub change_id: Uuid,
    pub tenant_id: String,
    pub contact_id: ContactId,
    pub kind: ContactChangeKind,
    pub occurred_at: DateTime<Utc>,
    pub actor: Actor,
    pub reason: String,
    pub changes: Vec<FieldChange>,
    /// Other contact involved (merge partner, duplicate candidate).
    #[serde(default)]
    pub related_contact_id: Option<ContactId>,
}

/// Full card on the compacted `contacts.snapshot` topic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ContactSnapshot {
    #[serde(default = "crate::schema_version")]
    pub v: u16,
    pub tenant_id: String,
    pub contact_id: ContactId,
    pub name: Option<String>,
    pub name_source: Option<NameSource>,
    pub identities: Vec<Identity>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}
