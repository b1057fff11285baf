//! Directory API (DESIGN.md §6): contacts (list, search, export, import), identifiers, merges
//! (with a preview), the duplicates queue, conversation links, custom identifier definitions and
//! blocked values, described at `/openapi.json` ([`openapi`]). The tenant always comes from the
//! bearer token; another tenant's contact is a 404.

pub mod openapi;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRef, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post, MethodRouter};
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use contracts::{Actor, Channel, Identity, IdentityKind};
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use runtime::http::problem::problem_response;
use runtime::http::{ApiError, Json, JwtVerifier, Role, TenantAuth};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use crate::directory::{self, Definition, DirectoryError, NameChoice};
use crate::export::{self, Format};
use crate::import;
use crate::rules::TenantRules;
use crate::store::{self, Card, ListFilter, Position, Sort};

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

/// Every route of the API, path and handlers; [`router`] serves them and the OpenAPI test
/// checks each is documented.
pub fn routes() -> Vec<(&'static str, MethodRouter<ApiState>)> {
    vec![
        ("/v1/contacts", get(list_contacts).post(create_contact)),
        ("/v1/contacts/export", get(export_contacts)),
        ("/v1/contacts/import", post(import_contacts)),
        ("/v1/contacts/{id}", get(get_contact).patch(rename_contact).delete(delete_contact)),
        ("/v1/contacts/{id}/identities", post(add_identity)),
        ("/v1/contacts/{id}/identities/{identity_id}", patch(edit_identity).delete(remove_identity)),
        ("/v1/contacts/{id}/merge", post(merge)),
        ("/v1/contacts/{id}/merge-preview", get(merge_preview)),
        ("/v1/contacts/{id}/merges", get(merges_of)),
        ("/v1/merges/{merge_id}/unmerge", post(unmerge)),
        ("/v1/duplicates", get(list_duplicates)),
        ("/v1/duplicates/accept", post(accept_duplicate)),
        ("/v1/duplicates/dismiss", post(dismiss_duplicate)),
        ("/v1/conversations/{conversation_ref}/link", get(link_of).post(link)),
        ("/v1/conversations/{conversation_ref}/unlink", post(unlink)),
        ("/v1/identifier-definitions", get(list_definitions).post(create_definition)),
        ("/v1/identifier-definitions/{name}", patch(update_definition).delete(delete_definition)),
        ("/v1/blocked-values", get(blocked_values).post(block_value)),
        (OPENAPI_PATH, get(openapi::serve)),
    ]
}

pub fn router(state: ApiState) -> Router {
    routes().into_iter().fold(Router::new(), |router, (path, handlers)| router.route(path, handlers)).with_state(state)
}

/// [`router`] without `/openapi.json`: the API routes alone, for a server that serves them
/// beside another API's (`contactd`'s console port) and describes both in one document.
pub fn api_router(state: ApiState) -> Router {
    routes()
        .into_iter()
        .filter(|(path, _)| *path != OPENAPI_PATH)
        .fold(Router::new(), |router, (path, handlers)| router.route(path, handlers))
        .with_state(state)
}

/// Where the OpenAPI document is served.
pub const OPENAPI_PATH: &str = "/openapi.json";

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

/// The filters of the list and the export (DESIGN.md §6); all of them must hold.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    /// Free text over name and identifier values, case- and diacritics-insensitive.
    q: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    /// `kind:value`, e.g. `custom:CRM-1` or `psid:123`.
    identifier: Option<String>,
    /// Contacts holding an identifier of the channel's kind (messenger → psid, voip → phone, …).
    channel: Option<String>,
    created_after: Option<DateTime<Utc>>,
    created_before: Option<DateTime<Utc>>,
    last_interaction_after: Option<DateTime<Utc>>,
    last_interaction_before: Option<DateTime<Utc>>,
    sort: Option<Sort>,
    cursor: Option<String>,
    limit: Option<i64>,
    /// Export only.
    format: Option<Format>,
}

impl ListQuery {
    /// The store's filter; bad values are a 400 naming the parameter.
    fn filter(&self, region: Option<identity::Region>) -> Result<ListFilter, ApiError> {
        let sort = self.sort.unwrap_or_default();
        let after = self.cursor.as_deref().map(decode_cursor).transpose()?;
        if after.as_ref().is_some_and(|position| position.sort() != sort) {
            return Err(ApiError::BadRequest("the cursor belongs to another sort order".into()));
        }
        let mut filter = ListFilter {
            sort,
            after,
            q: self.q.clone().filter(|q| !q.trim().is_empty()),
            created_after: self.created_after,
            created_before: self.created_before,
            last_interaction_after: self.last_interaction_after,
            last_interaction_before: self.last_interaction_before,
            identities: Vec::new(),
            holds_kind: None,
        };
        if let Some(email) = &self.email {
            let value = identity::normalize_email(email).map_err(|e| ApiError::BadRequest(e.to_string()))?;
            filter.identities.push((IdentityKind::Email, value));
        }
        if let Some(phone) = &self.phone {
            let value = identity::normalize_phone(phone, region).map_err(|e| ApiError::BadRequest(e.to_string()))?;
            filter.identities.push((IdentityKind::Phone, value));
        }
        if let Some(identifier) = &self.identifier {
            let (kind, value) =
                identifier.split_once(':').ok_or_else(|| ApiError::BadRequest("identifier must be `kind:value`".into()))?;
            let kind =
                IdentityKind::parse(kind).ok_or_else(|| ApiError::BadRequest(format!("unknown identifier kind `{kind}`")))?;
            filter.identities.push((kind, value.trim().to_owned()));
        }
        if let Some(channel) = &self.channel {
            let parsed = Channel::parse(channel).ok_or_else(|| ApiError::BadRequest(format!("unknown channel `{channel}`")))?;
            let kind = store::channel_kind(parsed).ok_or_else(|| {
                ApiError::BadRequest(format!("`{channel}` has no identifier of its own; filter by email=, phone= or identifier="))
            })?;
            filter.holds_kind = Some(kind);
        }
        Ok(filter)
    }
}

#[derive(Debug, Serialize)]
struct Page {
    items: Vec<Card>,
    next_cursor: Option<String>,
}

async fn list_contacts(
    auth: TenantAuth,
    State(state): State<ApiState>,
    ProblemQuery(query): ProblemQuery<ListQuery>,
) -> Result<Json<Page>, ApiError> {
    if query.format.is_some() {
        return Err(ApiError::BadRequest("`format` is a parameter of /v1/contacts/export".into()));
    }
    let limit = query.limit.unwrap_or(50).clamp(1, 200);
    let filter = query.filter(state.defaults.default_region)?;
    let mut conn = state.pool.acquire().await?;
    let mut positions = store::list(&mut conn, auth.tenant(), &filter, limit + 1).await?;
    let more = positions.len() as i64 > limit;
    positions.truncate(limit as usize);
    let next_cursor = positions.last().filter(|_| more).map(encode_cursor);
    let ids: Vec<Uuid> = positions.iter().map(Position::contact_id).collect();
    let items = store::cards(&mut conn, auth.tenant(), &ids).await?;
    Ok(Json(Page { items, next_cursor }))
}

/// Streams the contacts matching the list's filters (admins and integrations: a whole
/// directory of personal data is not an operator's everyday tool).
async fn export_contacts(
    auth: TenantAuth,
    State(state): State<ApiState>,
    ProblemQuery(query): ProblemQuery<ListQuery>,
) -> Result<Response, ApiError> {
    auth.require(&[Role::Admin, Role::Integration])?;
    if query.limit.is_some() {
        return Err(ApiError::BadRequest("an export has no limit; narrow it with the filters".into()));
    }
    let format = query.format.unwrap_or_default();
    let filter = query.filter(state.defaults.default_region)?;
    let body = Body::from_stream(export::stream(state.pool.clone(), auth.tenant().to_owned(), filter, format));
    let disposition = format!("attachment; filename=\"{}\"", format.file_name());
    Ok(([(header::CONTENT_TYPE, format.content_type().to_owned()), (header::CONTENT_DISPOSITION, disposition)], body)
        .into_response())
}

/// Largest import file accepted in one request.
const IMPORT_LIMIT: usize = 8 * 1024 * 1024;

/// Imports contacts from a CSV file; the answer reports every row (admins and integrations).
async fn import_contacts(
    auth: TenantAuth,
    State(state): State<ApiState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    auth.require(&[Role::Admin, Role::Integration])?;
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let media_type = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if media_type != "text/csv" {
        let body = json!({
            "type": "about:blank", "title": "Unsupported Media Type", "status": 415,
            "detail": format!("expected `content-type: text/csv`, got `{content_type}`"),
        });
        return Ok(problem_response(StatusCode::UNSUPPORTED_MEDIA_TYPE, &body));
    }
    let file = match Limited::new(body, IMPORT_LIMIT).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<LengthLimitError>() => return Err(ApiError::PayloadTooLarge(IMPORT_LIMIT)),
        Err(error) => return Err(ApiError::BadRequest(format!("reading the body: {error}"))),
    };
    let rows = import::parse(&file).map_err(|e| ApiError::Unprocessable(e.to_string()))?;
    let report = import::import(&state.pool, &state.defaults, auth.tenant(), &actor(&auth), rows).await?;
    Ok(Json(report).into_response())
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
    ProblemQuery(query): ProblemQuery<DeleteQuery>,
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PreviewQuery {
    /// The contact that would be merged into the one in the path.
    with: Uuid,
}

async fn merge_preview(
    auth: TenantAuth,
    State(state): State<ApiState>,
    Path(id): Path<String>,
    ProblemQuery(query): ProblemQuery<PreviewQuery>,
) -> Result<Json<directory::MergePreview>, ApiError> {
    Ok(Json(directory::merge_preview(&state.pool, auth.tenant(), parse_id(&id)?, query.with).await?))
}

/// The card's merge history: merges it survived or was merged away in, open ones unmergeable.
async fn merges_of(auth: TenantAuth, State(state): State<ApiState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    Ok(Json(json!({ "items": directory::merges_of(&state.pool, auth.tenant(), id).await? })).into_response())
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AcceptBody {
    contact_a: Uuid,
    contact_b: Uuid,
    /// The contact that stays; the older one when not given.
    survivor: Option<Uuid>,
    #[serde(default)]
    name: NameChoice,
}

async fn accept_duplicate(
    auth: TenantAuth,
    State(state): State<ApiState>,
    Json(body): Json<AcceptBody>,
) -> Result<Response, ApiError> {
    let pair = (body.contact_a, body.contact_b);
    let (merge_id, survivor) =
        directory::accept(&state.pool, auth.tenant(), pair, body.survivor, &actor(&auth), body.name).await?;
    let card = card(&state.pool, auth.tenant(), survivor).await?;
    Ok(Json(json!({ "merge_id": merge_id, "survivor": card })).into_response())
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

async fn link_of(
    auth: TenantAuth,
    State(state): State<ApiState>,
    Path(conversation_ref): Path<String>,
) -> Result<Json<directory::Link>, ApiError> {
    Ok(Json(directory::link_of(&state.pool, auth.tenant(), &conversation_ref).await?))
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

async fn blocked_values(auth: TenantAuth, State(state): State<ApiState>) -> Result<Response, ApiError> {
    auth.require(&[Role::Admin])?;
    Ok(Json(json!({ "items": directory::blocked_values(&state.pool, auth.tenant()).await? })).into_response())
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

/// `Query` whose rejections are problem+json 400s like every other error of the API.
struct ProblemQuery<T>(T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ProblemQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| ProblemQuery(value))
            .map_err(|rejection| ApiError::BadRequest(rejection.body_text()))
    }
}

/// The opaque `next_cursor`: the last contact's position (sort key and id), base64url JSON.
fn encode_cursor(position: &Position) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(position).expect("a position (strings, numbers, a uuid) always serializes"))
}

fn decode_cursor(cursor: &str) -> Result<Position, ApiError> {
    let bad = || ApiError::BadRequest("invalid cursor".into());
    let raw = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    serde_json::from_slice(&raw).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_for_every_sort_and_garbage_is_rejected() {
        let at = DateTime::from_timestamp_micros(1_764_000_000_123_456).expect("valid");
        let id = Uuid::from_u128(7);
        for position in [
            Position::Created { at, id },
            Position::LastInteraction { at: None, id },
            Position::LastInteraction { at: Some(at), id },
            Position::Name { unnamed: false, key: "jiri novak, \"st.\"".into(), id },
        ] {
            assert_eq!(decode_cursor(&encode_cursor(&position)).expect("valid"), position);
        }
        assert!(decode_cursor("%%%").is_err());
        assert!(decode_cursor(&URL_SAFE_NO_PAD.encode("{\"sort\":\"price\"}")).is_err());
    }
}
