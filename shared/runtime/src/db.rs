//! PostgreSQL: one pool per service, confined to the service's own schema (`search_path`), with
//! the service's embedded migrations applied at start. The database is created when missing.
//! TLS follows the URL's `sslmode` (through the system OpenSSL), with the CA from
//! `database.ssl_root_cert` or the URL's `sslrootcert`.

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use secrecy::ExposeSecret;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};

use crate::settings::DatabaseSettings;

/// Connects to the service's schema, creating database and schema when missing, and migrates.
pub async fn connect(settings: &DatabaseSettings, schema: &str, migrator: &Migrator) -> anyhow::Result<PgPool> {
    let options = connect_options(settings)?;
    create_database_if_missing(&options).await?;
    create_schema_if_missing(&options, schema).await?;
    // `force_custom_plan`: every execution of a prepared statement is planned for its own
    // parameters. After five executions PostgreSQL may otherwise switch to a generic plan costed
    // while the tables were small and keep it as they grow (an identity look-up then read
    // thousands of index rows per call); planning these short statements costs microseconds.
    let pool = PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options.options([("search_path", schema), ("plan_cache_mode", "force_custom_plan")]))
        .await
        .with_context(|| format!("connecting to schema {schema}"))?;
    migrator.run(&pool).await.with_context(|| format!("migrating schema {schema}"))?;
    analyze(&pool, schema).await?;
    Ok(pool)
}

/// `ANALYZE` of every table of `schema`: a migration may have added columns, indexes or data
/// the planner has no statistics for, and nothing else may collect them (autovacuum can be off,
/// and it waits for enough changed rows).
pub async fn analyze(pool: &PgPool, schema: &str) -> anyhow::Result<()> {
    let tables: Vec<String> = sqlx::query_scalar!(
        r#"SELECT format('%I.%I', schemaname, tablename) AS "table!" FROM pg_tables WHERE schemaname = $1 ORDER BY 1"#,
        schema
    )
    .fetch_all(pool)
    .await
    .with_context(|| format!("listing the tables of {schema}"))?;
    if !tables.is_empty() {
        // Table names cannot be bound parameters: they come quoted (`%I`) from the catalog above.
        sqlx::query(&format!("ANALYZE {}", tables.join(", ")))
            .execute(pool)
            .await
            .with_context(|| format!("analyzing schema {schema}"))?;
    }
    Ok(())
}

/// The connection options of `settings`: the URL (with its `sslmode`) plus the CA setting.
pub fn connect_options(settings: &DatabaseSettings) -> anyhow::Result<PgConnectOptions> {
    // The error would quote the URL, password included: say what is wrong, not what it is.
    let options = PgConnectOptions::from_str(settings.url.expose_secret())
        .map_err(|_| anyhow::anyhow!("DATABASE_URL (database.url) is not a valid PostgreSQL URL"))?;
    Ok(match &settings.ssl_root_cert {
        Some(ca) => options.ssl_root_cert(ca),
        None => options,
    })
}

async fn create_database_if_missing(options: &PgConnectOptions) -> anyhow::Result<()> {
    let database = options.get_database().unwrap_or("postgres").to_owned();
    let server = format!("{}:{}", options.get_host(), options.get_port());
    let mut admin = options.clone().database("postgres").connect().await.with_context(|| {
        format!("connecting to PostgreSQL at {server} (is it running, and do DATABASE_URL and its sslmode fit it?)")
    })?;
    let exists = sqlx::query_scalar!(r#"SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS "exists!""#, database)
        .fetch_one(&mut admin)
        .await?;
    if !exists {
        // Identifiers cannot be bound parameters: the name is quoted with `quote_ident`.
        let created = sqlx::query(&format!("CREATE DATABASE {}", quote_ident(&database))).execute(&mut admin).await;
        match created {
            Ok(_) => tracing::info!(%database, "created database"),
            // Another service created it at the same moment.
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P04") => {}
            Err(e) => return Err(e).with_context(|| format!("creating database {database}")),
        }
    }
    admin.close().await?;
    Ok(())
}

async fn create_schema_if_missing(options: &PgConnectOptions, schema: &str) -> anyhow::Result<()> {
    let mut conn = options.connect().await.context("connecting to PostgreSQL")?;
    // Identifiers cannot be bound parameters: the name is quoted with `quote_ident`.
    let created = sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS {}", quote_ident(schema))).execute(&mut conn).await;
    match created {
        Ok(_) => {}
        // Concurrent CREATE SCHEMA IF NOT EXISTS can still race on the catalog's unique index.
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("23505") => {}
        Err(e) => return Err(e).with_context(|| format!("creating schema {schema}")),
    }
    conn.close().await?;
    Ok(())
}

/// Quotes an SQL identifier (database and schema names come from configuration).
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Whether the database answers within two seconds (readiness, and the consumer loop's check
/// before it spends retry budget).
pub async fn ping(pool: &PgPool) -> bool {
    let query = sqlx::query_scalar!(r#"SELECT 1 AS "ping!""#).fetch_one(pool);
    matches!(tokio::time::timeout(Duration::from_secs(2), query).await, Ok(Ok(_)))
}
