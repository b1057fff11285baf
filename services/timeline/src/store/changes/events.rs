//! Timeline entries of contact changes (`contact_events`) and the record of every change
//! applied (`processed_changes`), one change or a whole run of them per statement.

use contracts::{ContactChange, ContactChangeKind};
use serde_json::Value;
use sqlx::types::Json;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::search::{alias_terms, truncate_chars, MAX_INDEXED_CHARS};

/// Changes that move nothing, once each: one statement marks them processed, one finds their
/// contacts' owners, one inserts their timeline entries.
pub(super) async fn apply_plain(conn: &mut PgConnection, changes: &[&ContactChange]) -> sqlx::Result<()> {
    if changes.is_empty() {
        return Ok(());
    }
    let mut first_time = mark_processed(conn, changes).await?;
    // Taken from the set, so a change delivered twice in the run counts once. A suggestion
    // changes nothing on the card; the directory shows it, the timeline does not.
    let fresh: Vec<&ContactChange> = changes
        .iter()
        .copied()
        .filter(|c| first_time.remove(&c.change_id) && c.kind != ContactChangeKind::DuplicateSuggested)
        .collect();
    let owners = crate::store::owners(conn, fresh.iter().map(|c| (c.tenant_id.as_str(), c.contact_id.0))).await?;
    let mut rows = Vec::with_capacity(fresh.len());
    for change in fresh {
        let Some(owner) = owners.get(&(change.tenant_id.clone(), change.contact_id.0)) else { continue };
        if owner.erased {
            tracing::info!(change_id = %change.change_id, "dropping a change of an erased contact");
            continue;
        }
        rows.push((change, owner.root, (owner.root != change.contact_id.0).then_some(change.contact_id.0)));
    }
    insert_events(conn, &rows).await
}

/// Records the changes as processed; the ids of those seen for the first time.
pub(super) async fn mark_processed(
    conn: &mut PgConnection,
    changes: &[&ContactChange],
) -> sqlx::Result<std::collections::HashSet<Uuid>> {
    let ids: Vec<Uuid> = changes.iter().map(|c| c.change_id).collect();
    let tenants: Vec<&str> = changes.iter().map(|c| c.tenant_id.as_str()).collect();
    let contacts: Vec<Uuid> = changes.iter().map(|c| c.contact_id.0).collect();
    let kinds: Vec<ContactChangeKind> = changes.iter().map(|c| c.kind).collect();
    let first = sqlx::query_scalar!(
        "INSERT INTO processed_changes (change_id, tenant_id, contact_id, kind)
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[])
         ON CONFLICT (change_id) DO NOTHING
         RETURNING change_id",
        &ids,
        &tenants as &[&str],
        &contacts,
        &kinds as _,
    )
    .fetch_all(conn)
    .await?;
    Ok(first.into_iter().collect())
}

pub(super) async fn insert_event(
    conn: &mut PgConnection,
    change: &ContactChange,
    owner: Uuid,
    merged_from: Option<Uuid>,
) -> sqlx::Result<()> {
    insert_events(conn, &[(change, owner, merged_from)]).await
}

/// Timeline entries of changes, each with the contact owning it now and its original contact
/// when that was merged away, in one statement.
async fn insert_events(conn: &mut PgConnection, rows: &[(&ContactChange, Uuid, Option<Uuid>)]) -> sqlx::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let texts: Vec<String> = rows.iter().map(|(c, _, _)| truncate_chars(&search_text(c), MAX_INDEXED_CHARS).to_owned()).collect();
    let aliases: Vec<String> = texts.iter().map(|t| alias_terms(t)).collect();
    let ids: Vec<Uuid> = rows.iter().map(|(c, _, _)| c.change_id).collect();
    let tenants: Vec<&str> = rows.iter().map(|(c, _, _)| c.tenant_id.as_str()).collect();
    let owners: Vec<Uuid> = rows.iter().map(|(_, owner, _)| *owner).collect();
    let kinds: Vec<ContactChangeKind> = rows.iter().map(|(c, _, _)| c.kind).collect();
    let occurred: Vec<chrono::DateTime<chrono::Utc>> = rows.iter().map(|(c, _, _)| c.occurred_at).collect();
    let actors: Vec<Json<&contracts::Actor>> = rows.iter().map(|(c, _, _)| Json(&c.actor)).collect();
    let reasons: Vec<&str> = rows.iter().map(|(c, _, _)| c.reason.as_str()).collect();
    let changes: Vec<Json<&Vec<contracts::FieldChange>>> = rows.iter().map(|(c, _, _)| Json(&c.changes)).collect();
    let related: Vec<Option<Uuid>> = rows.iter().map(|(c, _, _)| c.related_contact_id.map(|r| r.0)).collect();
    let merged_from: Vec<Option<Uuid>> = rows.iter().map(|(_, _, m)| *m).collect();
    sqlx::query!(
        "INSERT INTO contact_events (change_id, tenant_id, contact_id, kind, occurred_at, actor, reason, changes,
                                     related_contact_id, merged_from, search)
         SELECT change_id, tenant_id, contact_id, kind, occurred_at, actor, reason, changes, related, merged_from,
                -- The kind is the subject of the document: `merged`, `erased`… find their events.
                search_document(kind, text, alias)
         FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::timestamptz[], $6::jsonb[], $7::text[], $8::jsonb[],
                     $9::uuid[], $10::uuid[], $11::text[], $12::text[])
           AS e(change_id, tenant_id, contact_id, kind, occurred_at, actor, reason, changes, related, merged_from, text, alias)
         ON CONFLICT (change_id) DO NOTHING",
        &ids,
        &tenants as &[&str],
        &owners,
        &kinds as _,
        &occurred,
        &actors as _,
        &reasons as &[&str],
        &changes as _,
        &related as _,
        &merged_from as _,
        &texts,
        &aliases,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The searchable text of a change: its fields and every value before and after, and the reason.
pub fn search_text(change: &ContactChange) -> String {
    fn strings(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::String(s) => out.push(s.clone()),
            Value::Number(n) => out.push(n.to_string()),
            Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
            Value::Object(map) => map.values().for_each(|v| strings(v, out)),
            Value::Bool(_) | Value::Null => {}
        }
    }
    let mut out = Vec::new();
    for field in &change.changes {
        out.push(field.field.replace(['.', '_'], " "));
        for value in [&field.before, &field.after].into_iter().flatten() {
            strings(value, &mut out);
        }
    }
    out.push(change.reason.clone());
    out.join("\n")
}
