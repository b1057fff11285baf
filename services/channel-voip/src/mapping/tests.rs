use super::*;
use crate::payload::form_pairs;

const TENANT: &str = "+420222333444";

fn numbers() -> Numbers {
    let region = Region::parse("CZ").expect("CZ is a region");
    Numbers::new(
        &AccountMap([("+420 222 333 444".to_owned(), "acme".to_owned()), ("ACC7".to_owned(), "beta".to_owned())].into()),
        Some(region),
    )
}

fn twilio(body: &str) -> Option<AccountInteraction> {
    from_twilio(TwilioCallStatus::try_from(form_pairs(body.as_bytes()).as_slice()).expect("valid"), &numbers())
}

fn cdrs(json: &[u8]) -> Result<Vec<Cdr>, channel::WebhookError> {
    crate::payload::cdr::from_json(json, chrono_tz::UTC)
}

fn cdr(json: &str) -> AccountInteraction {
    let source = CdrSource { pbx: Some("praha"), recording_base_url: Some("https://pbx.acme.cz/rec/") };
    from_cdr(cdrs(json.as_bytes()).expect("valid").remove(0), &numbers(), source).expect("published")
}

fn call(got: &AccountInteraction) -> &Call {
    got.body.call.as_ref().expect("a call")
}

#[test]
fn an_inbound_call_belongs_to_the_called_number_and_identifies_the_caller() {
    let got = twilio("CallSid=CA1&CallStatus=ringing&Direction=inbound&From=%2B420777123456&To=%2B420222333444&SequenceNumber=0&CallerName=Jan+Nov%C3%A1k")
            .expect("published");
    assert_eq!(got.account, TENANT);
    assert_eq!(got.body.direction, Direction::Inbound);
    assert_eq!(got.body.identities, vec![Identity::new(IdentityKind::Phone, "+420777123456", None)]);
    assert_eq!(got.body.profile.as_ref().and_then(|p| p.name.as_deref()), Some("Jan Novák"));
    assert_eq!(call(&got).status, Some(CallStatus::Ringing));
    assert_eq!((got.body.provider_ref.as_str(), got.body.conversation_ref.as_deref()), ("CA1", Some("CA1")));
    assert_eq!(got.body.parameters.get("provider_status").map(String::as_str), Some("ringing"));
    assert_eq!(got.body.parameters.get("sequence_number").map(String::as_str), Some("0"));
}

#[test]
fn an_outbound_call_belongs_to_the_calling_number_and_identifies_the_callee() {
    let got = twilio("CallSid=CA2&CallStatus=no-answer&Direction=outbound-api&From=%2B420222333444&To=%2B420777123456")
        .expect("published");
    assert_eq!((got.account.as_str(), got.body.direction), (TENANT, Direction::Outbound));
    assert_eq!(got.body.identities[0].value, "+420777123456");
    assert_eq!(call(&got).status, Some(CallStatus::NoAnswer), "an unanswered outbound call is not missed");
    assert_eq!(got.body.profile, None);
}

#[test]
fn unanswered_inbound_calls_are_missed() {
    for state in ["busy", "no-answer", "canceled"] {
        let got = twilio(&format!("CallSid=CA3&CallStatus={state}&Direction=inbound&From=%2B420777123456&To=%2B420222333444"));
        assert_eq!(got.and_then(|g| g.body.call).and_then(|c| c.status), Some(CallStatus::Missed), "{state}");
    }
}

#[test]
fn withheld_callers_give_no_identity_but_are_published() {
    for from in ["anonymous", "%2B266696687", "Restricted", "", "sip%3Aanonymous%40anonymous.invalid"] {
        let got = twilio(&format!(
            "CallSid=CA4&CallStatus=ringing&Direction=inbound&From={from}&To=%2B420222333444&CallerName=Anonymous"
        ))
        .expect("published");
        assert!(got.body.identities.is_empty(), "{from}");
        assert_eq!(got.body.profile, None, "{from}");
        assert_eq!(got.body.parameters.get("caller_withheld").map(String::as_str), Some("true"), "{from}");
    }
}

#[test]
fn a_dial_leg_between_no_tenant_numbers_is_dropped_but_a_tenant_callerid_leg_is_outbound() {
    let agent_leg =
        "CallSid=CA6&ParentCallSid=CA5&CallStatus=completed&Direction=outbound-dial&From=%2B420777123456&To=%2B420601000000";
    assert_eq!(twilio(agent_leg), None);
    let customer_leg =
        "CallSid=CA7&ParentCallSid=CA5&CallStatus=completed&Direction=outbound-dial&From=%2B420222333444&To=%2B420777123456";
    let got = twilio(customer_leg).expect("published");
    assert_eq!(got.body.direction, Direction::Outbound);
    assert_eq!(got.body.conversation_ref.as_deref(), Some("CA5"), "a leg belongs to its parent's conversation");
}

#[test]
fn the_completed_state_dates_back_to_the_calls_start() {
    let got = twilio("CallSid=CA8&CallStatus=completed&Direction=inbound&From=%2B420777123456&To=%2B420222333444&CallDuration=60&Timestamp=Thu%2C+14+Mar+2024+09%3A16%3A00+%2B0000")
            .expect("published");
    assert_eq!(got.body.occurred_at.to_rfc3339(), "2024-03-14T09:15:00+00:00");
    assert_eq!(call(&got).duration_s, Some(60));
}

#[test]
fn a_cdr_without_direction_finds_the_tenant_on_either_side_in_national_format() {
    let inbound = cdr(r#"{"linkedid":"L1","src":"777123456","dst":"222333444","disposition":"BUSY","billsec":0}"#);
    assert_eq!((inbound.account.as_str(), inbound.body.direction), (TENANT, Direction::Inbound));
    assert_eq!(call(&inbound).status, Some(CallStatus::Missed));
    assert_eq!(call(&inbound).from.as_deref(), Some("+420777123456"));
    let outbound = cdr(
        r#"{"linkedid":"L2","src":"00420222333444","dst":"420777123456","disposition":"ANSWERED","billsec":"31","recordingfile":"2024/L2.wav"}"#,
    );
    assert_eq!((outbound.account.as_str(), outbound.body.direction), (TENANT, Direction::Outbound));
    assert_eq!(outbound.body.identities[0].value, "+420777123456", "trunk-style international digits");
    assert_eq!(call(&outbound).status, Some(CallStatus::Completed));
    assert_eq!(call(&outbound).duration_s, Some(31));
    assert_eq!(call(&outbound).recording_url.as_deref(), Some("https://pbx.acme.cz/rec/2024/L2.wav"));
}

#[test]
fn an_extension_call_falls_back_on_the_account_code() {
    let got = cdr(
        r#"{"uniqueid":"U1","src":"101","dst":"777123456","accountcode":"ACC7","direction":"outbound","disposition":"NO ANSWER"}"#,
    );
    assert_eq!((got.account.as_str(), got.body.direction), ("ACC7", Direction::Outbound));
    assert_eq!(got.body.identities[0].value, "+420777123456");
    assert_eq!(call(&got).from, None, "an extension is no E.164 number");
}

#[test]
fn an_extension_calling_a_number_under_an_account_code_is_outbound_without_a_direction() {
    let got = cdr(r#"{"uniqueid":"U2","src":"101","dst":"777123456","accountcode":"ACC7","disposition":"ANSWERED","billsec":3}"#);
    assert_eq!((got.account.as_str(), got.body.direction), ("ACC7", Direction::Outbound));
    assert_eq!(got.body.identities[0].value, "+420777123456");
    let inbound = cdr(r#"{"uniqueid":"U3","src":"777123456","dst":"101","accountcode":"ACC7","disposition":"ANSWERED"}"#);
    assert_eq!(inbound.body.direction, Direction::Inbound);
    assert_eq!(inbound.body.parameters.get("pbx").map(String::as_str), Some("praha"));
}

#[test]
fn twilio_states_before_ringing_keep_their_place_in_the_lifecycle() {
    for (state, expected) in
        [("queued", CallStatus::Queued), ("initiated", CallStatus::Initiated), ("answered", CallStatus::InProgress)]
    {
        let got =
            twilio(&format!("CallSid=CA9&CallStatus={state}&Direction=outbound-api&From=%2B420222333444&To=%2B420777123456"))
                .expect("published");
        assert_eq!(call(&got).status, Some(expected), "{state}");
    }
}

#[test]
fn a_call_no_tenant_owns_names_the_called_number() {
    let got = cdr(r#"{"linkedid":"L3","src":"777123456","dst":"+420 599 111 222"}"#);
    assert_eq!(got.account, "+420599111222");
}

#[test]
fn freeswitch_causes_map_to_states() {
    let state = |json: &str| status::from_cdr(&cdrs(json.as_bytes()).expect("valid")[0]);
    assert_eq!(state(r#"{"uuid":"u","src":"1","hangup_cause":"NORMAL_CLEARING","billsec":"12"}"#), CallStatus::Completed);
    assert_eq!(state(r#"{"uuid":"u","src":"1","hangup_cause":"ORIGINATOR_CANCEL","billsec":"0"}"#), CallStatus::Canceled);
    assert_eq!(state(r#"{"uuid":"u","src":"1","hangup_cause":"USER_BUSY"}"#), CallStatus::Busy);
    assert_eq!(state(r#"{"uuid":"u","src":"1","hangup_cause":"NETWORK_OUT_OF_ORDER"}"#), CallStatus::Failed);
}
