//! The resolver's batch step: resolve every interaction of the batch in one transaction, commit,
//! then publish the resolved interactions (also the stored ones of redelivered messages, whose
//! first publish may have been lost) and only then let the loop commit the offsets.

use std::collections::HashMap;

use contracts::{topics, InteractionEvent, ResolvedInteraction};
use runtime::kafka::{BatchHandler, Delivery, HandlerError, Publisher};
use sqlx::PgPool;
use tracing::Instrument;

use crate::resolve::{resolve, ResolveError};
use crate::rules::TenantRules;
use crate::store;

pub struct ResolveBatch {
    pub pool: PgPool,
    pub publisher: Publisher,
    /// Rules of tenants without their own settings.
    pub defaults: TenantRules,
}

impl BatchHandler for ResolveBatch {
    type Event = InteractionEvent;

    async fn handle(&self, batch: &[Delivery<InteractionEvent>]) -> Result<(), HandlerError> {
        let mut tx = self.pool.begin().await?;
        let mut resolved = Vec::with_capacity(batch.len());
        let mut rules: HashMap<String, TenantRules> = HashMap::new();
        for delivery in batch {
            let tenant = &delivery.event.tenant_id;
            if !rules.contains_key(tenant) {
                rules.insert(tenant.clone(), store::rules(&mut tx, tenant, &self.defaults).await?);
            }
            let tenant_rules = &rules[tenant];
            let outcome = resolve(&mut tx, tenant_rules, &delivery.event).instrument(delivery.span.clone()).await;
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
