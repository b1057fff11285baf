//! Twilio call status callbacks: `application/x-www-form-urlencoded` POSTs, one per call
//! progress event (`initiated`, `ringing`, `answered`, `completed`), each carrying the full call
//! state. Twilio does not guarantee their order; `SequenceNumber` and `Timestamp` tell it, but
//! `Timestamp` may be missing or unparseable, so consumers order a call's states by its
//! lifecycle ([`contracts::CallStatus::lifecycle_rank`]).
//! <https://www.twilio.com/docs/voice/api/call-resource#statuscallback>,
//! <https://www.twilio.com/docs/usage/webhooks/voice-webhooks>

use channel::WebhookError;
use chrono::{DateTime, Utc};

/// One Twilio call status callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TwilioCallStatus {
    pub call_sid: String,
    pub account_sid: Option<String>,
    /// `From`, else `Caller`.
    pub from: Option<String>,
    /// `To`, else `Called`.
    pub to: Option<String>,
    /// `queued|initiated|ringing|in-progress|completed|busy|no-answer|canceled|failed`.
    pub call_status: String,
    /// `inbound|outbound-api|outbound-dial`.
    pub direction: Option<String>,
    /// Seconds of conversation, on the final event.
    pub call_duration: Option<u64>,
    pub recording_url: Option<String>,
    pub recording_sid: Option<String>,
    /// When Twilio emitted the event (RFC 2822).
    pub timestamp: Option<DateTime<Utc>>,
    pub callback_source: Option<String>,
    /// Order of the events of one call (they may arrive out of order).
    pub sequence_number: Option<String>,
    /// Set on the child leg a `<Dial>` creates.
    pub parent_call_sid: Option<String>,
    /// CNAM caller name, when the number has one enabled.
    pub caller_name: Option<String>,
    pub forwarded_from: Option<String>,
    pub sip_response_code: Option<String>,
}

impl TryFrom<&[(String, String)]> for TwilioCallStatus {
    type Error = WebhookError;

    fn try_from(pairs: &[(String, String)]) -> Result<Self, WebhookError> {
        let get = |name: &str| {
            pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim()).filter(|v| !v.is_empty()).map(str::to_owned)
        };
        let required = |name: &str| get(name).ok_or_else(|| WebhookError::Malformed(format!("missing {name}")));
        Ok(TwilioCallStatus {
            call_sid: required("CallSid")?,
            call_status: required("CallStatus")?,
            account_sid: get("AccountSid"),
            from: get("From").or_else(|| get("Caller")),
            to: get("To").or_else(|| get("Called")),
            direction: get("Direction"),
            call_duration: get("CallDuration").and_then(|d| d.parse().ok()),
            recording_url: get("RecordingUrl"),
            recording_sid: get("RecordingSid"),
            timestamp: get("Timestamp").and_then(|t| DateTime::parse_from_rfc2822(&t).ok()).map(|t| t.with_timezone(&Utc)),
            callback_source: get("CallbackSource"),
            sequence_number: get("SequenceNumber"),
            parent_call_sid: get("ParentCallSid"),
            caller_name: get("CallerName"),
            forwarded_from: get("ForwardedFrom"),
            sip_response_code: get("SipResponseCode"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::form_pairs;

    #[test]
    fn a_twilio_callback_needs_a_call_sid_and_status() {
        let pairs = form_pairs(
            b"CallSid=CA1&CallStatus=ringing&Caller=%2B1&Called=%2B2&Timestamp=Thu%2C+14+Mar+2024+09%3A15%3A00+%2B0000",
        );
        let status = TwilioCallStatus::try_from(pairs.as_slice()).expect("valid");
        assert_eq!((status.from.as_deref(), status.to.as_deref()), (Some("+1"), Some("+2")), "Caller/Called stand in");
        assert_eq!(status.timestamp.map(|t| t.to_rfc3339()), Some("2024-03-14T09:15:00+00:00".to_owned()));
        for body in [&b"CallStatus=ringing"[..], b"CallSid=CA1", b"CallSid=&CallStatus=ringing"] {
            assert!(matches!(TwilioCallStatus::try_from(form_pairs(body).as_slice()), Err(WebhookError::Malformed(_))));
        }
    }

    #[test]
    fn an_unparseable_timestamp_is_no_timestamp() {
        let pairs = form_pairs(b"CallSid=CA1&CallStatus=ringing&Timestamp=yesterday");
        assert_eq!(TwilioCallStatus::try_from(pairs.as_slice()).expect("valid").timestamp, None);
    }
}
