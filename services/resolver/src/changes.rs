//! Contact change events, written to the outbox in the transaction that made the change: one
//! `contacts.changes` event and the contact's new card on `contacts.snapshot` (a tombstone when
//! the contact is gone). Nothing is written when nothing changed: callers only call on a change.

use chrono::Utc;
use contracts::{topics, Actor, ContactChange, ContactChangeKind, ContactSnapshot, Event, FieldChange, Identity};
use serde_json::json;
use sqlx::types::Json;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::directory::cards;

/// One change to record.
pub struct Change<'a> {
    pub tenant: &'a str,
    pub contact_id: Uuid,
    pub kind: ContactChangeKind,
    pub actor: &'a Actor,
    pub reason: &'a str,
    pub changes: Vec<FieldChange>,
    pub related_contact_id: Option<Uuid>,
}

impl<'a> Change<'a> {
    pub fn new(tenant: &'a str, contact_id: Uuid, kind: ContactChangeKind, actor: &'a Actor, reason: &'a str) -> Self {
        Self { tenant, contact_id, kind, actor, reason, changes: Vec::new(), related_contact_id: None }
    }

    pub fn with(mut self, changes: Vec<FieldChange>) -> Self {
        self.changes = changes;
        self
    }

    pub fn related(mut self, contact_id: Uuid) -> Self {
        self.related_contact_id = Some(contact_id);
        self
    }
}

/// Writes the change event and the contact's current snapshot (or a tombstone) to the outbox.
pub async fn record(conn: &mut PgConnection, change: Change<'_>) -> sqlx::Result<()> {
    let event = ContactChange {
        v: contracts::SCHEMA_VERSION,
        change_id: Uuid::new_v4(),
        tenant_id: change.tenant.to_owned(),
        contact_id: change.contact_id,
        kind: change.kind,
        occurred_at: Utc::now(),
        actor: change.actor.clone(),
        reason: change.reason.to_owned(),
        changes: change.changes,
        related_contact_id: change.related_contact_id,
    };
    enqueue(conn, &event.key(), Some(&event)).await?;
    snapshot(conn, change.tenant, change.contact_id).await
}

/// Publishes the current card of `contact_id`, or a tombstone when it was deleted or merged away.
pub async fn snapshot(conn: &mut PgConnection, tenant: &str, contact_id: Uuid) -> sqlx::Result<()> {
    let key = topics::contact_key(tenant, &contact_id);
    let card = cards::card(conn, tenant, contact_id).await?.filter(|c| c.merged_into.is_none());
    let snapshot = card.map(|card| ContactSnapshot {
        v: contracts::SCHEMA_VERSION,
        tenant_id: tenant.to_owned(),
        contact_id,
        name_source: card.name_source,
        name: card.name,
        identities: card.identities.into_iter().map(|i| Identity::new(i.kind, i.value, i.scope)).collect(),
        created_at: card.created_at,
        updated_at: card.updated_at,
    });
    enqueue(conn, &key, snapshot.as_ref()).await
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
    let (topic, event_type) = (E::TOPIC, E::TYPE);
    sqlx::query("INSERT INTO outbox (topic, key, event_type, payload) VALUES ($1, $2, $3, $4)")
        .bind(topic)
        .bind(key)
        .bind(event_type)
        .bind(payload.map(Json))
        .execute(conn)
        .await?;
    Ok(())
}
