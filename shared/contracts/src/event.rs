//! What every event this system publishes declares about itself: its topic, the value of its
//! `event-type` header and its message key. Producers and the outbox take them from here, so a
//! topic, a type and a key are spelled once per event.

use serde::Serialize;

use crate::{topics, ContactChange, ContactSnapshot, InteractionEvent, ResolvedInteraction};

pub trait Event: Serialize {
    /// The topic the event is published to.
    const TOPIC: &'static str;
    /// The `event-type` header.
    const TYPE: &'static str;
    /// The message key (which decides the partition, so the order consumers see).
    fn key(&self) -> String;
}

impl Event for InteractionEvent {
    const TOPIC: &'static str = topics::INTERACTIONS_INGESTED;
    const TYPE: &'static str = "interaction.ingested";
    fn key(&self) -> String {
        InteractionEvent::key(self)
    }
}

impl Event for ResolvedInteraction {
    const TOPIC: &'static str = topics::INTERACTIONS_RESOLVED;
    const TYPE: &'static str = "interaction.resolved";
    fn key(&self) -> String {
        ResolvedInteraction::key(self)
    }
}

impl Event for ContactChange {
    const TOPIC: &'static str = topics::CONTACTS_CHANGES;
    const TYPE: &'static str = "contact.changed";
    fn key(&self) -> String {
        topics::contact_key(&self.tenant_id, &self.contact_id)
    }
}

/// A snapshot's tombstone (a deleted or merged-away card) carries the same key without a payload.
impl Event for ContactSnapshot {
    const TOPIC: &'static str = topics::CONTACTS_SNAPSHOT;
    const TYPE: &'static str = "contact.snapshot";
    fn key(&self) -> String {
        topics::contact_key(&self.tenant_id, &self.contact_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_goes_to_its_own_topic_under_its_own_type() {
        let topics = [InteractionEvent::TOPIC, ResolvedInteraction::TOPIC, ContactChange::TOPIC, ContactSnapshot::TOPIC];
        let types = [InteractionEvent::TYPE, ResolvedInteraction::TYPE, ContactChange::TYPE, ContactSnapshot::TYPE];
        assert_eq!(topics.iter().collect::<std::collections::HashSet<_>>().len(), topics.len());
        assert_eq!(types.iter().collect::<std::collections::HashSet<_>>().len(), types.len());
    }
}
