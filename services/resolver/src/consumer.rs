//! The resolver's batch step: resolve every interaction of the batch in one transaction, commit,
//! then publish the resolved interactions (also the stored ones of redelivered messages, whose
//! first publish may have been lost) and only then let the loop commit the offsets.

use std::collections::HashMap;

use contracts::{InteractionEvent, ResolvedInteraction};
use runtime::kafka::{BatchHandler, Delivery, HandlerError, Publisher};
use sqlx::PgPool;
use tracing::Instrument;
use uuid::Uuid;

use crate::resolution::rules::TenantRules;
use crate::resolution::{replay, resolve_new, store, ResolveError};

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
        let mut tx = self.pool.begin().await?;
        let mut resolved = Vec::with_capacity(batch.len());
        let mut rules: HashMap<String, TenantRules> = HashMap::new();
        // One look-up for the whole batch; what this batch resolves is added, so a message
        // delivered twice within the batch replays the first decision.
        let keys: Vec<(String, Uuid)> = batch.iter().map(|d| (d.event.tenant_id.clone(), d.event.interaction_id)).collect();
        let mut seen = store::processed_batch(&mut tx, &keys).await?;
        for (delivery, key) in batch.iter().zip(keys) {
            // Adapters publish within the limits already; an event of an older adapter is
            // brought within them here, so what the resolver stores and publishes is bounded.
            let mut event = delivery.event.clone();
            contracts::limits::enforce(&mut event.body);
            let event = &event;
            let outcome = match seen.get(&key) {
                Some(stored) => stored.clone().map(|stored| replay(stored, event)),
                None => {
                    if !rules.contains_key(&event.tenant_id) {
                        rules.insert(event.tenant_id.clone(), store::rules(&mut tx, &event.tenant_id, &self.defaults).await?);
                    }
                    let outcome =
                        match resolve_new(&mut tx, &rules[&event.tenant_id], event).instrument(delivery.span.clone()).await {
                            Ok(outcome) => outcome,
                            Err(ResolveError::Database(error)) => return Err(error.into()),
                            Err(error @ ResolveError::Contended) => return Err(HandlerError::Transient(error.into())),
                        };
                    seen.insert(key, Some(outcome.clone()));
                    Some(outcome)
                }
            };
            // `None`: marked processed without a decision by an older version (nothing to send).
            if let Some(r) = outcome {
                resolved.push((r, delivery.span.clone()));
            }
        }
        tx.commit().await?;
        publish(&self.publisher, &resolved).await
    }
}

async fn publish(publisher: &Publisher, resolved: &[(ResolvedInteraction, tracing::Span)]) -> Result<(), HandlerError> {
    let sends = resolved.iter().map(|(r, span)| publisher.publish_event(r).instrument(span.clone()));
    for result in futures::future::join_all(sends).await {
        result?;
    }
    Ok(())
}
