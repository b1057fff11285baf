//! Undoing a merge exactly, from the merge journal.

use contracts::{ContactChangeKind, Identity, IdentityKind, NameSource};
use contracts::{ContactId, IdentityId, MergeId};
use sqlx::{PgConnection, PgPool};

use crate::changes;
use crate::directory::edit::Edit;
use crate::directory::{ordered, DirectoryError, Result};

/// What a merge moved (`merge_journal`): what [`reverse`] moves back.
struct Journal {
    survivor_id: ContactId,
    merged_id: ContactId,
    moved_identities: Vec<IdentityId>,
    moved_links: Vec<String>,
    /// The survivor's name before the merge, when the merge replaced it.
    survivor_name: Option<String>,
    survivor_name_src: Option<NameSource>,
}

/// Reverses a merge from its journal: both contacts exactly as before (identities the survivor
/// gained since stay with it).
pub async fn reverse(pool: &PgPool, tenant: &str, merge_id: MergeId, actor: &contracts::Actor) -> Result<(ContactId, ContactId)> {
    let mut edit = Edit::begin(pool, tenant, actor).await?;
    let journal = sqlx::query_as!(
        Journal,
        r#"SELECT survivor_id AS "survivor_id: ContactId", merged_id AS "merged_id: ContactId",
                  moved_identities AS "moved_identities: Vec<IdentityId>", moved_links, survivor_name,
                  survivor_name_src AS "survivor_name_src: NameSource"
         FROM merge_journal WHERE tenant_id = $1 AND merge_id = $2 AND unmerged_at IS NULL FOR UPDATE"#,
        tenant,
        merge_id.0,
    )
    .fetch_optional(edit.conn())
    .await?
    .ok_or_else(|| DirectoryError::NotFound(format!("open merge {merge_id}")))?;
    let (survivor, merged) = (journal.survivor_id, journal.merged_id);
    edit.lock_live(survivor).await?;
    let back = sqlx::query!(
        r#"UPDATE contact_identities SET contact_id = $1 WHERE contact_id = $2 AND identity_id = ANY($3)
           RETURNING kind AS "kind: IdentityKind", value, nullif(scope, '') AS scope"#,
        merged.0,
        survivor.0,
        &journal.moved_identities as &[IdentityId],
    )
    .fetch_all(edit.conn())
    .await?;
    sqlx::query!(
        "UPDATE conversation_links SET contact_id = $1 WHERE tenant_id = $2 AND contact_id = $3 AND conversation_ref = ANY($4)",
        merged.0,
        tenant,
        survivor.0,
        &journal.moved_links,
    )
    .execute(edit.conn())
    .await?;
    if journal.survivor_name.is_some() {
        sqlx::query!(
            "UPDATE contacts SET name = $2, name_source = $3 WHERE contact_id = $1",
            survivor.0,
            journal.survivor_name,
            journal.survivor_name_src as Option<NameSource>,
        )
        .execute(edit.conn())
        .await?;
    }
    sqlx::query!("UPDATE contacts SET merged_into = NULL, updated_at = now() WHERE contact_id = $1", merged.0)
        .execute(edit.conn())
        .await?;
    edit.touch(survivor).await?;
    sqlx::query!("UPDATE merge_journal SET unmerged_at = now() WHERE merge_id = $1", merge_id.0).execute(edit.conn()).await?;
    // Each was in touch when its own interactions were (those of the merge's time stay with the
    // survivor, whose card they reached).
    for contact in [survivor, merged] {
        recompute_last_interaction(edit.conn(), tenant, contact).await?;
    }
    // An operator who separates two contacts says they are different people: never suggested
    // or merged automatically again.
    let (low, high) = ordered(survivor, merged);
    sqlx::query!(
        "INSERT INTO duplicate_suggestions (tenant_id, contact_a, contact_b, shared_kind, shared_value, status)
         VALUES ($1, $2, $3, 'contact_id', '', 'different_people')
         ON CONFLICT (tenant_id, contact_a, contact_b) DO UPDATE SET status = 'different_people'",
        tenant,
        low.0,
        high.0,
    )
    .execute(edit.conn())
    .await?;
    let fields = back.into_iter().map(|row| changes::identity_removed(&Identity::new(row.kind, row.value, row.scope))).collect();
    edit.record(survivor, ContactChangeKind::Unmerged, "merge reversed by an operator", fields, Some(merged)).await?;
    edit.record(survivor, ContactChangeKind::DifferentPeople, "merge reversed by an operator", Vec::new(), Some(merged)).await?;
    edit.snapshot(merged).await?;
    edit.commit().await?;
    Ok((survivor, merged))
}

/// `last_interaction_at` of `contact` from the interactions resolved to it and to the contacts
/// merged into it.
pub async fn recompute_last_interaction(conn: &mut PgConnection, tenant: &str, contact: ContactId) -> Result<()> {
    sqlx::query!(
        "WITH RECURSIVE below (contact_id) AS (
             SELECT $2::uuid
             UNION SELECT c.contact_id FROM contacts c JOIN below b ON c.merged_into = b.contact_id WHERE c.tenant_id = $1
         )
         UPDATE contacts SET last_interaction_at = (
             SELECT max(p.occurred_at) FROM processed_interactions p
             WHERE p.tenant_id = $1 AND p.contact_id IN (SELECT contact_id FROM below)
         )
         WHERE contact_id = $2 AND EXISTS (
             SELECT 1 FROM processed_interactions p WHERE p.tenant_id = $1 AND p.contact_id IN (SELECT contact_id FROM below) AND p.occurred_at IS NOT NULL
         )",
        tenant,
        contact.0,
    )
    .execute(conn)
    .await?;
    Ok(())
}
