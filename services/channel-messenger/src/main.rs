//! `channel-messenger`: the Messenger webhook adapter as its own process.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    runtime::service::main("channel-messenger", |settings: runtime::Settings<channel_messenger::Config>, shutdown| async move {
        let publisher = runtime::kafka::Publisher::new(&settings.kafka)?;
        channel_messenger::start(&settings.service, publisher, shutdown).await
    })
    .await
}
