//! Applying a decision: attach to a contact (enrich or propose, rename), create one, merge
//! verified duplicates when the tenant allows it, and queue the other candidates.

use contracts::api::directory::NameChoice;
use contracts::ContactId;
use contracts::NameSource;
use contracts::{Actor, Confidence, Identity, IdentityKind, IgnoreReason, IgnoredIdentity, Profile, Resolution};
use sqlx::{Acquire, PgConnection};

use super::matching::Candidate;
use super::rules::TenantRules;
use super::{events, resolution, store, ResolveError, Sighting};
use crate::changes;
use crate::directory::{merges, DirectoryError};

/// Attaches to `contact_id`: adds the identities nobody holds (or, for a typed-only match,
/// proposes them), records when its identifiers were seen, and takes a higher-ranked name —
/// never a name typed into a form that matched only by typed identifiers.
pub(super) async fn attach(
    conn: &mut PgConnection,
    rules: &TenantRules,
    sighting: &Sighting<'_>,
    contact_id: ContactId,
    confidence: Confidence,
    (enrich, propose): (Vec<Identity>, Vec<Identity>),
    ignored: &mut Vec<IgnoredIdentity>,
) -> Result<Resolution, ResolveError> {
    let Sighting { tenant, identities, profile, actor, source, origin, .. } = *sighting;
    let counts = if enrich.is_empty() { Default::default() } else { store::kind_counts(conn, contact_id).await? };
    let enrich = within_limits(enrich, &counts, rules.max_per_kind, ignored);
    let inserted = store::insert_identities(conn, tenant, contact_id, &enrich, source, sighting.last_interaction_at).await?;
    for skipped in enrich.iter().filter(|i| !inserted.contains(i)) {
        ignored.push(IgnoredIdentity::new(skipped.kind, skipped.value.clone(), IgnoreReason::OwnedByOther));
    }
    if !inserted.is_empty() {
        changes::record(conn, events::learned(tenant, contact_id, &inserted, actor, origin)).await?;
    }
    let proposed = store::propose(conn, tenant, contact_id, &propose, source, sighting.interaction_id).await?;
    if !proposed.is_empty() {
        changes::record(conn, events::proposed(tenant, contact_id, &proposed, actor)).await?;
    }
    if let Some(at) = sighting.last_interaction_at {
        store::mark_seen(conn, contact_id, identities, at).await?;
    }
    if confidence == Confidence::Verified || rules.typed_enrichment {
        update_name(conn, tenant, contact_id, profile, actor).await?;
    }
    Ok(Resolution { proposed: propose, ..resolution(Vec::new()) })
}

/// Merges the contacts `merge` names into `contact_id` (`auto_merge = verified`), except pairs
/// an operator kept apart; returns the ones merged.
pub(super) async fn merge_verified(
    conn: &mut PgConnection,
    sighting: &Sighting<'_>,
    contact_id: ContactId,
    merge: Vec<ContactId>,
) -> Result<Vec<ContactId>, ResolveError> {
    if merge.is_empty() {
        return Ok(merge);
    }
    let apart = store::kept_apart(conn, sighting.tenant, contact_id, &merge).await?;
    let mut merged = Vec::new();
    for other in merge.into_iter().filter(|m| !apart.contains(m)) {
        let reason = "one interaction carried verified identifiers of both (auto_merge = verified)";
        let mut savepoint = conn.begin().await?;
        match merges::merge_in(&mut savepoint, sighting.tenant, sighting.actor, contact_id, other, NameChoice::Survivor, reason)
            .await
        {
            Ok(_) => {
                savepoint.commit().await?;
                merged.push(other);
            }
            // Too many identifiers together, or merged away meanwhile: left as a suggestion.
            Err(DirectoryError::Conflict(_) | DirectoryError::NotFound(_)) => savepoint.rollback().await?,
            Err(DirectoryError::Database(error)) => return Err(error.into()),
            Err(other_error) => {
                tracing::warn!(error = %other_error, "automatic merge not made");
                savepoint.rollback().await?;
            }
        }
    }
    Ok(merged)
}

/// Creates a contact holding `new`; `None` when a concurrent creator took one of the
/// identities first (the caller rolls the savepoint back and matches again).
pub(super) async fn create(
    conn: &mut PgConnection,
    sighting: &Sighting<'_>,
    new: &[Identity],
) -> sqlx::Result<Option<ContactId>> {
    let Sighting { tenant, profile, actor, source, last_interaction_at, origin, .. } = *sighting;
    let contact_id = ContactId::random();
    store::create_contact(conn, tenant, contact_id, profile, last_interaction_at).await?;
    let inserted = store::insert_identities(conn, tenant, contact_id, new, source, last_interaction_at).await?;
    if inserted.len() != new.len() {
        return Ok(None);
    }
    changes::record(conn, events::created(tenant, contact_id, profile, &inserted, actor, origin)).await?;
    Ok(Some(contact_id))
}

/// Drops identities of kinds the contact already holds `max_per_kind` of.
pub(super) fn within_limits(
    identities: Vec<Identity>,
    counts: &std::collections::HashMap<IdentityKind, i64>,
    max_per_kind: usize,
    ignored: &mut Vec<IgnoredIdentity>,
) -> Vec<Identity> {
    let mut taken: std::collections::HashMap<IdentityKind, usize> = std::collections::HashMap::new();
    identities
        .into_iter()
        .filter(|identity| {
            let held = counts.get(&identity.kind).copied().unwrap_or(0) as usize;
            let next = taken.entry(identity.kind).or_insert(0);
            *next += 1;
            let fits = held + *next <= max_per_kind;
            if !fits {
                ignored.push(IgnoredIdentity::new(identity.kind, identity.value.clone(), IgnoreReason::LimitPerKind));
            }
            fits
        })
        .collect()
}

/// Other contacts matched by the same interaction go to the duplicates queue (once per pair).
pub(super) async fn suggest_duplicates(
    conn: &mut PgConnection,
    tenant: &str,
    contact_id: ContactId,
    candidates: &[Candidate],
    actor: &Actor,
) -> sqlx::Result<()> {
    for candidate in candidates {
        let (other, evidence, weakness) = (candidate.contact_id, &candidate.identity, candidate.weakness);
        if store::suggest_duplicate(conn, tenant, contact_id, other, evidence, weakness).await? {
            changes::record(conn, events::duplicate_suggested(tenant, contact_id, candidate, actor)).await?;
        }
    }
    Ok(())
}

/// Takes the profile name when its source ranks above the current one (an operator's name is
/// never replaced automatically; equal sources keep the name already there).
pub(super) async fn update_name(
    conn: &mut PgConnection,
    tenant: &str,
    contact_id: ContactId,
    profile: Option<&Profile>,
    actor: &Actor,
) -> sqlx::Result<()> {
    if profile.and_then(|p| p.name.as_deref()).is_none_or(|name| name.trim().is_empty()) {
        return Ok(());
    }
    let (current, current_source) = store::name(conn, contact_id).await?;
    if let Some((new_name, source)) = new_name(current.as_deref(), current_source, profile) {
        store::set_name(conn, contact_id, new_name, source).await?;
        changes::record(conn, events::renamed(tenant, contact_id, current.as_deref(), new_name, actor)).await?;
    }
    Ok(())
}

/// The profile's name (trimmed) when it should replace the current one: its source ranks
/// above the current one's (an operator's name is never replaced automatically; equal sources
/// keep the name already there) and it differs.
pub(super) fn new_name<'p>(
    current: Option<&str>,
    current_source: Option<NameSource>,
    profile: Option<&'p Profile>,
) -> Option<(&'p str, NameSource)> {
    let profile = profile?;
    let name = profile.name.as_deref().map(str::trim).filter(|n| !n.is_empty())?;
    let outranks = match (current, current_source) {
        (None, _) | (_, None) => true,
        (Some(_), Some(source)) => profile.name_source.priority() > source.priority(),
    };
    (outranks && current != Some(name)).then_some((name, profile.name_source))
}
