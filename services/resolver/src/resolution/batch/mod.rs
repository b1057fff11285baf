//! Set-based resolution of a consumer batch:
//!
//! 1. one look-up of the interactions processed before (a redelivery replays its decision);
//! 2. the rules of the batch's tenants, and one look-up of every identity the new
//!    interactions carry ([`View`]);
//! 3. each interaction decided in offset order by the same rules ([`matching::decide`]) on that
//!    view. A decision that leaves it unidentified, creates a contact or attaches it to one
//!    (learning or proposing identifiers, a better name) is applied to the view and queued
//!    ([`Writes`]), with the duplicates it suggests. One that merges (`auto_merge = verified`,
//!    rare, and reaching further into the directory) flushes the queue and goes the one-by-one
//!    way ([`resolve_new`]);
//!    the view is read again for the interactions after it;
//! 4. the queue flushed as one multi-row statement per table.
//!
//! So every interaction is decided exactly as one by one in offset order, in a handful of
//! statements per batch instead of several per interaction. Each flush runs in a savepoint: an
//! identity another resolver (another partition) created since the view was read rolls back
//! only that flush, whose interactions are decided again on a fresh view that sees it (after
//! a few rounds, one by one, whose savepoints settle any race) — the rest of the batch stays
//! as it was.

use std::collections::HashMap;

use contracts::ContactId;
use contracts::ResolvedInteraction;
use contracts::{Actor, Confidence, Identity, IgnoredIdentity, InteractionEvent, Resolution};
use sqlx::{Acquire, PgConnection};
use tracing::Instrument;
use uuid::Uuid;

mod view;
mod writes;

use super::apply::{new_name, within_limits};
use super::matching::{self, Candidate, Decision};
use super::rules::TenantRules;
use super::{candidate_ids, events, lookups, policy, replay, resolution, resolve_new, screen_all, store, Origin, ResolveError};
use view::View;
use writes::Writes;

/// An interaction of the batch and the span of its delivery.
pub type Item<'a> = (&'a InteractionEvent, &'a tracing::Span);

/// What resolving a batch decided.
#[derive(Debug)]
pub struct Resolved {
    /// The decision of each interaction (same order as the batch); `None` for one marked
    /// processed without a decision by an older version.
    pub decisions: Vec<Option<ResolvedInteraction>>,
    /// Interactions decided again because another resolver raced their flush.
    pub raced: usize,
}

/// Resolves the batch set-based.
pub async fn resolve(conn: &mut PgConnection, defaults: &TenantRules, batch: &[Item<'_>]) -> Result<Resolved, ResolveError> {
    run(conn, defaults, batch, true).await
}

/// Resolves the batch one interaction after the other (each with its own look-ups).
pub async fn resolve_one_by_one(
    conn: &mut PgConnection,
    defaults: &TenantRules,
    batch: &[Item<'_>],
) -> Result<Resolved, ResolveError> {
    run(conn, defaults, batch, false).await
}

/// How often a segment whose flush another resolver raced is decided again before it goes one
/// by one.
const RACE_ATTEMPTS: usize = 3;

fn key(event: &InteractionEvent) -> (String, Uuid) {
    (event.tenant_id.clone(), event.interaction_id)
}

/// An interaction not processed before, screened under its tenant's rules.
struct New<'a> {
    event: &'a InteractionEvent,
    span: &'a tracing::Span,
    rules: &'a TenantRules,
    identities: Vec<Identity>,
    ignored: Vec<IgnoredIdentity>,
}

async fn run(
    conn: &mut PgConnection,
    defaults: &TenantRules,
    batch: &[Item<'_>],
    set_based: bool,
) -> Result<Resolved, ResolveError> {
    let keys: Vec<(String, Uuid)> = batch.iter().map(|(e, _)| key(e)).collect();
    let mut seen = store::processed_batch(conn, &keys).await?;
    let mut rules: HashMap<&str, TenantRules> = HashMap::new();
    for ((event, _), key) in batch.iter().zip(&keys) {
        if !seen.contains_key(key) && !rules.contains_key(event.tenant_id.as_str()) {
            rules.insert(&event.tenant_id, store::rules(conn, &event.tenant_id, defaults).await?);
        }
    }
    // The first delivery of each interaction not processed before; a repeat replays it.
    let mut first = std::collections::HashSet::new();
    let new: Vec<New> = batch
        .iter()
        .zip(&keys)
        .filter(|(_, key)| !seen.contains_key(*key) && first.insert(*key))
        .map(|((event, span), _)| {
            let rules = &rules[event.tenant_id.as_str()];
            let (identities, ignored) = screen_all(event, rules);
            New { event, span, rules, identities, ignored }
        })
        .collect();
    let mut view: Option<View> = None;
    let mut writes = Writes::default();
    let mut raced = 0;
    // The first interaction whose writes are queued, and how often it was decided again.
    let (mut segment, mut attempts) = (0, 0);
    let mut n = 0;
    loop {
        let item = new.get(n);
        if let (Some(item), true) = (item, set_based) {
            let view = match &mut view {
                Some(view) => view,
                None => {
                    let wanted = new[n..].iter().map(|i| (i.event.tenant_id.as_str(), i.identities.as_slice()));
                    view.insert(View::load(conn, wanted).await?)
                }
            };
            if let Some(resolved) = plan(view, &mut writes, item) {
                seen.insert(key(item.event), Some(resolved));
                n += 1;
                continue;
            }
        }
        // The end of the batch, or an interaction that goes one by one: flush what is queued.
        if n > segment {
            let mut savepoint = conn.begin().await?;
            match writes.flush(&mut savepoint).await {
                Ok(()) => savepoint.commit().await?,
                Err(ResolveError::Raced) => {
                    // Another resolver committed an identity (or proposal, or pair) this segment
                    // adds: decide the segment again on a fresh view, which sees it; after a few
                    // rounds, one by one.
                    savepoint.rollback().await?;
                    raced += n - segment;
                    view = None;
                    attempts += 1;
                    if attempts < RACE_ATTEMPTS {
                        tracing::info!(interactions = n - segment, "raced by another resolver; deciding these again");
                        n = segment;
                        continue;
                    }
                    for item in &new[segment..n] {
                        let resolved = resolve_new(conn, item.rules, item.event).instrument(item.span.clone()).await?;
                        seen.insert(key(item.event), Some(resolved));
                    }
                }
                Err(error) => return Err(error),
            }
        }
        attempts = 0;
        let Some(item) = item else { break };
        view = None;
        let resolved = resolve_new(conn, item.rules, item.event).instrument(item.span.clone()).await?;
        seen.insert(key(item.event), Some(resolved));
        n += 1;
        segment = n;
    }
    let decisions = batch
        .iter()
        .zip(keys)
        .map(|((event, _), key)| seen.get(&key).cloned().flatten().map(|stored| replay(stored, event)))
        .collect();
    Ok(Resolved { decisions, raced })
}

/// Decides `item` on the view; when the decision is one set-based resolution applies, applies
/// it to the view, queues its writes and returns it; `None` sends it the one-by-one way.
fn plan(view: &mut View, writes: &mut Writes, item: &New<'_>) -> Option<ResolvedInteraction> {
    let New { event, rules, identities, .. } = item;
    let (tenant, body) = (event.tenant_id.as_str(), &event.body);
    let at = body.occurred_at;
    let (owners, proposed) = view.lookup(tenant, identities);
    let (decision, shared) = matching::decide(&lookups(rules, identities, owners, proposed, Some(at)), policy(rules));
    let mut ignored = item.ignored.clone();
    ignored.extend(shared);
    let actor = Actor::Channel { channel: body.channel.to_string(), interaction_id: event.interaction_id };
    let source = body.channel.into();
    let (contact_id, resolution) = match decision {
        Decision::Unidentified { candidates } => {
            let resolution = Resolution {
                confidence: Confidence::Unidentified,
                candidates: candidate_ids(&candidates),
                ..resolution(ignored)
            };
            (None, resolution)
        }
        Decision::Create { identities: new, candidates } => {
            let new = within_limits(new, &Default::default(), rules.max_per_kind, &mut ignored);
            let contact_id = ContactId::random();
            let contact = store::NewContact::new(tenant, contact_id, body.profile.as_ref(), Some(at));
            view.created(&contact);
            writes.create(contact);
            writes.add(tenant, contact_id, &new, source, event);
            view.hold(tenant, contact_id, &new, at);
            writes.change(events::created(tenant, contact_id, body.profile.as_ref(), &new, &actor, Origin::Interaction));
            suggest(view, writes, tenant, contact_id, &candidates, &actor);
            let confidence = if new.iter().any(Identity::is_verified) { Confidence::Verified } else { Confidence::Typed };
            let candidates = candidate_ids(&candidates);
            (Some(contact_id), Resolution { created_contact: true, confidence, candidates, ..resolution(ignored) })
        }
        Decision::Attach { contact_id, matched_by, confidence, candidates, enrich, propose, merge } if merge.is_empty() => {
            let state = view.contact(contact_id)?;
            let enrich = within_limits(enrich, &state.counts, rules.max_per_kind, &mut ignored);
            let rename = (confidence == Confidence::Verified || rules.typed_enrichment)
                .then(|| new_name(state.name.as_deref(), state.name_source, body.profile.as_ref()))
                .flatten()
                .map(|(name, source)| (state.name.clone(), name.to_owned(), source));
            if !enrich.is_empty() {
                writes.add(tenant, contact_id, &enrich, source, event);
                view.hold(tenant, contact_id, &enrich, at);
                writes.change(events::learned(tenant, contact_id, &enrich, &actor, Origin::Interaction));
            }
            let proposed = view.propose(tenant, contact_id, &propose);
            if !proposed.is_empty() {
                writes.propose(tenant, contact_id, &proposed, source, event);
                writes.change(events::proposed(tenant, contact_id, &proposed, &actor));
            }
            writes.seen(contact_id, identities, at);
            view.seen(tenant, contact_id, identities, at);
            if let Some((before, name, source)) = rename {
                writes.rename(contact_id, &name, source);
                view.renamed(contact_id, &name, source);
                writes.change(events::renamed(tenant, contact_id, before.as_deref(), &name, &actor));
            }
            suggest(view, writes, tenant, contact_id, &candidates, &actor);
            let (matched_by, candidates) = (Some(matched_by), candidate_ids(&candidates));
            (Some(contact_id), Resolution { matched_by, confidence, candidates, proposed: propose, ..resolution(ignored) })
        }
        _ => return None,
    };
    if let Some(contact_id) = contact_id {
        writes.touch(contact_id, at);
        view.touched(contact_id, at);
    }
    let resolved = ResolvedInteraction {
        v: contracts::SCHEMA_VERSION,
        tenant_id: tenant.to_owned(),
        contact_id,
        interaction: (*event).clone(),
        resolution,
    };
    writes.processed(resolved.clone());
    Some(resolved)
}

/// Other contacts the interaction matched go to the duplicates queue, once per pair (as
/// [`super::apply::suggest_duplicates`]).
fn suggest(view: &mut View, writes: &mut Writes, tenant: &str, contact_id: ContactId, candidates: &[Candidate], actor: &Actor) {
    for candidate in candidates {
        if !view.suggest(contact_id, candidate.contact_id) {
            continue;
        }
        writes.suggest(tenant, contact_id, candidate.contact_id, &candidate.identity, candidate.weakness);
        writes.change(events::duplicate_suggested(tenant, contact_id, candidate, actor));
    }
}
