//! Properties of the mapping over valid messages generated from the fixtures (issue 17): see
//! [`testkit::parsing_properties`]. Apple's messages carry no time, so the mapping is given a
//! fixed receive time (`parse` takes the clock's); the envelope comes from the body.

use axum::http::HeaderMap;
use channel::{AccountInteraction, WebhookError};
use chrono::DateTime;
use proptest::prelude::*;
use testkit::arbitrary::{json_fixtures, variants_of, Variation};
use testkit::parsing_properties::check_parsing;

use crate::{mapping, payload};

const VARIATION: Variation = Variation {
    ids: &["id", "sourceId", "destinationId", "requestIdentifier", "identifier", "size", "selectedIndex"],
    texts: &["body", "title", "subtitle", "name"],
};

fn parse(body: &[u8]) -> Result<Vec<AccountInteraction>, WebhookError> {
    let message: payload::Message = serde_json::from_slice(body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
    let envelope = payload::Envelope::new(&HeaderMap::new(), &message)?;
    let received_at = DateTime::from_timestamp(1_764_070_200, 0).expect("a valid time");
    Ok(match mapping::interaction(&envelope, message, received_at) {
        mapping::Mapped::Interaction(interaction) => vec![*interaction],
        mapping::Mapped::Skipped(_) => Vec::new(),
    })
}

proptest! {
    #[test]
    fn valid_messages_map_deterministically_within_limits_and_round_trip(
        message in variants_of(json_fixtures("apple"), VARIATION),
    ) {
        let body = serde_json::to_vec(&message).expect("serializable");
        check_parsing(|| parse(&body))?;
    }
}
