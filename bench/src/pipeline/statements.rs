//! Statements per interaction, counted by `pg_stat_statements` where the server loads it
//! (`shared_preload_libraries`); where it does not, the benchmark says so and goes on.

use sqlx::PgPool;

/// One statement of the services, as `pg_stat_statements` has accumulated it so far.
struct Statement {
    calls: i64,
    total_ms: f64,
    query: String,
}

/// Every statement the services executed in the benchmark's database so far (the benchmark's
/// own look-ups left out; the background work of the services, such as the outbox relay's
/// polls, counted); `None` where `pg_stat_statements` is not loaded.
async fn services_statements(pool: &PgPool) -> Option<Vec<Statement>> {
    let enabled = sqlx::query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements").execute(pool).await;
    if let Err(error) = enabled {
        tracing::debug!(%error, "pg_stat_statements unavailable");
        return None;
    }
    let rows: Result<Vec<(i64, f64, String)>, _> = sqlx::query_as(
        "SELECT calls, total_exec_time, query FROM pg_stat_statements
         WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
           AND query NOT LIKE '%/* bench */%' AND query NOT LIKE '%pg_stat_statements%'",
    )
    .fetch_all(pool)
    .await;
    match rows {
        Ok(rows) => Some(rows.into_iter().map(|(calls, total_ms, query)| Statement { calls, total_ms, query }).collect()),
        Err(error) => {
            tracing::debug!(%error, "pg_stat_statements not loaded");
            None
        }
    }
}

/// Statements executed by the services so far.
pub async fn count(pool: &PgPool) -> Option<i64> {
    Some(services_statements(pool).await?.iter().map(|s| s.calls).sum())
}

/// Statements per interaction between two counts, as a table cell.
pub fn per_interaction(before: i64, after: i64, n: usize) -> String {
    format!("{:.2} (pg_stat_statements, every statement of the services in the database)", (after - before) as f64 / n as f64)
}

/// The `limit` statements of the services that took the most server time so far: calls, total
/// and mean time and share, one note each.
pub async fn heaviest(pool: &PgPool, limit: usize) -> Option<Vec<String>> {
    let mut statements = services_statements(pool).await?;
    let all_ms: f64 = statements.iter().map(|s| s.total_ms).sum();
    statements.sort_by(|a, b| b.total_ms.total_cmp(&a.total_ms));
    let mut notes = vec![format!("the {limit} statements that took the most server time (pg_stat_statements):")];
    for Statement { calls, total_ms, query } in statements.into_iter().take(limit) {
        let query: String = query.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(110).collect();
        notes.push(format!(
            "  {:.0}% {total_ms:.0} ms in {calls} calls ({:.2} ms each): {query}",
            100.0 * total_ms / all_ms.max(f64::EPSILON),
            total_ms / calls.max(1) as f64
        ));
    }
    Some(notes)
}
