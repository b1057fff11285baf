//! The batch-local view set-based resolution decides on: the holders and proposals of every
//! identity the batch's interactions carry and the state of the contacts holding them, read
//! once, then kept up to date with what the batch itself decides, so the interactions of one
//! batch see each other exactly as they would one by one.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use contracts::ContactId;
use contracts::{Identity, NameSource};
use sqlx::PgConnection;

use crate::resolution::store::{self, ContactState, NewContact, Owner};

/// An identity of a tenant.
type Key = (String, Identity);

#[derive(Debug)]
pub(super) struct View {
    owners: HashMap<Key, Vec<Owner>>,
    proposed: HashMap<Key, Vec<ContactId>>,
    /// Contacts whose proposal of the identity an operator decided: never proposed again.
    decided: HashMap<Key, Vec<ContactId>>,
    contacts: HashMap<ContactId, ContactState>,
    /// Pairs of contacts in the duplicates queue, whatever their status (smaller id first).
    suggested: HashSet<(ContactId, ContactId)>,
    /// When the transaction started: the creation time of the contacts the batch creates.
    now: DateTime<Utc>,
}

impl View {
    /// Reads what `wanted` (each tenant with identities) needs: four statements per tenant and
    /// three more.
    pub async fn load<'a>(
        conn: &mut PgConnection,
        wanted: impl IntoIterator<Item = (&'a str, &'a [Identity])>,
    ) -> sqlx::Result<Self> {
        let mut by_tenant: HashMap<&str, HashSet<&Identity>> = HashMap::new();
        for (tenant, identities) in wanted {
            by_tenant.entry(tenant).or_default().extend(identities);
        }
        let now = store::transaction_time(conn).await?;
        let mut view = View {
            owners: HashMap::new(),
            proposed: HashMap::new(),
            decided: HashMap::new(),
            contacts: HashMap::new(),
            suggested: HashSet::new(),
            now,
        };
        for (tenant, identities) in by_tenant {
            let identities: Vec<Identity> = identities.into_iter().cloned().collect();
            let owners = store::owners(conn, tenant, &identities).await?;
            let proposed = store::proposed_to(conn, tenant, &identities).await?;
            let decided = store::decided_proposals(conn, tenant, &identities).await?;
            // Every contact the tenant's identities point at: the pairs among them and others.
            let mut pointed: HashSet<ContactId> = HashSet::new();
            for (((identity, owners), proposed), decided) in identities.into_iter().zip(owners).zip(proposed).zip(decided) {
                pointed.extend(owners.iter().map(|o| o.contact_id).chain(proposed.iter().copied()));
                let key = (tenant.to_owned(), identity);
                view.proposed.insert(key.clone(), proposed);
                view.decided.insert(key.clone(), decided);
                view.owners.insert(key, owners);
            }
            let pointed: Vec<ContactId> = pointed.into_iter().collect();
            view.suggested.extend(store::suggested_pairs(conn, tenant, &pointed).await?);
        }
        let found: HashSet<ContactId> = view.owners.values().flatten().map(|o| o.contact_id).collect();
        let found: Vec<ContactId> = found.into_iter().collect();
        view.contacts = store::contact_states(conn, &found).await?;
        Ok(view)
    }

    /// The holders (most recently active first, then the oldest, as [`store::owners`] orders
    /// them) and the open proposals of each identity (same order).
    pub fn lookup(&self, tenant: &str, identities: &[Identity]) -> (Vec<Vec<Owner>>, Vec<Vec<ContactId>>) {
        identities
            .iter()
            .map(|identity| {
                let key = (tenant.to_owned(), identity.clone());
                let mut owners = self.owners.get(&key).cloned().unwrap_or_default();
                owners.sort_by_key(|o| {
                    let state = self.contacts.get(&o.contact_id);
                    let last = state.and_then(|s| s.last_interaction_at);
                    // Descending with nulls last, as `ORDER BY last_interaction_at DESC NULLS LAST`.
                    (last.is_none(), std::cmp::Reverse(last), state.map(|s| s.created_at))
                });
                (owners, self.proposed.get(&key).cloned().unwrap_or_default())
            })
            .unzip()
    }

    pub fn contact(&self, contact_id: ContactId) -> Option<&ContactState> {
        self.contacts.get(&contact_id)
    }

    /// A contact the batch creates.
    pub fn created(&mut self, contact: &NewContact) {
        let state = ContactState {
            name: contact.name.clone(),
            name_source: contact.name_source,
            counts: HashMap::new(),
            last_interaction_at: contact.last_interaction_at,
            created_at: self.now,
        };
        self.contacts.insert(contact.contact_id, state);
    }

    /// `contact_id` had an interaction at `at` (its last one moves forward only).
    pub fn touched(&mut self, contact_id: ContactId, at: DateTime<Utc>) {
        if let Some(state) = self.contacts.get_mut(&contact_id) {
            state.last_interaction_at = Some(state.last_interaction_at.map_or(at, |last| last.max(at)));
        }
    }

    /// `contact_id` now holds `identities` (nobody did), seen at `at`.
    pub fn hold(&mut self, tenant: &str, contact_id: ContactId, identities: &[Identity], at: DateTime<Utc>) {
        for identity in identities {
            let owner = Owner { contact_id, last_seen_at: Some(at), typed: !identity.is_verified() };
            self.owners.insert((tenant.to_owned(), identity.clone()), vec![owner]);
            if let Some(state) = self.contacts.get_mut(&contact_id) {
                *state.counts.entry(identity.kind).or_default() += 1;
            }
        }
    }

    /// The identities `contact_id` holds among `identities` were seen at `at`.
    pub fn seen(&mut self, tenant: &str, contact_id: ContactId, identities: &[Identity], at: DateTime<Utc>) {
        for identity in identities {
            let Some(owners) = self.owners.get_mut(&(tenant.to_owned(), identity.clone())) else { continue };
            for owner in owners.iter_mut().filter(|o| o.contact_id == contact_id) {
                owner.last_seen_at = Some(owner.last_seen_at.map_or(at, |seen| seen.max(at)));
            }
        }
    }

    /// Offers `identities` to `contact_id`; the ones newly proposed (not proposed to it before,
    /// open or decided), as the proposals table's unique key would let through.
    pub fn propose(&mut self, tenant: &str, contact_id: ContactId, identities: &[Identity]) -> Vec<Identity> {
        let mut new = Vec::new();
        for identity in identities {
            let key = (tenant.to_owned(), identity.clone());
            let decided = self.decided.get(&key).is_some_and(|d| d.contains(&contact_id));
            let open = self.proposed.entry(key).or_default();
            if !decided && !open.contains(&contact_id) {
                open.push(contact_id);
                new.push(identity.clone());
            }
        }
        new
    }

    /// Queues `contact_id` and `other` as possible duplicates; false when the pair is queued
    /// already (or was decided), as the queue's primary key would answer.
    pub fn suggest(&mut self, contact_id: ContactId, other: ContactId) -> bool {
        self.suggested.insert((contact_id.min(other), contact_id.max(other)))
    }

    pub fn renamed(&mut self, contact_id: ContactId, name: &str, source: NameSource) {
        if let Some(state) = self.contacts.get_mut(&contact_id) {
            state.name = Some(name.to_owned());
            state.name_source = Some(source);
        }
    }
}
