//! `channel-email`: the inbound e-mail adapter as its own process.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    runtime::service::main("channel-email", |settings: runtime::Settings<channel_email::Config>, shutdown| async move {
        let publisher = runtime::kafka::Publisher::new(&settings.kafka)?;
        channel_email::start(&settings.service, publisher, shutdown).await
    })
    .await
}
