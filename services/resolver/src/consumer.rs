//! The resolver's batch step: resolve every interaction of the batch in one transaction, commit,
//! then publish the resolved interactions (also the stored ones of redelivered messages, whose
//! first publish may have been lost) and only then let the loop commit the offsets.

use contracts::{topics, InteractionEvent, ResolvedInteraction};
use runtime::kafka::{BatchHandler, Delivery, HandlerError, Publisher};
use sqlx::PgPool;
use tracing::Instrument;

use crate::resolve::{resolve, ResolveError, Rules};

pub struct ResolveBatch {
    pub pool: PgPool,
    pub publisher: Publisher,
    pub rules: Rules,
}

impl BatchHandler for ResolveBatch {
    type Event = InteractionEvent;

    async fn handle(&self, batch: &[Delivery<InteractionEvent>]) -> Result<(), HandlerError> {
        let mut tx = self.pool.begin().await?;
        let mut resolved = Vec::with_capacity(batch.len());
        for delivery in batch {
            let outcome = resolve(&mut tx, &self.rules, &delivery.event).instrument(delivery.span.clone()).await;
            match outcome {
                Ok(Some(r)) => resolved.push((r, delivery.span.clone())),
                Ok(None) => tracing::info!(parent: &delivery.span, "no contact matched and auto-creation is off"),
                Err(ResolveError::Database(error)) => return Err(error.into()),
                Err(error @ ResolveError::Contended) => return Err(HandlerError::Transient(error.into())),
            }
        }
        tx.commit().await?;
        publish(&self.publisher, &resolved).await
    }
}

async fn publish(publisher: &Publisher, resolved: &[(ResolvedInteraction, tracing::Span)]) -> Result<(), HandlerError> {
    let keys: Vec<String> = resolved.iter().map(|(r, _)| r.key()).collect();
    let sends = resolved.iter().zip(&keys).map(|((r, span), key)| {
        publisher.publish(topics::INTERACTIONS_RESOLVED, key, "interaction.resolved", r).instrument(span.clone())
    });
    for result in futures::future::join_all(sends).await {
        result?;
    }
    Ok(())
}
