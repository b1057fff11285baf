//! Request and response bodies of the Directory API (the resolver, DESIGN.md §6). Requests are
//! valid by construction: they deserialize only when every field is within its bounds, so the
//! API answers 422 naming the field and handlers never see a value they must check again.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::text::{Label, ParameterName, Pattern, PersonName, TextError};
use crate::{limits, IdentityKind, IgnoredIdentity, MatchedBy, NameSource};

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
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct CardIdentity {
    pub identity_id: Uuid,
    pub kind: IdentityKind,
    pub value: String,
    /// The page, community, business or custom parameter the value is unique within.
    pub scope: Option<String>,
    pub source: IdentitySource,
    pub created_at: DateTime<Utc>,
}

/// A contact card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Card {
    pub contact_id: Uuid,
    pub name: Option<String>,
    pub name_source: Option<NameSource>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_interaction_at: Option<DateTime<Utc>>,
    /// Set when this contact was merged into another: the survivor's id.
    pub merged_into: Option<Uuid>,
    pub identities: Vec<CardIdentity>,
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
    pub merged_contact_id: Uuid,
    #[serde(default)]
    pub name: NameChoice,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MergeResult {
    pub merge_id: Uuid,
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
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct MergeRecord {
    pub merge_id: Uuid,
    pub survivor_id: Uuid,
    pub merged_id: Uuid,
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
    Dismissed,
    Merged,
}

/// Two contacts the resolver found matching one interaction (never merged silently).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct Suggestion {
    pub contact_a: Uuid,
    pub contact_b: Uuid,
    pub shared_kind: IdentityKind,
    pub shared_value: String,
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
    pub contact_a: Uuid,
    pub contact_b: Uuid,
}

/// `POST /v1/duplicates/accept`: merges the pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptDuplicate {
    pub contact_a: Uuid,
    pub contact_b: Uuid,
    /// The contact that stays; the older one when not given.
    #[serde(default)]
    pub survivor: Option<Uuid>,
    #[serde(default)]
    pub name: NameChoice,
}

/// `POST /v1/conversations/{conversation_ref}/link`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkConversation {
    pub contact_id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LinkResult {
    pub conversation_ref: String,
    pub contact_id: Uuid,
    /// False when the conversation was linked to this contact already.
    pub changed: bool,
}

/// A conversation's link: the contact its interactions resolve to, set by an operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct Link {
    pub conversation_ref: String,
    pub contact_id: Uuid,
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
    pub contact_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matched_by: Option<MatchedBy>,
    /// Other contacts the row matched; suggested as duplicates, never merged.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<Uuid>,
    /// Values that took no part, with the reason (`invalid: …`, `blocked`, `shared`, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignored: Vec<IgnoredIdentity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// An outbox event Kafka refused for good (too large, invalid), kept for an operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
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
