//! Directory API (DESIGN.md §6): contacts, identifiers, merges, the duplicates queue,
//! conversation links, custom identifier definitions and blocked values. The tenant always
//! comes from the bearer token; another tenant's contact is a 404.

use std::sync::Arc;

use axum::extract::{FromRef, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use contracts::{Actor, Identity, IdentityKind};
use runtime::http::{ApiError, Json, JwtVerifier, Role, TenantAuth};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use crate::directory::{self, Definition, DirectoryError, NameChoice};
use crate::rules::TenantRules;
use crate::store::{self, Card};

#[derive(Clone)]
pub struct ApiState {
    pub pool: PgPool,
    pub verifier: Arc<JwtVerifier>,
    pub defaults: Arc<TenantRules>,
}

impl FromRef<ApiState> for Arc<JwtVerifier> {
    fn from_ref(state: &ApiState) -> Self {
        Arc::clone(&state.verifier)
    }
}

pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/v1/contacts", get(list_contacts).post(create_contact))
        .route("/v1/contacts/{id}", get(get_contact).patch(rename_contact).delete(delete_contact))
        .route("/v1/contacts/{id}/identities", post(add_identity))
        .route("/v1/contacts/{id}/identities/{identity_id}", patch(edit_identity).delete(remove_identity))
        .route("/v1/contacts/{id}/merge", post(merge))
        .route("/v1/merges/{merge_id}/unmerge", post(unmerge))
        .route("/v1/duplicates", get(list_duplicates))
        .route("/v1/duplicates/dismiss", post(dismiss_duplicate))
        .route("/v1/conversations/{conversation_ref}/link", post(link))
        .route("/v1/conversations/{conversation_ref}/unlink", post(unlink))
        .route("/v1/identifier-definitions", get(list_definitions).post(create_definition))
        .route("/v1/identifier-definitions/{name}", patch(update_definition).delete(delete_definition))
        .route("/v1/blocked-values", post(block_value))
        .with_state(state)
}

impl From<DirectoryError> for ApiError {
    fn from(error: DirectoryError) -> Self {
        match error {
            DirectoryError::NotFound(what) => ApiError::NotFound(what),
            DirectoryError::Owned { owner, .. } => {
                ApiError::Conflict { detail: error.to_string(), extra: json!({ "owner_contact_id": owner }) }
            }
            DirectoryError::Invalid(detail) => ApiError::Unprocessable(detail),
            DirectoryError::Conflict(detail) => ApiError::Conflict { detail, extra: json!({}) },
            DirectoryError::Database(error) => ApiError::Internal(error.into()),
        }
    }
}

fn actor(auth: &TenantAuth) -> Actor {
    match auth.0.role {
        Role::Integration => Actor::Integration { id: auth.0.sub.clone() },
        Role::Operator | Role::Admin => Actor::Operator { id: auth.0.sub.clone() },
    }
}

fn parse_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::BadRequest(format!("`{raw}` is not a valid id")))
}

async fn card(pool: &PgPool, tenant: &str, id: Uuid) -> Result<Card, ApiError> {
    let mut conn = pool.acquire().await?;
    store::card(&mut conn, tenant, id).await?.ok_or_else(|| ApiError::NotFound(format!("contact {id}")))
}

/// A contact card; a merged-away id answers with its card and `merged_into` = the survivor.
async fn get_contact(auth: TenantAuth, State(state): State<ApiState>, Path(id): Path<String>) -> Result<Json<Card>, ApiError> {
    Ok(Json(card(&state.pool, auth.tenant(), parse_id(&id)?).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    /// Free text over name and identifier values, case- and diacritics-insensitive.
    q: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    /// `kind:value`, e.g. `custom:CRM-1` or `psid:123`.
    identifier: Option<String>,
    created_after: Option<DateTime<Utc>>,
    cursor: Option<String>,
    limit: Option<i64>,
}

#[derive(Debug, Serialize)]
struct Page {
    items: Vec<Card>,
    next_cursor: Option<String>,
}

async fn list_contacts(
    auth: TenantAuth,
    State(state): State<ApiState>,
    Query(query): Query<ListQuery>,
) -> Result<Json<Page>, ApiError> {
    let limit = query.limit.unwrap_or(50).clamp(1, 200);
    let region = state.defaults.default_region;
    let mut filter = store::ListFilter {
        after: query.cursor.as_deref().map(decode_cursor).transpose()?,
        q: query.q.filter(|q| !q.trim().is_empty()),
        created_after: query.created_after,
        identity: None,
    };
    if let Some(email) = &query.email {
        let value = identity::normalize_email(email).map_err(|e| ApiError::BadRequest(e.to_string()))?;
        filter.identity = Some((IdentityKind::Email, value));
    }
    if let Some(phone) = &query.phone {
        let value = identity::normalize_phone(phone, region).map_err(|e| ApiError::BadRequest(e.to_string()))?;
        filter.identity = Some((IdentityKind::Phone, value));
    }
    if let Some(identifier) = &query.identifier {
        let (kind, value) =
            identifier.split_once(':').ok_or_else(|| ApiError::BadRequest("identifier must be `kind:value`".into()))?;
        let kind = IdentityKind::parse(kind).ok_or_else(|| ApiError::BadRequest(format!("unknown identifier kind `{kind}`")))?;
        filter.identity = Some((kind, value.trim().to_owned()));
    }
    let ids = store::list(&state.pool, auth.tenant(), &filter, limit + 1).await?;
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewIdentity {
    kind: IdentityKind,
    value: String,
    #[serde(default)]
    scope: Option<String>,
    /// Knowingly shared with another contact (a family phone).
    #[serde(default)]
    shared: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewContact {
    name: Option<String>,
    #[serde(default)]
    identities: Vec<NewIdentity>,
}

async fn create_contact(
    auth: TenantAuth,
    State(state): State<ApiState>,
    Json(body): Json<NewContact>,
) -> Result<Response, ApiError> {
    let identities: Vec<Identity> = body.identities.into_iter().map(|i| Identity::new(i.kind, i.value, i.scope)).collect();
    let id =
        directory::create(&state.pool, &state.defaults, auth.tenant(), &actor(&auth), body.name.as_deref(), &identities).await?;
    Ok((StatusCode::CREATED, Json(card(&state.pool, auth.tenant(), id).await?)).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Rename {
    name: String,
}

async fn rename_contact(
    auth: TenantAuth,
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Json(body): Json<Rename>,
) -> Result<Json<Card>, ApiError> {
    let id = parse_id(&id)?;
    directory::rename(&state.pool, auth.tenant(), id, &actor(&auth), &body.name).await?;
    Ok(Json(card(&state.pool, auth.tenant(), id).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeleteQuery {
    #[serde(default)]
    erase: bool,
}

async fn delete_contact(
    auth: TenantAuth,
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Query(query): Query<DeleteQuery>,
) -> Result<StatusCode, ApiError> {
    directory::delete(&state.pool, auth.tenant(), parse_id(&id)?, &actor(&auth), query.erase).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn add_identity(
    auth: TenantAuth,
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Json(body): Json<NewIdentity>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let identity = Identity::new(body.kind, body.value, body.scope);
    directory::add_identity(&state.pool, &state.defaults, auth.tenant(), id, &actor(&auth), &identity, body.shared).await?;
    Ok((StatusCode::CREATED, Json(card(&state.pool, auth.tenant(), id).await?)).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EditIdentity {
    value: String,
}

async fn edit_identity(
    auth: TenantAuth,
    State(state): State<ApiState>,
    Path((id, identity_id)): Path<(String, String)>,
    Json(body): Json<EditIdentity>,
) -> Result<Json<Card>, ApiError> {
    let id = parse_id(&id)?;
    directory::edit_identity(
        &state.pool,
        &state.defaults,
        auth.tenant(),
        id,
        parse_id(&identity_id)?,
        &actor(&auth),
        &body.value,
    )
    .await?;
    Ok(Json(card(&state.pool, auth.tenant(), id).await?))
}

async fn remove_identity(
    auth: TenantAuth,
    State(state): State<ApiState>,
    Path((id, identity_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    directory::remove_identity(&state.pool, auth.tenant(), parse_id(&id)?, parse_id(&identity_id)?, &actor(&auth)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MergeBody {
    /// The contact merged into the one in the path.
    merged_contact_id: Uuid,
    #[serde(default)]
    name: NameChoice,
}

async fn merge(
    auth: TenantAuth,
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Json(body): Json<MergeBody>,
) -> Result<Response, ApiError> {
    let survivor = parse_id(&id)?;
    let merge_id =
        directory::merge(&state.pool, auth.tenant(), survivor, body.merged_contact_id, &actor(&auth), body.name).await?;
    let card = card(&state.pool, auth.tenant(), survivor).await?;
    Ok(Json(json!({ "merge_id": merge_id, "survivor": card })).into_response())
}

async fn unmerge(auth: TenantAuth, State(state): State<ApiState>, Path(merge_id): Path<String>) -> Result<Response, ApiError> {
    let (survivor, merged) = directory::unmerge(&state.pool, auth.tenant(), parse_id(&merge_id)?, &actor(&auth)).await?;
    let (survivor, merged) = (card(&state.pool, auth.tenant(), survivor).await?, card(&state.pool, auth.tenant(), merged).await?);
    Ok(Json(json!({ "survivor": survivor, "restored": merged })).into_response())
}

async fn list_duplicates(auth: TenantAuth, State(state): State<ApiState>) -> Result<Response, ApiError> {
    Ok(Json(json!({ "items": directory::duplicates(&state.pool, auth.tenant()).await? })).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Pair {
    contact_a: Uuid,
    contact_b: Uuid,
}

async fn dismiss_duplicate(
    auth: TenantAuth,
    State(state): State<ApiState>,
    Json(pair): Json<Pair>,
) -> Result<StatusCode, ApiError> {
    directory::dismiss(&state.pool, auth.tenant(), pair.contact_a, pair.contact_b).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LinkBody {
    contact_id: Uuid,
}

async fn link(
    auth: TenantAuth,
    State(state): State<ApiState>,
    Path(conversation_ref): Path<String>,
    Json(body): Json<LinkBody>,
) -> Result<Response, ApiError> {
    let changed = directory::link(&state.pool, auth.tenant(), &conversation_ref, body.contact_id, &auth.0.sub).await?;
    Ok(Json(json!({ "conversation_ref": conversation_ref, "contact_id": body.contact_id, "changed": changed })).into_response())
}

async fn unlink(
    auth: TenantAuth,
    State(state): State<ApiState>,
    Path(conversation_ref): Path<String>,
) -> Result<StatusCode, ApiError> {
    directory::unlink(&state.pool, auth.tenant(), &conversation_ref).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_definitions(auth: TenantAuth, State(state): State<ApiState>) -> Result<Response, ApiError> {
    Ok(Json(json!({ "items": directory::definitions(&state.pool, auth.tenant()).await? })).into_response())
}

async fn create_definition(
    auth: TenantAuth,
    State(state): State<ApiState>,
    Json(body): Json<Definition>,
) -> Result<Response, ApiError> {
    auth.require(&[Role::Admin])?;
    directory::put_definition(&state.pool, auth.tenant(), &body).await?;
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DefinitionPatch {
    label: Option<String>,
    identifies_client: Option<bool>,
}

async fn update_definition(
    auth: TenantAuth,
    State(state): State<ApiState>,
    Path(name): Path<String>,
    Json(body): Json<DefinitionPatch>,
) -> Result<Json<Definition>, ApiError> {
    auth.require(&[Role::Admin])?;
    let current = directory::definitions(&state.pool, auth.tenant())
        .await?
        .into_iter()
        .find(|d| d.name == name)
        .ok_or_else(|| ApiError::NotFound(format!("definition {name}")))?;
    let updated = Definition {
        label: body.label.unwrap_or(current.label),
        identifies_client: body.identifies_client.unwrap_or(current.identifies_client),
        name: current.name,
    };
    directory::put_definition(&state.pool, auth.tenant(), &updated).await?;
    Ok(Json(updated))
}

async fn delete_definition(
    auth: TenantAuth,
    State(state): State<ApiState>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    auth.require(&[Role::Admin])?;
    directory::delete_definition(&state.pool, auth.tenant(), &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BlockBody {
    kind: Option<IdentityKind>,
    pattern: String,
    #[serde(default = "blocked_reason")]
    reason: String,
}

fn blocked_reason() -> String {
    "blocked".into()
}

async fn block_value(
    auth: TenantAuth,
    State(state): State<ApiState>,
    Json(body): Json<BlockBody>,
) -> Result<StatusCode, ApiError> {
    auth.require(&[Role::Admin])?;
    directory::block_value(&state.pool, auth.tenant(), body.kind, &body.pattern, &body.reason).await?;
    Ok(StatusCode::CREATED)
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
