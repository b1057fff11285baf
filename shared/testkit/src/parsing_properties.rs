//! The properties every channel adapter's output has for any valid provider payload (issue 17),
//! checked on what the kit publishes ([`channel::kit::event`]): parsing is deterministic (the
//! same payload gives the same interactions and the same interaction ids; only a time the
//! provider does not send is the receive time), every event is within
//! [`contracts::limits`] (checked field by field here, not by running `enforce` again), verified
//! identities come out normalized (typed ones normalize idempotently) and every event survives a JSON round trip unchanged.
//!
//! Each adapter's property tests generate valid payloads from its fixtures
//! ([`crate::arbitrary::variants_of`]) and hand its parser to [`check_parsing`].

use channel::{AccountInteraction, WebhookError};
use chrono::Utc;
use contracts::limits::{self, *};
use contracts::{Identity, InteractionEvent};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

/// The tenant every account is mapped to.
pub const TENANT: &str = "acme";

/// Runs `parse` twice on the same payload, which must be accepted, and checks every property of
/// the events the kit would publish; returns them for the adapter's own properties.
pub fn check_parsing(
    parse: impl Fn() -> Result<Vec<AccountInteraction>, WebhookError>,
) -> Result<Vec<InteractionEvent>, TestCaseError> {
    let started = Utc::now();
    let first = parse().map_err(|e| TestCaseError::fail(format!("a valid payload was refused: {e}")))?;
    let mut second = parse().map_err(|e| TestCaseError::fail(format!("the same payload was refused the second time: {e}")))?;
    let received = started..=Utc::now();
    // A provider event without a time (VK's `message_allow`) happened when it was received: that
    // time may differ between the two parses, nothing else may.
    for (one, other) in first.iter().zip(second.iter_mut()) {
        let times = (one.body.occurred_at, other.body.occurred_at);
        if times.0 != times.1 && received.contains(&times.0) && received.contains(&times.1) {
            other.body.occurred_at = times.0;
        }
    }
    prop_assert_eq!(&first, &second, "parsing the same payload twice gave different interactions");
    let publish = |items: Vec<AccountInteraction>| -> Vec<InteractionEvent> {
        items.into_iter().map(|item| channel::kit::event(TENANT, item.body, false)).collect()
    };
    let (events, again) = (publish(first), publish(second));
    prop_assert_eq!(&events, &again, "the same interactions gave different events");
    for event in &events {
        let expected = InteractionEvent::id_for(TENANT, event.body.channel, &event.body.provider_ref);
        prop_assert_eq!(event.interaction_id, expected, "the id is not derived from tenant, channel and provider_ref");
        check_within_limits(event)?;
        for identity in &event.body.identities {
            check_normalized(identity)?;
        }
        check_json_round_trip(event)?;
    }
    Ok(events)
}

/// Every field within its limit, no NUL anywhere, the whole event within its size; and the
/// event is a fixed point of `enforce` (nothing left to cut).
pub fn check_within_limits(event: &InteractionEvent) -> Result<(), TestCaseError> {
    let json = serde_json::to_string(event).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert!(json.len() <= INGESTED_EVENT_BYTES, "event of {} bytes", json.len());
    prop_assert!(!json.contains("\\u0000"), "a NUL character in {json}");
    let body = &event.body;
    let bounded = |what: &str, value: &str, max: usize| -> Result<(), TestCaseError> {
        prop_assert!(value.len() <= max, "{} of {} bytes (limit {})", what, value.len(), max);
        Ok(())
    };
    bounded("provider_ref", &body.provider_ref, REF_BYTES)?;
    bounded("conversation_ref", body.conversation_ref.as_deref().unwrap_or_default(), REF_BYTES)?;
    prop_assert!(body.identities.len() <= IDENTITIES);
    for identity in &body.identities {
        bounded("identity value", &identity.value, IDENTITY_VALUE_BYTES)?;
        bounded("identity scope", identity.scope.as_deref().unwrap_or_default(), SCOPE_BYTES)?;
    }
    if let Some(name) = body.profile.as_ref().and_then(|p| p.name.as_deref()) {
        bounded("profile name", name, NAME_BYTES)?;
    }
    if let Some(content) = &body.content {
        bounded("text", content.text.as_deref().unwrap_or_default(), TEXT_BYTES)?;
        bounded("subject", content.subject.as_deref().unwrap_or_default(), SUBJECT_BYTES)?;
        prop_assert!(content.attachments.len() <= ATTACHMENTS);
        for attachment in &content.attachments {
            bounded("attachment name", attachment.name.as_deref().unwrap_or_default(), ATTACHMENT_NAME_BYTES)?;
            bounded("attachment mime", attachment.mime.as_deref().unwrap_or_default(), MIME_BYTES)?;
            bounded("attachment url", attachment.url.as_deref().unwrap_or_default(), URL_BYTES)?;
        }
    }
    if let Some(call) = &body.call {
        bounded("call from", call.from.as_deref().unwrap_or_default(), CALL_FIELD_BYTES)?;
        bounded("call to", call.to.as_deref().unwrap_or_default(), CALL_FIELD_BYTES)?;
        bounded("recording url", call.recording_url.as_deref().unwrap_or_default(), URL_BYTES)?;
    }
    if let Some(reaction) = &body.reaction {
        bounded("reaction target", &reaction.target_provider_ref, REF_BYTES)?;
        bounded("emoji", reaction.emoji.as_deref().unwrap_or_default(), EMOJI_BYTES)?;
    }
    prop_assert!(body.parameters.len() <= PARAMETERS);
    for (key, value) in &body.parameters {
        bounded("parameter key", key, PARAMETER_KEY_BYTES)?;
        bounded("parameter value", value, PARAMETER_VALUE_BYTES)?;
    }
    let mut again = body.clone();
    limits::enforce(&mut again);
    prop_assert_eq!(&again, body, "enforce found more to cut in a published event");
    Ok(())
}

/// A verified identity is in canonical form: normalizing it again changes nothing (so it is
/// trimmed and never empty). A typed one (a web form's e-mail or phone) is published as typed
/// for the resolver to normalize with the tenant's region: what that gives, when it is usable at
/// all, normalizes to itself.
pub fn check_normalized(identity: &Identity) -> Result<(), TestCaseError> {
    if identity.is_verified() {
        let again = identity::normalize(identity, None).map_err(|e| TestCaseError::fail(format!("{identity:?}: {e}")))?;
        prop_assert_eq!(&again, identity, "normalizing a published identity changed it");
    } else if let Ok(normalized) = identity::normalize(identity, None) {
        let again = identity::normalize(&normalized, None);
        prop_assert_eq!(again, Ok(normalized), "normalizing is not idempotent");
    }
    Ok(())
}

/// Serialized to JSON and parsed back, the event is equal to itself.
pub fn check_json_round_trip(event: &InteractionEvent) -> Result<(), TestCaseError> {
    let json = serde_json::to_vec(event).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let back: InteractionEvent = serde_json::from_slice(&json).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(&back, event);
    Ok(())
}
