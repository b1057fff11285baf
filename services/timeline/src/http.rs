//! Timeline API (DESIGN.md §6). The tenant always comes from the bearer token; every other
//! tenant's data answers as if it did not exist. Errors are RFC 7807 problem+json, including
//! malformed query strings.
//!
//! - `GET /v1/contacts/{id}/timeline?q=&channel=&type=&from=&to=&before=&cursor=&limit=` —
//!   interactions and contact events merged, newest first; keyset cursor on `(occurred_at, id)`,
//!   so items inserted between two page requests neither repeat nor hide older ones;
//! - `GET /v1/interactions/{id}` — one interaction (or the one a message id belongs to) with its
//!   transcript, details, parameters, attachments and `matched_by`;
//! - `GET /v1/search?q=&channel=&from=&to=&cursor=&limit=` — tenant-wide ranked search with
//!   highlighted snippets (the best of the newest `rank_window` matches; see
//!   [`read::RANK_WINDOW`]);
//! - `GET /openapi.json` — this API's OpenAPI document.

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRef, Path, Query, State};
use axum::routing::get;
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use runtime::http::{ApiError, Json, JwtVerifier, TenantAuth};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use crate::search::SearchQuery;
use crate::store::read::{self, InteractionDetail, InteractionItem, Item, ItemType, SearchFilter, TimelineQuery};

const DEFAULT_LIMIT: i64 = 50;
const MAX_LIMIT: i64 = 200;

#[derive(Clone)]
pub struct ApiState {
    pub pool: PgPool,
    pub verifier: Arc<JwtVerifier>,
}

impl FromRef<ApiState> for Arc<JwtVerifier> {
    fn from_ref(state: &ApiState) -> Self {
        Arc::clone(&state.verifier)
    }
}

/// The Timeline API routes and its OpenAPI document.
pub fn router(state: ApiState) -> Router {
    api_router(state).route("/openapi.json", get(openapi))
}

/// [`router`] without `/openapi.json`: the API routes alone, for a server that serves them
/// beside another API's (`contactd`'s console port) and describes both in one document.
pub fn api_router(state: ApiState) -> Router {
    Router::new()
        .route("/v1/contacts/{id}/timeline", get(timeline))
        .route("/v1/interactions/{id}", get(interaction))
        .route("/v1/search", get(search))
        .with_state(state)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TimelineParams {
    q: Option<String>,
    channel: Option<String>,
    #[serde(rename = "type")]
    item_type: Option<String>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    /// DESIGN.md §6 name of `to`.
    before: Option<DateTime<Utc>>,
    cursor: Option<String>,
    limit: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchParams {
    q: Option<String>,
    channel: Option<String>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    cursor: Option<String>,
    limit: Option<i64>,
}

#[derive(Debug, Serialize)]
struct Page<T> {
    items: Vec<T>,
    next_cursor: Option<String>,
}

#[derive(Debug, Serialize)]
struct SearchResults {
    items: Vec<InteractionItem>,
    next_cursor: Option<String>,
    /// How many matches were ranked; hits are the best of the newest `rank_window` matches.
    ranked_matches: i64,
    rank_window: i64,
}

fn query<T>(params: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    params.map(|Query(p)| p).map_err(|e| ApiError::BadRequest(e.body_text()))
}

fn parse_id(raw: &str, what: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::BadRequest(format!("`{raw}` is not a valid {what} id")))
}

fn channel(raw: Option<String>) -> Result<Option<String>, ApiError> {
    match raw.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        None => Ok(None),
        Some(c) => contracts::Channel::parse(c)
            .map(|c| Some(c.as_str().to_owned()))
            .ok_or_else(|| ApiError::BadRequest(format!("unknown channel `{c}`"))),
    }
}

/// `Some(query)` for a non-blank `q`; blank means no search; text without a letter or digit is
/// a 400 (it would otherwise silently match everything).
fn search_query(raw: Option<&str>) -> Result<Option<SearchQuery>, ApiError> {
    match raw.map(str::trim).filter(|q| !q.is_empty()) {
        None => Ok(None),
        Some(q) => SearchQuery::parse(q)
            .map(Some)
            .ok_or_else(|| ApiError::BadRequest("`q` has no letters or digits to search for".into())),
    }
}

fn limit(raw: Option<i64>) -> i64 {
    raw.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT)
}

fn window(from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> Result<(), ApiError> {
    match (from, to) {
        (Some(from), Some(to)) if from >= to => Err(ApiError::BadRequest("`from` must be before `to`".into())),
        _ => Ok(()),
    }
}

async fn timeline(
    auth: TenantAuth,
    State(state): State<ApiState>,
    Path(id): Path<String>,
    params: Result<Query<TimelineParams>, QueryRejection>,
) -> Result<Json<Page<Item>>, ApiError> {
    let params = query(params)?;
    let contact_id = parse_id(&id, "contact")?;
    let item_type = match params.item_type.as_deref().filter(|t| !t.is_empty()) {
        None => None,
        Some(t) => Some(
            ItemType::parse(t)
                .ok_or_else(|| ApiError::BadRequest(format!("unknown type `{t}`; use interaction or contact_event")))?,
        ),
    };
    let to = match (params.to, params.before) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    window(params.from, to)?;
    let limit = limit(params.limit);
    let timeline_query = TimelineQuery {
        search: search_query(params.q.as_deref())?,
        channel: channel(params.channel)?,
        item_type,
        from: params.from,
        to,
        after: params.cursor.as_deref().map(decode_cursor).transpose()?,
        limit: limit + 1,
    };
    let mut items = read::timeline(&state.pool, auth.tenant(), contact_id, &timeline_query).await?;
    let next_cursor = next_page(&mut items, limit).map(|last| {
        let (at, id) = last.position();
        encode_cursor(at, id)
    });
    Ok(Json(Page { items, next_cursor }))
}

/// Cuts the `limit + 1` fetched items to `limit`; the last kept item when there is more.
fn next_page<T>(items: &mut Vec<T>, limit: i64) -> Option<&T> {
    let limit = usize::try_from(limit).unwrap_or(0);
    if items.len() > limit {
        items.truncate(limit);
        items.last()
    } else {
        None
    }
}

async fn interaction(
    auth: TenantAuth,
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<InteractionDetail>, ApiError> {
    let id = parse_id(&id, "interaction")?;
    read::interaction(&state.pool, auth.tenant(), id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("interaction {id}")))
}

async fn search(
    auth: TenantAuth,
    State(state): State<ApiState>,
    params: Result<Query<SearchParams>, QueryRejection>,
) -> Result<Json<SearchResults>, ApiError> {
    let params = query(params)?;
    let search = search_query(params.q.as_deref())?.ok_or_else(|| ApiError::BadRequest("`q` is required".into()))?;
    window(params.from, params.to)?;
    let limit = limit(params.limit);
    let cursor = params.cursor.as_deref().map(decode_search_cursor).transpose()?;
    let filter = SearchFilter {
        search,
        channel: channel(params.channel)?,
        from: params.from,
        to: params.to,
        after: cursor.map(|c| c.after),
        window_floor: cursor.map(|c| c.window_floor),
        limit: limit + 1,
    };
    let page = read::search(&state.pool, auth.tenant(), &filter).await?;
    let mut items = page.items;
    let next_cursor = match (next_page(&mut items, limit), page.window_floor) {
        (Some(last), Some(window_floor)) => Some(encode_search_cursor(&SearchCursor {
            after: (last.rank.unwrap_or(0.0), last.occurred_at, last.interaction_id),
            window_floor,
        })),
        _ => None,
    };
    Ok(Json(SearchResults { items, next_cursor, ranked_matches: page.ranked, rank_window: read::RANK_WINDOW }))
}

fn bad_cursor() -> ApiError {
    ApiError::BadRequest("invalid cursor".into())
}

fn cursor_parts(cursor: &str) -> Result<String, ApiError> {
    String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad_cursor())?).map_err(|_| bad_cursor())
}

fn micros(raw: &str) -> Result<DateTime<Utc>, ApiError> {
    DateTime::from_timestamp_micros(raw.parse().map_err(|_| bad_cursor())?).ok_or_else(bad_cursor)
}

/// Timeline cursor: `micros|id` (PostgreSQL keeps microseconds, so the position is exact).
fn encode_cursor(at: DateTime<Utc>, id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}|{id}", at.timestamp_micros()))
}

fn decode_cursor(cursor: &str) -> Result<(DateTime<Utc>, Uuid), ApiError> {
    let raw = cursor_parts(cursor)?;
    let (at, id) = raw.split_once('|').ok_or_else(bad_cursor)?;
    Ok((micros(at)?, Uuid::parse_str(id).map_err(|_| bad_cursor())?))
}

/// Where the next search page starts, and the window its hits are ranked in.
#[derive(Debug, Clone, Copy, PartialEq)]
struct SearchCursor {
    after: (f32, DateTime<Utc>, Uuid),
    window_floor: (DateTime<Utc>, Uuid),
}

/// Search cursor: `s|rank bits|micros|id|floor micros|floor id`; the rank travels as its exact
/// `f32` bits, so the next page starts exactly after the last hit.
fn encode_search_cursor(cursor: &SearchCursor) -> String {
    let (rank, at, id) = cursor.after;
    let (floor_at, floor_id) = cursor.window_floor;
    URL_SAFE_NO_PAD.encode(format!(
        "s|{}|{}|{id}|{}|{floor_id}",
        rank.to_bits(),
        at.timestamp_micros(),
        floor_at.timestamp_micros()
    ))
}

fn decode_search_cursor(cursor: &str) -> Result<SearchCursor, ApiError> {
    let raw = cursor_parts(cursor)?;
    let parts: Vec<&str> = raw.split('|').collect();
    let ["s", rank, at, id, floor_at, floor_id] = parts.as_slice() else {
        return Err(bad_cursor());
    };
    let rank = f32::from_bits(rank.parse().map_err(|_| bad_cursor())?);
    if !rank.is_finite() {
        return Err(bad_cursor());
    }
    let uuid = |raw: &str| Uuid::parse_str(raw).map_err(|_| bad_cursor());
    Ok(SearchCursor { after: (rank, micros(at)?, uuid(id)?), window_floor: (micros(floor_at)?, uuid(floor_id)?) })
}

async fn openapi() -> axum::Json<serde_json::Value> {
    axum::Json(openapi_document())
}

/// The OpenAPI 3.1 description of the Timeline API.
pub fn openapi_document() -> serde_json::Value {
    let param = |name: &str, description: &str| json!({"name": name, "in": "query", "required": false, "schema": {"type": "string"}, "description": description});
    let id = |description: &str| json!({"name": "id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}, "description": description});
    let problem =
        json!({"description": "RFC 7807 problem", "content": {"application/problem+json": {"schema": {"type": "object"}}}});
    let page = |description: &str| {
        json!({"description": description, "content": {"application/json": {"schema": {"type": "object", "properties": {
        "items": {"type": "array", "items": {"type": "object"}}, "next_cursor": {"type": ["string", "null"]}}}}}})
    };
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Timeline API", "version": "1"},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
        "security": [{"bearer": []}],
        "paths": {
            "/v1/contacts/{id}/timeline": {"get": {
                "summary": "A contact's interactions and contact-detail changes, newest first",
                "parameters": [id("contact id"),
                    param("q", "full-text search (diacritics- and case-insensitive, prefix match on every term)"),
                    param("channel", "messenger|whatsapp|vk|apple|email|voip|webchat (interactions only)"),
                    param("type", "interaction|contact_event"),
                    param("from", "RFC 3339, inclusive"), param("to", "RFC 3339, exclusive"), param("before", "alias of to"),
                    param("cursor", "next_cursor of the previous page"), param("limit", "1–200, default 50")],
                "responses": {"200": page("items with type interaction or contact_event"), "400": problem, "401": problem}}},
            "/v1/interactions/{id}": {"get": {
                "summary": "One interaction (or the one a message belongs to) with transcript, details, parameters and matched_by",
                "parameters": [id("interaction or message id")],
                "responses": {"200": {"description": "the interaction"}, "400": problem, "401": problem, "404": problem}}},
            "/v1/search": {"get": {
                "summary": "Tenant-wide interaction search: the best (ts_rank) of the newest rank_window matches, with <mark>-highlighted HTML-safe snippets",
                "parameters": [param("q", "required"), param("channel", "channel filter"), param("from", "RFC 3339, inclusive"),
                    param("to", "RFC 3339, exclusive"), param("cursor", "next_cursor of the previous page"), param("limit", "1–200, default 50")],
                "responses": {"200": page("interactions with rank and snippet"), "400": problem, "401": problem}}}
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_exactly_and_garbage_is_rejected() {
        let at = DateTime::from_timestamp_micros(1_764_000_000_123_456).expect("valid");
        let id = Uuid::from_u128(7);
        assert_eq!(decode_cursor(&encode_cursor(at, id)).expect("valid"), (at, id));
        let search = SearchCursor { after: (0.060_792_71_f32, at, id), window_floor: (at, Uuid::from_u128(8)) };
        assert_eq!(decode_search_cursor(&encode_search_cursor(&search)).expect("valid"), search);
        assert!(decode_cursor("%%%").is_err());
        assert!(decode_search_cursor(&encode_cursor(at, id)).is_err());
        let nan = URL_SAFE_NO_PAD.encode(format!("s|{}|1|{id}|1|{id}", f32::NAN.to_bits()));
        assert!(decode_search_cursor(&nan).is_err());
    }

    #[test]
    fn a_page_keeps_the_limit_and_points_at_its_last_item() {
        let mut items = vec![1, 2, 3];
        assert_eq!(next_page(&mut items, 2), Some(&2));
        assert_eq!(items, [1, 2]);
        assert_eq!(next_page(&mut items, 2), None);
    }
}
