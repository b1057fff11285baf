//! The timeline's batch step: upsert every resolved interaction of the batch in one transaction.

use contracts::ResolvedInteraction;
use runtime::kafka::{BatchHandler, Delivery, HandlerError};
use sqlx::PgPool;
use tracing::Instrument;

use crate::store;

pub struct StoreBatch {
    pub pool: PgPool,
}

impl BatchHandler for StoreBatch {
    type Event = ResolvedInteraction;

    async fn handle(&self, batch: &[Delivery<ResolvedInteraction>]) -> Result<(), HandlerError> {
        let mut tx = self.pool.begin().await?;
        for delivery in batch {
            store::upsert(&mut tx, &delivery.event).instrument(delivery.span.clone()).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
