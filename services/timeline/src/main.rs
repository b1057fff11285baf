//! `timeline`: the interaction history and Timeline API as its own process.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    runtime::service::main("timeline", |settings: runtime::Settings<timeline::Config>, shutdown| async move {
        let publisher = runtime::kafka::Publisher::new(&settings.kafka)?;
        timeline::start(&settings, publisher, shutdown).await
    })
    .await
}
