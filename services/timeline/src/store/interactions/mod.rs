//! Write path of `interactions.resolved`: every event is one message row (upserted by its
//! `interaction_id`, so redelivery and later states update it in place); each message belongs to
//! one timeline interaction — its conversation's open group within the idle gap, or its own.
//! A conversation state change (`event`, e.g. closed) is a transcript entry like a message but is
//! not counted as one ([`transcript::summarize`]); a reaction is no entry at all: it is stored
//! against the message it reacts to ([`super::reactions`]).
//!
//! A batch is applied set-based, in a fixed number of statements whatever its size: the owners
//! of its contacts, its stored messages and the groups it may join are read at once
//! (`sql`), the grouping is decided in memory in offset order (`plan`), then new groups,
//! absorptions and messages are written at once and every touched interaction is recomputed by
//! one `refresh`.
//!
//! [`transcript::summarize`]: crate::transcript::summarize

mod plan;
mod refresh;
mod sql;

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use contracts::{Channel, ResolvedInteraction};
use sqlx::PgConnection;
use tracing::Instrument;
use uuid::Uuid;

use plan::{Accepted, ConversationKey, MessageEntry, Plan};

/// How messages are grouped into timeline interactions.
#[derive(Debug, Clone)]
pub struct Grouping {
    /// Messages of one conversation closer than this share an interaction; zero disables grouping.
    pub idle_gap: chrono::Duration,
    /// Channels whose messages are grouped.
    pub channels: Vec<Channel>,
    /// Most messages in one group.
    pub max_messages: i32,
}

impl Grouping {
    pub fn from_config(config: &crate::Config) -> Self {
        let secs = i64::try_from(config.conversation_idle_gap_secs).unwrap_or(i64::MAX / 1000);
        Self {
            idle_gap: chrono::Duration::try_seconds(secs).unwrap_or(chrono::Duration::MAX),
            channels: config.grouped_channels.clone(),
            max_messages: i32::try_from(config.max_messages_per_interaction).unwrap_or(i32::MAX).max(1),
        }
    }

    fn groups(&self, channel: Channel) -> bool {
        self.idle_gap > chrono::Duration::zero() && self.channels.contains(&channel)
    }
}

/// One event of a batch with the span of its delivery.
pub struct Item<'a> {
    pub resolved: &'a ResolvedInteraction,
    pub span: &'a tracing::Span,
}

/// Applies a batch of resolved interactions, in order, in the caller's transaction (which holds
/// the batch's tenant locks).
#[tracing::instrument(skip_all, fields(events = batch.len()), err)]
pub async fn apply(conn: &mut PgConnection, grouping: &Grouping, batch: &[Item<'_>]) -> sqlx::Result<()> {
    let accepted = accept(conn, batch).await?;
    let ids: Vec<Uuid> = accepted.iter().map(|(a, _)| a.event().interaction_id).collect::<BTreeSet<_>>().into_iter().collect();
    let stored = sql::stored_messages(conn, &ids).await?;

    let windows = windows(grouping, &accepted, &stored);
    sql::lock_conversations(conn, windows.iter().map(|(key, ..)| key)).await?;
    let stored_groups: BTreeSet<Uuid> = stored.values().map(|m| m.interaction_id).collect();
    let groups = sql::groups(conn, &windows, &stored_groups).await?;

    let mut plan = Plan::new(grouping, stored, groups);
    for (item, span) in &accepted {
        span.in_scope(|| plan.apply(item));
    }
    let writes = plan.finish();
    sql::insert_groups(conn, &writes.created).await?;
    sql::absorb_groups(conn, &writes.absorbed).await?;
    sql::upsert_messages(conn, &writes.messages).await?;
    refresh::refresh(conn, &writes.touched).await
}

/// The time windows of the groups the batch's new messages may join, per conversation: from its
/// first new message to its last, widened by the idle gap on either side.
fn windows(
    grouping: &Grouping,
    accepted: &[(Accepted<'_>, &tracing::Span)],
    stored: &HashMap<Uuid, MessageEntry>,
) -> Vec<(ConversationKey, DateTime<Utc>, DateTime<Utc>)> {
    let mut times = HashMap::<ConversationKey, (DateTime<Utc>, DateTime<Utc>)>::new();
    for (item, _) in accepted.iter().filter(|(a, _)| !stored.contains_key(&a.event().interaction_id)) {
        if let Some(key) = item.conversation(grouping) {
            let at = item.event().body.occurred_at;
            let (first, last) = times.entry(key).or_insert((at, at));
            (*first, *last) = ((*first).min(at), (*last).max(at));
        }
    }
    times
        .into_iter()
        .map(|(key, (first, last))| {
            let (from, to) = plan::window(first, last, grouping.idle_gap);
            (key, from, to)
        })
        .collect()
}

/// The events of the batch that are stored as messages, with their contact's owner. Events
/// naming two tenants and events of erased contacts are dropped; reactions are stored here.
async fn accept<'a>(conn: &mut PgConnection, batch: &[Item<'a>]) -> sqlx::Result<Vec<(Accepted<'a>, &'a tracing::Span)>> {
    let contacts = batch.iter().filter_map(|item| Some((item.resolved.tenant_id.as_str(), item.resolved.contact_id?.0)));
    let owners = super::owners(conn, contacts).await?;
    let mut accepted = Vec::with_capacity(batch.len());
    for item in batch {
        let (resolved, span) = (item.resolved, item.span);
        let event = &resolved.interaction;
        let tenant = resolved.tenant_id.as_str();
        if event.tenant_id != tenant {
            span.in_scope(
                || tracing::warn!(event_tenant = %event.tenant_id, tenant, "resolved interaction names two tenants; dropped"),
            );
            continue;
        }
        // An unidentified interaction (no contact yet) has no owner: it waits for an operator.
        let owner = match resolved.contact_id {
            Some(contact) => Some(*owners.get(&(tenant.to_owned(), contact.0)).ok_or(sqlx::Error::RowNotFound)?),
            None => None,
        };
        if owner.is_some_and(|o| o.erased) {
            span.in_scope(|| tracing::info!("dropping an interaction of an erased contact"));
            continue;
        }
        if let Some(reaction) = &event.body.reaction {
            super::reactions::store(conn, resolved.contact_id.map(|c| c.0), event, reaction).instrument(span.clone()).await?;
            continue;
        }
        accepted.push((Accepted { resolved, owner: owner.map(|o| o.root) }, span));
    }
    Ok(accepted)
}
