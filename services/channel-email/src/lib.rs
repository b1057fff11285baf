//! Inbound e-mail channel adapter: `POST /webhooks/email` takes one raw RFC 5322 message
//! (`Content-Type: message/rfc822`) as an inbound mail relay delivers it, authenticates the relay
//! (bearer token or body HMAC, see [`verify`]), maps the recipient mailbox to a tenant and
//! publishes the message to `interactions.ingested` before answering 200.
//!
//! The relay should retry on any non-2xx answer except 400 (not a message) and 403 (its
//! credentials, or no tenant owns the mailbox: one answer, so mailboxes cannot be probed); ids
//! are deterministic, so retries are idempotent.

pub mod config;
pub mod mapping;
pub mod payload;
pub mod routing;
pub mod verify;

use channel::{BodyKind, ChannelAdapter, Kit, Parsed, RawRequest, WebhookError};
use contracts::Channel;
use runtime::kafka::Publisher;
use runtime::shutdown::CancellationToken;
use runtime::Running;

pub use config::Config;

/// The webhook path the relay posts raw messages to.
pub const WEBHOOK_PATH: &str = "/webhooks/email";

pub struct Email {
    credentials: verify::Credentials,
    mailboxes: routing::Mailboxes,
}

impl ChannelAdapter for Email {
    const CHANNEL: Channel = Channel::Email;
    const BODY: BodyKind = BodyKind::Binary;

    fn verify(&self, request: &RawRequest) -> Result<(), WebhookError> {
        self.credentials.verify(request)
    }

    fn parse(&self, request: &RawRequest) -> Result<Parsed, WebhookError> {
        Ok(Parsed::Interactions(vec![parse(&request.body, &self.mailboxes)?]))
    }
}

/// Normalizes one raw message (the adapter's whole parsing path, without HTTP).
pub fn parse(raw: &[u8], mailboxes: &routing::Mailboxes) -> Result<channel::AccountInteraction, WebhookError> {
    let mail = payload::InboundMail::try_from(raw)?;
    Ok(mapping::interaction(mail, mailboxes))
}

/// Builds the router of the adapter.
pub fn router(config: &Config, publisher: Publisher) -> anyhow::Result<axum::Router> {
    let credentials =
        verify::Credentials { relay_token: config.relay_token.clone(), signing_secret: config.signing_secret.clone() };
    anyhow::ensure!(
        credentials.relay_token.is_some() || credentials.signing_secret.is_some(),
        "email: relay_token or signing_secret is required"
    );
    let mailboxes = routing::Mailboxes::new(&config.mailboxes)?;
    let kit = Kit {
        accounts: mailboxes.accounts().clone(),
        adapter: Email { credentials, mailboxes },
        publisher,
        body_limit: config.http.body_limit_bytes,
    };
    Ok(channel::webhook_router(WEBHOOK_PATH, kit))
}

/// Starts the adapter's HTTP server.
pub async fn start(config: &Config, publisher: Publisher, shutdown: CancellationToken) -> anyhow::Result<Running> {
    channel::serve("channel-email", &config.http, router(config, publisher.clone())?, publisher, shutdown).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn publisher() -> Publisher {
        let settings = runtime::settings::KafkaSettings { brokers: "127.0.0.1:9".into(), ..Default::default() };
        Publisher::new(&settings).expect("a producer needs no broker to be created")
    }

    #[test]
    fn the_router_needs_a_relay_credential() {
        assert!(router(&Config::default(), publisher()).is_err());
        let config = Config { relay_token: Some("t".into()), ..Config::default() };
        assert!(router(&config, publisher()).is_ok());
    }

    #[test]
    fn configured_mailboxes_are_matched_case_insensitively() {
        let mailboxes =
            routing::Mailboxes::new(&channel::AccountMap([("Podpora@ACME.cz".into(), "acme".into())].into())).expect("valid");
        let got = parse(b"From: a@b.cz\nTo: PODPORA@acme.CZ\n\nx", &mailboxes).expect("a message");
        assert_eq!(mailboxes.accounts().tenant_of(&got.account), Some("acme"));
    }

    /// Header names the parser and the mapping treat specially, and arbitrary ones.
    fn header_name() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::sample::select(vec![
                "From",
                "To",
                "Cc",
                "Delivered-To",
                "X-Original-To",
                "Subject",
                "Date",
                "Message-ID",
                "References",
                "In-Reply-To",
                "Reply-To",
                "Content-Type",
                "Content-Transfer-Encoding",
                "Content-Disposition",
                "Auto-Submitted",
                "Precedence",
                "X-Autoreply",
            ])
            .prop_map(str::to_owned),
            "[A-Za-z-]{1,20}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn arbitrary_bytes_never_panic(raw in proptest::collection::vec(any::<u8>(), 0..4096)) {
            let _ = parse(&raw, &routing::Mailboxes::default());
        }

        #[test]
        fn arbitrary_header_like_text_never_panics(
            headers in proptest::collection::vec((header_name(), "[ -~=?<>@;\"\t]{0,80}"), 0..12),
            body in "(?s).{0,400}",
        ) {
            let mut raw = String::from("From: a@b.cz\n");
            for (name, value) in headers {
                raw.push_str(&format!("{name}: {value}\n"));
            }
            raw.push('\n');
            raw.push_str(&body);
            let _ = parse(raw.as_bytes(), &routing::Mailboxes::default());
        }
    }
}

#[cfg(test)]
mod properties;
