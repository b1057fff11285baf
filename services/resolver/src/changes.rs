//! Contact change events, written to the outbox in the transaction that made the change: one
//! `contacts.changes` event and the contact's new card on `contacts.snapshot` (a tombstone when
//! the contact is gone). Nothing is written when nothing changed: callers only call on a change.

use std::collections::{BTreeMap, HashMap};

use chrono::Utc;
use contracts::ContactId;
use contracts::{topics, Actor, ContactChange, ContactChangeKind, ContactSnapshot, Event, FieldChange, Identity};
use serde_json::json;
use sqlx::types::Json;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::directory::cards;

/// One change to record.
pub struct Change<'a> {
    pub tenant: &'a str,
    pub contact_id: ContactId,
    pub kind: ContactChangeKind,
    pub actor: &'a Actor,
    pub reason: &'a str,
    pub changes: Vec<FieldChange>,
    pub related_contact_id: Option<ContactId>,
}

impl<'a> Change<'a> {
    pub fn new(tenant: &'a str, contact_id: ContactId, kind: ContactChangeKind, actor: &'a Actor, reason: &'a str) -> Self {
        Self { tenant, contact_id, kind, actor, reason, changes: Vec::new(), related_contact_id: None }
    }

    pub fn with(mut self, changes: Vec<FieldChange>) -> Self {
        self.changes = changes;
        self
    }

    pub fn related(mut self, contact_id: ContactId) -> Self {
        self.related_contact_id = Some(contact_id);
        self
    }
}

impl Change<'_> {
    /// The `contacts.changes` event of this change, happening now.
    pub fn event(self) -> ContactChange {
        ContactChange {
            v: contracts::SCHEMA_VERSION,
            change_id: Uuid::new_v4(),
            tenant_id: self.tenant.to_owned(),
            contact_id: self.contact_id,
            kind: self.kind,
            occurred_at: Utc::now(),
            actor: self.actor.clone(),
            reason: self.reason.to_owned(),
            changes: self.changes,
            related_contact_id: self.related_contact_id,
        }
    }
}

/// Writes the change event and the contact's current snapshot (or a tombstone) to the outbox.
pub async fn record(conn: &mut PgConnection, change: Change<'_>) -> sqlx::Result<()> {
    let (tenant, contact_id) = (change.tenant, change.contact_id);
    let event = change.event();
    enqueue(conn, &event.key(), Some(&event)).await?;
    snapshot(conn, tenant, contact_id).await
}

/// Writes the change events of a batch, in order, then one snapshot of each contact they name
/// (its card after all of them): the compacted topic keeps only the last card anyway.
pub async fn record_many(conn: &mut PgConnection, events: &[ContactChange]) -> sqlx::Result<()> {
    let keyed: Vec<(String, Option<&ContactChange>)> = events.iter().map(|e| (e.key(), Some(e))).collect();
    enqueue_many(conn, &keyed).await?;
    let mut contacts: BTreeMap<&str, Vec<ContactId>> = BTreeMap::new();
    for event in events {
        let ids = contacts.entry(event.tenant_id.as_str()).or_default();
        if !ids.contains(&event.contact_id) {
            ids.push(event.contact_id);
        }
    }
    for (tenant, ids) in contacts {
        snapshots(conn, tenant, &ids).await?;
    }
    Ok(())
}

/// Publishes the current card of `contact_id`, or a tombstone when it was deleted or merged away.
pub async fn snapshot(conn: &mut PgConnection, tenant: &str, contact_id: ContactId) -> sqlx::Result<()> {
    snapshots(conn, tenant, &[contact_id]).await
}

/// [`snapshot`] of several contacts of `tenant`, reading their cards at once.
pub async fn snapshots(conn: &mut PgConnection, tenant: &str, contact_ids: &[ContactId]) -> sqlx::Result<()> {
    let mut cards: HashMap<ContactId, _> =
        cards::cards(conn, tenant, contact_ids).await?.into_iter().map(|card| (card.contact_id, card)).collect();
    let snapshots: Vec<(String, Option<ContactSnapshot>)> = contact_ids
        .iter()
        .map(|contact_id| {
            let card = cards.remove(contact_id).filter(|c| c.merged_into.is_none());
            let snapshot = card.map(|card| ContactSnapshot {
                v: contracts::SCHEMA_VERSION,
                tenant_id: tenant.to_owned(),
                contact_id: *contact_id,
                name_source: card.name_source,
                name: card.name,
                identities: card.identities.into_iter().map(|i| Identity::new(i.kind, i.value, i.scope)).collect(),
                created_at: card.created_at,
                updated_at: card.updated_at,
            });
            (topics::contact_key(tenant, contact_id), snapshot)
        })
        .collect();
    let keyed: Vec<(String, Option<&ContactSnapshot>)> = snapshots.iter().map(|(k, s)| (k.clone(), s.as_ref())).collect();
    enqueue_many(conn, &keyed).await
}

/// `identities.<kind>` gained `identity`.
pub fn identity_added(identity: &Identity) -> FieldChange {
    FieldChange { field: format!("identities.{}", identity.kind), before: None, after: Some(json!(identity)) }
}

/// `identities.<kind>` lost `identity`.
pub fn identity_removed(identity: &Identity) -> FieldChange {
    FieldChange { field: format!("identities.{}", identity.kind), before: Some(json!(identity)), after: None }
}

/// Writes an event to the outbox in the caller's transaction; `None` is a tombstone (under `key`).
pub async fn enqueue<E: Event>(conn: &mut PgConnection, key: &str, payload: Option<&E>) -> sqlx::Result<()> {
    enqueue_many(conn, &[(key.to_owned(), payload)]).await
}

/// [`enqueue`] of many events of one type, in one statement, in the order given (the relay
/// publishes one key's events in outbox order).
pub async fn enqueue_many<E: Event>(conn: &mut PgConnection, events: &[(String, Option<&E>)]) -> sqlx::Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    let keys: Vec<&str> = events.iter().map(|(key, _)| key.as_str()).collect();
    let payloads: Vec<Option<Json<&E>>> = events.iter().map(|(_, payload)| payload.map(Json)).collect();
    sqlx::query!(
        "INSERT INTO outbox (topic, key, event_type, payload)
         SELECT $1, key, $2, payload FROM unnest($3::text[], $4::jsonb[]) WITH ORDINALITY AS e(key, payload, n) ORDER BY n",
        E::TOPIC,
        E::TYPE,
        &keys as &[&str],
        &payloads as _,
    )
    .execute(conn)
    .await?;
    Ok(())
}
