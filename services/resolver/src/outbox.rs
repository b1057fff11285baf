//! The outbox relay: publishes committed change events in commit order and marks them sent.
//! An advisory lock keeps one relay active per database, so per-contact order holds with
//! several resolver instances. Delivery is at least once (a crash between publish and mark
//! republishes); consumers de-duplicate by `change_id`.

use std::time::Duration;

use runtime::kafka::Publisher;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

/// Arbitrary constant naming the relay's advisory lock.
const RELAY_LOCK: i64 = 0x636f_6e74_6163_7464;
const BATCH: i64 = 500;

pub async fn run(pool: PgPool, publisher: Publisher, poll: Duration, shutdown: CancellationToken) -> anyhow::Result<()> {
    while !shutdown.is_cancelled() {
        match relay_once(&pool, &publisher).await {
            Ok(n) if n as i64 == BATCH => continue,
            Ok(_) => {}
            Err(error) => tracing::warn!(error = format!("{error:#}"), "outbox relay failed, retrying"),
        }
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(poll) => {},
        }
    }
    Ok(())
}

/// Publishes one batch of pending events; returns how many were sent.
pub async fn relay_once(pool: &PgPool, publisher: &Publisher) -> anyhow::Result<usize> {
    let mut tx = pool.begin().await?;
    let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)").bind(RELAY_LOCK).fetch_one(&mut *tx).await?;
    if !locked {
        return Ok(0);
    }
    let rows: Vec<(i64, String, String, String, Option<serde_json::Value>)> =
        sqlx::query_as("SELECT id, topic, key, event_type, payload FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT $1")
            .bind(BATCH)
            .fetch_all(&mut *tx)
            .await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let sends = rows.iter().map(|(_, topic, key, event_type, payload)| async move {
        match payload {
            Some(payload) => publisher.publish(topic, key, event_type, payload).await,
            None => publisher.tombstone(topic, key).await,
        }
    });
    for result in futures::future::join_all(sends).await {
        result?;
    }
    let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
    sqlx::query("UPDATE outbox SET published_at = now() WHERE id = ANY($1)").bind(&ids).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(ids.len())
}
