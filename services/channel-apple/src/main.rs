//! `channel-apple`: the Apple Messages for Business adapter as its own process.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    runtime::service::main("channel-apple", |settings: runtime::Settings<channel_apple::Config>, shutdown| async move {
        let publisher = runtime::kafka::Publisher::new(&settings.kafka)?;
        channel_apple::start(&settings.service, publisher, shutdown).await
    })
    .await
}
