//! Write path of `contacts.changes`: contact-detail changes become timeline entries
//! (`contact_events`), merges re-point the merged contact's history to the survivor and unmerges
//! restore it, and an erasure removes the contact's personal content (or its whole history).
//!
//! Every change id is recorded in `processed_changes` in the same transaction as its effect, so
//! a replay of the topic applies nothing twice — not even a merge that was undone since.

use contracts::{ContactChange, ContactChangeKind};
use sqlx::PgConnection;
use uuid::Uuid;

mod events;

use super::{merged_below, owner_of};
use crate::config::ErasureMode;
use crate::transcript::PERSONAL_DETAILS;
pub use events::search_text;
use events::{apply_plain, insert_event, mark_processed};

/// Whether a change of this kind needs the tenant's exclusive lock (it moves or removes items).
pub fn moves_items(kind: ContactChangeKind) -> bool {
    matches!(
        kind,
        ContactChangeKind::Merged
            | ContactChangeKind::Unmerged
            | ContactChangeKind::Erased
            | ContactChangeKind::ConversationLinked
    )
}

/// Applies a batch of changes in order. Runs of changes that move nothing (everything but
/// merges, unmerges, erasures and conversation links: ownership stays as it is within a run)
/// are applied set-based, in a few statements per run; the others one at a time between them.
pub async fn apply_all(conn: &mut PgConnection, erasure: ErasureMode, changes: &[&ContactChange]) -> sqlx::Result<()> {
    let mut run: Vec<&ContactChange> = Vec::new();
    for change in changes {
        if moves_items(change.kind) {
            apply_plain(conn, &run).await?;
            run.clear();
            apply(conn, erasure, change).await?;
        } else {
            run.push(change);
        }
    }
    apply_plain(conn, &run).await
}

/// Applies one contact change, once.
#[tracing::instrument(skip_all, fields(change_id = %change.change_id, contact_id = %change.contact_id, kind = ?change.kind), err)]
pub async fn apply(conn: &mut PgConnection, erasure: ErasureMode, change: &ContactChange) -> sqlx::Result<()> {
    if !mark_processed(conn, &[change]).await?.contains(&change.change_id) {
        return Ok(());
    }
    match change.kind {
        // A suggestion changes nothing on the card; the directory shows it, the timeline does not.
        ContactChangeKind::DuplicateSuggested => Ok(()),
        ContactChangeKind::Erased => erase(conn, erasure, change).await,
        _ => {
            let owner = owner_of(conn, &change.tenant_id, change.contact_id.0).await?;
            if owner.erased {
                tracing::info!("dropping a change of an erased contact");
                return Ok(());
            }
            let merged_from = (owner.root != change.contact_id.0).then_some(change.contact_id.0);
            insert_event(conn, change, owner.root, merged_from).await?;
            match (change.kind, change.related_contact_id) {
                (ContactChangeKind::Merged, Some(merged)) => merge(conn, change, merged.0).await,
                (ContactChangeKind::Unmerged, Some(merged)) => unmerge(conn, change, merged.0).await,
                (ContactChangeKind::Merged | ContactChangeKind::Unmerged, None) => {
                    tracing::warn!("merge change without related_contact_id; nothing to move");
                    Ok(())
                }
                (ContactChangeKind::ConversationLinked, _) => claim_conversation(conn, change, owner.root, merged_from).await,
                _ => Ok(()),
            }
        }
    }
}

/// An operator linked a conversation to the contact: its unidentified interactions are the
/// contact's from now on (later ones arrive resolved to it).
async fn claim_conversation(
    conn: &mut PgConnection,
    change: &ContactChange,
    owner: Uuid,
    merged_from: Option<Uuid>,
) -> sqlx::Result<()> {
    let conversation = change.changes.iter().find(|c| c.field == "conversation_ref").and_then(|c| c.after.as_ref()?.as_str());
    let Some(conversation) = conversation else {
        tracing::warn!("conversation_linked without its conversation_ref; nothing to move");
        return Ok(());
    };
    let moved = sqlx::query!(
        "UPDATE interactions SET contact_id = $3, merged_from = $4, updated_at = now()
         WHERE tenant_id = $1 AND contact_id IS NULL AND conversation_ref = $2",
        change.tenant_id,
        conversation,
        owner,
        merged_from,
    )
    .execute(&mut *conn)
    .await?;
    tracing::info!(conversation, moved = moved.rows_affected(), "unidentified conversation linked to its contact");
    Ok(())
}

/// `merged` was merged into the change's contact: its items (and those of contacts merged into
/// it) move to the survivor's root, remembering their original contact.
async fn merge(conn: &mut PgConnection, change: &ContactChange, merged: Uuid) -> sqlx::Result<()> {
    let tenant = change.tenant_id.as_str();
    let survivor = owner_of(conn, tenant, change.contact_id.0).await?.root;
    if merged == change.contact_id.0 || survivor == merged {
        tracing::warn!(%merged, "a merge into itself or into a contact merged below it; ignored");
        return Ok(());
    }
    let journaled = sqlx::query!(
        "INSERT INTO contact_merges (change_id, tenant_id, merged_id, survivor_id, merged_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT DO NOTHING",
        change.change_id,
        tenant,
        merged,
        change.contact_id.0,
        change.occurred_at,
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if journaled == 0 {
        tracing::warn!(%merged, "contact is already merged into another one; ignored");
        return Ok(());
    }
    sqlx::query!(
        "UPDATE interactions SET contact_id = $3, merged_from = coalesce(merged_from, $2), updated_at = now()
         WHERE tenant_id = $1 AND contact_id = $2",
        tenant,
        merged,
        survivor,
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "UPDATE contact_events SET contact_id = $3, merged_from = coalesce(merged_from, $2)
         WHERE tenant_id = $1 AND contact_id = $2",
        tenant,
        merged,
        survivor,
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Undoes the merge of `merged` into the change's contact: every item that originally belonged
/// to `merged` or to a contact still merged into it goes back to `merged`.
async fn unmerge(conn: &mut PgConnection, change: &ContactChange, merged: Uuid) -> sqlx::Result<()> {
    let tenant = change.tenant_id.as_str();
    let undone = sqlx::query!(
        "UPDATE contact_merges SET unmerged_at = $4
         WHERE tenant_id = $1 AND merged_id = $2 AND survivor_id = $3 AND unmerged_at IS NULL",
        tenant,
        merged,
        change.contact_id.0,
        change.occurred_at,
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if undone == 0 {
        tracing::warn!(%merged, "no active merge to undo; ignored");
        return Ok(());
    }
    let origins = merged_below(conn, tenant, merged).await?;
    sqlx::query!(
        "UPDATE interactions
         SET contact_id = $2, merged_from = CASE WHEN merged_from = $2 THEN NULL ELSE merged_from END, updated_at = now()
         WHERE tenant_id = $1 AND merged_from = ANY($3)",
        tenant,
        merged,
        &origins,
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "UPDATE contact_events SET contact_id = $2, merged_from = CASE WHEN merged_from = $2 THEN NULL ELSE merged_from END
         WHERE tenant_id = $1 AND merged_from = ANY($3)",
        tenant,
        merged,
        &origins,
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Removes the personal content of an erased contact (its own items, those merged into it and
/// the values other contacts' merge entries hold about it), or deletes its history, and records
/// the erasure so nothing of it is stored again.
async fn erase(conn: &mut PgConnection, mode: ErasureMode, change: &ContactChange) -> sqlx::Result<()> {
    let tenant = change.tenant_id.as_str();
    let contact = change.contact_id.0;
    sqlx::query!(
        "INSERT INTO erased_contacts (tenant_id, contact_id, change_id, mode, erased_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT DO NOTHING",
        tenant,
        contact,
        change.change_id,
        mode as _,
        change.occurred_at,
    )
    .execute(&mut *conn)
    .await?;
    // Reactions are content: the contact's own and those on its messages go in either mode.
    let reactors = merged_below(conn, tenant, contact).await?;
    super::reactions::erase(conn, tenant, contact, &reactors).await?;
    match mode {
        ErasureMode::Delete => {
            sqlx::query!(
                "DELETE FROM interactions WHERE tenant_id = $1 AND (contact_id = $2 OR merged_from = $2)",
                tenant,
                contact
            )
            .execute(&mut *conn)
            .await?;
            sqlx::query!(
                "DELETE FROM contact_events WHERE tenant_id = $1 AND (contact_id = $2 OR merged_from = $2)",
                tenant,
                contact
            )
            .execute(&mut *conn)
            .await?;
        }
        ErasureMode::Redact => {
            // `redacted_event` and `redacted_resolution`: SQL functions (migration 0007).
            sqlx::query!(
                "UPDATE interaction_messages
                 SET text = NULL, subject = NULL, event = redacted_event(event), resolution = redacted_resolution(resolution),
                     updated_at = now()
                 WHERE interaction_id IN (SELECT interaction_id FROM interactions
                                          WHERE tenant_id = $1 AND (contact_id = $2 OR merged_from = $2))",
                tenant,
                contact,
            )
            .execute(&mut *conn)
            .await?;
            let personal: Vec<String> = PERSONAL_DETAILS.iter().map(|k| (*k).to_owned()).collect();
            sqlx::query!(
                "UPDATE interactions SET subject = NULL, body_text = NULL, transcript_text = NULL, conversation_ref = NULL,
                        provider_ref = '', event = redacted_event(event), resolution = redacted_resolution(resolution),
                        details = details - $3::text[], parameters = '{}', attachments = '[]', search = ''::tsvector,
                        redacted_at = now(), updated_at = now()
                 WHERE tenant_id = $1 AND (contact_id = $2 OR merged_from = $2)",
                tenant,
                contact,
                &personal,
            )
            .execute(&mut *conn)
            .await?;
        }
    }
    // Its own contact events (when kept) and the merge entries of other contacts, which name the
    // erased contact's identifiers as moved values: the fields stay, their values go.
    sqlx::query!(
        "UPDATE contact_events
         SET reason = NULL, search = ''::tsvector, redacted_at = now(),
             changes = coalesce((SELECT jsonb_agg(jsonb_build_object('field', c -> 'field', 'before', NULL, 'after', NULL))
                                 FROM jsonb_array_elements(changes) c), '[]'::jsonb)
         WHERE tenant_id = $1 AND (contact_id = $2 OR merged_from = $2 OR related_contact_id = $2) AND redacted_at IS NULL",
        tenant,
        contact,
    )
    .execute(&mut *conn)
    .await?;
    if mode == ErasureMode::Redact {
        // The erasure itself stays on the redacted timeline, with nothing personal in it.
        let mut marker = change.clone();
        marker.changes.clear();
        marker.reason.clear();
        insert_event(conn, &marker, contact, None).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use contracts::{Actor, FieldChange};
    use serde_json::json;

    #[test]
    fn a_change_is_searchable_by_field_values_and_reason() {
        let change = ContactChange {
            v: 1,
            change_id: Uuid::nil(),
            tenant_id: "acme".into(),
            contact_id: contracts::ContactId(Uuid::nil()),
            kind: ContactChangeKind::IdentifierAdded,
            occurred_at: Utc::now(),
            actor: Actor::Operator { id: "op".into() },
            reason: "operator edit".into(),
            changes: vec![FieldChange {
                field: "identities.email".into(),
                before: None,
                after: Some(json!({"kind": "email", "value": "jan@example.cz", "scope": null})),
            }],
            related_contact_id: None,
        };
        let text = search_text(&change);
        assert!(text.contains("identities email") && text.contains("jan@example.cz") && text.contains("operator edit"), "{text}");
    }
}
