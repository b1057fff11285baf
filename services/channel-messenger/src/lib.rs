//! Facebook Messenger channel adapter: `GET /webhooks/messenger` answers Meta's verification
//! handshake, `POST /webhooks/messenger` verifies `X-Hub-Signature-256`, normalizes messages,
//! echoes and postbacks, and publishes them to `interactions.ingested` before answering 200.

pub mod config;
pub mod mapping;
pub mod payload;

use anyhow::Context;
use channel::{meta, ChannelAdapter, Kit, Parsed, RawRequest, WebhookError};
use contracts::Channel;
use runtime::kafka::Publisher;
use runtime::shutdown::CancellationToken;
use runtime::Running;
use secrecy::{ExposeSecret, SecretString};

pub use config::Config;

/// The webhook path (GET handshake and POST events).
pub const WEBHOOK_PATH: &str = "/webhooks/messenger";

pub struct Messenger {
    app_secret: SecretString,
}

impl ChannelAdapter for Messenger {
    const CHANNEL: Channel = Channel::Messenger;

    fn verify(&self, request: &RawRequest) -> Result<(), WebhookError> {
        meta::verify_signature(self.app_secret.expose_secret().as_bytes(), request)
    }

    fn parse(&self, request: &RawRequest) -> Result<Parsed, WebhookError> {
        let notification: payload::Notification =
            serde_json::from_slice(&request.body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
        if notification.object != "page" {
            return Err(WebhookError::Malformed(format!("expected object \"page\", got {:?}", notification.object)));
        }
        Ok(Parsed::Interactions(mapping::interactions(notification)))
    }
}

/// Builds the router of the adapter.
pub fn router(config: &Config, publisher: Publisher) -> anyhow::Result<axum::Router> {
    let app_secret = config.app_secret.clone().context("messenger: app_secret is required")?;
    let verify_token = config.verify_token.clone().context("messenger: verify_token is required")?;
    let kit = Kit {
        adapter: Messenger { app_secret },
        accounts: config.pages.clone(),
        publisher,
        body_limit: config.http.body_limit_bytes,
    };
    Ok(channel::webhook_router(WEBHOOK_PATH, kit).route(WEBHOOK_PATH, meta::verification(verify_token)))
}

/// Starts the adapter's HTTP server.
pub async fn start(config: &Config, publisher: Publisher, shutdown: CancellationToken) -> anyhow::Result<Running> {
    channel::serve("channel-messenger", &config.http, router(config, publisher.clone())?, publisher, shutdown).await
}

#[cfg(test)]
mod properties;
