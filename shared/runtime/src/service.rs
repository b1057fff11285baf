//! A started service: its HTTP address and the tasks that run until shutdown.

use std::net::SocketAddr;

use tokio::task::JoinSet;

/// Handle on a started service. Dropping it does not stop the tasks; cancel the shutdown token.
pub struct Running {
    pub name: &'static str,
    pub http_addr: Option<SocketAddr>,
    tasks: JoinSet<anyhow::Result<()>>,
}

impl Running {
    pub fn new(name: &'static str) -> Self {
        Self { name, http_addr: None, tasks: JoinSet::new() }
    }

    pub fn with_http(mut self, addr: SocketAddr) -> Self {
        self.http_addr = Some(addr);
        self
    }

    pub fn spawn<F>(&mut self, task: F)
    where
        F: std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        self.tasks.spawn(task);
    }

    /// Moves another service's tasks into this one (the all-in-one launcher).
    /// Aborting this handle aborts the absorbed tasks too (a dropped `JoinSet` aborts its tasks).
    pub fn absorb(&mut self, other: Running) {
        self.tasks.spawn(other.wait());
    }

    /// Waits for every task; the first failure is returned after the rest have stopped.
    pub async fn wait(mut self) -> anyhow::Result<()> {
        let mut first_error = None;
        while let Some(joined) = self.tasks.join_next().await {
            let result = joined.map_err(anyhow::Error::from).and_then(|r| r);
            if let Err(error) = result {
                tracing::error!(service = self.name, error = format!("{error:#}"), "task failed");
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Aborts every task at once, as a crash would (tests use it to kill a service mid-batch).
    pub fn abort(&mut self) {
        self.tasks.abort_all();
    }
}

/// The body of every service binary's `main`: settings, telemetry, start, run until SIGTERM.
pub async fn main<S, F, Fut>(name: &'static str, start: F) -> anyhow::Result<()>
where
    S: serde::de::DeserializeOwned + Default,
    F: FnOnce(crate::Settings<S>, tokio_util::sync::CancellationToken) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Running>>,
{
    let settings = crate::Settings::<S>::load_from_env()?;
    let _telemetry = crate::telemetry::init(name, &settings.telemetry)?;
    let shutdown = crate::shutdown::on_signal();
    let running = start(settings, shutdown.clone()).await?;
    tracing::info!(service = name, http = ?running.http_addr, "started");
    let result = running.wait().await;
    tracing::info!(service = name, "stopped");
    result
}

/// `<service> migrate`: applies the service's migrations to its schema and exits (the
/// deployment's migration job runs it before new versions roll out).
pub async fn migrate<S>(name: &'static str, schema: &str, migrator: &sqlx::migrate::Migrator) -> anyhow::Result<()>
where
    S: serde::de::DeserializeOwned + Default,
{
    let settings = crate::Settings::<S>::load_from_env()?;
    let _telemetry = crate::telemetry::init(name, &settings.telemetry)?;
    let pool = crate::db::connect(&settings.database, schema, migrator).await?;
    pool.close().await;
    tracing::info!(service = name, schema, "migrations applied");
    Ok(())
}

/// Whether the process was started as `<service> migrate`.
pub fn migrate_requested() -> bool {
    std::env::args().nth(1).as_deref() == Some("migrate")
}
