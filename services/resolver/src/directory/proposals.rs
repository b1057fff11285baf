//! Proposed identifiers: what a match made only through typed identifiers offered to a card
//! (the resolver never adds them by itself). An operator confirms one — it becomes the
//! contact's — or rejects it — it is never proposed to this contact again — in one call.

use axum::extract::State;
use contracts::api::directory::{Card, DecideProposal, IdentitySource, ProposalDecision};
use contracts::ContactId;
use contracts::{ContactChangeKind, Identity, IdentityKind};
use runtime::http::problem::{Problem, PROBLEM_JSON};
use runtime::http::{ApiError, Json, Path, TenantAuth};
use sqlx::PgPool;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::contacts::card;
use super::edit::Edit;
use super::screen::other_holder;
use super::{actor, ApiState, DirectoryError, Result};
use crate::changes;

pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(decide))
}

/// Confirm or reject a proposed identifier of the card.
#[utoipa::path(post, path = "/v1/contacts/{id}/proposed-identities/{proposal_id}", tag = "identities",
    params(("id" = Uuid, Path), ("proposal_id" = Uuid, Path)), request_body = DecideProposal, responses(
    (status = 200, description = "the card", body = Card),
    (status = 400, description = "not an id, or not JSON", body = Problem, content_type = PROBLEM_JSON),
    (status = 401, description = "no valid bearer token", body = Problem, content_type = PROBLEM_JSON),
    (status = 404, description = "no such live contact or open proposal", body = Problem, content_type = PROBLEM_JSON),
    (status = 409, description = "another contact holds the value meanwhile (`owner_contact_id`)", body = Problem, content_type = PROBLEM_JSON),
    (status = 413, description = "body over the limit", body = Problem, content_type = PROBLEM_JSON),
    (status = 415, description = "not application/json", body = Problem, content_type = PROBLEM_JSON),
    (status = 422, description = "a field is invalid", body = Problem, content_type = PROBLEM_JSON),
))]
async fn decide(
    auth: TenantAuth,
    State(state): State<ApiState>,
    Path((id, proposal_id)): Path<(ContactId, Uuid)>,
    Json(body): Json<DecideProposal>,
) -> Result<Json<Card>, ApiError> {
    apply(&state.pool, auth.tenant(), &actor(&auth), &auth.0.sub, id, proposal_id, body.decision).await?;
    Ok(Json(card(&state.pool, auth.tenant(), id).await?))
}

struct Proposal {
    kind: IdentityKind,
    value: String,
    scope: Option<String>,
    source: IdentitySource,
}

pub async fn apply(
    pool: &PgPool,
    tenant: &str,
    actor: &contracts::Actor,
    decided_by: &str,
    contact_id: ContactId,
    proposal_id: Uuid,
    decision: ProposalDecision,
) -> Result<()> {
    let mut edit = Edit::begin(pool, tenant, actor).await?;
    edit.lock_live(contact_id).await?;
    let proposal = sqlx::query_as!(
        Proposal,
        r#"SELECT kind AS "kind: IdentityKind", value, nullif(scope, '') AS scope, source AS "source: IdentitySource"
         FROM proposed_identities
         WHERE tenant_id = $1 AND contact_id = $2 AND proposal_id = $3 AND status = 'open' FOR UPDATE"#,
        tenant,
        contact_id.0,
        proposal_id,
    )
    .fetch_optional(edit.conn())
    .await?
    .ok_or_else(|| DirectoryError::NotFound(format!("open proposal {proposal_id}")))?;
    let identity = Identity::new(proposal.kind, proposal.value, proposal.scope);
    let status = match decision {
        ProposalDecision::Confirm => {
            if let Some(owner) = other_holder(edit.conn(), tenant, contact_id, &identity).await? {
                return Err(DirectoryError::Owned { kind: identity.kind, value: identity.value, owner });
            }
            // An operator vouched for it: from now on it is as good as a provider's.
            let inserted = crate::resolution::store::insert_identities(
                edit.conn(),
                tenant,
                contact_id,
                std::slice::from_ref(&identity),
                proposal.source,
                None,
            )
            .await?;
            if !inserted.is_empty() {
                edit.touch(contact_id).await?;
                let fields = vec![changes::identity_added(&identity)];
                edit.record(contact_id, ContactChangeKind::IdentifierAdded, "proposal confirmed by an operator", fields, None)
                    .await?;
            }
            "confirmed"
        }
        ProposalDecision::Reject => {
            let fields = vec![changes::identity_removed(&identity)];
            edit.record(contact_id, ContactChangeKind::ProposalRejected, "proposal rejected by an operator", fields, None)
                .await?;
            "rejected"
        }
    };
    sqlx::query!(
        "UPDATE proposed_identities SET status = $2, decided_by = $3, decided_at = now() WHERE proposal_id = $1",
        proposal_id,
        status,
        decided_by,
    )
    .execute(edit.conn())
    .await?;
    edit.commit().await
}
