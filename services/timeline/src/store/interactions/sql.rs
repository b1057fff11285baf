//! The set-based statements of the `interactions.resolved` write path: each reads or writes the
//! rows of a whole batch at once (arrays bound as parameters and `unnest`ed), so a batch costs a
//! fixed number of statements whatever its size. Row locks are taken in id order, advisory locks
//! in lock-id order, so two batches never wait for each other in a cycle.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use contracts::{Channel, Direction, InteractionEvent, Resolution};
use sqlx::types::Json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::plan::{ConversationKey, Group, MessageEntry, NewGroup};
use crate::transcript::MessageState;

/// Advisory-lock class of a conversation (finding and extending its open group).
const CONVERSATION_LOCK_CLASS: i32 = 0x7463; // "tc"

struct StoredMessage {
    message_id: Uuid,
    interaction_id: Uuid,
    tenant_id: String,
    as_of: DateTime<Utc>,
    edited_at: Option<DateTime<Utc>>,
    event: Json<InteractionEvent>,
    resolution: Json<Resolution>,
}

/// The stored messages among `ids`, locked.
pub async fn stored_messages(conn: &mut PgConnection, ids: &[Uuid]) -> sqlx::Result<HashMap<Uuid, MessageEntry>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = sqlx::query_as!(
        StoredMessage,
        r#"SELECT message_id, interaction_id, tenant_id, as_of, edited_at, event AS "event: Json<InteractionEvent>",
                  resolution AS "resolution: Json<Resolution>"
           FROM interaction_messages WHERE message_id = ANY($1) ORDER BY message_id FOR UPDATE"#,
        ids,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let state = MessageState { event: row.event.0, as_of: row.as_of, edited_at: row.edited_at };
            let entry = MessageEntry {
                interaction_id: row.interaction_id,
                tenant: row.tenant_id,
                state,
                resolution: row.resolution.0,
                changed: false,
            };
            (row.message_id, entry)
        })
        .collect())
}

/// Takes the advisory locks of `conversations` for this transaction.
pub async fn lock_conversations(
    conn: &mut PgConnection,
    conversations: impl IntoIterator<Item = &ConversationKey>,
) -> sqlx::Result<()> {
    let keys: Vec<String> = conversations.into_iter().map(ConversationKey::lock_key).collect();
    if keys.is_empty() {
        return Ok(());
    }
    // The aggregate consumes the sorted subquery in order: locks are taken by ascending id.
    sqlx::query_scalar!(
        "SELECT count(pg_advisory_xact_lock($1, lock_id))
         FROM (SELECT DISTINCT hashtext(key) AS lock_id FROM unnest($2::text[]) AS key ORDER BY lock_id) AS locks",
        CONVERSATION_LOCK_CLASS,
        &keys,
    )
    .fetch_one(conn)
    .await?;
    Ok(())
}

struct GroupRow {
    interaction_id: Uuid,
    tenant_id: String,
    contact_id: Option<Uuid>,
    origin: Option<Uuid>,
    channel: Channel,
    conversation_ref: Option<String>,
    occurred_at: DateTime<Utc>,
    last_message_at: DateTime<Utc>,
    entries: i64,
    redacted: bool,
}

/// The groups a batch may join or change, locked: every group of `windows`' conversations
/// overlapping its time window (`from`, `to`), open or not, and the groups in `ids` (those of the
/// batch's stored messages). Conversations with and without a contact are looked up by separate
/// arms, so each uses its index.
pub async fn groups(
    conn: &mut PgConnection,
    windows: &[(ConversationKey, DateTime<Utc>, DateTime<Utc>)],
    ids: &BTreeSet<Uuid>,
) -> sqlx::Result<Vec<Group>> {
    if windows.is_empty() && ids.is_empty() {
        return Ok(Vec::new());
    }
    let tenants: Vec<&str> = windows.iter().map(|(k, ..)| k.tenant.as_str()).collect();
    let owners: Vec<Option<Uuid>> = windows.iter().map(|(k, ..)| k.contact.map(|(owner, _)| owner)).collect();
    let origins: Vec<Option<Uuid>> = windows.iter().map(|(k, ..)| k.contact.map(|(_, origin)| origin)).collect();
    let channels: Vec<Channel> = windows.iter().map(|(k, ..)| k.channel).collect();
    let conversations: Vec<&str> = windows.iter().map(|(k, ..)| k.conversation.as_str()).collect();
    let froms: Vec<DateTime<Utc>> = windows.iter().map(|(_, from, _)| *from).collect();
    let tos: Vec<DateTime<Utc>> = windows.iter().map(|(.., to)| *to).collect();
    let ids: Vec<Uuid> = ids.iter().copied().collect();
    let rows = sqlx::query_as!(
        GroupRow,
        r#"WITH w AS (SELECT * FROM unnest($1::text[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::timestamptz[],
                                         $7::timestamptz[]) AS w(tenant_id, owner, origin, channel, conversation_ref, from_at, to_at))
         SELECT interaction_id, tenant_id, contact_id, coalesce(merged_from, contact_id) AS origin, channel AS "channel: Channel",
                conversation_ref,
                occurred_at, last_message_at,
                message_count + coalesce(jsonb_array_length(details -> 'conversation_events'), 0)::bigint AS "entries!",
                redacted_at IS NOT NULL AS "redacted!"
         FROM interactions
         WHERE interaction_id IN (
             SELECT i.interaction_id FROM w JOIN interactions i
                 ON i.tenant_id = w.tenant_id AND i.contact_id = w.owner AND coalesce(i.merged_from, i.contact_id) = w.origin
                AND i.channel = w.channel AND i.conversation_ref = w.conversation_ref
                AND i.occurred_at <= w.to_at AND i.last_message_at >= w.from_at
             WHERE w.owner IS NOT NULL
             UNION ALL
             SELECT i.interaction_id FROM w JOIN interactions i
                 ON i.tenant_id = w.tenant_id AND i.contact_id IS NULL
                AND i.channel = w.channel AND i.conversation_ref = w.conversation_ref
                AND i.occurred_at <= w.to_at AND i.last_message_at >= w.from_at
             WHERE w.owner IS NULL
             UNION ALL
             SELECT unnest($8::uuid[]))
         ORDER BY interaction_id
         FOR UPDATE"#,
        &tenants as &[&str],
        &owners as _,
        &origins as _,
        &channels as _,
        &conversations as &[&str],
        &froms,
        &tos,
        &ids,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| Group {
            id: row.interaction_id,
            key: row.conversation_ref.map(|conversation| ConversationKey {
                tenant: row.tenant_id,
                contact: row.contact_id.zip(row.origin),
                channel: row.channel,
                conversation,
            }),
            occurred_at: row.occurred_at,
            last_message_at: row.last_message_at,
            entries: row.entries,
            redacted: row.redacted,
        })
        .collect())
}

/// Inserts the groups the batch opened. Their aggregates are filled in by the refresh.
pub async fn insert_groups(conn: &mut PgConnection, groups: &[(Uuid, NewGroup)]) -> sqlx::Result<()> {
    if groups.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = groups.iter().map(|(id, _)| *id).collect();
    let tenants: Vec<&str> = groups.iter().map(|(_, g)| g.tenant.as_str()).collect();
    let owners: Vec<Option<Uuid>> = groups.iter().map(|(_, g)| g.owner).collect();
    let merged_from: Vec<Option<Uuid>> = groups.iter().map(|(_, g)| g.merged_from).collect();
    let channels: Vec<Channel> = groups.iter().map(|(_, g)| g.event.body.channel).collect();
    let directions: Vec<Direction> = groups.iter().map(|(_, g)| g.event.body.direction).collect();
    let times: Vec<DateTime<Utc>> = groups.iter().map(|(_, g)| g.event.body.occurred_at).collect();
    let conversations: Vec<Option<&str>> = groups.iter().map(|(_, g)| g.event.body.conversation_ref.as_deref()).collect();
    let provider_refs: Vec<&str> = groups.iter().map(|(_, g)| g.event.body.provider_ref.as_str()).collect();
    let events: Vec<Json<&InteractionEvent>> = groups.iter().map(|(_, g)| Json(&g.event)).collect();
    let resolutions: Vec<Json<&Resolution>> = groups.iter().map(|(_, g)| Json(&g.resolution)).collect();
    sqlx::query!(
        "INSERT INTO interactions (interaction_id, tenant_id, contact_id, merged_from, channel, direction, occurred_at,
                                   last_message_at, conversation_ref, provider_ref, event, resolution, search)
         SELECT id, tenant_id, contact_id, merged_from, channel, direction, occurred_at, occurred_at, conversation_ref,
                provider_ref, event, resolution, ''::tsvector
         FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::uuid[], $5::text[], $6::text[], $7::timestamptz[], $8::text[],
                     $9::text[], $10::jsonb[], $11::jsonb[])
              AS g(id, tenant_id, contact_id, merged_from, channel, direction, occurred_at, conversation_ref, provider_ref,
                   event, resolution)",
        &ids,
        &tenants as &[&str],
        &owners as _,
        &merged_from as _,
        &channels as _,
        &directions as _,
        &times,
        &conversations as _,
        &provider_refs as &[&str],
        &events as _,
        &resolutions as _,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Joins stored groups into others: their messages move, then the emptied groups go.
pub async fn absorb_groups(conn: &mut PgConnection, absorbed: &[(Uuid, Uuid)]) -> sqlx::Result<()> {
    if absorbed.is_empty() {
        return Ok(());
    }
    let (from, into): (Vec<Uuid>, Vec<Uuid>) = absorbed.iter().copied().unzip();
    sqlx::query!(
        "UPDATE interaction_messages m SET interaction_id = a.into_id
         FROM unnest($1::uuid[], $2::uuid[]) AS a(from_id, into_id) WHERE m.interaction_id = a.from_id",
        &from,
        &into,
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!("DELETE FROM interactions WHERE interaction_id = ANY($1)", &from).execute(&mut *conn).await?;
    Ok(())
}

/// Writes new messages and the new states of stored ones. A stored message keeps its group
/// (moved, if at all, by [`absorb_groups`]) and the resolver's decision it arrived with.
pub async fn upsert_messages(conn: &mut PgConnection, messages: &[(Uuid, MessageEntry)]) -> sqlx::Result<()> {
    if messages.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = messages.iter().map(|(id, _)| *id).collect();
    let groups: Vec<Uuid> = messages.iter().map(|(_, m)| m.interaction_id).collect();
    let tenants: Vec<&str> = messages.iter().map(|(_, m)| m.tenant.as_str()).collect();
    let states: Vec<&MessageState> = messages.iter().map(|(_, m)| &m.state).collect();
    let directions: Vec<Direction> = states.iter().map(|s| s.event.body.direction).collect();
    let times: Vec<DateTime<Utc>> = states.iter().map(|s| s.event.body.occurred_at).collect();
    let as_of: Vec<DateTime<Utc>> = states.iter().map(|s| s.as_of).collect();
    let texts: Vec<Option<&str>> = states.iter().map(|s| s.event.body.content.as_ref().and_then(|c| c.text.as_deref())).collect();
    let subjects: Vec<Option<&str>> =
        states.iter().map(|s| s.event.body.content.as_ref().and_then(|c| c.subject.as_deref())).collect();
    let events: Vec<Json<&InteractionEvent>> = states.iter().map(|s| Json(&s.event)).collect();
    let resolutions: Vec<Json<&Resolution>> = messages.iter().map(|(_, m)| Json(&m.resolution)).collect();
    let edited: Vec<Option<DateTime<Utc>>> = states.iter().map(|s| s.edited_at).collect();
    sqlx::query!(
        "INSERT INTO interaction_messages (message_id, interaction_id, tenant_id, direction, occurred_at, as_of, text, subject,
                                           event, resolution, edited_at)
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[],
                              $7::text[], $8::text[], $9::jsonb[], $10::jsonb[], $11::timestamptz[])
         ON CONFLICT (message_id) DO UPDATE
         SET occurred_at = excluded.occurred_at, as_of = excluded.as_of, text = excluded.text, subject = excluded.subject,
             event = excluded.event, edited_at = excluded.edited_at, updated_at = now()",
        &ids,
        &groups,
        &tenants as &[&str],
        &directions as _,
        &times,
        &as_of,
        &texts as _,
        &subjects as _,
        &events as _,
        &resolutions as _,
        &edited as _,
    )
    .execute(conn)
    .await?;
    Ok(())
}
