//! Statements per interaction, counted by `pg_stat_statements` where the server loads it
//! (`shared_preload_libraries`); where it does not, the benchmark says so and goes on.

use sqlx::PgPool;

/// Statements executed in the benchmark's database so far by the services (the benchmark's
/// own look-ups left out; the background work of the services, such as the outbox relay's
/// polls, counted).
pub async fn count(pool: &PgPool) -> Option<i64> {
    let enabled = sqlx::query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements").execute(pool).await;
    if let Err(error) = enabled {
        tracing::debug!(%error, "pg_stat_statements unavailable");
        return None;
    }
    let row: Result<i64, _> = sqlx::query_scalar(
        "SELECT coalesce(sum(calls), 0)::int8 FROM pg_stat_statements
         WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
           AND query NOT LIKE '%/* bench */%' AND query NOT LIKE '%pg_stat_statements%'",
    )
    .fetch_one(pool)
    .await;
    match row {
        Ok(all) => Some(all),
        Err(error) => {
            tracing::debug!(%error, "pg_stat_statements not loaded");
            None
        }
    }
}

/// Statements per interaction between two counts, as a table cell.
pub fn per_interaction(before: i64, after: i64, n: usize) -> String {
    format!("{:.2} (pg_stat_statements, every statement of the services in the database)", (after - before) as f64 / n as f64)
}

/// The `limit` statements of the services that took the most server time so far (where
/// `pg_stat_statements` is loaded): calls, total and mean time and share, one note each.
pub async fn heaviest(pool: &PgPool, limit: i64) -> Option<Vec<String>> {
    let rows: Vec<(i64, f64, f64, String)> = sqlx::query_as(
        "WITH mine AS (
           SELECT calls, total_exec_time, query FROM pg_stat_statements
           WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
             AND query NOT LIKE '%/* bench */%' AND query NOT LIKE '%pg_stat_statements%')
         SELECT calls, total_exec_time, 100 * total_exec_time / nullif(sum(total_exec_time) OVER (), 0), query
         FROM mine ORDER BY total_exec_time DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await
    .ok()?;
    let mut notes = vec![format!("the {limit} statements that took the most server time (pg_stat_statements):")];
    for (calls, total_ms, share, query) in rows {
        let query: String = query.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(110).collect();
        notes.push(format!(
            "  {share:.0}% {total_ms:.0} ms in {calls} calls ({:.2} ms each): {query}",
            total_ms / calls.max(1) as f64
        ));
    }
    Some(notes)
}
