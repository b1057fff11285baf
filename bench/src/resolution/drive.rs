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
use resolver::resolution::batch;
use resolver::resolution::rules::{AutoMerge, TenantRules};
use runtime::kafka::{BatchHandler, Delivery, Publisher};
use sqlx::types::Json;
use sqlx::PgPool;
use testkit::TestKafka;
use uuid::Uuid;

use super::generate::{LabelledSet, LOGIN_PREFIX, TENANT};

/// Interactions per batch, as the resolver's consumer takes them by default.
pub const BATCH: usize = 64;

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
    /// When each identifier was last seen on its contact, and each contact's last interaction.
    pub last_seen: Vec<String>,
    /// The `contacts.changes` events (contact, kind, fields, reason, related), in outbox order.
    pub changes: Vec<String>,
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

impl Outcome {
    /// The outcome with every contact named by the interaction that created it, as sorted
    /// lines: two runs that decided alike give equal lines, whatever ids they generated.
    pub fn canonical(&self) -> Vec<String> {
        let labels: HashMap<String, String> = self
            .resolved
            .iter()
            .filter(|(_, (_, resolution))| resolution.created_contact)
            .filter_map(|(id, (contact, _))| Some((contact.as_ref()?.to_string(), format!("contact-of-{id}"))))
            .collect();
        let label = |line: String| {
            labels.iter().fold(line, |line, (id, label)| if line.contains(id) { line.replace(id, label) } else { line })
        };
        let pair = |(a, b): &(Uuid, Uuid)| {
            let mut pair = [label(a.to_string()), label(b.to_string())];
            pair.sort();
            pair.join(" ")
        };
        let mut lines: Vec<String> = self
            .resolved
            .iter()
            .map(|(id, (contact, resolution))| {
                label(format!("interaction {id}: {contact:?} {}", serde_json::to_string(resolution).unwrap_or_default()))
            })
            .chain(
                self.identities
                    .iter()
                    .map(|(c, kind, value, typed)| label(format!("identity {c} {kind:?} {value} typed={typed}"))),
            )
            .chain(self.names.iter().map(|(c, name)| label(format!("name {c} {name:?}"))))
            .chain(self.merges.iter().map(|(survivor, merged)| label(format!("merge {merged} into {survivor}"))))
            .chain(self.last_seen.iter().map(|line| label(line.clone())))
            .chain(self.changes.iter().enumerate().map(|(n, line)| label(format!("change {n:05} {line}"))))
            .chain(self.suggested.iter().map(|p| format!("suggested {}", pair(p))))
            .chain(self.flagged.iter().map(|p| format!("flagged {}", pair(p))))
            .collect();
        lines.sort();
        lines
    }
}

/// How the batches are resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    /// The consumer's handler: set-based, one by one when another resolver raced it.
    Consumer,
    /// Set-based only: a batch that would need the fallback fails.
    SetBased,
    /// Every interaction on its own (`resolve_one_by_one`): the reference set-based must equal.
    OneByOne,
}

/// Resolves `set` for a tenant whose policy is `auto_merge`, in a database of its own (dropped
/// at the end).
pub async fn resolve(kafka: &TestKafka, set: &LabelledSet, auto_merge: AutoMerge) -> anyhow::Result<Outcome> {
    resolve_by(kafka, set, auto_merge, Path::Consumer).await
}

/// [`resolve`] along `path`.
pub async fn resolve_by(kafka: &TestKafka, set: &LabelledSet, auto_merge: AutoMerge, path: Path) -> anyhow::Result<Outcome> {
    let database = testkit::fresh_database();
    let settings = kafka.settings_for(&database, resolver::Config::default());
    let pool = runtime::db::connect(&settings.database, resolver::SCHEMA, &resolver::MIGRATOR).await?;
    let outcome = resolve_in(&pool, kafka, set, auto_merge, path).await;
    pool.close().await;
    outcome
}

async fn resolve_in(
    pool: &PgPool,
    kafka: &TestKafka,
    set: &LabelledSet,
    auto_merge: AutoMerge,
    path: Path,
) -> anyhow::Result<Outcome> {
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
    let flush = |batch: &mut Vec<Delivery<InteractionEvent>>| flush(&handler, path, std::mem::take(batch));

    let mut by_person: HashMap<usize, Vec<Uuid>> = HashMap::new();
    let mut batch: Vec<Delivery<InteractionEvent>> = Vec::with_capacity(BATCH);
    for (offset, labelled) in set.interactions.iter().enumerate() {
        let mut event = labelled.event.clone();
        if event.body.identities.iter().any(is_login) {
            // The site sends the contact id of its logged-in customer: what the directory
            // resolved for them so far (their first interaction with a contact).
            flush(&mut batch).await?;
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
            flush(&mut batch).await?;
        }
    }
    flush(&mut batch).await?;
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

async fn flush(handler: &ResolveBatch, path: Path, batch: Vec<Delivery<InteractionEvent>>) -> anyhow::Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    match path {
        Path::Consumer => handler.handle(&batch).await.map_err(|e| anyhow::anyhow!("the resolver's batch failed: {e:?}")),
        Path::SetBased | Path::OneByOne => {
            let items: Vec<batch::Item> = batch.iter().map(|d| (&d.event, &d.span)).collect();
            let mut tx = handler.pool.begin().await?;
            if path == Path::SetBased {
                batch::resolve(&mut tx, &handler.defaults, &items).await?;
            } else {
                batch::resolve_one_by_one(&mut tx, &handler.defaults, &items).await?;
            }
            Ok(tx.commit().await?)
        }
    }
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
    let last_seen: Vec<String> = sqlx::query_scalar(
        "SELECT format('seen %s %s %s %s', contact_id, kind, value, last_seen_at) FROM contact_identities WHERE tenant_id = $1
         UNION ALL
         SELECT format('last interaction %s %s', contact_id, last_interaction_at) FROM contacts WHERE tenant_id = $1",
    )
    .bind(TENANT)
    .fetch_all(pool)
    .await?;
    let changes: Vec<String> = sqlx::query_scalar(
        "SELECT format('%s %s %s %s %s', payload->>'contact_id', payload->>'kind', payload->'changes', payload->>'reason',
                       payload->>'related_contact_id')
         FROM outbox WHERE topic = $1 ORDER BY id",
    )
    .bind(contracts::topics::CONTACTS_CHANGES)
    .fetch_all(pool)
    .await?;
    Ok(Outcome {
        last_seen,
        changes,
        resolved,
        merged_into: merged.into_iter().collect(),
        merges,
        suggested: suggested.into_iter().map(|s| (s.0, s.1)).collect(),
        flagged,
        identities,
        names: names.into_iter().collect(),
    })
}
