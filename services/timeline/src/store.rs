//! SQL of the timeline.

use chrono::{DateTime, Utc};
use contracts::ResolvedInteraction;
use serde::Serialize;
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// Inserts or refreshes one interaction (upsert by id, so redelivery changes nothing).
pub async fn upsert(conn: &mut PgConnection, resolved: &ResolvedInteraction) -> sqlx::Result<()> {
    let event = &resolved.interaction;
    let content = event.body.content.as_ref();
    let subject = content.and_then(|c| c.subject.as_deref());
    let text = content.and_then(|c| c.text.as_deref());
    sqlx::query(
        "INSERT INTO interactions (interaction_id, tenant_id, contact_id, channel, direction, occurred_at,
                                   conversation_ref, provider_ref, subject, body_text, event, resolution, search)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,
                 to_tsvector('simple', public.unaccent('public.unaccent', coalesce($9, '') || ' ' || coalesce($10, ''))))
         ON CONFLICT (interaction_id) DO UPDATE SET
             contact_id = excluded.contact_id, subject = excluded.subject, body_text = excluded.body_text,
             event = excluded.event, resolution = excluded.resolution, search = excluded.search
         WHERE interactions.tenant_id = excluded.tenant_id",
    )
    .bind(event.interaction_id)
    .bind(&resolved.tenant_id)
    .bind(resolved.contact_id)
    .bind(event.body.channel.as_str())
    .bind(serde_json::to_value(event.body.direction).ok().and_then(|v| v.as_str().map(str::to_owned)))
    .bind(event.body.occurred_at)
    .bind(&event.body.conversation_ref)
    .bind(&event.body.provider_ref)
    .bind(subject)
    .bind(text)
    .bind(Json(event))
    .bind(Json(&resolved.resolution))
    .execute(conn)
    .await?;
    Ok(())
}

/// One timeline entry as the API shows it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Entry {
    pub interaction_id: Uuid,
    pub contact_id: Uuid,
    pub channel: String,
    pub direction: String,
    pub occurred_at: DateTime<Utc>,
    pub conversation_ref: Option<String>,
    pub subject: Option<String>,
    pub text: Option<String>,
    #[sqlx(json)]
    pub event: serde_json::Value,
    #[sqlx(json)]
    pub resolution: serde_json::Value,
}

const ENTRY_COLUMNS: &str = "interaction_id, contact_id, channel, direction, occurred_at, conversation_ref, subject,
                             body_text AS text, event, resolution";

/// Filters of a contact's timeline page.
#[derive(Debug, Clone, Default)]
pub struct PageQuery {
    pub channel: Option<String>,
    pub before: Option<(DateTime<Utc>, Uuid)>,
    pub limit: i64,
}

/// A contact's interactions, newest first, strictly before the keyset cursor.
pub async fn page(pool: &PgPool, tenant: &str, contact_id: Uuid, query: &PageQuery) -> sqlx::Result<Vec<Entry>> {
    sqlx::query_as(&format!(
        "SELECT {ENTRY_COLUMNS} FROM interactions
         WHERE tenant_id = $1 AND contact_id = $2
           AND ($3::text IS NULL OR channel = $3)
           AND ($4::timestamptz IS NULL OR (occurred_at, interaction_id) < ($4, $5))
         ORDER BY occurred_at DESC, interaction_id DESC
         LIMIT $6"
    ))
    .bind(tenant)
    .bind(contact_id)
    .bind(&query.channel)
    .bind(query.before.map(|b| b.0))
    .bind(query.before.map(|b| b.1))
    .bind(query.limit)
    .fetch_all(pool)
    .await
}

pub async fn interaction(pool: &PgPool, tenant: &str, interaction_id: Uuid) -> sqlx::Result<Option<Entry>> {
    sqlx::query_as(&format!("SELECT {ENTRY_COLUMNS} FROM interactions WHERE tenant_id = $1 AND interaction_id = $2"))
        .bind(tenant)
        .bind(interaction_id)
        .fetch_optional(pool)
        .await
}
