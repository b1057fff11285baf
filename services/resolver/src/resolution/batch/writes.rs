//! The writes set-based resolution queues while it decides, and [`Writes::flush`], which sends
//! them as one multi-row statement per table, in an order that keeps every reference valid
//! (contacts before their identities, the data before the change events and cards that
//! describe it).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use contracts::api::directory::IdentitySource;
use contracts::{ContactChange, Identity, NameSource, Profile, ResolvedInteraction};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::changes;
use crate::resolution::store::{self, NewContact, NewIdentity, Seen};
use crate::resolution::ResolveError;

/// A contact the batch creates.
struct Created {
    tenant: String,
    contact_id: Uuid,
    profile: Option<Profile>,
    at: DateTime<Utc>,
}

/// An identity the batch gives a contact.
struct Added {
    tenant: String,
    contact_id: Uuid,
    identity: Identity,
    source: IdentitySource,
    at: DateTime<Utc>,
}

#[derive(Default)]
pub(super) struct Writes {
    created: Vec<Created>,
    added: Vec<Added>,
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

    pub fn add(&mut self, tenant: &str, contact_id: Uuid, identities: &[Identity], source: IdentitySource, at: DateTime<Utc>) {
        for identity in identities {
            let identity = identity.clone();
            self.added.push(Added { tenant: tenant.to_owned(), contact_id, identity, source, at });
        }
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
        let Writes { created, added, renamed, seen, touched, changes, processed } = std::mem::take(self);
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
        Ok(())
    }
}
