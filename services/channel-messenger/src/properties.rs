//! Properties of the parser over valid notifications generated from the fixtures (issue 17):
//! see [`testkit::parsing_properties`].

use axum::http::{HeaderMap, Uri};
use channel::{ChannelAdapter, Parsed, RawRequest};
use proptest::prelude::*;
use secrecy::SecretString;
use testkit::arbitrary::{json_fixtures, variants_of, Variation};
use testkit::parsing_properties::check_parsing;

use crate::Messenger;

const VARIATION: Variation = Variation {
    ids: &["id", "mid", "mids", "time", "timestamp", "watermark", "app_id"],
    texts: &["text", "title", "payload", "emoji", "metadata"],
};

fn parse(body: &[u8]) -> Result<Vec<channel::AccountInteraction>, channel::WebhookError> {
    let adapter = Messenger { app_secret: SecretString::from("s") };
    let request =
        RawRequest { headers: HeaderMap::new(), uri: Uri::from_static("/webhooks/messenger"), body: body.to_vec().into() };
    match adapter.parse(&request)? {
        Parsed::Interactions(interactions) => Ok(interactions),
        Parsed::Reply(_) => panic!("a notification is never answered with a protocol reply"),
    }
}

proptest! {
    #[test]
    fn valid_notifications_parse_deterministically_within_limits_and_round_trip(
        notification in variants_of(json_fixtures("messenger"), VARIATION),
    ) {
        let body = serde_json::to_vec(&notification).expect("serializable");
        let events = check_parsing(|| parse(&body))?;
        // Every fixture carries a message, a postback or a reaction.
        prop_assert!(!events.is_empty(), "nothing published for {notification}");
    }
}
