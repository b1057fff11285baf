//! Timeline API (DESIGN.md §6). The tenant always comes from the bearer token; every other
//! tenant's data answers as if it did not exist. Input goes through the shared request layer
//! (`runtime::http`: query and path extractors, the cursor codec, problem+json errors); the
//! bodies are [`contracts::api::timeline`]'s types.
//!
//! - `GET /v1/contacts/{id}/timeline?q=&channel=&type=&from=&to=&before=&cursor=&limit=` —
//!   interactions and contact events merged, newest first;
//! - `GET /v1/interactions/{id}` — one interaction (or the one a message id belongs to) with its
//!   transcript;
//! - `GET /v1/search?q=&channel=&from=&to=&cursor=&limit=` — tenant-wide ranked search with
//!   highlighted snippets;
//! - `GET /v1/conversations/unidentified?cursor=&limit=` — interactions no contact was found
//!   for yet, the most recently active first;
//! - `GET /openapi.json` — the OpenAPI document, generated from the handlers' attributes by the
//!   same [`OpenApiRouter`] that builds the routes.
//!
//! Modules: [`handlers`] (one per route), [`params`] (query parameters and their bounds),
//! [`position`] (what a cursor holds).

pub mod handlers;
pub mod params;
pub mod position;

use std::sync::{Arc, LazyLock};

use axum::extract::FromRef;
use axum::Router;
use runtime::http::JwtVerifier;
use sqlx::PgPool;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::OpenApi as Document;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

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

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Timeline API",
        version = "1",
        description = "Every contact's history across channels: interactions with transcripts and contact-detail changes, \
                       with full-text search. Errors are RFC 7807 problem+json."
    ),
    modifiers(&BearerJwt),
    // Referenced by every error response (an `IntoResponses` variant does not register it).
    components(schemas(runtime::http::problem::Problem)),
    tags((name = "timeline", description = "A contact's history and tenant-wide search"))
)]
struct Api;

/// The `bearer` security scheme the operations require.
struct BearerJwt;

impl utoipa::Modify for BearerJwt {
    fn modify(&self, document: &mut Document) {
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.bearer_format = Some("JWT".into());
        document.components.get_or_insert_with(Default::default).add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// The API's routes with their documentation.
fn api() -> OpenApiRouter<ApiState> {
    OpenApiRouter::with_openapi(Api::openapi())
        .routes(routes!(handlers::timeline))
        .routes(routes!(handlers::interaction))
        .routes(routes!(handlers::search))
        .routes(routes!(handlers::unidentified))
}

/// [`api`] and `/openapi.json`.
fn api_with_document() -> OpenApiRouter<ApiState> {
    api().routes(routes!(openapi_json))
}

/// The Timeline API's routes and `/openapi.json` (the server adds the operational endpoints
/// and the problem+json fallbacks for unknown routes and methods).
pub fn router(state: ApiState) -> Router {
    api_with_document().split_for_parts().0.with_state(state)
}

/// [`router`] without `/openapi.json`: the API routes alone, for a server that serves them
/// beside another API's (`contactd`'s console port) and describes both in one document.
pub fn api_router(state: ApiState) -> Router {
    api().split_for_parts().0.with_state(state)
}

/// The Timeline API's OpenAPI 3.1 document, as `/openapi.json` serves it.
pub fn document() -> Document {
    openapi().clone()
}

/// The document, generated once.
pub fn openapi() -> &'static Document {
    static DOCUMENT: LazyLock<Document> = LazyLock::new(|| api_with_document().into_openapi());
    &DOCUMENT
}

/// This API's OpenAPI document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "timeline",
    responses((status = 200, description = "The OpenAPI 3.1 document of this API.", body = Object))
)]
async fn openapi_json() -> axum::Json<&'static Document> {
    axum::Json(openapi())
}
