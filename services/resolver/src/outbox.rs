//! The outbox relay: publishes committed change events and marks each one as soon as Kafka has
//! it. An advisory lock keeps one relay active per database.
//!
//! - **Order per contact.** Events of one key (`tenant|contact_id`) are published one after the
//!   other, in commit order; different keys go out concurrently. A key whose event fails
//!   transiently stops for this round and resumes with that event next round, so a later event
//!   of the same contact never overtakes an earlier one (on the compacted `contacts.snapshot`
//!   topic the last card must win).
//! - **Never blocked by one event.** An event Kafka refuses for good (too large, invalid) is
//!   quarantined with the error — logged, counted in `outbox_quarantined_total`, listed by
//!   `GET /v1/outbox/quarantined` — and the relay goes on.
//! - **Never republished.** A published row is marked in the same round, keeping only its
//!   metadata (the payload, which names the person, is cleared), and pruned after the
//!   retention. Delivery is still at least once across a crash between the acknowledgement and
//!   the mark; consumers de-duplicate by `change_id`.

use std::collections::BTreeMap;
use std::time::Duration;

use contracts::api::directory::QuarantinedEvent;
use runtime::http::metrics as names;
use runtime::kafka::producer::PublishError;
use runtime::kafka::Publisher;
use sqlx::{PgConnection, PgPool};
use tokio_util::sync::CancellationToken;

/// Arbitrary constant naming the relay's advisory lock.
const RELAY_LOCK: i64 = 0x636f_6e74_6163_7464;
const BATCH: i64 = 500;

struct Pending {
    id: i64,
    topic: String,
    key: String,
    event_type: String,
    payload: Option<serde_json::Value>,
}

/// What one round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    pub published: usize,
    pub quarantined: usize,
    /// Events left pending after a transient failure (retried next round).
    pub deferred: usize,
}

impl Round {
    fn handled(&self) -> usize {
        self.published + self.quarantined + self.deferred
    }
}

pub async fn run(
    pool: PgPool,
    publisher: Publisher,
    poll: Duration,
    retention: Duration,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let mut last_prune = tokio::time::Instant::now();
    while !shutdown.is_cancelled() {
        match relay_once(&pool, &publisher).await {
            // A full batch with nothing deferred: more are likely waiting.
            Ok(round) if round.handled() as i64 == BATCH && round.deferred == 0 => continue,
            Ok(_) => {}
            Err(error) => tracing::warn!(error = format!("{error:#}"), "outbox relay failed, retrying"),
        }
        if last_prune.elapsed() >= Duration::from_secs(60) {
            last_prune = tokio::time::Instant::now();
            if let Err(error) = prune(&pool, retention).await {
                tracing::warn!(error = format!("{error:#}"), "pruning the outbox failed");
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(poll) => {},
        }
    }
    Ok(())
}

/// Publishes one batch of pending events.
pub async fn relay_once(pool: &PgPool, publisher: &Publisher) -> anyhow::Result<Round> {
    let mut tx = pool.begin().await?;
    let locked =
        sqlx::query_scalar!(r#"SELECT pg_try_advisory_xact_lock($1) AS "locked!""#, RELAY_LOCK).fetch_one(&mut *tx).await?;
    if !locked {
        return Ok(Round::default());
    }
    let rows = sqlx::query_as!(
        Pending,
        "SELECT id, topic, key, event_type, payload FROM outbox
         WHERE published_at IS NULL AND quarantined_at IS NULL ORDER BY id LIMIT $1",
        BATCH,
    )
    .fetch_all(&mut *tx)
    .await?;
    if rows.is_empty() {
        return Ok(Round::default());
    }
    let mut by_key: BTreeMap<&str, Vec<&Pending>> = BTreeMap::new();
    for row in &rows {
        by_key.entry(row.key.as_str()).or_default().push(row);
    }
    let outcomes = futures::future::join_all(by_key.into_values().map(|events| publish_in_order(publisher, events))).await;

    let mut round = Round::default();
    let mut published = Vec::new();
    let mut quarantined = Vec::new();
    for outcome in outcomes {
        published.extend(outcome.published);
        quarantined.extend(outcome.quarantined);
        round.deferred += outcome.deferred;
    }
    round.published = published.len();
    round.quarantined = quarantined.len();
    mark(&mut tx, &published, &quarantined).await?;
    tx.commit().await?;
    metrics::counter!(names::OUTBOX_PUBLISHED).increment(round.published as u64);
    if round.quarantined > 0 {
        metrics::counter!(names::OUTBOX_QUARANTINED).increment(round.quarantined as u64);
    }
    Ok(round)
}

#[derive(Default)]
struct KeyOutcome {
    published: Vec<i64>,
    quarantined: Vec<(i64, String)>,
    deferred: usize,
}

/// Publishes the events of one key in order; stops at the first transient failure.
async fn publish_in_order(publisher: &Publisher, events: Vec<&Pending>) -> KeyOutcome {
    let mut outcome = KeyOutcome::default();
    for (i, event) in events.iter().enumerate() {
        let sent = match &event.payload {
            Some(payload) => publisher.publish(&event.topic, &event.key, &event.event_type, payload).await,
            None => publisher.tombstone(&event.topic, &event.key).await,
        };
        match sent {
            Ok(_) => outcome.published.push(event.id),
            Err(error) if error.is_permanent() => {
                tracing::error!(
                    outbox_id = event.id,
                    topic = %event.topic,
                    key = %event.key,
                    event_type = %event.event_type,
                    %error,
                    "outbox event quarantined: Kafka refuses it for good"
                );
                outcome.quarantined.push((event.id, error.to_string()));
            }
            Err(error) => {
                log_deferred(event, &error);
                outcome.deferred = events.len() - i;
                break;
            }
        }
    }
    outcome
}

fn log_deferred(event: &Pending, error: &PublishError) {
    tracing::warn!(outbox_id = event.id, key = %event.key, %error, "outbox event not acknowledged; retried next round");
}

async fn mark(conn: &mut PgConnection, published: &[i64], quarantined: &[(i64, String)]) -> sqlx::Result<()> {
    if !published.is_empty() {
        sqlx::query!("UPDATE outbox SET published_at = now(), payload = NULL WHERE id = ANY($1)", published)
            .execute(&mut *conn)
            .await?;
    }
    if !quarantined.is_empty() {
        let (ids, errors): (Vec<i64>, Vec<String>) = quarantined.iter().cloned().unzip();
        sqlx::query!(
            "UPDATE outbox o SET quarantined_at = now(), error = q.error
             FROM unnest($1::int8[], $2::text[]) AS q(id, error) WHERE o.id = q.id",
            &ids,
            &errors,
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Deletes published rows older than `retention`.
pub async fn prune(pool: &PgPool, retention: Duration) -> sqlx::Result<u64> {
    let seconds = retention.as_secs_f64();
    let done =
        sqlx::query!("DELETE FROM outbox WHERE published_at < now() - make_interval(secs => $1)", seconds).execute(pool).await?;
    Ok(done.rows_affected())
}

/// Quarantined events of `tenant` (keys are `tenant|contact_id`), oldest first.
pub async fn quarantined(pool: &PgPool, tenant: &str) -> sqlx::Result<Vec<QuarantinedEvent>> {
    sqlx::query_as!(
        QuarantinedEvent,
        r#"SELECT id, topic, key, event_type, error, quarantined_at AS "quarantined_at!", octet_length(payload::text) AS size_bytes
         FROM outbox WHERE quarantined_at IS NOT NULL AND starts_with(key, $1 || '|') ORDER BY id LIMIT 1000"#,
        tenant,
    )
    .fetch_all(pool)
    .await
}

/// Puts a quarantined event of `tenant` back in the queue (after the broker's limits were
/// raised, say); true when there was one.
pub async fn requeue(pool: &PgPool, tenant: &str, id: i64) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "UPDATE outbox SET quarantined_at = NULL, error = NULL
         WHERE id = $1 AND quarantined_at IS NOT NULL AND starts_with(key, $2 || '|')",
        id,
        tenant,
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}
