//! A batch of `interactions.resolved` decided in memory, in offset order, before anything is
//! written: which stored messages change, which messages are new and which timeline interaction
//! (group) each joins, which groups a late message joins into one, which groups are opened.
//!
//! The plan starts from what the batch's statements loaded — its stored messages and the open
//! groups of its conversations around its messages' times — and keeps that view current as it
//! goes: a group's bounds and entry count grow with every message it takes and every group it
//! absorbs, so the tenth message of a conversation in one batch is grouped exactly as if the
//! nine before it had been applied and refreshed in batches of their own.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use contracts::{Channel, InteractionEvent, Resolution, ResolvedInteraction};
use uuid::Uuid;

use super::Grouping;
use crate::transcript::{fold, MessageState};

/// The conversation a group belongs to: tenant, owner and original contact (none while
/// unidentified), channel and conversation reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ConversationKey {
    pub tenant: String,
    /// The owner (root of the merges above the contact) and the original contact.
    pub contact: Option<(Uuid, Uuid)>,
    pub channel: Channel,
    pub conversation: String,
}

impl ConversationKey {
    /// The key of the advisory lock that serializes opening and extending this conversation's
    /// groups (row locks cannot cover a group that does not exist yet).
    pub fn lock_key(&self) -> String {
        let origin = self.contact.map_or_else(|| "unidentified".to_owned(), |(_, origin)| origin.to_string());
        format!("{}|{origin}|{}|{}", self.tenant, self.channel, self.conversation)
    }
}

/// An event of the batch that passed the checks (tenant, erasure, not a reaction), with the owner
/// of its contact.
pub struct Accepted<'a> {
    pub resolved: &'a ResolvedInteraction,
    pub owner: Option<Uuid>,
}

impl Accepted<'_> {
    pub fn event(&self) -> &InteractionEvent {
        &self.resolved.interaction
    }

    /// The conversation whose group the event joins when it is a new message, `None` when it
    /// always opens its own interaction (no conversation, or a channel that is not grouped).
    pub fn conversation(&self, grouping: &Grouping) -> Option<ConversationKey> {
        let body = &self.event().body;
        let conversation = body.conversation_ref.as_deref().filter(|_| grouping.groups(body.channel))?;
        Some(ConversationKey {
            tenant: self.resolved.tenant_id.clone(),
            contact: self.owner.zip(self.resolved.contact_id.map(|c| c.0)),
            channel: body.channel,
            conversation: conversation.to_owned(),
        })
    }

    /// The original contact when it is not the owner (its items were merged into another).
    pub fn merged_from(&self) -> Option<Uuid> {
        self.resolved.contact_id.map(|c| c.0).filter(|origin| self.owner != Some(*origin))
    }
}

/// A timeline interaction as grouping sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub id: Uuid,
    /// `None` for a group no new message can join (no conversation reference).
    pub key: Option<ConversationKey>,
    pub occurred_at: DateTime<Utc>,
    pub last_message_at: DateTime<Utc>,
    /// Transcript entries: messages and conversation events (what the cap counts).
    pub entries: i64,
    /// Redacted groups take no new messages.
    pub redacted: bool,
}

/// A message of the batch with its state after the batch's events.
#[derive(Debug, Clone)]
pub struct MessageEntry {
    pub interaction_id: Uuid,
    pub tenant: String,
    pub state: MessageState,
    pub resolution: Resolution,
    /// Written by this batch (new, or a stored message some event changed).
    pub changed: bool,
}

/// A group opened by the batch: its id is its first message's, its columns that are not
/// aggregates come from that message.
#[derive(Debug, Clone)]
pub struct NewGroup {
    pub tenant: String,
    pub owner: Option<Uuid>,
    pub merged_from: Option<Uuid>,
    pub event: InteractionEvent,
    pub resolution: Resolution,
}

/// The batch's decisions; [`Plan::finish`] turns them into what is written.
pub struct Plan<'g> {
    grouping: &'g Grouping,
    groups: HashMap<Uuid, Group>,
    by_conversation: HashMap<ConversationKey, Vec<Uuid>>,
    /// Absorbed group → the group that took its messages.
    absorbed: HashMap<Uuid, Uuid>,
    created: HashMap<Uuid, NewGroup>,
    messages: HashMap<Uuid, MessageEntry>,
    touched: BTreeSet<Uuid>,
}

/// What the batch writes, every group id already resolved through the absorptions.
#[derive(Debug, Default)]
pub struct Writes {
    /// Groups opened by the batch (and not absorbed in it), by id.
    pub created: Vec<(Uuid, NewGroup)>,
    /// Stored groups absorbed by another: (absorbed, the group that takes its messages).
    pub absorbed: Vec<(Uuid, Uuid)>,
    /// New and changed messages, by id.
    pub messages: Vec<(Uuid, MessageEntry)>,
    /// Groups whose aggregates must be recomputed, sorted.
    pub touched: Vec<Uuid>,
}

impl<'g> Plan<'g> {
    /// A plan over the batch's stored `messages` and loaded `groups`.
    pub fn new(grouping: &'g Grouping, messages: HashMap<Uuid, MessageEntry>, groups: Vec<Group>) -> Self {
        let mut plan = Self {
            grouping,
            groups: HashMap::new(),
            by_conversation: HashMap::new(),
            absorbed: HashMap::new(),
            created: HashMap::new(),
            messages,
            touched: BTreeSet::new(),
        };
        for group in groups {
            plan.add_group(group);
        }
        plan
    }

    fn add_group(&mut self, group: Group) {
        if let Some(key) = &group.key {
            self.by_conversation.entry(key.clone()).or_default().push(group.id);
        }
        self.groups.insert(group.id, group);
    }

    /// Where a group's messages are now.
    fn resolve(&self, mut id: Uuid) -> Uuid {
        while let Some(&into) = self.absorbed.get(&id) {
            id = into;
        }
        id
    }

    /// Applies the next event of the batch.
    pub fn apply(&mut self, item: &Accepted<'_>) {
        let event = item.event();
        match self.messages.get(&event.interaction_id) {
            Some(entry) => self.update(entry.clone(), event),
            None => self.insert(item),
        }
    }

    /// A later state of a message stored or seen earlier in the batch: folded in.
    fn update(&mut self, mut entry: MessageEntry, event: &InteractionEvent) {
        if entry.tenant != event.tenant_id {
            tracing::warn!("an interaction id of another tenant; dropped");
            return;
        }
        let after = fold(&entry.state, event);
        if after == entry.state {
            return;
        }
        let group = self.resolve(entry.interaction_id);
        // A fold only moves a message earlier: the group's start follows for the rest of the
        // batch. Should the message have been the group's last, the end shrinks only at refresh
        // (seen by the next batch): the plan does not hold every message of a stored group.
        if let Some(group) = self.groups.get_mut(&group) {
            group.occurred_at = group.occurred_at.min(after.event.body.occurred_at);
        }
        entry.state = after;
        entry.changed = true;
        self.touched.insert(group);
        self.messages.insert(event.interaction_id, entry);
    }

    /// A message seen for the first time: it joins its conversation's open group or opens one.
    fn insert(&mut self, item: &Accepted<'_>) {
        let event = item.event();
        let at = event.body.occurred_at;
        let key = item.conversation(self.grouping);
        let group = match key.as_ref().and_then(|key| self.join(key, at)) {
            Some(group) => group,
            None => {
                let id = event.interaction_id;
                self.add_group(Group { id, key, occurred_at: at, last_message_at: at, entries: 1, redacted: false });
                let group = NewGroup {
                    tenant: item.resolved.tenant_id.clone(),
                    owner: item.owner,
                    merged_from: item.merged_from(),
                    event: event.clone(),
                    resolution: item.resolved.resolution.clone(),
                };
                self.created.insert(id, group);
                id
            }
        };
        let entry = MessageEntry {
            interaction_id: group,
            tenant: item.resolved.tenant_id.clone(),
            state: MessageState::first(event),
            resolution: item.resolved.resolution.clone(),
            changed: true,
        };
        self.messages.insert(event.interaction_id, entry);
        self.touched.insert(group);
    }

    /// The open group of the conversation around `at` (within the idle gap, under the cap),
    /// extended to `at`; `None` when there is none. A message that closes the gap between
    /// several groups joins them into the earliest.
    fn join(&mut self, key: &ConversationKey, at: DateTime<Utc>) -> Option<Uuid> {
        let gap = self.grouping.idle_gap;
        let (from, to) = window(at, at, gap);
        let mut candidates: Vec<&Group> = self
            .by_conversation
            .get(key)?
            .iter()
            .filter_map(|id| self.groups.get(id))
            .filter(|g| !g.redacted && g.entries < i64::from(self.grouping.max_messages))
            .filter(|g| g.occurred_at <= to && g.last_message_at >= from)
            .collect();
        candidates.sort_by_key(|g| (g.occurred_at, g.id));
        let ids: Vec<Uuid> = candidates.iter().map(|g| g.id).collect();
        let (&target, absorbed) = ids.split_first()?;
        for id in absorbed {
            self.absorb(key, *id, target);
        }
        let group = self.groups.get_mut(&target)?;
        group.occurred_at = group.occurred_at.min(at);
        group.last_message_at = group.last_message_at.max(at);
        group.entries += 1;
        Some(target)
    }

    /// Moves group `id` into `target`: its entries and bounds go with its messages.
    fn absorb(&mut self, key: &ConversationKey, id: Uuid, target: Uuid) {
        let Some(absorbed) = self.groups.remove(&id) else {
            return;
        };
        if let Some(ids) = self.by_conversation.get_mut(key) {
            ids.retain(|g| *g != id);
        }
        if let Some(group) = self.groups.get_mut(&target) {
            group.occurred_at = group.occurred_at.min(absorbed.occurred_at);
            group.last_message_at = group.last_message_at.max(absorbed.last_message_at);
            group.entries += absorbed.entries;
        }
        self.absorbed.insert(id, target);
    }

    /// The writes of the batch.
    pub fn finish(mut self) -> Writes {
        let mut writes = Writes::default();
        let absorbed: Vec<Uuid> = self.absorbed.keys().copied().collect();
        for id in absorbed {
            // A group opened and absorbed within the batch is never written.
            if self.created.remove(&id).is_none() {
                writes.absorbed.push((id, self.resolve(id)));
            }
        }
        writes.absorbed.sort();
        writes.created = std::mem::take(&mut self.created).into_iter().collect();
        writes.created.sort_by_key(|(id, _)| *id);
        let messages = std::mem::take(&mut self.messages);
        writes.messages = messages
            .into_iter()
            .filter(|(_, entry)| entry.changed)
            .map(|(id, mut entry)| {
                entry.interaction_id = self.resolve(entry.interaction_id);
                (id, entry)
            })
            .collect();
        writes.messages.sort_by_key(|(id, _)| *id);
        let touched: BTreeSet<Uuid> = self.touched.iter().map(|id| self.resolve(*id)).collect();
        writes.touched = touched.into_iter().collect();
        writes
    }
}

/// The times whose groups a message at `first..=last` may join: the idle gap on either side.
pub fn window(first: DateTime<Utc>, last: DateTime<Utc>, gap: chrono::Duration) -> (DateTime<Utc>, DateTime<Utc>) {
    (
        first.checked_sub_signed(gap).unwrap_or(DateTime::<Utc>::MIN_UTC),
        last.checked_add_signed(gap).unwrap_or(DateTime::<Utc>::MAX_UTC),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use contracts::{Direction, InteractionBody};

    fn grouping(max_messages: i32) -> Grouping {
        Grouping { idle_gap: chrono::Duration::seconds(1000), channels: vec![Channel::Whatsapp], max_messages }
    }

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_764_000_000 + secs, 0).expect("valid")
    }

    fn message(contact: Uuid, provider_ref: &str, secs: i64) -> ResolvedInteraction {
        let body = InteractionBody {
            channel: Channel::Whatsapp,
            direction: Direction::Inbound,
            occurred_at: at(secs),
            provider_ref: provider_ref.into(),
            conversation_ref: Some("conv".into()),
            identities: Vec::new(),
            profile: None,
            content: None,
            call: None,
            parameters: Default::default(),
            reaction: None,
            event: None,
            sanitized: Vec::new(),
        };
        ResolvedInteraction {
            v: 1,
            tenant_id: "acme".into(),
            contact_id: Some(contracts::ContactId(contact)),
            interaction: InteractionEvent::new("acme", body),
            resolution: Resolution::default(),
        }
    }

    fn apply_all(plan: &mut Plan<'_>, contact: Uuid, events: &[ResolvedInteraction]) {
        for resolved in events {
            plan.apply(&Accepted { resolved, owner: Some(contact) });
        }
    }

    #[test]
    fn a_stored_group_absorbed_through_a_batch_group_hands_its_messages_to_the_final_group() {
        let (grouping, contact) = (grouping(10), Uuid::new_v4());
        let stored = message(contact, "stored", 2000);
        let key = Accepted { resolved: &stored, owner: Some(contact) }.conversation(&grouping).expect("grouped");
        let stored_group = Group {
            id: stored.interaction.interaction_id,
            key: Some(key),
            occurred_at: at(2000),
            last_message_at: at(2000),
            entries: 1,
            redacted: false,
        };
        let mut plan = Plan::new(&grouping, HashMap::new(), vec![stored_group.clone()]);
        // Groups at 0 and 4000 open beside the stored one; 3000 joins the stored one and the one
        // at 4000, then 1000 joins the one at 0 and the stored one.
        let events =
            [message(contact, "m0", 0), message(contact, "m4", 4000), message(contact, "m3", 3000), message(contact, "m1", 1000)];
        apply_all(&mut plan, contact, &events);
        let writes = plan.finish();

        let first = events[0].interaction.interaction_id;
        assert_eq!(writes.created.iter().map(|(id, _)| *id).collect::<Vec<_>>(), [first], "the group at 4000 was absorbed");
        assert_eq!(writes.absorbed, [(stored_group.id, first)]);
        assert!(writes.messages.iter().all(|(_, m)| m.interaction_id == first), "{writes:#?}");
        assert_eq!(writes.touched, [first]);
    }

    #[test]
    fn the_cap_counts_the_batchs_own_messages_and_what_a_group_absorbed() {
        let (grouping, contact) = (grouping(3), Uuid::new_v4());
        let mut plan = Plan::new(&grouping, HashMap::new(), Vec::new());
        let events = [0, 1500, 700, 800, 900].map(|secs| message(contact, &format!("m{secs}"), secs));
        apply_all(&mut plan, contact, &events);
        let writes = plan.finish();
        let group_of = |i: usize| {
            let id = events[i].interaction.interaction_id;
            writes.messages.iter().find(|(m, _)| *m == id).map(|(_, m)| m.interaction_id)
        };
        // 700 joins 0 and 1500 (three entries, full); 800 and 900 open and fill a second group.
        assert_eq!([0, 1, 2].map(group_of), [Some(events[0].interaction.interaction_id); 3]);
        assert_eq!([3, 4].map(group_of), [Some(events[3].interaction.interaction_id); 2]);
    }
}
