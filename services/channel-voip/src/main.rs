//! `channel-voip`: the IP telephony adapter as its own process.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    runtime::service::main("channel-voip", |settings: runtime::Settings<channel_voip::Config>, shutdown| async move {
        let publisher = runtime::kafka::Publisher::new(&settings.kafka)?;
        channel_voip::start(&settings.service, publisher, shutdown).await
    })
    .await
}
