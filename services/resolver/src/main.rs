//! `resolver`: identity resolution and the Directory API as its own process.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    runtime::service::main("resolver", |settings: runtime::Settings<resolver::Config>, shutdown| async move {
        let publisher = runtime::kafka::Publisher::new(&settings.kafka)?;
        resolver::start(&settings, publisher, shutdown).await
    })
    .await
}
