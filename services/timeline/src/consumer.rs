//! The timeline's two batch steps, each run by the runtime's one consumer loop:
//!
//! - [`InteractionsHandler`] (`interactions.resolved`): the whole batch is applied set-based in one
//!   transaction ([`store::interactions`]), each touched timeline interaction recomputed once;
//! - [`ChangesHandler`] (`contacts.changes`, group `timeline-changes`): contact events, merges,
//!   unmerges and erasures, in one transaction per batch.
//!
//! Both are idempotent (messages upsert by id, changes are recorded by change id), so the loop's
//! at-least-once redelivery and a full replay change nothing. Ordering per contact comes from the
//! message key (`tenant|contact_id`): one contact's events are in one partition, applied in order.

use contracts::{ContactChange, ResolvedInteraction};
use runtime::kafka::{BatchHandler, Delivery, HandlerError};
use sqlx::PgPool;

use crate::config::ErasureMode;
use crate::store::{
    self,
    interactions::{Grouping, Item},
};

/// Consumer name (group suffix) of `interactions.resolved`.
pub const INTERACTIONS_CONSUMER: &str = "timeline";
/// Consumer name (group suffix) of `contacts.changes`.
pub const CHANGES_CONSUMER: &str = "timeline-changes";

/// Stores resolved interactions.
pub struct InteractionsHandler {
    pub pool: PgPool,
    pub grouping: Grouping,
}

impl BatchHandler for InteractionsHandler {
    type Event = ResolvedInteraction;

    async fn healthy(&self) -> bool {
        runtime::db::ping(&self.pool).await
    }

    async fn handle(&self, batch: &[Delivery<ResolvedInteraction>]) -> Result<(), HandlerError> {
        let mut tx = self.pool.begin().await?;
        store::lock_tenants(&mut tx, batch.iter().map(|d| (d.event.tenant_id.as_str(), false))).await?;
        let items: Vec<Item<'_>> = batch.iter().map(|d| Item { resolved: &d.event, span: &d.span }).collect();
        store::interactions::apply(&mut tx, &self.grouping, &items).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Applies contact changes.
pub struct ChangesHandler {
    pub pool: PgPool,
    pub erasure: ErasureMode,
}

impl BatchHandler for ChangesHandler {
    type Event = ContactChange;

    async fn healthy(&self) -> bool {
        runtime::db::ping(&self.pool).await
    }

    async fn handle(&self, batch: &[Delivery<ContactChange>]) -> Result<(), HandlerError> {
        let mut tx = self.pool.begin().await?;
        let locks = batch.iter().map(|d| (d.event.tenant_id.as_str(), store::changes::moves_items(d.event.kind)));
        store::lock_tenants(&mut tx, locks).await?;
        let changes: Vec<&ContactChange> = batch.iter().map(|d| &d.event).collect();
        store::changes::apply_all(&mut tx, self.erasure, &changes).await?;
        tx.commit().await?;
        Ok(())
    }
}
