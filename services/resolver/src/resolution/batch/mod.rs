//! Set-based resolution of a consumer batch:
//!
//! 1. one look-up of the interactions processed before (a redelivery replays its decision);
//! 2. the rules of the batch's tenants, and one look-up of every identity the new
//!    interactions carry ([`View`]);
//! 3. each interaction decided in offset order by the same rules ([`matching::decide`]) on that
//!    view. A decision that leaves it unidentified, creates a contact or attaches it to one
//!    (learning identifiers, a better name) is applied to the view and queued ([`Writes`]). One
//!    that suggests duplicates, proposes identifiers or merges — rarer, and reaching further
//!    into the directory — flushes the queue and goes the one-by-one way ([`resolve_new`]);
//!    the view is read again for the interactions after it;
//! 4. the queue flushed as one multi-row statement per table.
//!
//! So every interaction is decided exactly as one by one in offset order, in a handful of
//! statements per batch instead of several per interaction. An identity another resolver
//! created meanwhile (another partition) makes the flush fail with [`ResolveError::Raced`]:
//! the caller rolls the transaction back and resolves the batch one by one
//! ([`resolve_one_by_one`]), whose savepoints settle the race on one contact.

use std::collections::HashMap;

use contracts::ResolvedInteraction;
use contracts::{Actor, Confidence, ContactChangeKind, FieldChange, Identity, IgnoredIdentity, InteractionEvent, Resolution};
use serde_json::json;
use sqlx::PgConnection;
use tracing::Instrument;
use uuid::Uuid;

mod view;
mod writes;

use super::apply::{new_name, within_limits};
use super::matching::{self, Decision};
use super::rules::TenantRules;
use super::{
    candidate_ids, lookups, policy, record_outcome, replay, resolution, resolve_new, screen_all, store, Origin, ResolveError,
};
use crate::changes::{self, Change};
use view::View;
use writes::Writes;

/// An interaction of the batch and the span of its delivery.
pub type Item<'a> = (&'a InteractionEvent, &'a tracing::Span);

/// Resolves the batch set-based; the decision of each interaction (same order), `None` for one
/// marked processed without a decision by an older version.
pub async fn resolve(
    conn: &mut PgConnection,
    defaults: &TenantRules,
    batch: &[Item<'_>],
) -> Result<Vec<Option<ResolvedInteraction>>, ResolveError> {
    run(conn, defaults, batch, true).await
}

/// Resolves the batch one interaction after the other (each with its own look-ups).
pub async fn resolve_one_by_one(
    conn: &mut PgConnection,
    defaults: &TenantRules,
    batch: &[Item<'_>],
) -> Result<Vec<Option<ResolvedInteraction>>, ResolveError> {
    run(conn, defaults, batch, false).await
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
) -> Result<Vec<Option<ResolvedInteraction>>, ResolveError> {
    let keys: Vec<(String, Uuid)> = batch.iter().map(|(e, _)| (e.tenant_id.clone(), e.interaction_id)).collect();
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
    for (n, item) in new.iter().enumerate() {
        let key = (item.event.tenant_id.clone(), item.event.interaction_id);
        let planned = if set_based {
            let view = match &mut view {
                Some(view) => view,
                None => {
                    let wanted = new[n..].iter().map(|i| (i.event.tenant_id.as_str(), i.identities.as_slice()));
                    view.insert(View::load(conn, wanted).await?)
                }
            };
            plan(view, &mut writes, item)
        } else {
            None
        };
        let resolved = match planned {
            Some(resolved) => resolved,
            None => {
                writes.flush(conn).await?;
                view = None;
                resolve_new(conn, item.rules, item.event).instrument(item.span.clone()).await?
            }
        };
        seen.insert(key, Some(resolved));
    }
    writes.flush(conn).await?;
    Ok(batch
        .iter()
        .zip(keys)
        .map(|((event, _), key)| seen.get(&key).cloned().flatten().map(|stored| replay(stored, event)))
        .collect())
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
        Decision::Create { identities: new, candidates } if candidates.is_empty() => {
            let new = within_limits(new, &Default::default(), rules.max_per_kind, &mut ignored);
            let contact_id = Uuid::new_v4();
            writes.create(tenant, contact_id, body.profile.as_ref(), at);
            writes.add(tenant, contact_id, &new, source, at);
            view.created(contact_id, body.profile.as_ref(), at);
            view.hold(tenant, contact_id, &new, at);
            let mut fields = vec![];
            if let Some(name) = body.profile.as_ref().and_then(|p| p.name.as_ref()) {
                fields.push(FieldChange { field: "name".into(), before: None, after: Some(json!(name)) });
            }
            fields.extend(new.iter().map(changes::identity_added));
            let reason = Origin::Interaction.created_reason();
            writes.change(Change::new(tenant, contact_id, ContactChangeKind::Created, &actor, reason).with(fields));
            let confidence = if new.iter().any(Identity::is_verified) { Confidence::Verified } else { Confidence::Typed };
            (Some(contact_id), Resolution { created_contact: true, confidence, ..resolution(ignored) })
        }
        Decision::Attach { contact_id, matched_by, confidence, candidates, enrich, propose, merge }
            if candidates.is_empty() && propose.is_empty() && merge.is_empty() =>
        {
            let state = view.contact(contact_id)?;
            let enrich = within_limits(enrich, &state.counts, rules.max_per_kind, &mut ignored);
            let rename = (confidence == Confidence::Verified || rules.typed_enrichment)
                .then(|| new_name(state.name.as_deref(), state.name_source, body.profile.as_ref()))
                .flatten()
                .map(|(name, source)| (state.name.clone(), name.to_owned(), source));
            if !enrich.is_empty() {
                writes.add(tenant, contact_id, &enrich, source, at);
                view.hold(tenant, contact_id, &enrich, at);
                let reason = Origin::Interaction.learned_reason();
                let added = Change::new(tenant, contact_id, ContactChangeKind::IdentifierAdded, &actor, reason);
                writes.change(added.with(enrich.iter().map(changes::identity_added).collect()));
            }
            writes.seen(contact_id, identities, at);
            view.seen(tenant, contact_id, identities, at);
            if let Some((before, name, source)) = rename {
                writes.rename(contact_id, &name, source);
                view.renamed(contact_id, &name, source);
                let field = FieldChange { field: "name".into(), before: before.map(|n| json!(n)), after: Some(json!(name)) };
                let reason = "name from a higher-ranked source";
                writes.change(Change::new(tenant, contact_id, ContactChangeKind::NameChanged, &actor, reason).with(vec![field]));
            }
            (Some(contact_id), Resolution { matched_by: Some(matched_by), confidence, ..resolution(ignored) })
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
    record_outcome(&resolved);
    writes.processed(resolved.clone());
    Some(resolved)
}
