//! `channel-whatsapp`: the WhatsApp Cloud API webhook adapter as its own process.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    runtime::service::main("channel-whatsapp", |settings: runtime::Settings<channel_whatsapp::Config>, shutdown| async move {
        let publisher = runtime::kafka::Publisher::new(&settings.kafka)?;
        channel_whatsapp::start(&settings.service, publisher, shutdown).await
    })
    .await
}
