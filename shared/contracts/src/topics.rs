//! Every Kafka topic name, defined once.

/// Normalized interactions published by the channel adapters. Key: `tenant|channel|channel_identity`.
pub const INTERACTIONS_INGESTED: &str = "interactions.ingested";
/// Interactions attached to a contact by the resolver. Key: `tenant|contact_id`.
pub const INTERACTIONS_RESOLVED: &str = "interactions.resolved";
/// Every contact change, relayed from the resolver's outbox. Key: `tenant|contact_id`.
pub const CONTACTS_CHANGES: &str = "contacts.changes";
/// Compacted full contact cards; a tombstone on delete and on merge-away. Key: `tenant|contact_id`.
pub const CONTACTS_SNAPSHOT: &str = "contacts.snapshot";

/// Every topic the system uses, with its dead-letter twin where it has consumers.
pub const ALL: [&str; 4] = [INTERACTIONS_INGESTED, INTERACTIONS_RESOLVED, CONTACTS_CHANGES, CONTACTS_SNAPSHOT];

/// The dead-letter topic of `topic`: `<topic>.dlq`.
pub fn dead_letter(topic: &str) -> String {
    format!("{topic}.dlq")
}

/// Message key of a resolved interaction or a contact event.
pub fn contact_key(tenant_id: &str, contact_id: &crate::ContactId) -> String {
    format!("{tenant_id}|{contact_id}")
}
