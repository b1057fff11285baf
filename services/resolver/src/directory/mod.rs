//! The Directory API (DESIGN.md §6), one module per resource — [`contacts`], [`identities`],
//! [`proposals`], [`merges`], [`duplicates`], [`links`], [`definitions`], [`blocked`], [`outbox`],
//! [`transfer`] (export and import) — each with its handlers and its SQL. Every operator change
//! runs through [`edit::Edit`], the transaction that records its change events. The routes and
//! the OpenAPI document at `/openapi.json` come from one `OpenApiRouter`, so they cannot drift.
//!
//! The tenant always comes from the bearer token; another tenant's contact is a 404. Every
//! error is problem+json; request bodies and parameters are checked by the shared extractors
//! (`runtime::http::{Json, Query, Path}`) and the types of `contracts::api::directory`.

pub mod blocked;
pub mod cards;
pub mod contacts;
pub mod definitions;
pub mod duplicates;
pub mod edit;
pub mod export;
pub mod identities;
pub mod import;
pub mod links;
pub mod listing;
pub mod merges;
pub mod openapi;
pub mod outbox;
pub mod proposals;
pub mod screen;
pub mod transfer;

use std::sync::Arc;

use axum::extract::FromRef;
use axum::routing::get;
use axum::Router;
use contracts::ContactId;
use contracts::{Actor, IdentityKind};
use runtime::http::{ApiError, JwtVerifier, Role, TenantAuth};
use serde_json::json;
use sqlx::PgPool;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;

use crate::resolution::rules::TenantRules;

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

/// Every route with its documentation.
pub fn api() -> OpenApiRouter<ApiState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(contacts::routes())
        .merge(transfer::routes())
        .merge(identities::routes())
        .merge(proposals::routes())
        .merge(merges::routes())
        .merge(duplicates::routes())
        .merge(links::routes())
        .merge(definitions::routes())
        .merge(blocked::routes())
        .merge(outbox::routes())
}

/// The OpenAPI document of the Directory API.
pub fn document() -> utoipa::openapi::OpenApi {
    api().split_for_parts().1
}

/// The API's routes without `/openapi.json`: for a server that serves them beside another
/// API's (`contactd`'s console port) and describes both in one document.
pub fn api_routes(state: ApiState) -> Router {
    api().split_for_parts().0.with_state(state)
}

/// The API's routes plus `/openapi.json`.
pub fn router(state: ApiState) -> Router {
    let (routes, document) = api().split_for_parts();
    let document = Arc::new(document);
    routes.route("/openapi.json", get(move || std::future::ready(axum::Json(Arc::clone(&document))))).with_state(state)
}

/// Why an operator operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    #[error("{0} not found")]
    NotFound(String),
    #[error("{kind} `{value}` already belongs to contact {owner}")]
    Owned { kind: IdentityKind, value: String, owner: ContactId },
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

pub type Result<T, E = DirectoryError> = std::result::Result<T, E>;

impl From<DirectoryError> for ApiError {
    fn from(error: DirectoryError) -> Self {
        match error {
            DirectoryError::NotFound(what) => ApiError::NotFound(what),
            DirectoryError::Owned { owner, .. } => {
                ApiError::Conflict { detail: error.to_string(), extra: json!({ "owner_contact_id": owner }) }
            }
            DirectoryError::Invalid(detail) => ApiError::Unprocessable(detail),
            DirectoryError::Conflict(detail) => ApiError::Conflict { detail, extra: json!({}) },
            DirectoryError::Database(error) => error.into(),
        }
    }
}

/// Who the change events name.
pub fn actor(auth: &TenantAuth) -> Actor {
    match auth.0.role {
        Role::Integration => Actor::Integration { id: auth.0.sub.clone() },
        Role::Operator | Role::Admin => Actor::Operator { id: auth.0.sub.clone() },
    }
}

/// The pair in the order the tables store it (`contact_a < contact_b`).
pub fn ordered(a: ContactId, b: ContactId) -> (ContactId, ContactId) {
    if a < b {
        (a, b)
    } else {
        (b, a)
    }
}
