//! Properties of the parser over valid chat messages generated from the fixtures (issue 17): see
//! [`testkit::parsing_properties`]. The fixture without a session (malformed) is left out; the
//! visitor's form fields are free text, as anyone can type them.

use axum::http::{HeaderMap, Uri};
use channel::{AccountInteraction, ChannelAdapter, Parsed, RawRequest, WebhookError};
use proptest::prelude::*;
use secrecy::SecretString;
use testkit::arbitrary::{json_fixtures, variants_of, Variation};
use testkit::parsing_properties::check_parsing;

use crate::config::{Config, Site};
use crate::Webchat;

const VARIATION: Variation = Variation {
    ids: &["site_id", "session_id", "message_id", "contact_id", "operator_id", "crm_customer_no", "order_no", "size"],
    texts: &["text", "name", "email", "phone", "page_url", "mime", "url"],
};

fn messages() -> Vec<serde_json::Value> {
    json_fixtures("webchat").into_iter().filter(|message| message.get("session_id").is_some()).collect()
}

fn parse(body: &[u8]) -> Result<Vec<AccountInteraction>, WebhookError> {
    let site = Site { tenant: "acme".into(), secret: SecretString::from("s") };
    let adapter = Webchat::new(&Config { sites: [("eshop-cz".to_owned(), site)].into(), ..Config::default() })
        .map_err(|e| WebhookError::Malformed(e.to_string()))?;
    let request =
        RawRequest { headers: HeaderMap::new(), uri: Uri::from_static("/webhooks/webchat"), body: body.to_vec().into() };
    match adapter.parse(&request)? {
        Parsed::Interactions(interactions) => Ok(interactions),
        Parsed::Reply(_) => panic!("a chat message is never answered with a protocol reply"),
    }
}

proptest! {
    #[test]
    fn valid_messages_parse_deterministically_within_limits_and_round_trip(message in variants_of(messages(), VARIATION)) {
        let body = serde_json::to_vec(&message).expect("serializable");
        let events = check_parsing(|| parse(&body))?;
        prop_assert_eq!(events.len(), 1, "one chat message is one interaction");
    }
}
