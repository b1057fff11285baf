//! `timeline`: the interaction history and Timeline API as its own process.
//! `timeline migrate` applies the schema migrations and exits.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if runtime::service::migrate_requested() {
        return runtime::service::migrate::<timeline::Config>("timeline", timeline::SCHEMA, &timeline::MIGRATOR).await;
    }
    runtime::service::main("timeline", |settings: runtime::Settings<timeline::Config>, shutdown| async move {
        let publisher = runtime::kafka::Publisher::new(&settings.kafka)?;
        timeline::start(&settings, publisher, shutdown).await
    })
    .await
}
