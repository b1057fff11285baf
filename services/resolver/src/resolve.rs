//! Resolution of one interaction inside the batch transaction: normalize, look up, decide
//! (see [`crate::matching`]), apply, record change events in the outbox and mark the interaction
//! processed. A concurrent creation of the same identity makes the attempt roll back to its
//! savepoint and run again, so both end on one contact.

use chrono::Utc;
use contracts::{
    topics, Actor, ContactChange, ContactChangeKind, ContactSnapshot, FieldChange, Identity, IdentityKind, IgnoredIdentity,
    InteractionEvent, Resolution, ResolvedInteraction,
};
use identity::Region;
use serde_json::json;
use sqlx::{Acquire, PgConnection};
use uuid::Uuid;

use crate::matching::{decide, Decision, Lookup};
use crate::store;

/// Tenant-independent resolution settings.
#[derive(Debug, Clone)]
pub struct Rules {
    pub default_region: Option<Region>,
    pub auto_create: bool,
}

const ATTEMPTS: usize = 3;

#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("identity claimed concurrently {ATTEMPTS} times in a row")]
    Contended,
}

/// Resolves `event` (or returns the stored result when it was resolved before).
/// `None`: nothing matched and auto-creation is off.
#[tracing::instrument(skip_all, fields(tenant = %event.tenant_id, interaction_id = %event.interaction_id))]
pub async fn resolve(conn: &mut PgConnection, rules: &Rules, event: &InteractionEvent) -> Result<Option<ResolvedInteraction>, ResolveError> {
    if let Some(done) = store::processed(conn, &event.tenant_id, event.interaction_id).await? {
        // Redelivery, or a later state of the same interaction (a call's progress, a delivery
        // status): the decision stands, the interaction content is the newest one.
        tracing::debug!("already processed");
        return Ok(done.map(|stored| ResolvedInteraction { interaction: event.clone(), ..stored }));
    }
    let (identities, ignored) = normalize_all(event, rules.default_region);
    for _ in 0..ATTEMPTS {
        let mut savepoint = conn.begin().await?;
        match attempt(&mut savepoint, rules, event, &identities, &ignored).await? {
            Some(resolved) => {
                savepoint.commit().await?;
                return Ok(resolved);
            }
            None => {
                tracing::info!("identity created concurrently by another resolver, retrying");
                savepoint.rollback().await?;
            }
        }
    }
    Err(ResolveError::Contended)
}

fn normalize_all(event: &InteractionEvent, region: Option<Region>) -> (Vec<Identity>, Vec<IgnoredIdentity>) {
    let mut identities = Vec::new();
    let mut ignored = Vec::new();
    for raw in &event.body.identities {
        match identity::normalize(raw, region) {
            Ok(identity) => identities.push(identity),
            Err(error) => ignored.push(IgnoredIdentity { kind: raw.kind, value: raw.value.clone(), reason: format!("invalid: {error}") }),
        }
    }
    (identities, ignored)
}

/// One attempt; `Ok(None)` when a concurrent creator took one of the identities first.
async fn attempt(
    conn: &mut PgConnection,
    rules: &Rules,
    event: &InteractionEvent,
    identities: &[Identity],
    ignored: &[IgnoredIdentity],
) -> Result<Option<Option<ResolvedInteraction>>, ResolveError> {
    let tenant = &event.tenant_id;
    let owners = store::owners(conn, tenant, identities).await?;
    let lookups: Vec<Lookup> = identities.iter().cloned().zip(owners).map(|(identity, owner)| Lookup { identity, owner }).collect();
    let actor = Actor::Channel { channel: event.body.channel.to_string(), interaction_id: event.interaction_id };
    let source = event.body.channel.as_str();
    let mut ignored = ignored.to_vec();

    let (contact_id, resolution) = match decide(&lookups, rules.auto_create) {
        Decision::Unmatched => {
            store::record_processed(conn, tenant, event.interaction_id, None).await?;
            return Ok(Some(None));
        }
        Decision::Create { identities: new } => {
            let contact_id = Uuid::new_v4();
            store::create_contact(conn, tenant, contact_id, event.body.profile.as_ref(), event.body.occurred_at).await?;
            let inserted = store::insert_identities(conn, tenant, contact_id, &new, source).await?;
            if inserted.len() != new.len() {
                return Ok(None);
            }
            let mut changes = vec![];
            if let Some(name) = event.body.profile.as_ref().and_then(|p| p.name.as_ref()) {
                changes.push(FieldChange { field: "name".into(), before: None, after: Some(json!(name)) });
            }
            changes.extend(inserted.iter().map(identity_added));
            emit(conn, tenant, contact_id, ContactChangeKind::Created, &actor, "created from an interaction nobody matched", changes).await?;
            (contact_id, Resolution { matched_by: None, created_contact: true, candidates: vec![], ignored })
        }
        Decision::Attach { contact_id, matched_by, candidates, enrich } => {
            let inserted = store::insert_identities(conn, tenant, contact_id, &enrich, source).await?;
            for skipped in enrich.iter().filter(|i| !inserted.contains(i)) {
                ignored.push(IgnoredIdentity { kind: skipped.kind, value: skipped.value.clone(), reason: "owned_by_other".into() });
            }
            if !inserted.is_empty() {
                let changes = inserted.iter().map(identity_added).collect();
                emit(conn, tenant, contact_id, ContactChangeKind::IdentifierAdded, &actor, "learned from an interaction", changes).await?;
            }
            update_name(conn, tenant, contact_id, event, &actor).await?;
            (contact_id, Resolution { matched_by: Some(matched_by), created_contact: false, candidates, ignored })
        }
    };
    store::touch_interaction(conn, contact_id, event.body.occurred_at).await?;
    let resolved = ResolvedInteraction {
        v: contracts::SCHEMA_VERSION,
        tenant_id: tenant.clone(),
        contact_id,
        interaction: event.clone(),
        resolution,
    };
    store::record_processed(conn, tenant, event.interaction_id, Some(&resolved)).await?;
    metrics::counter!(
        runtime::http::metrics::RESOLUTIONS,
        "matched_by" => resolved.resolution.matched_by.as_ref().map_or("created", |m| m.kind.as_str())
    )
    .increment(1);
    Ok(Some(Some(resolved)))
}

/// Takes the profile name when its source ranks above the current one (an operator's name is
/// never replaced automatically; equal sources keep the name already there).
async fn update_name(conn: &mut PgConnection, tenant: &str, contact_id: Uuid, event: &InteractionEvent, actor: &Actor) -> sqlx::Result<()> {
    let Some(profile) = &event.body.profile else { return Ok(()) };
    let Some(new_name) = profile.name.as_deref().map(str::trim).filter(|n| !n.is_empty()) else { return Ok(()) };
    let (current, current_source) = store::name(conn, contact_id).await?;
    let outranks = match (&current, current_source) {
        (None, _) | (_, None) => true,
        (Some(_), Some(source)) => profile.name_source.priority() > source.priority(),
    };
    if outranks && current.as_deref() != Some(new_name) {
        store::set_name(conn, contact_id, new_name, profile.name_source).await?;
        let change = FieldChange { field: "name".into(), before: current.map(|n| json!(n)), after: Some(json!(new_name)) };
        emit(conn, tenant, contact_id, ContactChangeKind::NameChanged, actor, "name from a higher-ranked source", vec![change]).await?;
    }
    Ok(())
}

fn identity_added(identity: &Identity) -> FieldChange {
    FieldChange { field: format!("identities.{}", identity.kind), before: None, after: Some(json!(identity)) }
}

/// Writes a change to `contacts.changes` and the contact's new card to `contacts.snapshot`,
/// both through the outbox of the current transaction.
pub async fn emit(
    conn: &mut PgConnection,
    tenant: &str,
    contact_id: Uuid,
    kind: ContactChangeKind,
    actor: &Actor,
    reason: &str,
    changes: Vec<FieldChange>,
) -> sqlx::Result<()> {
    let key = topics::contact_key(tenant, &contact_id);
    let change = ContactChange {
        v: contracts::SCHEMA_VERSION,
        change_id: Uuid::new_v4(),
        tenant_id: tenant.to_owned(),
        contact_id,
        kind,
        occurred_at: Utc::now(),
        actor: actor.clone(),
        reason: reason.to_owned(),
        changes,
        related_contact_id: None,
    };
    store::enqueue(conn, topics::CONTACTS_CHANGES, &key, "contact.changed", Some(&change)).await?;
    let snapshot = store::card(conn, tenant, contact_id).await?.map(|card| ContactSnapshot {
        v: contracts::SCHEMA_VERSION,
        tenant_id: tenant.to_owned(),
        contact_id,
        name_source: card.name_source.as_deref().and_then(contracts::NameSource::parse),
        name: card.name,
        identities: card
            .identities
            .into_iter()
            .filter_map(|i| IdentityKind::parse(&i.kind).map(|kind| Identity::new(kind, i.value, i.scope)))
            .collect(),
        created_at: card.created_at,
        updated_at: card.updated_at,
    });
    store::enqueue(conn, topics::CONTACTS_SNAPSHOT, &key, "contact.snapshot", snapshot.as_ref()).await
}
