//! Resolution of one interaction inside the batch transaction: screen and normalize the
//! identities ([`rules`]), look up their holders, decide ([`matching`], pure), apply, record
//! change events and duplicate suggestions, and mark the interaction processed ([`store`]: the
//! SQL). A concurrent creation of the same identity makes the attempt roll back to its savepoint
//! and run again, so both end on one contact. The same steps ([`match_or_create`]) resolve the
//! rows of a contact import ([`crate::directory::import`]).

use chrono::{DateTime, Utc};
use contracts::api::directory::Weakness;
use contracts::ContactId;
use contracts::{
    Actor, Confidence, Identity, IdentityKind, IgnoredIdentity, InteractionEvent, Profile, Resolution, ResolvedInteraction,
};
use sqlx::{Acquire, PgConnection};
use uuid::Uuid;

mod apply;
pub mod batch;
mod events;
pub mod matching;
pub mod rules;
pub mod store;

use contracts::api::directory::IdentitySource;

use apply::{attach, create, merge_verified, suggest_duplicates, within_limits};
use matching::{decide, Candidate, Decision, Lookup, Policy};
use rules::TenantRules;

const ATTEMPTS: usize = 3;

#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("identity claimed concurrently {ATTEMPTS} times in a row")]
    Contended,
    /// Set-based resolution found an identity it adds taken by another resolver meanwhile.
    #[error("an identity the batch adds was claimed concurrently")]
    Raced,
}

/// The stored decision for an interaction seen before: a redelivery, or a later state of the
/// same interaction (a call's progress, a delivery status). The decision stands; the content is
/// the newest one.
pub fn replay(stored: ResolvedInteraction, event: &InteractionEvent) -> ResolvedInteraction {
    tracing::debug!(interaction_id = %event.interaction_id, "already processed");
    ResolvedInteraction { interaction: event.clone(), ..stored }
}

/// Resolves an interaction not processed before (the caller checked, e.g. for a whole batch).
/// Every interaction gets a decision, also one no contact is found for (unidentified).
#[tracing::instrument(skip_all, fields(tenant = %event.tenant_id, interaction_id = %event.interaction_id))]
pub async fn resolve_new(
    conn: &mut PgConnection,
    rules: &TenantRules,
    event: &InteractionEvent,
) -> Result<ResolvedInteraction, ResolveError> {
    let tenant = event.tenant_id.as_str();
    let (identities, ignored) = screen_all(event, rules);
    let actor = Actor::Channel { channel: event.body.channel.to_string(), interaction_id: event.interaction_id };
    let sighting = Sighting {
        tenant,
        identities: &identities,
        profile: event.body.profile.as_ref(),
        actor: &actor,
        source: event.body.channel.into(),
        last_interaction_at: Some(event.body.occurred_at),
        interaction_id: Some(event.interaction_id),
        origin: Origin::Interaction,
    };
    let (contact_id, resolution) = match_or_create(conn, rules, &sighting, ignored).await?;
    if let Some(contact_id) = contact_id {
        store::touch_interaction(conn, contact_id, event.body.occurred_at).await?;
    }
    let resolved = ResolvedInteraction {
        v: contracts::SCHEMA_VERSION,
        tenant_id: tenant.to_owned(),
        contact_id,
        interaction: event.clone(),
        resolution,
    };
    store::record_processed(conn, &resolved).await?;
    record_outcome(&resolved);
    Ok(resolved)
}

/// Counts the decision in `/metrics` by what matched.
fn record_outcome(resolved: &ResolvedInteraction) {
    let outcome = match (resolved.resolution.confidence, &resolved.resolution.matched_by) {
        (Confidence::Unidentified, _) => "unidentified",
        (_, None) => "created",
        (Confidence::Typed, Some(_)) => "typed",
        (_, Some(matched)) => matched.kind.as_str(),
    };
    metrics::counter!(runtime::http::metrics::RESOLUTIONS, "matched_by" => outcome).increment(1);
}

/// Where the identities of a [`Sighting`] come from; it words the change events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Interaction,
    /// A row of a contact import (`POST /v1/contacts/import`).
    Import,
}

impl Origin {
    fn created_reason(self) -> &'static str {
        match self {
            Origin::Interaction => "created from an interaction nobody matched",
            Origin::Import => "created from an imported row nobody matched",
        }
    }

    fn learned_reason(self) -> &'static str {
        match self {
            Origin::Interaction => "learned from an interaction",
            Origin::Import => "learned from an imported row",
        }
    }
}

/// What one source tells about one person: an interaction, or a row of an import. Both go
/// through the same rules ([`match_or_create`]), so an import behaves like the interactions.
#[derive(Debug, Clone, Copy)]
pub struct Sighting<'a> {
    pub tenant: &'a str,
    /// Identities already screened ([`screen_identities`]).
    pub identities: &'a [Identity],
    pub profile: Option<&'a Profile>,
    /// Who the change events name.
    pub actor: &'a Actor,
    /// `source` recorded on the identities it adds (the channel, or an import).
    pub source: IdentitySource,
    /// Stamped on a contact it creates; `None` when the person was not in touch (an import).
    pub last_interaction_at: Option<DateTime<Utc>>,
    /// The interaction, when it is one (named on the identifiers it proposes).
    pub interaction_id: Option<Uuid>,
    pub origin: Origin,
}

/// Screens `raw` identities under the tenant's rules: the ones that take part in matching
/// (normalized, without repeats), and the others with the reason they were left out.
pub fn screen_identities(rules: &TenantRules, raw: impl IntoIterator<Item = Identity>) -> (Vec<Identity>, Vec<IgnoredIdentity>) {
    let mut identities = Vec::new();
    let mut ignored = Vec::new();
    for raw in raw {
        match rules.screen(&raw) {
            Ok(identity) if !identities.contains(&identity) => identities.push(identity),
            Ok(_) => {}
            Err(why) => ignored.push(why),
        }
    }
    (identities, ignored)
}

/// The identities that take part in matching: the event's own, identifying custom parameters,
/// and the operator's link of the conversation; the rest with the reason it was left out.
fn screen_all(event: &InteractionEvent, rules: &TenantRules) -> (Vec<Identity>, Vec<IgnoredIdentity>) {
    let parameters = event
        .body
        .parameters
        .iter()
        .filter(|(name, _)| rules.identifying_custom.contains(*name))
        .map(|(name, value)| Identity::new(IdentityKind::Custom, value.clone(), Some(name.clone())));
    let (mut identities, ignored) = screen_identities(rules, event.body.identities.iter().cloned().chain(parameters));
    if let Some(conversation) = &event.body.conversation_ref {
        identities.push(Identity::new(IdentityKind::ConversationLink, conversation.clone(), None));
    }
    (identities, ignored)
}

/// Applies the resolution rules (DESIGN.md §4, [`matching`]) to `sighting` on the caller's
/// transaction: the contact it matched (enriched or offered proposals, renamed by a
/// higher-ranked source, duplicates suggested, verified duplicates merged when the tenant says
/// so) or the one it created, with the decision; no contact when it stays unidentified.
/// A creation runs in a savepoint: a concurrent creation of the same identity rolls it back
/// and the next attempt matches what the other creator stored, so both end on one contact.
pub async fn match_or_create(
    conn: &mut PgConnection,
    rules: &TenantRules,
    sighting: &Sighting<'_>,
    ignored: Vec<IgnoredIdentity>,
) -> Result<(Option<ContactId>, Resolution), ResolveError> {
    let Sighting { tenant, identities, .. } = *sighting;
    for _ in 0..ATTEMPTS {
        let owners = store::owners(conn, tenant, identities).await?;
        let proposed = store::proposed_to(conn, tenant, identities).await?;
        let lookups = lookups(rules, identities, owners, proposed, sighting.last_interaction_at);
        let (decision, shared) = decide(&lookups, policy(rules));
        let mut ignored = ignored.clone();
        ignored.extend(shared);
        match decision {
            Decision::Unidentified { candidates } => {
                let resolution = Resolution {
                    confidence: Confidence::Unidentified,
                    candidates: candidate_ids(&candidates),
                    ..resolution(ignored)
                };
                return Ok((None, resolution));
            }
            Decision::Attach { contact_id, matched_by, confidence, candidates, enrich, propose, merge } => {
                // A contact merged, deleted or erased since the look-up gains nothing: the next
                // attempt looks again and follows the merge.
                if !store::lock_contacts(conn, &[contact_id]).await? {
                    continue;
                }
                // Attaching only adds what nobody holds (conflicts are skipped, not errors), so
                // it needs no savepoint: it cannot lose a race, only learn less.
                let resolution = attach(conn, rules, sighting, contact_id, confidence, (enrich, propose), &mut ignored).await?;
                let merged = merge_verified(conn, sighting, contact_id, merge).await?;
                let candidates: Vec<Candidate> = candidates.into_iter().filter(|c| !merged.contains(&c.contact_id)).collect();
                suggest_duplicates(conn, tenant, contact_id, &candidates, sighting.actor).await?;
                let resolution = Resolution {
                    matched_by: Some(matched_by),
                    confidence,
                    candidates: candidate_ids(&candidates),
                    merged,
                    ignored,
                    ..resolution
                };
                return Ok((Some(contact_id), resolution));
            }
            Decision::Create { identities: new, candidates } => {
                let new = within_limits(new, &Default::default(), rules.max_per_kind, &mut ignored);
                let mut savepoint = conn.begin().await?;
                if let Some(contact_id) = create(&mut savepoint, sighting, &new).await? {
                    suggest_duplicates(&mut savepoint, tenant, contact_id, &candidates, sighting.actor).await?;
                    savepoint.commit().await?;
                    let confidence = if new.iter().any(Identity::is_verified) { Confidence::Verified } else { Confidence::Typed };
                    let resolution = Resolution {
                        created_contact: true,
                        confidence,
                        candidates: candidate_ids(&candidates),
                        ..resolution(ignored)
                    };
                    return Ok((Some(contact_id), resolution));
                }
                tracing::info!("identity created concurrently by another resolver, retrying");
                savepoint.rollback().await?;
            }
        }
    }
    Err(ResolveError::Contended)
}

/// The tenant's rules as the pure decision takes them.
fn policy(rules: &TenantRules) -> Policy {
    Policy {
        shared_limit: rules.shared_value_limit,
        auto_create: rules.auto_create,
        typed_enrichment: rules.typed_enrichment,
        auto_merge: rules.auto_merge,
    }
}

/// What the decision knows of each identity: its holders (how weak a single holder is, and
/// whether it holds it only as typed) and the contacts it was proposed to.
fn lookups(
    rules: &TenantRules,
    identities: &[Identity],
    owners: Vec<Vec<store::Owner>>,
    proposed: Vec<Vec<ContactId>>,
    at: Option<DateTime<Utc>>,
) -> Vec<Lookup> {
    identities
        .iter()
        .cloned()
        .zip(owners)
        .zip(proposed)
        .map(|((identity, owners), proposed)| {
            let weakness = weakness(rules, &identity, &owners, at);
            let held_typed = owners.len() == 1 && owners[0].typed;
            Lookup::new(identity, owners.iter().map(|o| o.contact_id).collect())
                .weak(weakness)
                .proposed_to(proposed)
                .held_typed(held_typed)
        })
        .collect()
}

fn resolution(ignored: Vec<IgnoredIdentity>) -> Resolution {
    Resolution {
        matched_by: None,
        created_contact: false,
        confidence: Confidence::Verified,
        candidates: Vec::new(),
        ignored,
        proposed: Vec::new(),
        merged: Vec::new(),
    }
}

/// The first candidates' ids (every candidate is in the duplicates queue; the event names the
/// first ones).
fn candidate_ids(candidates: &[Candidate]) -> Vec<ContactId> {
    candidates.iter().take(contracts::limits::CANDIDATES).map(|c| c.contact_id).collect()
}

/// Why a phone held by one contact is still no proof of who is calling: a fixed line (a
/// household or an office), or a number not seen on its card for so long that it may have a
/// new owner.
fn weakness(rules: &TenantRules, identity: &Identity, owners: &[store::Owner], at: Option<DateTime<Utc>>) -> Option<Weakness> {
    if !matches!(identity.kind, IdentityKind::Phone | IdentityKind::Whatsapp) || owners.len() != 1 {
        return None;
    }
    if identity.kind == IdentityKind::Phone && rules.weak_landlines && identity::is_landline(&identity.value) {
        return Some(Weakness::Landline);
    }
    let recycle_after = chrono::Duration::days(i64::from(rules.phone_recycle_after_days));
    match (owners[0].last_seen_at, at) {
        (Some(seen), Some(at)) if at - seen > recycle_after => Some(Weakness::Stale),
        _ => None,
    }
}
