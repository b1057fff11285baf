//! What a merge would do, shown before it is done: both cards, the conflicts, the combined kinds.

use contracts::api::directory::{Card, Combined, Conflict, MergePreview, Moves, NamedValue};
use contracts::ContactId;
use sqlx::PgPool;

use crate::directory::{cards, DirectoryError, Result};

/// Both live cards side by side with the fields in conflict; the same checks as a merge (two
/// different live contacts of `tenant`), no side effects.
pub async fn preview(pool: &PgPool, tenant: &str, survivor: ContactId, merged: ContactId) -> Result<MergePreview> {
    if survivor == merged {
        return Err(DirectoryError::Invalid("a contact cannot be merged into itself".into()));
    }
    let mut conn = pool.acquire().await?;
    let live = |card: Option<Card>, id: ContactId| {
        card.filter(|c| c.merged_into.is_none()).ok_or_else(|| DirectoryError::NotFound(format!("contact {id}")))
    };
    let survivor_card = live(cards::card(&mut conn, tenant, survivor).await?, survivor)?;
    let merged_card = live(cards::card(&mut conn, tenant, merged).await?, merged)?;
    let links = sqlx::query_scalar!(
        r#"SELECT count(*) AS "links!" FROM conversation_links WHERE tenant_id = $1 AND contact_id = $2"#,
        tenant,
        merged.0,
    )
    .fetch_one(&mut *conn)
    .await?;
    let (conflicts, combined) = compare(&survivor_card, &merged_card);
    let moves = Moves { identities: merged_card.identities.len() as u64, conversation_links: links.max(0) as u64 };
    Ok(MergePreview { survivor: survivor_card, merged: merged_card, conflicts, combined, moves })
}

/// The conflicts and combined identifier kinds of merging `merged` into `survivor`. Only the
/// name is single-valued: two different names conflict. Identifiers are many per kind, so the
/// same kind (and scope) with different values is combined, not a conflict.
pub fn compare(survivor: &Card, merged: &Card) -> (Vec<Conflict>, Vec<Combined>) {
    let mut conflicts = Vec::new();
    let names = (survivor.name.as_deref().map(str::trim), merged.name.as_deref().map(str::trim));
    if let (Some(kept), Some(other)) = names {
        if kept != other {
            conflicts.push(Conflict {
                field: "name".into(),
                survivor: NamedValue { value: kept.to_owned(), source: survivor.name_source },
                merged: NamedValue { value: other.to_owned(), source: merged.name_source },
                choose_with: "name: survivor | merged".into(),
            });
        }
    }
    let mut combined: Vec<Combined> = Vec::new();
    for identity in &survivor.identities {
        let both = merged.identities.iter().any(|m| m.kind == identity.kind && m.scope == identity.scope);
        if !both || combined.iter().any(|c| c.kind == identity.kind && c.scope == identity.scope) {
            continue;
        }
        let values = |card: &Card| {
            card.identities
                .iter()
                .filter(|i| i.kind == identity.kind && i.scope == identity.scope)
                .map(|i| i.value.clone())
                .collect()
        };
        combined.push(Combined {
            kind: identity.kind,
            scope: identity.scope.clone(),
            survivor: values(survivor),
            merged: values(merged),
        });
    }
    (conflicts, combined)
}
