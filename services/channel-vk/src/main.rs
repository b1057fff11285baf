//! `channel-vk`: the VK Callback API adapter as its own process.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    runtime::service::main("channel-vk", |settings: runtime::Settings<channel_vk::Config>, shutdown| async move {
        let publisher = runtime::kafka::Publisher::new(&settings.kafka)?;
        channel_vk::start(&settings.service, publisher, shutdown).await
    })
    .await
}
