//! What the Timeline API reads: a contact's timeline (interactions and contact events merged,
//! newest first, keyset on `(occurred_at, id)`), one interaction with its transcript, and the
//! tenant-wide ranked search with highlighted snippets.
//!
//! Queries are assembled with [`QueryBuilder`] so each request carries only the conditions it
//! uses (every value bound): a keyset cursor then becomes an index condition instead of a filter,
//! and the planner never sees `$n IS NULL OR …` alternatives.

mod rows;

use chrono::{DateTime, Utc};
use contracts::api::timeline::{InteractionDetail, InteractionItem, Item, ItemType, MessageReaction, TranscriptEntry};
use contracts::ContactId;
use contracts::{Channel, Direction, InteractionEvent, Resolution};
use sqlx::types::Json;
use sqlx::{PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use self::rows::{ContactEventRow, InteractionRow, TranscriptRow, EVENT_COLUMNS, HIT_COLUMNS, INTERACTION_COLUMNS};
use crate::search::SearchQuery;

/// Filters of a contact's timeline page.
#[derive(Debug, Clone, Default)]
pub struct TimelineQuery {
    pub search: Option<SearchQuery>,
    pub channel: Option<Channel>,
    pub item_type: Option<ItemType>,
    /// Inclusive lower bound of `occurred_at`.
    pub from: Option<DateTime<Utc>>,
    /// Exclusive upper bound of `occurred_at`.
    pub to: Option<DateTime<Utc>>,
    /// Keyset cursor: only items strictly before `(occurred_at, id)`.
    pub after: Option<(DateTime<Utc>, Uuid)>,
    pub limit: i64,
}

/// The snippet of a row of `hits` for the bound query `q`: the subject and transcript (as far as
/// they are indexed, [`crate::search::MAX_INDEXED_CHARS`]), HTML-escaped first (so the only markup
/// in a snippet is ours), cut around the matches.
const SNIPPET: &str = "ts_headline('timeline_unaccent',
        replace(replace(replace(left(coalesce(hits.subject || E'\\n', '') || coalesce(hits.transcript_text, ''), 200000), '&', '&amp;'), '<', '&lt;'), '>', '&gt;'),
        q, 'StartSel=<mark>, StopSel=</mark>, MaxWords=24, MinWords=8, MaxFragments=2, FragmentDelimiter=\" … \"')";

/// A page of a contact's timeline: interactions and contact events merged, newest first.
#[tracing::instrument(skip(pool, query), err)]
pub async fn timeline(pool: &PgPool, tenant: &str, contact_id: ContactId, query: &TimelineQuery) -> sqlx::Result<Vec<Item>> {
    let wants = |t: ItemType| query.item_type.is_none_or(|wanted| wanted == t);
    let mut items = Vec::new();
    if wants(ItemType::Interaction) {
        items.extend(
            timeline_interactions(pool, tenant, contact_id, query).await?.into_iter().map(|i| Item::Interaction(Box::new(i.0))),
        );
    }
    // Contact events have no channel: a channel filter asks for that channel's interactions.
    if wants(ItemType::ContactEvent) && query.channel.is_none() {
        items.extend(
            timeline_events(pool, tenant, contact_id, query).await?.into_iter().map(|e| Item::ContactEvent(Box::new(e.0))),
        );
    }
    items.sort_by_key(|item| std::cmp::Reverse(item.position()));
    items.truncate(usize::try_from(query.limit).unwrap_or(0));
    Ok(items)
}

/// `AND …` conditions shared by both kinds: time range and keyset cursor (`keyset` is
/// `" AND (occurred_at, <id column>) < ("`).
fn push_window(builder: &mut QueryBuilder<'_, Postgres>, query: &TimelineQuery, keyset: &'static str) {
    if let Some(from) = query.from {
        builder.push(" AND occurred_at >= ").push_bind(from);
    }
    if let Some(to) = query.to {
        builder.push(" AND occurred_at < ").push_bind(to);
    }
    if let Some((at, id)) = query.after {
        builder.push(keyset).push_bind(at).push(", ").push_bind(id).push(")");
    }
}

async fn timeline_interactions(
    pool: &PgPool,
    tenant: &str,
    contact_id: ContactId,
    query: &TimelineQuery,
) -> sqlx::Result<Vec<InteractionRow>> {
    // Dynamic: search, channel, time range and cursor add conditions only when asked (module doc).
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
        b.push(" AND channel = ").push_bind(*channel);
    }
    if query.search.is_some() {
        b.push(" AND search @@ q");
    }
    push_window(&mut b, query, " AND (occurred_at, interaction_id) < (");
    b.push(" ORDER BY occurred_at DESC, interaction_id DESC LIMIT ").push_bind(query.limit);
    b.push(") hits ORDER BY hits.occurred_at DESC, hits.interaction_id DESC");
    // With a search, plan with its terms every time (see `search`).
    b.build_query_as().persistent(query.search.is_none()).fetch_all(pool).await
}

async fn timeline_events(
    pool: &PgPool,
    tenant: &str,
    contact_id: ContactId,
    query: &TimelineQuery,
) -> sqlx::Result<Vec<ContactEventRow>> {
    // Dynamic: search, time range and cursor add conditions only when asked (module doc).
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
    push_window(&mut b, query, " AND (occurred_at, change_id) < (");
    b.push(" ORDER BY occurred_at DESC, change_id DESC LIMIT ").push_bind(query.limit);
    b.build_query_as().persistent(query.search.is_none()).fetch_all(pool).await
}

/// The tenant's unidentified interactions after `after` (`(last_message_at, id)`), the most
/// recently active first.
pub async fn unidentified(
    pool: &PgPool,
    tenant: &str,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> sqlx::Result<Vec<InteractionItem>> {
    // Dynamic: the cursor condition only from the second page on (module doc).
    let mut b = QueryBuilder::new("SELECT ");
    b.push(INTERACTION_COLUMNS).push(", NULL::real AS rank, NULL::text AS snippet FROM interactions WHERE tenant_id = ");
    b.push_bind(tenant.to_owned()).push(" AND contact_id IS NULL");
    if let Some((at, id)) = after {
        b.push(" AND (last_message_at, interaction_id) < (").push_bind(at).push(", ").push_bind(id).push(")");
    }
    b.push(" ORDER BY last_message_at DESC, interaction_id DESC LIMIT ").push_bind(limit);
    let rows: Vec<InteractionRow> = b.build_query_as().fetch_all(pool).await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// The interaction `id` names — a timeline interaction, or any message of one — with its transcript.
#[tracing::instrument(skip(pool), err)]
pub async fn interaction(pool: &PgPool, tenant: &str, id: Uuid) -> sqlx::Result<Option<InteractionDetail>> {
    // Unchecked: its columns are [`INTERACTION_COLUMNS`], shared with the dynamic reads, and the
    // checked macros take only a string literal, so it is assembled like them.
    let mut b = QueryBuilder::new("SELECT ");
    b.push(INTERACTION_COLUMNS).push(", NULL::real AS rank, NULL::text AS snippet FROM interactions WHERE tenant_id = ");
    b.push_bind(tenant.to_owned()).push(" AND interaction_id = coalesce((SELECT interaction_id FROM interaction_messages");
    b.push(" WHERE message_id = ").push_bind(id).push(" AND tenant_id = ").push_bind(tenant.to_owned()).push("), ");
    b.push_bind(id).push(")");
    let Some(InteractionRow(interaction)) = b.build_query_as().fetch_optional(pool).await? else {
        return Ok(None);
    };
    let transcript = sqlx::query_as!(
        TranscriptRow,
        r#"SELECT message_id, direction AS "direction: Direction", occurred_at, text, subject, edited_at,
                event AS "event: Json<InteractionEvent>", resolution AS "resolution: Json<Resolution>",
                coalesce((SELECT jsonb_agg(jsonb_build_object('reactor', r.reactor, 'direction', r.direction, 'emoji', r.emoji,
                                                              'reacted_at', r.reacted_at) ORDER BY r.reacted_at, r.reactor)
                          FROM message_reactions r WHERE r.message_id = m.message_id AND r.emoji IS NOT NULL), '[]'::jsonb)
                  AS "reactions!: Json<Vec<MessageReaction>>"
         FROM interaction_messages m WHERE interaction_id = $1 ORDER BY occurred_at, message_id"#,
        interaction.interaction_id,
    )
    .fetch_all(pool)
    .await?;
    Ok(Some(InteractionDetail {
        item_type: ItemType::Interaction,
        interaction,
        transcript: transcript.into_iter().map(TranscriptEntry::from).collect(),
    }))
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
    pub channel: Option<Channel>,
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
    item: InteractionRow,
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
    // tenant's newest interactions (frequent ones). Dynamic: filters, window and cursor only when asked.
    let mut b =
        QueryBuilder::new("WITH candidates AS MATERIALIZED (SELECT interaction_id, occurred_at, search FROM interactions");
    b.push(" WHERE tenant_id = ").push_bind(tenant.to_owned());
    b.push(" AND search @@ to_tsquery('timeline_unaccent', ").push_bind(tsquery.clone()).push(")");
    if let Some(channel) = filter.channel {
        b.push(" AND channel = ").push_bind(channel);
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
        page.items.push(row.item.0);
    }
    Ok(page)
}
