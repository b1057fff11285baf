//! Runs a labelled set through the real resolver: its batch step (`resolver::consumer::
//! ResolveBatch`, the one the Kafka loop calls) on a fresh PostgreSQL database migrated by the
//! resolver, with a publisher on the embedded Kafka cluster, in the order the interactions
//! happened — so the outcome is a function of the set and the policy, not of partition
//! interleaving. Then reads what it decided from the directory's tables.

use std::collections::{HashMap, HashSet};

use anyhow::Context;
use contracts::{Identity, IdentityKind, InteractionEvent, Resolution, ResolvedInteraction};
use rdkafka::message::{OwnedMessage, Timestamp};
use resolver::consumer::ResolveBatch;
use resolver::resolution::rules::{AutoMerge, TenantRules};
use runtime::kafka::{BatchHandler, Delivery, Publisher};
use sqlx::types::Json;
use sqlx::PgPool;
use testkit::TestKafka;
use uuid::Uuid;

use super::generate::{LabelledSet, LOGIN_PREFIX, TENANT};

/// Interactions per batch, as the resolver's consumer takes them by default.
const BATCH: usize = 64;

/// What the resolver decided, read back from its tables.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Per interaction: the contact it was attached to when resolved (none: unidentified) and
    /// the resolution it recorded.
    pub resolved: HashMap<Uuid, (Option<Uuid>, Resolution)>,
    /// Contacts merged away, and their survivor.
    pub merged_into: HashMap<Uuid, Uuid>,
    /// Merges in force: (survivor, merged).
    pub merges: Vec<(Uuid, Uuid)>,
    /// Pairs of contacts in the duplicates queue (open suggestions), smaller id first.
    pub suggested: HashSet<(Uuid, Uuid)>,
    /// The open suggestions whose evidence is flagged weak (shared, landline, stale, typed).
    pub flagged: HashSet<(Uuid, Uuid)>,
    /// Every identifier a contact holds: (contact, kind, value, held only as typed).
    pub identities: Vec<(Uuid, IdentityKind, String, bool)>,
    /// The name of every live contact.
    pub names: HashMap<Uuid, Option<String>>,
}

impl Outcome {
    /// The live contact `contact` ended as (itself, or the survivor it was merged into).
    pub fn live(&self, mut contact: Uuid) -> Uuid {
        while let Some(next) = self.merged_into.get(&contact) {
            contact = *next;
        }
        contact
    }
}

/// Resolves `set` for a tenant whose policy is `auto_merge`, in a database of its own (dropped
/// at the end).
pub async fn resolve(kafka: &TestKafka, set: &LabelledSet, auto_merge: AutoMerge) -> anyhow::Result<Outcome> {
    let database = testkit::fresh_database();
    let settings = kafka.settings_for(&database, resolver::Config::default());
    let pool = runtime::db::connect(&settings.database, resolver::SCHEMA, &resolver::MIGRATOR).await?;
    let outcome = resolve_in(&pool, kafka, set, auto_merge).await;
    pool.close().await;
    outcome
}

async fn resolve_in(pool: &PgPool, kafka: &TestKafka, set: &LabelledSet, auto_merge: AutoMerge) -> anyhow::Result<Outcome> {
    // The tenant's policy, where a tenant's resolution settings live.
    let policy = match auto_merge {
        AutoMerge::Never => "never",
        AutoMerge::Verified => "verified",
    };
    sqlx::query("INSERT INTO tenant_settings (tenant_id, auto_merge) VALUES ($1, $2)")
        .bind(TENANT)
        .bind(policy)
        .execute(pool)
        .await?;
    // The resolver's defaults, as `resolver::start` builds them from its default config.
    let config = resolver::Config::default();
    let default_region = config.default_region.as_deref().map(identity::Region::parse).transpose()?;
    let defaults = TenantRules { default_region, ..TenantRules::default() };
    let handler = ResolveBatch { pool: pool.clone(), publisher: Publisher::new(&kafka.settings)?, defaults };

    let mut by_person: HashMap<usize, Vec<Uuid>> = HashMap::new();
    let mut batch: Vec<Delivery<InteractionEvent>> = Vec::with_capacity(BATCH);
    for (offset, labelled) in set.interactions.iter().enumerate() {
        let mut event = labelled.event.clone();
        if event.body.identities.iter().any(is_login) {
            // The site sends the contact id of its logged-in customer: what the directory
            // resolved for them so far (their first interaction with a contact).
            flush(&handler, &mut batch).await?;
            let earlier = by_person.get(&labelled.person).cloned().unwrap_or_default();
            let contact: Option<Uuid> = sqlx::query_scalar(
                "SELECT contact_id FROM processed_interactions
                 WHERE tenant_id = $1 AND interaction_id = ANY($2) AND contact_id IS NOT NULL
                 ORDER BY occurred_at LIMIT 1",
            )
            .bind(TENANT)
            .bind(&earlier)
            .fetch_optional(pool)
            .await?;
            event.body.identities.retain(|i| !is_login(i));
            if let Some(contact) = contact {
                event.body.identities.insert(0, Identity::new(IdentityKind::ContactId, contact.to_string(), None));
            }
        }
        by_person.entry(labelled.person).or_default().push(event.interaction_id);
        batch.push(delivery(event, offset as i64));
        if batch.len() == BATCH {
            flush(&handler, &mut batch).await?;
        }
    }
    flush(&handler, &mut batch).await?;
    read(pool).await
}

fn is_login(identity: &Identity) -> bool {
    identity.kind == IdentityKind::ContactId && identity.value.starts_with(LOGIN_PREFIX)
}

fn delivery(event: InteractionEvent, offset: i64) -> Delivery<InteractionEvent> {
    let payload = serde_json::to_vec(&event).ok();
    let message = OwnedMessage::new(
        payload,
        Some(event.key().into_bytes()),
        contracts::topics::INTERACTIONS_INGESTED.to_owned(),
        Timestamp::NotAvailable,
        0,
        offset,
        None,
    );
    Delivery { event, message, span: tracing::Span::none() }
}

async fn flush(handler: &ResolveBatch, batch: &mut Vec<Delivery<InteractionEvent>>) -> anyhow::Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    handler.handle(batch).await.map_err(|e| anyhow::anyhow!("the resolver's batch failed: {e:?}"))?;
    batch.clear();
    Ok(())
}

async fn read(pool: &PgPool) -> anyhow::Result<Outcome> {
    let rows: Vec<(Uuid, Option<Uuid>, Json<ResolvedInteraction>)> =
        sqlx::query_as("SELECT interaction_id, contact_id, resolved FROM processed_interactions WHERE tenant_id = $1")
            .bind(TENANT)
            .fetch_all(pool)
            .await
            .context("processed interactions")?;
    let resolved = rows.into_iter().map(|(id, contact, r)| (id, (contact, r.0.resolution))).collect();
    let merged: Vec<(Uuid, Uuid)> =
        sqlx::query_as("SELECT contact_id, merged_into FROM contacts WHERE tenant_id = $1 AND merged_into IS NOT NULL")
            .bind(TENANT)
            .fetch_all(pool)
            .await?;
    let merges: Vec<(Uuid, Uuid)> =
        sqlx::query_as("SELECT survivor_id, merged_id FROM merge_journal WHERE tenant_id = $1 AND unmerged_at IS NULL")
            .bind(TENANT)
            .fetch_all(pool)
            .await?;
    let suggested: Vec<(Uuid, Uuid, Option<String>)> = sqlx::query_as(
        "SELECT contact_a, contact_b, weakness FROM duplicate_suggestions WHERE tenant_id = $1 AND status = 'open'",
    )
    .bind(TENANT)
    .fetch_all(pool)
    .await?;
    let flagged = suggested.iter().filter(|s| s.2.is_some()).map(|s| (s.0, s.1)).collect();
    let identities: Vec<(Uuid, IdentityKind, String, bool)> =
        sqlx::query_as("SELECT contact_id, kind, value, provenance = 'typed' FROM contact_identities WHERE tenant_id = $1")
            .bind(TENANT)
            .fetch_all(pool)
            .await?;
    let names: Vec<(Uuid, Option<String>)> = sqlx::query_as(
        "SELECT contact_id, name FROM contacts WHERE tenant_id = $1 AND merged_into IS NULL AND deleted_at IS NULL",
    )
    .bind(TENANT)
    .fetch_all(pool)
    .await?;
    Ok(Outcome {
        resolved,
        merged_into: merged.into_iter().collect(),
        merges,
        suggested: suggested.into_iter().map(|s| (s.0, s.1)).collect(),
        flagged,
        identities,
        names: names.into_iter().collect(),
    })
}
