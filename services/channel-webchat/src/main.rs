//! `channel-webchat`: the web chat adapter as its own process.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    runtime::service::main("channel-webchat", |settings: runtime::Settings<channel_webchat::Config>, shutdown| async move {
        let publisher = runtime::kafka::Publisher::new(&settings.kafka)?;
        channel_webchat::start(&settings.service, publisher, shutdown).await
    })
    .await
}
