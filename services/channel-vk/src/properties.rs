//! Properties of the mapping over valid Callback API events generated from the fixtures (issue
//! 17): see [`testkit::parsing_properties`]. The confirmation handshake publishes nothing and is
//! left out.

use channel::{AccountInteraction, WebhookError};
use proptest::prelude::*;
use testkit::arbitrary::{json_fixtures, variants_of, Variation};
use testkit::parsing_properties::check_parsing;

use crate::{mapping, payload};

const VARIATION: Variation = Variation {
    ids: &[
        "group_id",
        "event_id",
        "id",
        "date",
        "update_time",
        "from_id",
        "peer_id",
        "user_id",
        "owner_id",
        "conversation_message_id",
        "admin_author_id",
        "random_id",
    ],
    texts: &["text", "title", "transcript", "payload", "key"],
};

fn events() -> Vec<serde_json::Value> {
    json_fixtures("vk").into_iter().filter(|event| event["type"] != payload::event::CONFIRMATION).collect()
}

fn parse(body: &[u8]) -> Result<Vec<AccountInteraction>, WebhookError> {
    let event: payload::Event = serde_json::from_slice(body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
    Ok(mapping::interaction(&event)?.into_iter().collect())
}

proptest! {
    #[test]
    fn valid_events_map_deterministically_within_limits_and_round_trip(event in variants_of(events(), VARIATION)) {
        let body = serde_json::to_vec(&event).expect("serializable");
        check_parsing(|| parse(&body))?;
    }
}
