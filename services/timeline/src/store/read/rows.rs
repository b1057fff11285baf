//! Rows of the read queries decoded into the API's types ([`contracts::api::timeline`]), each in
//! one place: closed sets through their `sqlx::Type` (text), JSON columns through their contract types, and what
//! the API derives from a row (an item's `id`, a transcript entry's type and delivery status)
//! computed here rather than in SQL.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use contracts::api::timeline::{
    AttachmentRef, ContactEventItem, Details, EntryType, InteractionItem, MessageReaction, TranscriptEntry,
};
use contracts::{Actor, Channel, ContactChangeKind, Direction, FieldChange, InteractionEvent, Resolution};
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{FromRow, Row};
use uuid::Uuid;

use crate::transcript::param;

/// The columns of `interactions` an [`InteractionRow`] reads.
pub const INTERACTION_COLUMNS: &str = "interaction_id, contact_id, merged_from, channel, direction, occurred_at,
     last_message_at, conversation_ref, subject, body_text AS text, message_count, details, parameters, attachments,
     resolution, event, redacted_at IS NOT NULL AS redacted";

/// [`INTERACTION_COLUMNS`] and the rank, read from a `hits` subquery.
pub const HIT_COLUMNS: &str = "hits.interaction_id, hits.contact_id, hits.merged_from, hits.channel, hits.direction,
     hits.occurred_at, hits.last_message_at, hits.conversation_ref, hits.subject, hits.text, hits.message_count,
     hits.details, hits.parameters, hits.attachments, hits.resolution, hits.event, hits.redacted, hits.rank";

/// The columns of `contact_events` a [`ContactEventRow`] reads (besides `rank`).
pub const EVENT_COLUMNS: &str =
    "change_id, contact_id, merged_from, kind, occurred_at, actor, reason, changes, related_contact_id,
     redacted_at IS NOT NULL AS redacted";

/// An interaction: [`INTERACTION_COLUMNS`] plus `rank` (real) and `snippet` (text), null
/// without a search.
pub struct InteractionRow(pub InteractionItem);

impl<'r> FromRow<'r, PgRow> for InteractionRow {
    fn from_row(row: &'r PgRow) -> sqlx::Result<Self> {
        let interaction_id: Uuid = row.try_get("interaction_id")?;
        let resolution: Json<Resolution> = row.try_get("resolution")?;
        let message_count: i32 = row.try_get("message_count")?;
        Ok(Self(InteractionItem {
            id: interaction_id,
            interaction_id,
            contact_id: row.try_get("contact_id")?,
            merged_from: row.try_get("merged_from")?,
            channel: row.try_get::<Channel, _>("channel")?,
            direction: row.try_get::<Direction, _>("direction")?,
            occurred_at: row.try_get("occurred_at")?,
            last_message_at: row.try_get("last_message_at")?,
            conversation_ref: row.try_get("conversation_ref")?,
            subject: row.try_get("subject")?,
            text: row.try_get("text")?,
            // A count: never negative.
            message_count: u32::try_from(message_count).unwrap_or(0),
            details: row.try_get::<Json<Details>, _>("details")?.0,
            parameters: row.try_get::<Json<BTreeMap<String, String>>, _>("parameters")?.0,
            attachments: row.try_get::<Json<Vec<AttachmentRef>>, _>("attachments")?.0,
            matched_by: resolution.matched_by.clone(),
            resolution: resolution.0,
            event: row.try_get::<Json<InteractionEvent>, _>("event")?.0,
            redacted: row.try_get("redacted")?,
            rank: row.try_get("rank")?,
            snippet: row.try_get("snippet")?,
        }))
    }
}

/// A contact event: [`EVENT_COLUMNS`] plus `rank` (real, null without a search).
pub struct ContactEventRow(pub ContactEventItem);

impl<'r> FromRow<'r, PgRow> for ContactEventRow {
    fn from_row(row: &'r PgRow) -> sqlx::Result<Self> {
        let change_id: Uuid = row.try_get("change_id")?;
        Ok(Self(ContactEventItem {
            id: change_id,
            change_id,
            contact_id: row.try_get("contact_id")?,
            merged_from: row.try_get("merged_from")?,
            kind: row.try_get::<ContactChangeKind, _>("kind")?,
            occurred_at: row.try_get("occurred_at")?,
            actor: row.try_get::<Json<Actor>, _>("actor")?.0,
            reason: row.try_get("reason")?,
            changes: row.try_get::<Json<Vec<FieldChange>>, _>("changes")?.0,
            related_contact_id: row.try_get("related_contact_id")?,
            redacted: row.try_get("redacted")?,
            rank: row.try_get("rank")?,
        }))
    }
}

/// A message of a transcript with its reactions (read by [`super::interaction`]).
pub struct TranscriptRow {
    pub(super) message_id: Uuid,
    pub(super) direction: Direction,
    pub(super) occurred_at: DateTime<Utc>,
    pub(super) text: Option<String>,
    pub(super) subject: Option<String>,
    pub(super) edited_at: Option<DateTime<Utc>>,
    pub(super) event: Json<InteractionEvent>,
    pub(super) resolution: Json<Resolution>,
    pub(super) reactions: Json<Vec<MessageReaction>>,
}

impl From<TranscriptRow> for TranscriptEntry {
    fn from(row: TranscriptRow) -> Self {
        let body = row.event.0.body;
        let parameters = body.parameters;
        Self {
            message_id: row.message_id,
            entry_type: if body.event.is_some() { EntryType::ConversationEvent } else { EntryType::Message },
            conversation_event: body.event,
            direction: row.direction,
            occurred_at: row.occurred_at,
            text: row.text,
            subject: row.subject,
            attachments: body.content.map(|c| c.attachments).unwrap_or_default(),
            delivery_status: parameters.get(param::DELIVERY_STATUS).cloned(),
            parameters,
            edited_at: row.edited_at,
            call: body.call,
            matched_by: row.resolution.0.matched_by,
            reactions: row.reactions.0,
        }
    }
}
