//! Merges, their journal, and the duplicates queue.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Card;
use crate::{ContactId, IdentityKind, MergeId, NameSource};

/// Whose name the survivor keeps when a merge finds two.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NameChoice {
    #[default]
    Survivor,
    Merged,
}

/// `POST /v1/contacts/{id}/merge`: `merged_contact_id` is merged into the contact in the path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    pub merged_contact_id: ContactId,
    #[serde(default)]
    pub name: NameChoice,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MergeResult {
    pub merge_id: MergeId,
    pub survivor: Card,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UnmergeResult {
    pub survivor: Card,
    pub restored: Card,
}

/// What a merge would do, computed without changing anything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MergePreview {
    pub survivor: Card,
    pub merged: Card,
    /// Fields only one side's value can survive; the merge's `name` choice decides.
    pub conflicts: Vec<Conflict>,
    /// Identifier kinds both contacts hold: the survivor will hold the values of both.
    pub combined: Vec<Combined>,
    /// How much moves from the merged contact to the survivor.
    pub moves: Moves,
}

/// A single-valued field on which the two contacts differ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Conflict {
    pub field: String,
    pub survivor: NamedValue,
    pub merged: NamedValue,
    /// The merge request field that picks the side.
    pub choose_with: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NamedValue {
    pub value: String,
    pub source: Option<NameSource>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Combined {
    pub kind: IdentityKind,
    pub scope: Option<String>,
    pub survivor: Vec<String>,
    pub merged: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Moves {
    pub identities: u64,
    pub conversation_links: u64,
}

/// One merge of the journal, as a card's merge history shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MergeRecord {
    pub merge_id: MergeId,
    pub survivor_id: ContactId,
    pub merged_id: ContactId,
    pub merged_by: String,
    pub merged_at: DateTime<Utc>,
    /// Set once the merge was reversed; an open merge can be unmerged.
    pub unmerged_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MergeHistory {
    pub items: Vec<MergeRecord>,
}

/// The state of a duplicate suggestion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "sqlx", derive(sqlx::Type), sqlx(type_name = "text", rename_all = "snake_case"))]
pub enum SuggestionStatus {
    Open,
    /// An operator kept them apart; never suggested again.
    Dismissed,
    Merged,
    /// Recorded as different people (an unmerge): never suggested or merged automatically again.
    DifferentPeople,
}

/// Why the identifier two contacts share is weak evidence that they are one person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "sqlx", derive(sqlx::Type), sqlx(type_name = "text", rename_all = "snake_case"))]
pub enum Weakness {
    /// Held by several contacts already (a family phone, a switchboard).
    Shared,
    /// A fixed line: households and offices share them.
    Landline,
    /// Not seen on its card for so long that the number may have a new owner.
    Stale,
    /// Only typed into a form, never asserted by a provider.
    Typed,
}

/// Two contacts the resolver found matching one interaction (never merged silently).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Suggestion {
    pub contact_a: ContactId,
    pub contact_b: ContactId,
    /// The evidence: the identifier both matched.
    pub shared_kind: IdentityKind,
    pub shared_value: String,
    /// Why that evidence is weak, if it is (an operator should check before merging).
    pub weakness: Option<Weakness>,
    pub status: SuggestionStatus,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SuggestionList {
    pub items: Vec<Suggestion>,
}

/// `POST /v1/duplicates/dismiss`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DuplicatePair {
    pub contact_a: ContactId,
    pub contact_b: ContactId,
}

/// `POST /v1/duplicates/accept`: merges the pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptDuplicate {
    pub contact_a: ContactId,
    pub contact_b: ContactId,
    /// The contact that stays; the older one when not given.
    #[serde(default)]
    pub survivor: Option<ContactId>,
    #[serde(default)]
    pub name: NameChoice,
}
