//! Properties of the parsers over valid Twilio call-status callbacks and JSON CDRs (Asterisk,
//! FreeSWITCH) generated from the fixtures (issue 17): see [`testkit::parsing_properties`].
//! Phone numbers stay as the fixtures write them (a renamed number would not be one); call ids,
//! sequence numbers, durations and epochs are renamed, caller names are free text.

use channel::AccountMap;
use proptest::prelude::*;
use serde_json::Value;
use testkit::arbitrary::{json_fixtures, variants_of, Variation};
use testkit::parsing_properties::check_parsing;

use crate::{mapping, parse_cdrs, parse_twilio, payload, Numbers};

const TWILIO: Variation = Variation {
    ids: &["AccountSid", "CallSid", "ParentCallSid", "SequenceNumber", "CallDuration", "Duration"],
    texts: &["CallerName"],
};

const CDR: Variation = Variation {
    ids: &[
        "uniqueid",
        "linkedid",
        "sequence",
        "duration",
        "billsec",
        "uuid",
        "call_uuid",
        "core-uuid",
        "start_epoch",
        "answer_epoch",
        "end_epoch",
    ],
    texts: &["caller_id_name", "userfield", "accountcode"],
};

fn numbers() -> Numbers {
    let region = identity::Region::parse("CZ").expect("CZ is a region");
    Numbers::new(&AccountMap([("+420222333444".to_owned(), "acme".to_owned())].into()), Some(region))
}

/// Every Twilio fixture as a JSON object of its (decoded) form fields.
fn twilio_callbacks() -> Vec<Value> {
    let names =
        ["1_ringing", "2_in_progress", "3_completed", "anonymous_ringing", "missed_no_answer", "ringing_without_timestamp"];
    names
        .iter()
        .map(|name| {
            let form = testkit::fixture(&format!("voip/twilio_{name}.form"));
            let fields = payload::form_pairs(form.trim().as_bytes()).into_iter().map(|(k, v)| (k, Value::from(v)));
            Value::Object(fields.collect())
        })
        .collect()
}

fn form(fields: &Value) -> String {
    let pairs = fields.as_object().expect("an object").iter().map(|(k, v)| (k.as_str(), v.as_str().unwrap_or_default()));
    form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

proptest! {
    #[test]
    fn valid_twilio_callbacks_parse_deterministically_within_limits_and_round_trip(
        callback in variants_of(twilio_callbacks(), TWILIO),
    ) {
        let body = form(&callback);
        let events = check_parsing(|| parse_twilio(body.as_bytes(), &numbers()))?;
        prop_assert_eq!(events.len(), 1, "a call-status callback is one state of one call");
    }

    #[test]
    fn valid_json_cdrs_parse_deterministically_within_limits_and_round_trip(cdr in variants_of(json_fixtures("voip"), CDR)) {
        let body = serde_json::to_vec(&cdr).expect("serializable");
        let source = mapping::CdrSource { pbx: Some("praha"), recording_base_url: Some("https://pbx/") };
        let reading = payload::Reading::default();
        let events = check_parsing(|| parse_cdrs(Some("application/json"), &body, &reading, &numbers(), source))?;
        prop_assert_eq!(events.len(), 1, "one record is one call");
    }
}
