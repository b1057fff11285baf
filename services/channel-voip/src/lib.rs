//! IP telephony channel adapter. Two sources of call events:
//! - `POST /webhooks/voip/twilio`: Twilio call status callbacks (form-encoded), authenticated by
//!   `X-Twilio-Signature`;
//! - `POST /webhooks/voip/cdr`: call detail records from a SIP PBX — JSON (Asterisk or FreeSWITCH
//!   field names), Asterisk `cdr_csv`/`cdr_custom` CSV lines, FreeSWITCH `mod_xml_cdr` XML, as the
//!   `Content-Type` says ([`payload`]) — authenticated by `X-Webhook-Signature: sha256=<hex>`,
//!   read per PBX (`X-PBX-Id`, [`pbx`]).
//!
//! Every state of a call is published to `interactions.ingested` as the same interaction (see
//! [`mapping`]) before the provider gets its 200.

pub mod config;
pub mod mapping;
pub mod payload;
pub mod pbx;
pub mod verify;

use std::sync::Arc;

use anyhow::Context;
use channel::{AccountInteraction, ChannelAdapter, Kit, Parsed, RawRequest, WebhookError};
use contracts::Channel;
use runtime::kafka::Publisher;
use runtime::shutdown::CancellationToken;
use runtime::Running;
use secrecy::{ExposeSecret, SecretString};

pub use config::Config;
pub use mapping::Numbers;
pub use pbx::PBX_ID_HEADER;

/// Twilio call status callbacks.
pub const TWILIO_PATH: &str = "/webhooks/voip/twilio";
/// PBX call detail records.
pub const CDR_PATH: &str = "/webhooks/voip/cdr";
/// Every webhook path of the adapter.
pub const WEBHOOK_PATHS: [&str; 2] = [TWILIO_PATH, CDR_PATH];

/// Twilio status callbacks.
pub struct Twilio {
    auth_token: SecretString,
    public_url: String,
    numbers: Arc<Numbers>,
}

impl ChannelAdapter for Twilio {
    const CHANNEL: Channel = Channel::Voip;

    fn verify(&self, request: &RawRequest) -> Result<(), WebhookError> {
        verify::verify_twilio(self.auth_token.expose_secret().as_bytes(), &self.public_url, request)
    }

    fn parse(&self, request: &RawRequest) -> Result<Parsed, WebhookError> {
        Ok(Parsed::Interactions(parse_twilio(&request.body, &self.numbers)?))
    }
}

/// Normalizes one Twilio status callback body (empty for a leg no tenant takes part in).
pub fn parse_twilio(body: &[u8], numbers: &Numbers) -> Result<Vec<AccountInteraction>, WebhookError> {
    let pairs = payload::form_pairs(body);
    let callback = payload::TwilioCallStatus::try_from(pairs.as_slice())?;
    Ok(mapping::from_twilio(callback, numbers).into_iter().collect())
}

/// PBX call detail records.
pub struct PbxCdrs {
    pbxes: pbx::Pbxes,
    numbers: Arc<Numbers>,
    recording_base_url: Option<String>,
}

impl ChannelAdapter for PbxCdrs {
    const CHANNEL: Channel = Channel::Voip;

    fn verify(&self, request: &RawRequest) -> Result<(), WebhookError> {
        let secret = self.pbxes.secret_for(&request.headers)?;
        verify::verify_cdr(secret.expose_secret().as_bytes(), request)
    }

    fn parse(&self, request: &RawRequest) -> Result<Parsed, WebhookError> {
        let reading = self.pbxes.reading_for(&request.headers)?;
        let content_type = request.headers.get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
        let source = mapping::CdrSource {
            pbx: pbx::Pbxes::id_of(&request.headers),
            recording_base_url: self.recording_base_url.as_deref(),
        };
        Ok(Parsed::Interactions(parse_cdrs(content_type, &request.body, reading, &self.numbers, source)?))
    }
}

/// Normalizes a CDR body in the format its content type names (one record or many).
pub fn parse_cdrs(
    content_type: Option<&str>,
    body: &[u8],
    reading: &payload::Reading,
    numbers: &Numbers,
    source: mapping::CdrSource<'_>,
) -> Result<Vec<AccountInteraction>, WebhookError> {
    let records = payload::cdrs(content_type, body, reading)?;
    Ok(records.into_iter().filter_map(|cdr| mapping::from_cdr(cdr, numbers, source)).collect())
}

/// Builds the router of the adapter: each provider's endpoint when its secret is configured.
pub fn router(config: &Config, publisher: Publisher) -> anyhow::Result<axum::Router> {
    let region = config.default_region.as_deref().map(identity::Region::parse).transpose().context("voip: default_region")?;
    let numbers = Arc::new(Numbers::new(&config.numbers, region));
    let pbxes = pbx::Pbxes::from_config(config)?;
    anyhow::ensure!(
        config.twilio_auth_token.is_some() || pbxes.is_some(),
        "voip: twilio_auth_token or cdr_secret (or a PBX secret) is required"
    );
    let mut router = axum::Router::new();
    if let Some(auth_token) = config.twilio_auth_token.clone() {
        let public_url = config.public_url.clone().context("voip: public_url is required with twilio_auth_token")?;
        anyhow::ensure!(
            public_url.starts_with("https://") || public_url.starts_with("http://"),
            "voip: public_url must be an absolute http(s) URL, got {public_url:?}"
        );
        let kit = Kit {
            adapter: Twilio { auth_token, public_url, numbers: Arc::clone(&numbers) },
            accounts: numbers.accounts().clone(),
            publisher: publisher.clone(),
            body_limit: config.http.body_limit_bytes,
        };
        router = router.merge(channel::webhook_router(TWILIO_PATH, kit));
    }
    if let Some(pbxes) = pbxes {
        let kit = Kit {
            adapter: PbxCdrs { pbxes, numbers: Arc::clone(&numbers), recording_base_url: config.recording_base_url.clone() },
            accounts: numbers.accounts().clone(),
            publisher,
            body_limit: config.http.body_limit_bytes,
        };
        router = router.merge(channel::webhook_router(CDR_PATH, kit));
    }
    Ok(router)
}

/// Starts the adapter's HTTP server.
pub async fn start(config: &Config, publisher: Publisher, shutdown: CancellationToken) -> anyhow::Result<Running> {
    channel::serve("channel-voip", &config.http, router(config, publisher.clone())?, publisher, shutdown).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use channel::AccountMap;
    use proptest::prelude::*;

    fn numbers() -> Numbers {
        let region = identity::Region::parse("CZ").expect("CZ is a region");
        Numbers::new(&AccountMap([("+420222333444".to_owned(), "acme".to_owned())].into()), Some(region))
    }

    fn source() -> mapping::CdrSource<'static> {
        mapping::CdrSource { pbx: Some("praha"), recording_base_url: Some("https://pbx/") }
    }

    fn publisher() -> Publisher {
        let settings = runtime::settings::KafkaSettings { brokers: "127.0.0.1:9".into(), ..Default::default() };
        Publisher::new(&settings).expect("a producer needs no broker to be created")
    }

    #[test]
    fn the_router_refuses_incomplete_settings() {
        let twilio =
            Config { twilio_auth_token: Some("t".into()), public_url: Some("https://hooks.acme.cz".into()), ..Config::default() };
        assert!(router(&twilio, publisher()).is_ok());
        let cdr_only = Config { cdr_secret: Some("s".into()), ..Config::default() };
        assert!(router(&cdr_only, publisher()).is_ok());
        for broken in [
            Config::default(),
            Config { public_url: None, ..twilio.clone() },
            Config { public_url: Some("hooks.acme.cz".into()), ..twilio.clone() },
            Config { default_region: Some("Czechia".into()), ..cdr_only.clone() },
        ] {
            assert!(router(&broken, publisher()).is_err(), "{broken:?}");
        }
    }

    /// Twilio-like field names and values, so the mapping (not only the decoder) is exercised.
    fn twilio_pair() -> impl Strategy<Value = String> {
        let name = prop_oneof![
            prop::sample::select(vec![
                "CallSid",
                "CallStatus",
                "Direction",
                "From",
                "To",
                "Caller",
                "Called",
                "CallDuration",
                "Timestamp",
                "ParentCallSid",
                "CallerName",
                "RecordingUrl",
                "SequenceNumber",
            ])
            .prop_map(str::to_owned),
            "[A-Za-z%+]{1,12}",
        ];
        let value = prop_oneof![
            prop::sample::select(vec![
                "%2B420222333444",
                "%2B420777123456",
                "anonymous",
                "inbound",
                "outbound-dial",
                "completed",
                "no-answer",
                "ringing",
                "18446744073709551615",
                "Thu%2C+14+Mar+2024+09%3A16%3A00+%2B0000",
                "sip%3A%40",
            ])
            .prop_map(str::to_owned),
            "[ -~]{0,30}",
        ];
        (name, value).prop_map(|(n, v)| format!("{n}={v}"))
    }

    /// CDR-like JSON objects with known keys and arbitrary scalar values.
    fn cdr_json() -> impl Strategy<Value = String> {
        let key = prop::sample::select(vec![
            "linkedid",
            "uniqueid",
            "uuid",
            "src",
            "dst",
            "clid",
            "start",
            "answer",
            "end",
            "duration",
            "billsec",
            "disposition",
            "hangup_cause",
            "direction",
            "recordingfile",
            "accountcode",
            "start_epoch",
            "answer_epoch",
        ]);
        let value = prop_oneof![
            any::<i64>().prop_map(|n| n.to_string()),
            any::<f64>().prop_map(|n| if n.is_finite() { n.to_string() } else { "null".to_owned() }),
            ".{0,24}".prop_map(|s| serde_json::Value::String(s).to_string()),
        ];
        proptest::collection::vec((key, value), 0..12).prop_map(|fields| {
            let body: Vec<String> = fields.into_iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
            format!("{{{}}}", body.join(","))
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let _ = parse_twilio(&body, &numbers());
            for content_type in [None, Some("text/csv"), Some("application/xml"), Some("application/x-www-form-plaintext")] {
                let _ = parse_cdrs(content_type, &body, &payload::Reading::default(), &numbers(), source());
            }
        }

        #[test]
        fn arbitrary_twilio_like_forms_never_panic(pairs in proptest::collection::vec(twilio_pair(), 0..16)) {
            let _ = parse_twilio(pairs.join("&").as_bytes(), &numbers());
        }

        #[test]
        fn arbitrary_cdr_like_objects_never_panic(body in cdr_json()) {
            let _ = parse_cdrs(Some("application/json"), body.as_bytes(), &payload::Reading::default(), &numbers(), source());
        }
    }
}

#[cfg(test)]
mod properties;
