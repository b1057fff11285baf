//! Contact cards as the Directory API shows them: one query for the contacts, one for their
//! identifiers, however many cards (a page of the list or of an export costs the same as one).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use contracts::api::directory::{Card, CardIdentity, IdentitySource, ProposedIdentity};
use contracts::NameSource;
use contracts::{ContactId, IdentityId, IdentityKind, Provenance};
use sqlx::PgConnection;

/// A live contact of `tenant` with its identities; another tenant's contact does not exist here.
pub async fn card(conn: &mut PgConnection, tenant: &str, contact_id: ContactId) -> sqlx::Result<Option<Card>> {
    Ok(cards(conn, tenant, &[contact_id]).await?.pop())
}

struct ContactRow {
    contact_id: ContactId,
    name: Option<String>,
    name_source: Option<NameSource>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    last_interaction_at: Option<DateTime<Utc>>,
    merged_into: Option<ContactId>,
}

/// The cards of `contact_ids` that are live contacts of `tenant`, in the order asked for, in
/// three queries (a page of the list or of an export costs the same as one card).
pub async fn cards(conn: &mut PgConnection, tenant: &str, contact_ids: &[ContactId]) -> sqlx::Result<Vec<Card>> {
    let contacts = sqlx::query_as!(
        ContactRow,
        r#"SELECT contact_id AS "contact_id: ContactId", name, name_source AS "name_source: NameSource", created_at, updated_at,
                  last_interaction_at, merged_into AS "merged_into: ContactId"
         FROM contacts WHERE tenant_id = $1 AND contact_id = ANY($2) AND deleted_at IS NULL"#,
        tenant,
        contact_ids as &[ContactId],
    )
    .fetch_all(&mut *conn)
    .await?;
    if contacts.is_empty() {
        return Ok(Vec::new());
    }
    let found: Vec<ContactId> = contacts.iter().map(|c| c.contact_id).collect();
    let identities = sqlx::query!(
        r#"SELECT contact_id AS "contact_id: ContactId", identity_id AS "identity_id: IdentityId", kind AS "kind: IdentityKind",
                  value, nullif(scope, '') AS scope, source AS "source: IdentitySource", provenance AS "provenance: Provenance",
                  created_at
         FROM contact_identities WHERE contact_id = ANY($1) ORDER BY created_at, kind, value"#,
        &found as &[ContactId],
    )
    .fetch_all(&mut *conn)
    .await?;
    let proposals = sqlx::query!(
        r#"SELECT contact_id AS "contact_id: ContactId", proposal_id, kind AS "kind: IdentityKind", value,
                  nullif(scope, '') AS scope, source AS "source: IdentitySource", interaction_id, proposed_at
         FROM proposed_identities WHERE contact_id = ANY($1) AND status = 'open' ORDER BY proposed_at, kind, value"#,
        &found as &[ContactId],
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut by_id: HashMap<ContactId, Card> = contacts
        .into_iter()
        .map(|c| {
            let card = Card {
                contact_id: c.contact_id,
                name: c.name,
                name_source: c.name_source,
                created_at: c.created_at,
                updated_at: c.updated_at,
                last_interaction_at: c.last_interaction_at,
                merged_into: c.merged_into,
                identities: Vec::new(),
                proposed_identities: Vec::new(),
            };
            (c.contact_id, card)
        })
        .collect();
    for row in identities {
        if let Some(card) = by_id.get_mut(&row.contact_id) {
            card.identities.push(CardIdentity {
                identity_id: row.identity_id,
                kind: row.kind,
                value: row.value,
                scope: row.scope,
                source: row.source,
                provenance: row.provenance,
                created_at: row.created_at,
            });
        }
    }
    for row in proposals {
        if let Some(card) = by_id.get_mut(&row.contact_id) {
            card.proposed_identities.push(ProposedIdentity {
                proposal_id: row.proposal_id,
                kind: row.kind,
                value: row.value,
                scope: row.scope,
                source: row.source,
                interaction_id: row.interaction_id,
                proposed_at: row.proposed_at,
            });
        }
    }
    Ok(contact_ids.iter().filter_map(|id| by_id.remove(id)).collect())
}
