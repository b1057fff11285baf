//! The writes set-based resolution queues while it decides, and [`Writes::flush`], which sends
//! them as one multi-row statement per table, in an order that keeps every reference valid
//! (contacts before their identities, the data before the change events and cards that
//! describe it).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use contracts::api::directory::{IdentitySource, Weakness};
use contracts::ContactId;
use contracts::{ContactChange, Identity, InteractionEvent, NameSource, ResolvedInteraction};
use sqlx::PgConnection;

use crate::changes;
use crate::resolution::store::{self, NewContact, NewIdentity, NewProposal, Seen, Suggestion};
use crate::resolution::{record_outcome, ResolveError};

#[derive(Default)]
pub(super) struct Writes {
    created: Vec<NewContact>,
    added: Vec<NewIdentity>,
    proposed: Vec<NewProposal>,
    suggested: Vec<Suggestion>,
    /// The latest name of each renamed contact.
    renamed: HashMap<ContactId, (String, NameSource)>,
    /// The latest sighting of each (contact, identity).
    seen: HashMap<(ContactId, Identity), DateTime<Utc>>,
    /// The latest interaction of each contact.
    touched: HashMap<ContactId, DateTime<Utc>>,
    changes: Vec<ContactChange>,
    processed: Vec<ResolvedInteraction>,
}

impl Writes {
    pub fn create(&mut self, contact: NewContact) {
        self.created.push(contact);
    }

    pub fn add(
        &mut self,
        tenant: &str,
        contact_id: ContactId,
        identities: &[Identity],
        source: IdentitySource,
        event: &InteractionEvent,
    ) {
        for identity in identities {
            let (tenant, identity, seen_at) = (tenant.to_owned(), identity.clone(), Some(event.body.occurred_at));
            self.added.push(NewIdentity { tenant, contact_id, identity, source, seen_at });
        }
    }

    /// Proposals the view found new (the flush fails as raced if one is not).
    pub fn propose(
        &mut self,
        tenant: &str,
        contact_id: ContactId,
        identities: &[Identity],
        source: IdentitySource,
        event: &InteractionEvent,
    ) {
        for identity in identities {
            let (tenant, identity, interaction_id) = (tenant.to_owned(), identity.clone(), Some(event.interaction_id));
            self.proposed.push(NewProposal { tenant, contact_id, identity, source, interaction_id });
        }
    }

    /// A pair the view found new (the flush fails as raced if it is not).
    pub fn suggest(
        &mut self,
        tenant: &str,
        contact_id: ContactId,
        other: ContactId,
        shared: &Identity,
        weakness: Option<Weakness>,
    ) {
        let (tenant, shared) = (tenant.to_owned(), shared.clone());
        self.suggested.push(Suggestion { tenant, a: contact_id, b: other, shared, weakness });
    }

    pub fn rename(&mut self, contact_id: ContactId, name: &str, source: NameSource) {
        self.renamed.insert(contact_id, (name.to_owned(), source));
    }

    pub fn seen(&mut self, contact_id: ContactId, identities: &[Identity], at: DateTime<Utc>) {
        for identity in identities {
            let latest = self.seen.entry((contact_id, identity.clone())).or_insert(at);
            *latest = (*latest).max(at);
        }
    }

    pub fn touch(&mut self, contact_id: ContactId, at: DateTime<Utc>) {
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
    /// resolver took one of the identities, proposals or pairs the batch adds since the batch
    /// read them.
    pub async fn flush(&mut self, conn: &mut PgConnection) -> Result<(), ResolveError> {
        let Writes { created, added, proposed, suggested, renamed, seen, touched, changes, processed } = std::mem::take(self);
        // The existing contacts this flush changes, locked in id order first: two resolvers
        // flushing changes to the same contacts wait for each other instead of deadlocking.
        let mut changed: Vec<ContactId> = renamed.keys().chain(touched.keys()).copied().collect();
        changed.extend(seen.keys().map(|(contact_id, _)| *contact_id));
        changed.sort();
        changed.dedup();
        let created_ids: std::collections::HashSet<ContactId> = created.iter().map(|c| c.contact_id).collect();
        changed.retain(|id| !created_ids.contains(id));
        // A contact merged, deleted or erased since the view was read must not gain the writes: the
        // segment is decided again on a fresh view, which follows the merge.
        if !store::lock_contacts(conn, &changed).await? {
            return Err(ResolveError::Raced);
        }
        store::create_contacts(conn, &created).await?;
        // Each row must be new: the view said nobody held or was offered it, nor queued the pair.
        if store::insert_identities_many(conn, &added).await?.contains(&false)
            || store::propose_many(conn, &proposed).await?.contains(&false)
            || store::suggest_many(conn, &suggested).await?.contains(&false)
        {
            return Err(ResolveError::Raced);
        }
        // Rows in contact order: two batches updating the same contacts lock them alike.
        let mut names: Vec<(ContactId, &str, NameSource)> =
            renamed.iter().map(|(id, (name, source))| (*id, name.as_str(), *source)).collect();
        names.sort_by_key(|n| n.0);
        store::set_names(conn, &names).await?;
        let seen: Vec<Seen> =
            seen.iter().map(|((contact_id, identity), at)| Seen { contact_id: *contact_id, identity, at: *at }).collect();
        store::mark_seen_many(conn, &seen).await?;
        let mut touched: Vec<(ContactId, DateTime<Utc>)> = touched.into_iter().collect();
        touched.sort();
        store::touch_interactions(conn, &touched).await?;
        changes::record_many(conn, &changes).await?;
        store::record_processed_many(conn, &processed).await?;
        processed.iter().for_each(record_outcome);
        Ok(())
    }
}
