//! Binding contracts between services (see DESIGN.md §2–§4): topic names, the v1 interaction
//! event, the resolved interaction, contact change events and the identifier kinds.
//! No I/O lives here; every service and every test speaks these types.

pub mod api;
pub mod call;
pub mod changes;
pub mod event;
pub mod identifiers;
pub mod ids;
pub mod interaction;
pub mod limits;
pub mod resolved;
pub mod topics;

pub use call::CallStatus;
pub use changes::{Actor, ContactChange, ContactChangeKind, ContactSnapshot, FieldChange};
pub use event::Event;
pub use ids::{ContactId, IdentityId, MergeId};
pub use interaction::{
    Attachment, Call, Channel, Content, ConversationEvent, Direction, Identity, IdentityKind, InteractionBody, InteractionEvent,
    NameSource, Profile, Provenance, Reaction,
};
pub use resolved::{Confidence, IgnoreReason, IgnoredIdentity, MatchedBy, Resolution, ResolvedInteraction};

/// Schema version carried as `"v"` in every event.
pub const SCHEMA_VERSION: u16 = 1;

/// Kafka header keys set by producers.
pub mod headers {
    /// The schema version of the payload.
    pub const SCHEMA_VERSION: &str = "schema-version";
    /// Event type (e.g. `interaction.ingested`).
    pub const EVENT_TYPE: &str = "event-type";
    /// Set on dead letters: why the message was rejected.
    pub const DLQ_ERROR: &str = "dlq-error";
    /// Set on dead letters: `undecodable`, `permanent` or `retry_budget_exhausted`.
    pub const DLQ_CLASS: &str = "dlq-class";
    /// Set on dead letters: how many times the message was tried.
    pub const DLQ_ATTEMPTS: &str = "dlq-attempts";
    /// Set on dead letters: the topic, partition and offset the message came from.
    pub const DLQ_ORIGIN_TOPIC: &str = "dlq-origin-topic";
    pub const DLQ_ORIGIN_PARTITION: &str = "dlq-origin-partition";
    pub const DLQ_ORIGIN_OFFSET: &str = "dlq-origin-offset";
}

/// `serde(default)` helper for the version field.
pub fn schema_version() -> u16 {
    SCHEMA_VERSION
}
