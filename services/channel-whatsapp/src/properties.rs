//! Properties of the parser over valid notifications generated from the fixtures (issue 17):
//! see [`testkit::parsing_properties`].

use axum::http::{HeaderMap, Uri};
use channel::{AccountInteraction, ChannelAdapter, Parsed, RawRequest, WebhookError};
use proptest::prelude::*;
use secrecy::SecretString;
use testkit::arbitrary::{json_fixtures, variants_of, Variation};
use testkit::parsing_properties::check_parsing;

use crate::WhatsApp;

const VARIATION: Variation = Variation {
    ids: &[
        "id",
        "phone_number_id",
        "wa_id",
        "user_id",
        "from",
        "from_user_id",
        "recipient_id",
        "message_id",
        "timestamp",
        "expiration_timestamp",
    ],
    texts: &["body", "caption", "filename", "name", "title", "description", "address", "emoji", "formatted_name"],
};

fn parse(body: &[u8]) -> Result<Vec<AccountInteraction>, WebhookError> {
    let request =
        RawRequest { headers: HeaderMap::new(), uri: Uri::from_static("/webhooks/whatsapp"), body: body.to_vec().into() };
    match WhatsApp::new(SecretString::from("s")).parse(&request)? {
        Parsed::Interactions(interactions) => Ok(interactions),
        Parsed::Reply(_) => panic!("a notification is never answered with a protocol reply"),
    }
}

proptest! {
    #[test]
    fn valid_notifications_parse_deterministically_within_limits_and_round_trip(
        notification in variants_of(json_fixtures("whatsapp"), VARIATION),
    ) {
        let body = serde_json::to_vec(&notification).expect("serializable");
        check_parsing(|| parse(&body))?;
    }
}
