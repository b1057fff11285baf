//! Sending webhooks over HTTP (closed loop with many connections, or paced at a fixed rate) and
//! watching for their interactions in the services' tables.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use sqlx::PgPool;
use tokio::time::Instant;
use uuid::Uuid;

use super::workload::Webhook;

/// What a closed-loop run of requests got back.
#[derive(Debug, Default)]
pub struct Sent {
    pub accepted: usize,
    /// Answers other than 200 by status, and transport errors under 0.
    pub refused: BTreeMap<u16, usize>,
    pub elapsed: Duration,
    /// Request → response times of accepted requests, sorted.
    pub latencies: Vec<Duration>,
}

/// Posts `hooks` with `connections` requests in flight until all are answered. With `url`, every
/// request goes there instead of its webhook path (the trivial-route baseline, same client).
pub async fn closed_loop(
    client: &reqwest::Client,
    base: &str,
    url: Option<&str>,
    hooks: Arc<Vec<Webhook>>,
    connections: usize,
) -> Sent {
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut workers = Vec::with_capacity(connections);
    for _ in 0..connections {
        let (client, next, hooks) = (client.clone(), Arc::clone(&next), Arc::clone(&hooks));
        let base = base.to_owned();
        let url = url.map(str::to_owned);
        workers.push(tokio::spawn(async move {
            let mut sent = Sent::default();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(hook) = hooks.get(i) else { break };
                let target = url.clone().unwrap_or_else(|| format!("{base}{}", hook.path));
                let began = Instant::now();
                match post(&client, &target, hook).await {
                    Ok(200) => {
                        sent.accepted += 1;
                        sent.latencies.push(began.elapsed());
                    }
                    Ok(status) => *sent.refused.entry(status).or_default() += 1,
                    Err(_) => *sent.refused.entry(0).or_default() += 1,
                }
            }
            sent
        }));
    }
    let mut total = Sent::default();
    for worker in workers {
        if let Ok(sent) = worker.await {
            total.accepted += sent.accepted;
            total.latencies.extend(sent.latencies);
            for (status, n) in sent.refused {
                *total.refused.entry(status).or_default() += n;
            }
        }
    }
    total.elapsed = start.elapsed();
    total.latencies.sort_unstable();
    total
}

async fn post(client: &reqwest::Client, url: &str, hook: &Webhook) -> reqwest::Result<u16> {
    let mut request = client.post(url).body(hook.body.clone());
    for (name, value) in &hook.headers {
        request = request.header(*name, value);
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    // Read the answer so the connection goes back to the pool.
    response.bytes().await?;
    Ok(status)
}

/// Posts `hooks` at `rate` per second (open loop: a slow answer does not delay the next
/// request), at most `connections` in flight; when each request started, `None` if refused.
pub async fn paced(
    client: &reqwest::Client,
    base: &str,
    hooks: Arc<Vec<Webhook>>,
    rate: f64,
    connections: usize,
) -> Vec<Option<Instant>> {
    let started: Arc<Mutex<Vec<Option<Instant>>>> = Arc::new(Mutex::new(vec![None; hooks.len()]));
    let permits = Arc::new(tokio::sync::Semaphore::new(connections));
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(hooks.len());
    for i in 0..hooks.len() {
        tokio::time::sleep_until(start + Duration::from_secs_f64(i as f64 / rate)).await;
        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else { break };
        let (client, hooks, started) = (client.clone(), Arc::clone(&hooks), Arc::clone(&started));
        let url = format!("{base}{}", hooks[i].path);
        tasks.push(tokio::spawn(async move {
            let began = Instant::now();
            if let Ok(200) = post(&client, &url, &hooks[i]).await {
                started.lock().unwrap_or_else(std::sync::PoisonError::into_inner)[i] = Some(began);
            }
            drop(permit);
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    let started = started.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    started.clone()
}

/// Where to look for an interaction.
#[derive(Debug, Clone, Copy)]
pub enum Table {
    /// `resolver.processed_interactions`: the resolver has decided it.
    Resolved,
    /// `timeline.interaction_messages`: the Timeline API shows it.
    Timeline,
}

impl Table {
    fn query(self) -> &'static str {
        match self {
            Table::Resolved => {
                "/* bench */ SELECT interaction_id FROM resolver.processed_interactions WHERE interaction_id = ANY($1)"
            }
            Table::Timeline => "/* bench */ SELECT message_id FROM timeline.interaction_messages WHERE message_id = ANY($1)",
        }
    }
}

/// Polls `table` every `interval` for the oldest `chunk` of `ids` not seen yet (by primary key,
/// so a poll costs the same however large the table grows) until all are seen or `deadline`;
/// when each was first seen.
pub async fn watch(
    pool: &PgPool,
    table: Table,
    ids: &[Uuid],
    interval: Duration,
    chunk: usize,
    deadline: Instant,
) -> anyhow::Result<Vec<Option<Instant>>> {
    let mut seen: Vec<Option<Instant>> = vec![None; ids.len()];
    let mut pending: VecDeque<usize> = (0..ids.len()).collect();
    let index: std::collections::HashMap<Uuid, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    while !pending.is_empty() && Instant::now() < deadline {
        let batch: Vec<Uuid> = pending.iter().take(chunk).map(|&i| ids[i]).collect();
        let found: Vec<Uuid> =
            sqlx::query_scalar(table.query()).bind(&batch).fetch_all(pool).await.with_context(|| format!("polling {table:?}"))?;
        let now = Instant::now();
        for id in found {
            if let Some(&i) = index.get(&id) {
                seen[i].get_or_insert(now);
            }
        }
        pending.retain(|&i| seen[i].is_none());
        if !pending.is_empty() {
            tokio::time::sleep(interval).await;
        }
    }
    Ok(seen)
}

/// The `q` quantile (0..=1) of sorted `values`.
pub fn quantile(values: &[Duration], q: f64) -> Duration {
    if values.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((values.len() as f64 * q).ceil() as usize).clamp(1, values.len());
    values[rank - 1]
}
