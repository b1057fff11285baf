//! The resolver's batch step: resolve every interaction of the batch in one transaction
//! (set-based, [`batch::resolve`]), commit, then publish the resolved interactions (also the
//! stored ones of redelivered messages, whose first publish may have been lost) and only then
//! let the loop commit the offsets.

use contracts::{InteractionEvent, ResolvedInteraction};
use runtime::kafka::{BatchHandler, Delivery, HandlerError, Publisher};
use sqlx::PgPool;
use tracing::Instrument;

use crate::resolution::rules::TenantRules;
use crate::resolution::{batch, ResolveError};

/// The consumer's name: its group is `<group_prefix>.resolver`.
pub const CONSUMER: &str = "resolver";

pub struct ResolveBatch {
    pub pool: PgPool,
    pub publisher: Publisher,
    /// Rules of tenants without their own settings.
    pub defaults: TenantRules,
}

impl BatchHandler for ResolveBatch {
    type Event = InteractionEvent;

    async fn healthy(&self) -> bool {
        runtime::db::ping(&self.pool).await
    }

    async fn handle(&self, batch: &[Delivery<InteractionEvent>]) -> Result<(), HandlerError> {
        // Adapters publish within the limits already; an event of an older adapter is brought
        // within them here, so what the resolver stores and publishes is bounded.
        let events: Vec<InteractionEvent> = batch
            .iter()
            .map(|d| {
                let mut event = d.event.clone();
                contracts::limits::enforce(&mut event.body);
                event
            })
            .collect();
        let items: Vec<batch::Item> = events.iter().zip(batch).map(|(event, d)| (event, &d.span)).collect();
        let mut tx = self.pool.begin().await?;
        let outcomes = match batch::resolve(&mut tx, &self.defaults, &items).await {
            Ok(resolved) => resolved.decisions,
            Err(ResolveError::Database(error)) => return Err(error.into()),
            Err(error @ (ResolveError::Contended | ResolveError::Raced)) => return Err(HandlerError::Transient(error.into())),
        };
        tx.commit().await?;
        // `None`: marked processed without a decision by an older version (nothing to send).
        let resolved: Vec<(ResolvedInteraction, &tracing::Span)> =
            outcomes.into_iter().zip(batch).filter_map(|(outcome, d)| Some((outcome?, &d.span))).collect();
        publish(&self.publisher, &resolved).await
    }
}

async fn publish(publisher: &Publisher, resolved: &[(ResolvedInteraction, &tracing::Span)]) -> Result<(), HandlerError> {
    let sends = resolved.iter().map(|(r, span)| publisher.publish_event(r).instrument((*span).clone()));
    for result in futures::future::join_all(sends).await {
        result?;
    }
    Ok(())
}
