//! What the Timeline API reads: a contact's timeline (interactions and contact events merged,
//! newest first, keyset on `(occurred_at, id)`), one interaction with its transcript, and the
//! tenant-wide ranked search with highlighted snippets.
//!
//! Queries are assembled with [`QueryBuilder`] so each request carries only the conditions it
//! uses (every value bound): a keyset cursor then becomes an index condition instead of a filter,
//! and the planner never sees `$n IS NULL OR …` alternatives.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::search::SearchQuery;

/// The kinds of timeline items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemType {
    Interaction,
    ContactEvent,
}

impl ItemType {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "interaction" => Some(Self::Interaction),
            "contact_event" => Some(Self::ContactEvent),
            _ => None,
        }
    }
}

/// One timeline item; serialized with `"type": "interaction" | "contact_event"`.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Item {
    // Boxed: both are large and of different sizes, and pages are sorted and moved around.
    Interaction(Box<InteractionItem>),
    ContactEvent(Box<ContactEventItem>),
}

impl Item {
    /// The keyset position of the item: `(occurred_at, id)`.
    pub fn position(&self) -> (DateTime<Utc>, Uuid) {
        match self {
            Item::Interaction(i) => (i.occurred_at, i.interaction_id),
            Item::ContactEvent(e) => (e.occurred_at, e.change_id),
        }
    }
}

/// A timeline interaction as lists show it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct InteractionItem {
    pub id: Uuid,
    pub interaction_id: Uuid,
    pub contact_id: Uuid,
    /// The contact this interaction belonged to before a merge moved it here.
    pub merged_from: Option<Uuid>,
    pub channel: String,
    pub direction: String,
    pub occurred_at: DateTime<Utc>,
    pub last_message_at: DateTime<Utc>,
    pub conversation_ref: Option<String>,
    pub subject: Option<String>,
    /// The first message's text.
    pub text: Option<String>,
    pub message_count: i32,
    #[sqlx(json)]
    pub details: serde_json::Value,
    #[sqlx(json)]
    pub parameters: serde_json::Value,
    #[sqlx(json)]
    pub attachments: serde_json::Value,
    /// The identifier that decided the contact (`null` when the interaction created it).
    #[sqlx(json)]
    pub matched_by: serde_json::Value,
    #[sqlx(json)]
    pub resolution: serde_json::Value,
    /// The opening message's v1 event.
    #[sqlx(json)]
    pub event: serde_json::Value,
    /// The contact was erased; personal content has been removed.
    pub redacted: bool,
    /// `ts_rank` of the search, when there was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rank: Option<f32>,
    /// HTML-safe excerpt with the matched words in `<mark>…</mark>`, when there was a search.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snippet: Option<String>,
}

/// A contact-detail change on the timeline.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ContactEventItem {
    pub id: Uuid,
    pub change_id: Uuid,
    pub contact_id: Uuid,
    pub merged_from: Option<Uuid>,
    /// `created`, `name_changed`, `identifier_added`, `identifier_edited`, `identifier_removed`,
    /// `merged`, `unmerged`, `deleted`, `erased`.
    pub kind: String,
    pub occurred_at: DateTime<Utc>,
    #[sqlx(json)]
    pub actor: serde_json::Value,
    pub reason: Option<String>,
    /// `[{field, before, after}]`.
    #[sqlx(json)]
    pub changes: serde_json::Value,
    pub related_contact_id: Option<Uuid>,
    pub redacted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rank: Option<f32>,
}

/// Filters of a contact's timeline page.
#[derive(Debug, Clone, Default)]
pub struct TimelineQuery {
    pub search: Option<SearchQuery>,
    pub channel: Option<String>,
    pub item_type: Option<ItemType>,
    /// Inclusive lower bound of `occurred_at`.
    pub from: Option<DateTime<Utc>>,
    /// Exclusive upper bound of `occurred_at`.
    pub to: Option<DateTime<Utc>>,
    /// Keyset cursor: only items strictly before `(occurred_at, id)`.
    pub after: Option<(DateTime<Utc>, Uuid)>,
    pub limit: i64,
}

const INTERACTION_COLUMNS: &str =
    "interaction_id AS id, interaction_id, contact_id, merged_from, channel, direction, occurred_at,
     last_message_at, conversation_ref, subject, body_text AS text, message_count, details, parameters, attachments,
     coalesce(resolution -> 'matched_by', 'null'::jsonb) AS matched_by, resolution, event, redacted_at IS NOT NULL AS redacted";

/// [`INTERACTION_COLUMNS`] and the rank, read from the `hits` subquery.
const HIT_COLUMNS: &str = "hits.id, hits.interaction_id, hits.contact_id, hits.merged_from, hits.channel, hits.direction,
     hits.occurred_at, hits.last_message_at, hits.conversation_ref, hits.subject, hits.text, hits.message_count, hits.details,
     hits.parameters, hits.attachments, hits.matched_by, hits.resolution, hits.event, hits.redacted, hits.rank";

const EVENT_COLUMNS: &str = "change_id AS id, change_id, contact_id, merged_from, kind, occurred_at, actor, reason, changes,
     related_contact_id, redacted_at IS NOT NULL AS redacted";

/// The snippet of a row of `hits` for the bound query `q`: the subject and transcript (as far as
/// they are indexed, [`crate::search::MAX_INDEXED_CHARS`]), HTML-escaped first (so the only markup
/// in a snippet is ours), cut around the matches.
const SNIPPET: &str = "ts_headline('timeline_unaccent',
        replace(replace(replace(left(coalesce(hits.subject || E'\\n', '') || coalesce(hits.transcript_text, ''), 200000), '&', '&amp;'), '<', '&lt;'), '>', '&gt;'),
        q, 'StartSel=<mark>, StopSel=</mark>, MaxWords=24, MinWords=8, MaxFragments=2, FragmentDelimiter=\" … \"')";

/// A page of a contact's timeline: interactions and contact events merged, newest first.
#[tracing::instrument(skip(pool, query), err)]
pub async fn timeline(pool: &PgPool, tenant: &str, contact_id: Uuid, query: &TimelineQuery) -> sqlx::Result<Vec<Item>> {
    let wants = |t: ItemType| query.item_type.is_none_or(|wanted| wanted == t);
    let mut items = Vec::new();
    if wants(ItemType::Interaction) {
        items.extend(
            timeline_interactions(pool, tenant, contact_id, query).await?.into_iter().map(|i| Item::Interaction(Box::new(i))),
        );
    }
    // Contact events have no channel: a channel filter asks for that channel's interactions.
    if wants(ItemType::ContactEvent) && query.channel.is_none() {
        items
            .extend(timeline_events(pool, tenant, contact_id, query).await?.into_iter().map(|e| Item::ContactEvent(Box::new(e))));
    }
    items.sort_by_key(|item| std::cmp::Reverse(item.position()));
    items.truncate(usize::try_from(query.limit).unwrap_or(0));
    Ok(items)
}

/// `AND …` conditions shared by both kinds: time range and keyset cursor on `(occurred_at, id_column)`.
fn push_window(builder: &mut QueryBuilder<'_, Postgres>, query: &TimelineQuery, id_column: &str) {
    if let Some(from) = query.from {
        builder.push(" AND occurred_at >= ").push_bind(from);
    }
    if let Some(to) = query.to {
        builder.push(" AND occurred_at < ").push_bind(to);
    }
    if let Some((at, id)) = query.after {
        builder.push(format_args!(" AND (occurred_at, {id_column}) < (")).push_bind(at).push(", ").push_bind(id).push(")");
    }
}

async fn timeline_interactions(
    pool: &PgPool,
    tenant: &str,
    contact_id: Uuid,
    query: &TimelineQuery,
) -> sqlx::Result<Vec<InteractionItem>> {
    let mut b = QueryBuilder::new("SELECT ");
    b.push(HIT_COLUMNS);
    match &query.search {
        Some(search) => b
            .push(", ")
            .push(SNIPPET)
            .push(" AS snippet FROM to_tsquery('timeline_unaccent', ")
            .push_bind(search.tsquery().to_owned())
            .push(") q, LATERAL (SELECT ts_rank(search, q) AS rank, "),
        None => b.push(", NULL::text AS snippet FROM (SELECT NULL::real AS rank, "),
    };
    b.push(INTERACTION_COLUMNS).push(", transcript_text FROM interactions WHERE tenant_id = ").push_bind(tenant.to_owned());
    b.push(" AND contact_id = ").push_bind(contact_id);
    if let Some(channel) = &query.channel {
        b.push(" AND channel = ").push_bind(channel.clone());
    }
    if query.search.is_some() {
        b.push(" AND search @@ q");
    }
    push_window(&mut b, query, "interaction_id");
    b.push(" ORDER BY occurred_at DESC, interaction_id DESC LIMIT ").push_bind(query.limit);
    b.push(") hits ORDER BY hits.occurred_at DESC, hits.interaction_id DESC");
    // With a search, plan with its terms every time (see `search`).
    b.build_query_as().persistent(query.search.is_none()).fetch_all(pool).await
}

async fn timeline_events(
    pool: &PgPool,
    tenant: &str,
    contact_id: Uuid,
    query: &TimelineQuery,
) -> sqlx::Result<Vec<ContactEventItem>> {
    let mut b = QueryBuilder::new("SELECT ");
    b.push(EVENT_COLUMNS);
    match &query.search {
        Some(search) => b
            .push(", ts_rank(search, q) AS rank FROM contact_events, to_tsquery('timeline_unaccent', ")
            .push_bind(search.tsquery().to_owned())
            .push(") q WHERE search @@ q AND tenant_id = "),
        None => b.push(", NULL::real AS rank FROM contact_events WHERE tenant_id = "),
    };
    b.push_bind(tenant.to_owned()).push(" AND contact_id = ").push_bind(contact_id);
    push_window(&mut b, query, "change_id");
    b.push(" ORDER BY occurred_at DESC, change_id DESC LIMIT ").push_bind(query.limit);
    b.build_query_as().persistent(query.search.is_none()).fetch_all(pool).await
}

/// One entry of a transcript: a message, or a change of the conversation's state.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct TranscriptMessage {
    pub message_id: Uuid,
    /// `message`, or `conversation_event` for a state change (`conversation_event` says which).
    #[serde(rename = "type")]
    pub entry_type: String,
    /// `closed`, `messaging_allowed`, `messaging_denied` (contracts' `ConversationEvent`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversation_event: Option<String>,
    pub direction: String,
    pub occurred_at: DateTime<Utc>,
    pub text: Option<String>,
    pub subject: Option<String>,
    #[sqlx(json)]
    pub attachments: serde_json::Value,
    #[sqlx(json)]
    pub parameters: serde_json::Value,
    pub delivery_status: Option<String>,
    pub edited_at: Option<DateTime<Utc>>,
    #[sqlx(json)]
    pub call: serde_json::Value,
    #[sqlx(json)]
    pub matched_by: serde_json::Value,
    /// The reactions on the message, one per reactor (`[{reactor, direction, emoji, reacted_at}]`).
    #[sqlx(json)]
    pub reactions: serde_json::Value,
}

/// One interaction with its whole transcript.
#[derive(Debug, Clone, Serialize)]
pub struct InteractionDetail {
    #[serde(rename = "type")]
    pub item_type: &'static str,
    #[serde(flatten)]
    pub interaction: InteractionItem,
    pub transcript: Vec<TranscriptMessage>,
}

/// The interaction `id` names — a timeline interaction, or any message of one — with its transcript.
#[tracing::instrument(skip(pool), err)]
pub async fn interaction(pool: &PgPool, tenant: &str, id: Uuid) -> sqlx::Result<Option<InteractionDetail>> {
    let item: Option<InteractionItem> = sqlx::query_as(&format!(
        "SELECT {INTERACTION_COLUMNS}, NULL::real AS rank, NULL::text AS snippet FROM interactions
         WHERE tenant_id = $1
           AND interaction_id = coalesce((SELECT interaction_id FROM interaction_messages WHERE message_id = $2 AND tenant_id = $1), $2)"
    ))
    .bind(tenant)
    .bind(id)
    .fetch_optional(pool)
    .await?;
    let Some(interaction) = item else {
        return Ok(None);
    };
    let transcript = sqlx::query_as(
        "SELECT message_id,
                CASE WHEN jsonb_typeof(event -> 'event') = 'string' THEN 'conversation_event' ELSE 'message' END AS entry_type,
                event ->> 'event' AS conversation_event, direction, occurred_at, text, subject,
                coalesce(event -> 'content' -> 'attachments', '[]'::jsonb) AS attachments,
                coalesce(event -> 'parameters', '{}'::jsonb) AS parameters,
                event -> 'parameters' ->> 'delivery_status' AS delivery_status, edited_at,
                coalesce(event -> 'call', 'null'::jsonb) AS call,
                coalesce(resolution -> 'matched_by', 'null'::jsonb) AS matched_by,
                coalesce((SELECT jsonb_agg(jsonb_build_object('reactor', r.reactor, 'direction', r.direction, 'emoji', r.emoji,
                                                              'reacted_at', r.reacted_at) ORDER BY r.reacted_at, r.reactor)
                          FROM message_reactions r WHERE r.message_id = m.message_id AND r.emoji IS NOT NULL), '[]'::jsonb) AS reactions
         FROM interaction_messages m WHERE interaction_id = $1 ORDER BY occurred_at, message_id",
    )
    .bind(interaction.interaction_id)
    .fetch_all(pool)
    .await?;
    Ok(Some(InteractionDetail { item_type: "interaction", interaction, transcript }))
}

/// Most matches ranked per tenant-wide search: the newest ones. `ts_rank` needs every ranked
/// row's document, so ranking all of, say, 90,000 matches of a frequent word costs seconds; the
/// best of the newest 2,000 costs tens of milliseconds. Below the window the ranking is exact;
/// `from`/`to` or another term reach further back.
pub const RANK_WINDOW: i64 = 2000;

/// Filters of a tenant-wide search.
#[derive(Debug, Clone)]
pub struct SearchFilter {
    pub search: SearchQuery,
    pub channel: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Keyset cursor: only hits ranked strictly after `(rank, occurred_at, id)`.
    pub after: Option<(f32, DateTime<Utc>, Uuid)>,
    /// The oldest match ranked by the first page: later pages rank the same matches (plus any
    /// newer ones that arrived since), so paging never skips or repeats a hit.
    pub window_floor: Option<(DateTime<Utc>, Uuid)>,
    pub limit: i64,
}

/// A page of search hits and the window they were ranked in.
#[derive(Debug, Clone, Default)]
pub struct SearchPage {
    pub items: Vec<InteractionItem>,
    /// How many matches were ranked.
    pub ranked: i64,
    /// The oldest ranked match, for the next page's [`SearchFilter::window_floor`].
    pub window_floor: Option<(DateTime<Utc>, Uuid)>,
}

#[derive(sqlx::FromRow)]
struct SearchRow {
    #[sqlx(flatten)]
    item: InteractionItem,
    ranked: i64,
    floor_at: Option<DateTime<Utc>>,
    floor_id: Option<Uuid>,
}

/// Interactions of the whole tenant matching the search, best first (`ts_rank`, then newest)
/// among the newest [`RANK_WINDOW`] matches, each with a highlighted snippet.
#[tracing::instrument(skip(pool, filter), err)]
pub async fn search(pool: &PgPool, tenant: &str, filter: &SearchFilter) -> sqlx::Result<SearchPage> {
    let tsquery = filter.search.tsquery().to_owned();
    // The query is written out (not taken from a CTE) wherever it filters, so the planner sees
    // the terms and chooses per search between the GIN index (rare terms) and walking the
    // tenant's newest interactions (frequent ones).
    let mut b =
        QueryBuilder::new("WITH candidates AS MATERIALIZED (SELECT interaction_id, occurred_at, search FROM interactions");
    b.push(" WHERE tenant_id = ").push_bind(tenant.to_owned());
    b.push(" AND search @@ to_tsquery('timeline_unaccent', ").push_bind(tsquery.clone()).push(")");
    if let Some(channel) = &filter.channel {
        b.push(" AND channel = ").push_bind(channel.clone());
    }
    if let Some(from) = filter.from {
        b.push(" AND occurred_at >= ").push_bind(from);
    }
    if let Some(to) = filter.to {
        b.push(" AND occurred_at < ").push_bind(to);
    }
    if let Some((at, id)) = filter.window_floor {
        b.push(" AND (occurred_at, interaction_id) >= (").push_bind(at).push(", ").push_bind(id).push(")");
    }
    b.push(" ORDER BY occurred_at DESC, interaction_id DESC");
    if filter.window_floor.is_none() {
        b.push(" LIMIT ").push_bind(RANK_WINDOW);
    }
    b.push("), ranked AS (SELECT interaction_id, occurred_at, ts_rank(search, to_tsquery('timeline_unaccent', ");
    b.push_bind(tsquery.clone()).push(")) AS rank FROM candidates), page AS (SELECT * FROM ranked");
    if let Some((rank, at, id)) = filter.after {
        b.push(" WHERE (rank, occurred_at, interaction_id) < (")
            .push_bind(rank)
            .push("::real, ")
            .push_bind(at)
            .push(", ")
            .push_bind(id)
            .push(")");
    }
    b.push(" ORDER BY rank DESC, occurred_at DESC, interaction_id DESC LIMIT ").push_bind(filter.limit);
    b.push(") SELECT ").push(HIT_COLUMNS).push(", ").push(SNIPPET).push(
        " AS snippet,
           (SELECT count(*) FROM candidates) AS ranked,
           (SELECT occurred_at FROM candidates ORDER BY occurred_at, interaction_id LIMIT 1) AS floor_at,
           (SELECT interaction_id FROM candidates ORDER BY occurred_at, interaction_id LIMIT 1) AS floor_id
         FROM page, to_tsquery('timeline_unaccent', ",
    );
    b.push_bind(tsquery).push(") q, LATERAL (SELECT page.rank, ").push(INTERACTION_COLUMNS);
    b.push(", transcript_text FROM interactions WHERE interactions.interaction_id = page.interaction_id) hits");
    b.push(" ORDER BY hits.rank DESC, hits.occurred_at DESC, hits.interaction_id DESC");
    // Unnamed statement: planned with this search's terms every time, never a generic plan.
    let rows: Vec<SearchRow> = b.build_query_as().persistent(false).fetch_all(pool).await?;
    let mut page = SearchPage::default();
    for row in rows {
        page.ranked = row.ranked;
        page.window_floor = filter.window_floor.or(row.floor_at.zip(row.floor_id));
        page.items.push(row.item);
    }
    Ok(page)
}
