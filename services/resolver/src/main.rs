//! `resolver`: identity resolution and the Directory API as its own process.
//! `resolver migrate` applies the schema migrations and exits.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if runtime::service::migrate_requested() {
        return runtime::service::migrate::<resolver::Config>("resolver", resolver::SCHEMA, &resolver::MIGRATOR).await;
    }
    runtime::service::main("resolver", |settings: runtime::Settings<resolver::Config>, shutdown| async move {
        let publisher = runtime::kafka::Publisher::new(&settings.kafka)?;
        resolver::start(&settings, publisher, shutdown).await
    })
    .await
}
