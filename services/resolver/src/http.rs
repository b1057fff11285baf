//! Directory API (read side for now): `GET /v1/contacts` and `GET /v1/contacts/{id}`.
//! The tenant always comes from the bearer token; another tenant's contact is a 404.

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

use crate::store::{self, Card};

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
        .route("/v1/contacts", get(list_contacts))
        .route("/v1/contacts/{id}", get(get_contact))
        .with_state(state)
}

async fn get_contact(auth: TenantAuth, State(state): State<ApiState>, Path(id): Path<String>) -> Result<Json<Card>, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::BadRequest(format!("`{id}` is not a contact id")))?;
    let mut conn = state.pool.acquire().await?;
    store::card(&mut conn, auth.tenant(), id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("contact {id}")))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    cursor: Option<String>,
    limit: Option<i64>,
}

#[derive(Debug, Serialize)]
struct Page {
    items: Vec<Card>,
    next_cursor: Option<String>,
}

async fn list_contacts(auth: TenantAuth, State(state): State<ApiState>, Query(query): Query<ListQuery>) -> Result<Json<Page>, ApiError> {
    let limit = query.limit.unwrap_or(50).clamp(1, 200);
    let after = query.cursor.as_deref().map(decode_cursor).transpose()?;
    let ids = store::list(&state.pool, auth.tenant(), after, limit + 1).await?;
    let next_cursor = (ids.len() as i64 > limit).then(|| encode_cursor(ids[limit as usize - 1].1, ids[limit as usize - 1].0));
    let mut conn = state.pool.acquire().await?;
    let mut items = Vec::with_capacity(ids.len());
    for (id, _) in ids.into_iter().take(limit as usize) {
        if let Some(card) = store::card(&mut conn, auth.tenant(), id).await? {
            items.push(card);
        }
    }
    Ok(Json(Page { items, next_cursor }))
}

fn encode_cursor(created_at: DateTime<Utc>, id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}|{id}", created_at.timestamp_micros()))
}

fn decode_cursor(cursor: &str) -> Result<(DateTime<Utc>, Uuid), ApiError> {
    let bad = || ApiError::BadRequest("invalid cursor".into());
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?).map_err(|_| bad())?;
    let (micros, id) = raw.split_once('|').ok_or_else(bad)?;
    let at = DateTime::from_timestamp_micros(micros.parse().map_err(|_| bad())?).ok_or_else(bad)?;
    Ok((at, Uuid::parse_str(id).map_err(|_| bad())?))
}
