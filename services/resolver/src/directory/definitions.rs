//! Custom identifier definitions (admin): the tenant's parameters, and which of them identify
//! the client (only those take part in matching).

use axum::extract::State;
use axum::http::StatusCode;
use contracts::api::directory::{Definition, DefinitionList, DefinitionPatch};
use contracts::api::text::ParameterName;
use runtime::http::auth::AdminAuth;
use runtime::http::problem::{Problem, PROBLEM_JSON};
use runtime::http::{ApiError, Json, Path, TenantAuth};
use sqlx::PgPool;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiState, DirectoryError, Result};

pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(list_definitions, create_definition))
        .routes(routes!(update_definition, delete_definition))
}

fn name(raw: String) -> Result<ParameterName, ApiError> {
    ParameterName::try_from(raw).map_err(|e| ApiError::BadRequest(format!("definition name: {e}")))
}

/// The tenant's custom identifier definitions.
#[utoipa::path(get, path = "/v1/identifier-definitions", tag = "definitions", responses(
    (status = 200, description = "every definition", body = DefinitionList),
    (status = 401, description = "no valid bearer token", body = Problem, content_type = PROBLEM_JSON),
))]
async fn list_definitions(auth: TenantAuth, State(state): State<ApiState>) -> Result<Json<DefinitionList>, ApiError> {
    Ok(Json(DefinitionList { items: all(&state.pool, auth.tenant()).await? }))
}

/// Create (or replace) a definition (admin).
#[utoipa::path(post, path = "/v1/identifier-definitions", tag = "definitions", request_body = Definition, responses(
    (status = 201, description = "the definition", body = Definition),
    (status = 400, description = "not JSON", body = Problem, content_type = PROBLEM_JSON),
    (status = 401, description = "no valid bearer token", body = Problem, content_type = PROBLEM_JSON),
    (status = 403, description = "not an admin", body = Problem, content_type = PROBLEM_JSON),
    (status = 413, description = "body over the limit", body = Problem, content_type = PROBLEM_JSON),
    (status = 415, description = "not application/json", body = Problem, content_type = PROBLEM_JSON),
    (status = 422, description = "a field is invalid", body = Problem, content_type = PROBLEM_JSON),
))]
async fn create_definition(
    auth: AdminAuth,
    State(state): State<ApiState>,
    Json(body): Json<Definition>,
) -> Result<(StatusCode, Json<Definition>), ApiError> {
    put(&state.pool, auth.tenant(), &body).await?;
    Ok((StatusCode::CREATED, Json(body)))
}

/// Change a definition's label or whether it identifies the client (admin).
#[utoipa::path(patch, path = "/v1/identifier-definitions/{name}", tag = "definitions",
    params(("name" = String, Path, max_length = 64)), request_body = DefinitionPatch, responses(
    (status = 200, description = "the definition", body = Definition),
    (status = 400, description = "a bad name, or not JSON", body = Problem, content_type = PROBLEM_JSON),
    (status = 401, description = "no valid bearer token", body = Problem, content_type = PROBLEM_JSON),
    (status = 403, description = "not an admin", body = Problem, content_type = PROBLEM_JSON),
    (status = 404, description = "no such definition", body = Problem, content_type = PROBLEM_JSON),
    (status = 413, description = "body over the limit", body = Problem, content_type = PROBLEM_JSON),
    (status = 415, description = "not application/json", body = Problem, content_type = PROBLEM_JSON),
    (status = 422, description = "a field is invalid", body = Problem, content_type = PROBLEM_JSON),
))]
async fn update_definition(
    auth: AdminAuth,
    State(state): State<ApiState>,
    Path(raw): Path<String>,
    Json(body): Json<DefinitionPatch>,
) -> Result<Json<Definition>, ApiError> {
    let name = name(raw)?;
    let current = all(&state.pool, auth.tenant())
        .await?
        .into_iter()
        .find(|d| d.name == name)
        .ok_or_else(|| ApiError::NotFound(format!("definition {}", name.as_str())))?;
    let updated = Definition {
        label: body.label.unwrap_or(current.label),
        identifies_client: body.identifies_client.unwrap_or(current.identifies_client),
        name: current.name,
    };
    put(&state.pool, auth.tenant(), &updated).await?;
    Ok(Json(updated))
}

/// Delete a definition (admin); values stored under it stay, they just never match.
#[utoipa::path(delete, path = "/v1/identifier-definitions/{name}", tag = "definitions",
    params(("name" = String, Path, max_length = 64)), responses(
    (status = 204, description = "deleted"),
    (status = 400, description = "a bad name", body = Problem, content_type = PROBLEM_JSON),
    (status = 401, description = "no valid bearer token", body = Problem, content_type = PROBLEM_JSON),
    (status = 403, description = "not an admin", body = Problem, content_type = PROBLEM_JSON),
    (status = 404, description = "no such definition", body = Problem, content_type = PROBLEM_JSON),
))]
async fn delete_definition(
    auth: AdminAuth,
    State(state): State<ApiState>,
    Path(raw): Path<String>,
) -> Result<StatusCode, ApiError> {
    let name = name(raw)?;
    let done = sqlx::query!(
        "DELETE FROM custom_identifier_definitions WHERE tenant_id = $1 AND name = $2",
        auth.tenant(),
        name.as_str()
    )
    .execute(&state.pool)
    .await?;
    if done.rows_affected() == 0 {
        return Err(DirectoryError::NotFound(format!("definition {}", name.as_str())).into());
    }
    Ok(StatusCode::NO_CONTENT)
}

struct Row {
    name: String,
    label: String,
    identifies_client: bool,
}

pub async fn all(pool: &PgPool, tenant: &str) -> Result<Vec<Definition>> {
    let rows = sqlx::query_as!(
        Row,
        "SELECT name, label, identifies_client FROM custom_identifier_definitions WHERE tenant_id = $1 ORDER BY name",
        tenant,
    )
    .fetch_all(pool)
    .await?;
    // Stored definitions were valid when written; one that no longer parses is skipped, not a 500.
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            Some(Definition {
                name: ParameterName::try_from(row.name).ok()?,
                label: row.label.try_into().ok()?,
                identifies_client: row.identifies_client,
            })
        })
        .collect())
}

/// Creates or updates a definition; turning `identifies_client` off stops its values matching.
pub async fn put(pool: &PgPool, tenant: &str, definition: &Definition) -> Result<()> {
    sqlx::query!(
        "INSERT INTO custom_identifier_definitions (tenant_id, name, label, identifies_client) VALUES ($1, $2, $3, $4)
         ON CONFLICT (tenant_id, name) DO UPDATE SET label = excluded.label, identifies_client = excluded.identifies_client, updated_at = now()",
        tenant,
        definition.name.as_str(),
        definition.label.as_str(),
        definition.identifies_client,
    )
    .execute(pool)
    .await?;
    Ok(())
}
