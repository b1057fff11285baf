//! The writes set-based resolution queues while it decides, and [`Writes::flush`], which sends
//! them as one multi-row statement per table, in an order that keeps every reference valid
//! (contacts before their identities, the data before the change events and cards that
//! describe it).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use contracts::api::directory::{IdentitySource, Weakness};
use contracts::{ContactChange, Identity, InteractionEvent, NameSource, Profile, ResolvedInteraction};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::changes;
use crate::resolution::store::{self, NewContact, NewIdentity, NewProposal, Seen, Suggestion};
use crate::resolution::{record_outcome, ResolveError};

/// A contact the batch creates.
struct Created {
    tenant: String,
    contact_id: Uuid,
    profile: Option<Profile>,
    at: DateTime<Utc>,
}

/// An identity the batch gives (or proposes to) a contact.
struct Added {
    tenant: String,
    contact_id: Uuid,
    identity: Identity,
    source: IdentitySource,
    at: DateTime<Utc>,
    interaction_id: Uuid,
}

/// Two contacts the batch queues as possible duplicates.
struct Suggested {
    tenant: String,
    contact_id: Uuid,
    other: Uuid,
    shared: Identity,
    weakness: Option<Weakness>,
}

#[derive(Default)]
pub(super) struct Writes {
    created: Vec<Created>,
    added: Vec<Added>,
    proposed: Vec<Added>,
    suggested: Vec<Suggested>,
    /// The latest name of each renamed contact.
    renamed: HashMap<Uuid, (String, NameSource)>,
    /// The latest sighting of each (contact, identity).
    seen: HashMap<(Uuid, Identity), DateTime<Utc>>,
    /// The latest interaction of each contact.
    touched: HashMap<Uuid, DateTime<Utc>>,
    changes: Vec<ContactChange>,
    processed: Vec<ResolvedInteraction>,
}

impl Writes {
    pub fn create(&mut self, tenant: &str, contact_id: Uuid, profile: Option<&Profile>, at: DateTime<Utc>) {
        self.created.push(Created { tenant: tenant.to_owned(), contact_id, profile: profile.cloned(), at });
    }

    pub fn add(
        &mut self,
        tenant: &str,
        contact_id: Uuid,
        identities: &[Identity],
        source: IdentitySource,
        event: &InteractionEvent,
    ) {
        for identity in identities {
            self.added.push(added(tenant, contact_id, identity, source, event));
        }
    }

    /// Proposals the view found new (the flush fails as raced if one is not).
    pub fn propose(
        &mut self,
        tenant: &str,
        contact_id: Uuid,
        identities: &[Identity],
        source: IdentitySource,
        event: &InteractionEvent,
    ) {
        for identity in identities {
            self.proposed.push(added(tenant, contact_id, identity, source, event));
        }
    }

    /// A pair the view found new (the flush fails as raced if it is not).
    pub fn suggest(&mut self, tenant: &str, contact_id: Uuid, other: Uuid, shared: &Identity, weakness: Option<Weakness>) {
        let shared = shared.clone();
        self.suggested.push(Suggested { tenant: tenant.to_owned(), contact_id, other, shared, weakness });
    }

    pub fn rename(&mut self, contact_id: Uuid, name: &str, source: NameSource) {
        self.renamed.insert(contact_id, (name.to_owned(), source));
    }

    pub fn seen(&mut self, contact_id: Uuid, identities: &[Identity], at: DateTime<Utc>) {
        for identity in identities {
            let latest = self.seen.entry((contact_id, identity.clone())).or_insert(at);
            *latest = (*latest).max(at);
        }
    }

    pub fn touch(&mut self, contact_id: Uuid, at: DateTime<Utc>) {
        let latest = self.touched.entry(contact_id).or_insert(at);
        *latest = (*latest).max(at);
    }

    pub fn change(&mut self, change: changes::Change<'_>) {
        self.changes.push(change.event());
    }

    pub fn processed(&mut self, resolved: ResolvedInteraction) {
        self.processed.push(resolved);
    }

    /// Sends everything queued and empties the queue. [`ResolveError::Raced`] when another
    /// resolver took one of the identities the batch adds since the batch read them.
    pub async fn flush(&mut self, conn: &mut PgConnection) -> Result<(), ResolveError> {
        let Writes { created, added, proposed, suggested, renamed, seen, touched, changes, processed } = std::mem::take(self);
        // The existing contacts this flush changes, locked in id order first: two resolvers
        // flushing changes to the same contacts wait for each other instead of deadlocking.
        let mut changed: Vec<Uuid> = renamed.keys().chain(touched.keys()).copied().collect();
        changed.extend(seen.keys().map(|(contact_id, _)| *contact_id));
        changed.sort();
        changed.dedup();
        let created_ids: std::collections::HashSet<Uuid> = created.iter().map(|c| c.contact_id).collect();
        changed.retain(|id| !created_ids.contains(id));
        store::lock_contacts(conn, &changed).await?;
        let contacts: Vec<NewContact> = created
            .iter()
            .map(|c| NewContact {
                tenant: &c.tenant,
                contact_id: c.contact_id,
                profile: c.profile.as_ref(),
                last_interaction_at: Some(c.at),
            })
            .collect();
        store::create_contacts(conn, &contacts).await?;
        let identities: Vec<NewIdentity> = added
            .iter()
            .map(|a| NewIdentity {
                tenant: &a.tenant,
                contact_id: a.contact_id,
                identity: &a.identity,
                source: a.source,
                seen_at: Some(a.at),
            })
            .collect();
        if store::insert_identities_many(conn, &identities).await?.contains(&false) {
            return Err(ResolveError::Raced);
        }
        let proposals: Vec<NewProposal> = proposed
            .iter()
            .map(|p| NewProposal {
                tenant: &p.tenant,
                contact_id: p.contact_id,
                identity: &p.identity,
                source: p.source,
                interaction_id: Some(p.interaction_id),
            })
            .collect();
        if store::propose_many(conn, &proposals).await?.contains(&false) {
            return Err(ResolveError::Raced);
        }
        let pairs: Vec<Suggestion> = suggested
            .iter()
            .map(|s| Suggestion { tenant: &s.tenant, a: s.contact_id, b: s.other, shared: &s.shared, weakness: s.weakness })
            .collect();
        if store::suggest_many(conn, &pairs).await?.contains(&false) {
            return Err(ResolveError::Raced);
        }
        // Rows in contact order: two batches updating the same contacts lock them alike.
        let mut names: Vec<(Uuid, &str, NameSource)> =
            renamed.iter().map(|(id, (name, source))| (*id, name.as_str(), *source)).collect();
        names.sort_by_key(|n| n.0);
        store::set_names(conn, &names).await?;
        let seen: Vec<Seen> =
            seen.iter().map(|((contact_id, identity), at)| Seen { contact_id: *contact_id, identity, at: *at }).collect();
        store::mark_seen_many(conn, &seen).await?;
        let mut touched: Vec<(Uuid, DateTime<Utc>)> = touched.into_iter().collect();
        touched.sort();
        store::touch_interactions(conn, &touched).await?;
        changes::record_many(conn, &changes).await?;
        store::record_processed_many(conn, &processed).await?;
        processed.iter().for_each(record_outcome);
        Ok(())
    }
}

fn added(tenant: &str, contact_id: Uuid, identity: &Identity, source: IdentitySource, event: &InteractionEvent) -> Added {
    Added {
        tenant: tenant.to_owned(),
        contact_id,
        identity: identity.clone(),
        source,
        at: event.body.occurred_at,
        interaction_id: event.interaction_id,
    }
}
