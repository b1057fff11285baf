//! Timeline API: `GET /v1/contacts/{id}/timeline` (newest first, keyset cursor, channel filter)
//! and `GET /v1/interactions/{id}`. The tenant always comes from the bearer token.

use std::sync::Arc;

use axum::extract::{FromRef, Path, Query, State};
use axum::routing::get;
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use runtime::http::{ApiError, Json, JwtVerifier, TenantAuth};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use crate::store::{self, Entry, PageQuery};

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

pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/v1/contacts/{id}/timeline", get(timeline))
        .route("/v1/interactions/{id}", get(interaction))
        .with_state(state)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TimelineQuery {
    channel: Option<String>,
    cursor: Option<String>,
    limit: Option<i64>,
}

#[derive(Debug, Serialize)]
struct Page {
    items: Vec<Entry>,
    next_cursor: Option<String>,
}

fn parse_id(raw: &str, what: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::BadRequest(format!("`{raw}` is not a valid {what} id")))
}

async fn timeline(
    auth: TenantAuth,
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Query(query): Query<TimelineQuery>,
) -> Result<Json<Page>, ApiError> {
    let contact_id = parse_id(&id, "contact")?;
    if let Some(channel) = &query.channel {
        contracts::Channel::parse(channel).ok_or_else(|| ApiError::BadRequest(format!("unknown channel `{channel}`")))?;
    }
    let limit = query.limit.unwrap_or(50).clamp(1, 200);
    let page_query = PageQuery {
        channel: query.channel,
        before: query.cursor.as_deref().map(decode_cursor).transpose()?,
        limit: limit + 1,
    };
    let mut items = store::page(&state.pool, auth.tenant(), contact_id, &page_query).await?;
    let next_cursor = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(|e| encode_cursor(e.occurred_at, e.interaction_id))
    } else {
        None
    };
    Ok(Json(Page { items, next_cursor }))
}

async fn interaction(auth: TenantAuth, State(state): State<ApiState>, Path(id): Path<String>) -> Result<Json<Entry>, ApiError> {
    let id = parse_id(&id, "interaction")?;
    store::interaction(&state.pool, auth.tenant(), id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("interaction {id}")))
}

fn encode_cursor(at: DateTime<Utc>, id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}|{id}", at.timestamp_micros()))
}

fn decode_cursor(cursor: &str) -> Result<(DateTime<Utc>, Uuid), ApiError> {
    let bad = || ApiError::BadRequest("invalid cursor".into());
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?).map_err(|_| bad())?;
    let (micros, id) = raw.split_once('|').ok_or_else(bad)?;
    let at = DateTime::from_timestamp_micros(micros.parse().map_err(|_| bad())?).ok_or_else(bad)?;
    Ok((at, Uuid::parse_str(id).map_err(|_| bad())?))
}
