//! Write path of `interactions.resolved`: every event is one message row (upserted by its
//! `interaction_id`, so redelivery and later states update it in place); each message belongs to
//! one timeline interaction — its conversation's open group within the idle gap, or its own.
//! The interaction's aggregates are recomputed once per batch by [`refresh`]. A conversation
//! state change (`event`, e.g. closed) is a transcript entry like a message but is not counted
//! as one ([`transcript::summarize`]); a reaction is no entry at all: it is stored against the
//! message it reacts to ([`super::reactions`]).

use chrono::{DateTime, Utc};
use contracts::{Channel, InteractionEvent, Resolution, ResolvedInteraction};
use sqlx::types::Json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::owner_of;
use crate::transcript::{self, Message, MessageState};

/// How messages are grouped into timeline interactions.
#[derive(Debug, Clone)]
pub struct Grouping {
    /// Messages of one conversation closer than this share an interaction; zero disables grouping.
    pub idle_gap: chrono::Duration,
    /// Channels whose messages are grouped.
    pub channels: Vec<Channel>,
    /// Most messages in one group.
    pub max_messages: i32,
}

impl Grouping {
    pub fn from_config(config: &crate::Config) -> Self {
        let secs = i64::try_from(config.conversation_idle_gap_secs).unwrap_or(i64::MAX / 1000);
        Self {
            idle_gap: chrono::Duration::try_seconds(secs).unwrap_or(chrono::Duration::MAX),
            channels: config.grouped_channels.clone(),
            max_messages: i32::try_from(config.max_messages_per_interaction).unwrap_or(i32::MAX).max(1),
        }
    }

    fn groups(&self, channel: Channel) -> bool {
        self.idle_gap > chrono::Duration::zero() && self.channels.contains(&channel)
    }
}

/// The groups of a contact's conversation open around a message's time ($1 tenant, $2 owner,
/// $3 the original contact, $4 channel, $5 conversation, $6/$7 the time window, $8 the cap).
const OPEN_GROUPS_OF_CONTACT: &str = "SELECT interaction_id FROM interactions
     WHERE tenant_id = $1 AND contact_id = $2 AND coalesce(merged_from, contact_id) = $3
       AND channel = $4 AND conversation_ref = $5 AND redacted_at IS NULL
       AND occurred_at <= $6 AND last_message_at >= $7
       -- The cap bounds the transcript, whose conversation events are not counted as messages.
       AND message_count + coalesce(jsonb_array_length(details -> 'conversation_events'), 0) < $8
     ORDER BY occurred_at, interaction_id
     FOR UPDATE";

/// The same for an unidentified conversation ($2 and $3 are null).
const OPEN_UNIDENTIFIED_GROUPS: &str = "SELECT interaction_id FROM interactions
     WHERE tenant_id = $1 AND contact_id IS NULL AND $2::uuid IS NULL AND $3::uuid IS NULL
       AND channel = $4 AND conversation_ref = $5 AND redacted_at IS NULL
       AND occurred_at <= $6 AND last_message_at >= $7
       AND message_count + coalesce(jsonb_array_length(details -> 'conversation_events'), 0) < $8
     ORDER BY occurred_at, interaction_id
     FOR UPDATE";

/// Advisory-lock class of a conversation (finding and extending its open group).
const CONVERSATION_LOCK_CLASS: i32 = 0x7463; // "tc"

#[derive(sqlx::FromRow)]
struct StoredMessage {
    interaction_id: Uuid,
    tenant_id: String,
    as_of: DateTime<Utc>,
    edited_at: Option<DateTime<Utc>>,
    event: Json<InteractionEvent>,
}

/// Applies one resolved interaction. Returns the timeline interaction to [`refresh`] when
/// something changed, `None` when the event changed nothing (a redelivery) or was dropped.
#[tracing::instrument(skip_all, fields(interaction_id = %resolved.interaction.interaction_id, contact_id = ?resolved.contact_id), err)]
pub async fn apply(conn: &mut PgConnection, grouping: &Grouping, resolved: &ResolvedInteraction) -> sqlx::Result<Option<Uuid>> {
    let event = &resolved.interaction;
    let tenant = resolved.tenant_id.as_str();
    if event.tenant_id != tenant {
        tracing::warn!(event_tenant = %event.tenant_id, tenant, "resolved interaction names two tenants; dropped");
        return Ok(None);
    }
    // An unidentified interaction (no contact yet) has no owner: it waits for an operator.
    let owner = match resolved.contact_id {
        Some(contact) => Some(owner_of(conn, tenant, contact).await?),
        None => None,
    };
    if owner.is_some_and(|o| o.erased) {
        tracing::info!("dropping an interaction of an erased contact");
        return Ok(None);
    }
    if let Some(reaction) = &event.body.reaction {
        super::reactions::store(conn, resolved.contact_id, event, reaction).await?;
        return Ok(None);
    }

    let stored: Option<StoredMessage> = sqlx::query_as(
        "SELECT interaction_id, tenant_id, as_of, edited_at, event FROM interaction_messages WHERE message_id = $1 FOR UPDATE",
    )
    .bind(event.interaction_id)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(stored) = stored {
        return update_message(conn, stored, event).await;
    }

    let origin = resolved.contact_id;
    let root = owner.map(|o| o.root);
    let merged_from = origin.filter(|origin| root != Some(*origin));
    let group = match event.body.conversation_ref.as_deref().filter(|_| grouping.groups(event.body.channel)) {
        Some(conversation) => join_conversation(conn, grouping, tenant, root.zip(origin), conversation, event).await?,
        None => None,
    };
    let group = match group {
        Some(group) => group,
        None => create_interaction(conn, tenant, root, merged_from, event, &resolved.resolution).await?,
    };
    let state = MessageState::first(event);
    let content = event.body.content.as_ref();
    sqlx::query(
        "INSERT INTO interaction_messages (message_id, interaction_id, tenant_id, direction, occurred_at, as_of, text, subject,
                                           event, resolution, edited_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(event.interaction_id)
    .bind(group)
    .bind(tenant)
    .bind(event.body.direction)
    .bind(event.body.occurred_at)
    .bind(state.as_of)
    .bind(content.and_then(|c| c.text.as_deref()))
    .bind(content.and_then(|c| c.subject.as_deref()))
    .bind(Json(event))
    .bind(Json(&resolved.resolution))
    .bind(state.edited_at)
    .execute(&mut *conn)
    .await?;
    Ok(Some(group))
}

/// A later state of a stored message: folded in, written only when it changes something.
async fn update_message(conn: &mut PgConnection, stored: StoredMessage, event: &InteractionEvent) -> sqlx::Result<Option<Uuid>> {
    if stored.tenant_id != event.tenant_id {
        tracing::warn!("an interaction id of another tenant; dropped");
        return Ok(None);
    }
    let before = MessageState { event: stored.event.0, as_of: stored.as_of, edited_at: stored.edited_at };
    let after = transcript::fold(&before, event);
    if after == before {
        return Ok(None);
    }
    let content = after.event.body.content.as_ref();
    sqlx::query(
        "UPDATE interaction_messages
         SET occurred_at = $2, as_of = $3, text = $4, subject = $5, event = $6, edited_at = $7, updated_at = now()
         WHERE message_id = $1",
    )
    .bind(event.interaction_id)
    .bind(after.event.body.occurred_at)
    .bind(after.as_of)
    .bind(content.and_then(|c| c.text.as_deref()))
    .bind(content.and_then(|c| c.subject.as_deref()))
    .bind(Json(&after.event))
    .bind(after.edited_at)
    .execute(&mut *conn)
    .await?;
    Ok(Some(stored.interaction_id))
}

/// The open interaction of the message's conversation, extended to the message's time; `None`
/// when the conversation has been idle longer than the gap. A message that arrives out of order
/// and closes the gap between two interactions joins them into the earlier one.
async fn join_conversation(
    conn: &mut PgConnection,
    grouping: &Grouping,
    tenant: &str,
    contact: Option<(Uuid, Uuid)>,
    conversation: &str,
    event: &InteractionEvent,
) -> sqlx::Result<Option<Uuid>> {
    let origin = contact.map_or_else(|| "unidentified".to_owned(), |(_, origin)| origin.to_string());
    let key = format!("{tenant}|{origin}|{}|{conversation}", event.body.channel);
    sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
        .bind(CONVERSATION_LOCK_CLASS)
        .bind(&key)
        .execute(&mut *conn)
        .await?;
    let at = event.body.occurred_at;
    let gap = grouping.idle_gap;
    // Two statements rather than `IS NOT DISTINCT FROM`, so each uses its index.
    let sql = match contact {
        Some(_) => OPEN_GROUPS_OF_CONTACT,
        None => OPEN_UNIDENTIFIED_GROUPS,
    };
    let (owner, origin) = contact.unzip();
    let candidates: Vec<Uuid> = sqlx::query_scalar(sql)
        .bind(tenant)
        .bind(owner)
        .bind(origin)
        .bind(event.body.channel)
        .bind(conversation)
        .bind(at.checked_add_signed(gap).unwrap_or(DateTime::<Utc>::MAX_UTC))
        .bind(at.checked_sub_signed(gap).unwrap_or(DateTime::<Utc>::MIN_UTC))
        .bind(grouping.max_messages)
        .fetch_all(&mut *conn)
        .await?;
    let Some((&group, absorbed)) = candidates.split_first() else {
        return Ok(None);
    };
    if !absorbed.is_empty() {
        sqlx::query("UPDATE interaction_messages SET interaction_id = $1 WHERE interaction_id = ANY($2)")
            .bind(group)
            .bind(absorbed)
            .execute(&mut *conn)
            .await?;
        sqlx::query("DELETE FROM interactions WHERE interaction_id = ANY($1)").bind(absorbed).execute(&mut *conn).await?;
    }
    // The bounds decide where the next message of this batch goes; the rest waits for refresh.
    sqlx::query(
        "UPDATE interactions SET occurred_at = least(occurred_at, $2), last_message_at = greatest(last_message_at, $2)
         WHERE interaction_id = $1",
    )
    .bind(group)
    .bind(at)
    .execute(&mut *conn)
    .await?;
    Ok(Some(group))
}

/// A new timeline interaction opened by `event` (its id is the message's). The aggregates are
/// filled in by [`refresh`].
async fn create_interaction(
    conn: &mut PgConnection,
    tenant: &str,
    owner: Option<Uuid>,
    merged_from: Option<Uuid>,
    event: &InteractionEvent,
    resolution: &Resolution,
) -> sqlx::Result<Uuid> {
    sqlx::query(
        "INSERT INTO interactions (interaction_id, tenant_id, contact_id, merged_from, channel, direction, occurred_at,
                                   last_message_at, conversation_ref, provider_ref, event, resolution, search)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9, $10, $11, ''::tsvector)",
    )
    .bind(event.interaction_id)
    .bind(tenant)
    .bind(owner)
    .bind(merged_from)
    .bind(event.body.channel)
    .bind(event.body.direction)
    .bind(event.body.occurred_at)
    .bind(&event.body.conversation_ref)
    .bind(&event.body.provider_ref)
    .bind(Json(event))
    .bind(Json(resolution))
    .execute(&mut *conn)
    .await?;
    Ok(event.interaction_id)
}

#[derive(sqlx::FromRow)]
struct MessageRow {
    message_id: Uuid,
    event: Json<InteractionEvent>,
    resolution: Json<Resolution>,
}

/// Recomputes a timeline interaction from its messages: preview, transcript, details,
/// parameters, attachments and the search document.
#[tracing::instrument(skip(conn), err)]
pub async fn refresh(conn: &mut PgConnection, interaction_id: Uuid) -> sqlx::Result<()> {
    let rows: Vec<MessageRow> = sqlx::query_as(
        "SELECT message_id, event, resolution FROM interaction_messages WHERE interaction_id = $1 ORDER BY occurred_at, message_id",
    )
    .bind(interaction_id)
    .fetch_all(&mut *conn)
    .await?;
    let messages: Vec<Message> =
        rows.into_iter().map(|r| Message { message_id: r.message_id, event: r.event.0, resolution: r.resolution.0 }).collect();
    // Absorbed into another interaction earlier in the batch.
    let Some(summary) = transcript::summarize(&messages) else {
        return Ok(());
    };
    sqlx::query(
        "UPDATE interactions SET
             occurred_at = $2, last_message_at = $3, message_count = $4, direction = $5, provider_ref = $6,
             conversation_ref = $7, subject = $8, body_text = $9, transcript_text = $10, details = $11,
             parameters = $12, attachments = $13, event = $14, resolution = $15,
             search = search_document($16, $17, $18), updated_at = now()
         WHERE interaction_id = $1",
    )
    .bind(interaction_id)
    .bind(summary.occurred_at)
    .bind(summary.last_message_at)
    .bind(i32::try_from(summary.message_count).unwrap_or(i32::MAX))
    .bind(summary.direction)
    .bind(&summary.provider_ref)
    .bind(&summary.conversation_ref)
    .bind(&summary.subject)
    .bind(&summary.text)
    .bind(&summary.transcript_text)
    .bind(Json(&summary.details))
    .bind(Json(&summary.parameters))
    .bind(Json(&summary.attachments))
    .bind(Json(&summary.event))
    .bind(Json(&summary.resolution))
    .bind(&summary.subjects)
    .bind(&summary.indexed_text)
    .bind(&summary.aliases)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
