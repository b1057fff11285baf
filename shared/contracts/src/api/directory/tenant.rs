//! Conversation links, the tenant's identifier definitions and blocked values, contact import
//! reports and the outbox quarantine.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::text::{Label, ParameterName, Pattern};
use crate::{ContactId, IdentityKind, IgnoredIdentity, MatchedBy};

/// `POST /v1/conversations/{conversation_ref}/link`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkConversation {
    pub contact_id: ContactId,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LinkResult {
    pub conversation_ref: String,
    pub contact_id: ContactId,
    /// False when the conversation was linked to this contact already.
    pub changed: bool,
}

/// A conversation's link: the contact its interactions resolve to, set by an operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Link {
    pub conversation_ref: String,
    pub contact_id: ContactId,
    pub linked_by: String,
    pub linked_at: DateTime<Utc>,
}

/// A tenant-defined identifier parameter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Definition {
    #[schema(value_type = String, min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9_-]+$")]
    pub name: ParameterName,
    #[schema(value_type = String, min_length = 1, max_length = 200)]
    pub label: Label,
    /// Only parameters that identify the client take part in matching.
    pub identifies_client: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DefinitionList {
    pub items: Vec<Definition>,
}

/// `PATCH /v1/identifier-definitions/{name}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DefinitionPatch {
    #[serde(default)]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200)]
    pub label: Option<Label>,
    #[serde(default)]
    pub identifies_client: Option<bool>,
}

/// Why a value is blocked: a placeholder or test value, or the tenant's own number or mailbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "sqlx", derive(sqlx::Type), sqlx(type_name = "text", rename_all = "snake_case"))]
pub enum BlockReason {
    #[default]
    Blocked,
    Own,
}

impl BlockReason {
    pub fn as_str(self) -> &'static str {
        match self {
            BlockReason::Blocked => "blocked",
            BlockReason::Own => "own",
        }
    }
}

/// `POST /v1/blocked-values`: a value (or `*` pattern) that never matches or attaches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BlockValue {
    /// The kind it applies to; every kind when absent.
    #[serde(default)]
    pub kind: Option<IdentityKind>,
    #[schema(value_type = String, min_length = 1, max_length = 256)]
    pub pattern: Pattern,
    #[serde(default)]
    pub reason: BlockReason,
}

/// A blocked value or pattern as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Blocked {
    /// Every identifier kind when absent.
    pub kind: Option<IdentityKind>,
    pub pattern: String,
    pub reason: BlockReason,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BlockedList {
    pub items: Vec<Blocked>,
}

/// What an import did with one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RowStatus {
    Created,
    Matched,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RowReport {
    /// 1 = the first row after the header.
    pub row: u64,
    pub status: RowStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_id: Option<ContactId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matched_by: Option<MatchedBy>,
    /// Other contacts the row matched; suggested as duplicates, never merged.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<ContactId>,
    /// Values that took no part, with the reason (`invalid: …`, `blocked`, `shared`, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignored: Vec<IgnoredIdentity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// An outbox event Kafka refused for good (too large, invalid), kept for an operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct QuarantinedEvent {
    pub id: i64,
    pub topic: String,
    pub key: String,
    pub event_type: String,
    pub error: Option<String>,
    pub quarantined_at: DateTime<Utc>,
    /// Size of the stored payload (JSON text).
    pub size_bytes: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct QuarantinedList {
    pub items: Vec<QuarantinedEvent>,
}
