//! The status of a call (`call.status` of the interaction event) and its lifecycle.
//!
//! A call moves through `queued < initiated < ringing < in_progress` to exactly one final status
//! (`completed`, `missed`, `busy`, `no_answer`, `canceled`, `failed`). Providers report every
//! state as its own callback and do not deliver them in order, so consumers order the states of
//! one call by [`CallStatus::lifecycle_rank`], not by arrival: a late `ringing` never replaces a
//! `completed`. The spellings follow Twilio's call resource
//! (<https://www.twilio.com/docs/voice/api/call-resource#call-status-values>) in snake_case; an
//! unanswered inbound call is `missed` whatever the provider called it.
//!
//! Decoding is lenient because stored events outlive adapters: the provider spellings
//! (`in-progress`, `no-answer`, `cancelled`, …) decode to their variant, any other string to
//! [`CallStatus::Unknown`], which ranks below every known state (the adapter keeps the provider's
//! own word in `parameters.provider_status`).

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case", from = "String")]
pub enum CallStatus {
    /// Waiting to be dialled (outbound calls).
    Queued,
    /// Dialling started.
    Initiated,
    Ringing,
    /// Answered, the conversation is going on.
    InProgress,
    /// Answered and ended.
    Completed,
    /// An inbound call nobody answered (busy, no answer, the caller gave up).
    Missed,
    /// An outbound call the callee's line refused as busy (or rejected).
    Busy,
    /// An outbound call nobody answered.
    NoAnswer,
    /// An outbound call hung up before it was answered.
    Canceled,
    /// The call could not be connected.
    Failed,
    /// A status no provider mapping knows (kept for old or foreign events).
    Unknown,
}

impl CallStatus {
    pub const ALL: [CallStatus; 11] = [
        CallStatus::Queued,
        CallStatus::Initiated,
        CallStatus::Ringing,
        CallStatus::InProgress,
        CallStatus::Completed,
        CallStatus::Missed,
        CallStatus::Busy,
        CallStatus::NoAnswer,
        CallStatus::Canceled,
        CallStatus::Failed,
        CallStatus::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CallStatus::Queued => "queued",
            CallStatus::Initiated => "initiated",
            CallStatus::Ringing => "ringing",
            CallStatus::InProgress => "in_progress",
            CallStatus::Completed => "completed",
            CallStatus::Missed => "missed",
            CallStatus::Busy => "busy",
            CallStatus::NoAnswer => "no_answer",
            CallStatus::Canceled => "canceled",
            CallStatus::Failed => "failed",
            CallStatus::Unknown => "unknown",
        }
    }

    /// The status a string names: the contract's spelling, or a provider's variant of it
    /// (case, `-` or space instead of `_`, `cancelled`, Twilio's `answered` event, `rejected`
    /// as Twilio reports it — busy —, `ended`); anything else is [`CallStatus::Unknown`].
    pub fn parse(s: &str) -> Self {
        let normalized = s.trim().to_ascii_lowercase().replace(['-', ' '], "_");
        match normalized.as_str() {
            "answered" => CallStatus::InProgress,
            "noanswer" => CallStatus::NoAnswer,
            "cancelled" => CallStatus::Canceled,
            "rejected" => CallStatus::Busy,
            "ended" => CallStatus::Completed,
            other => Self::ALL.into_iter().find(|status| status.as_str() == other).unwrap_or(CallStatus::Unknown),
        }
    }

    /// Position in the call's lifecycle: queued < initiated < ringing < in progress < any final
    /// status. Unknown ranks lowest, so it never replaces a known state.
    pub fn lifecycle_rank(self) -> u8 {
        match self {
            CallStatus::Unknown => 0,
            CallStatus::Queued => 1,
            CallStatus::Initiated => 2,
            CallStatus::Ringing => 3,
            CallStatus::InProgress => 4,
            CallStatus::Completed
            | CallStatus::Missed
            | CallStatus::Busy
            | CallStatus::NoAnswer
            | CallStatus::Canceled
            | CallStatus::Failed => 5,
        }
    }

    /// Nothing more happens to a call in this status.
    pub fn is_final(self) -> bool {
        self.lifecycle_rank() == 5
    }
}

impl From<String> for CallStatus {
    fn from(s: String) -> Self {
        Self::parse(&s)
    }
}

impl fmt::Display for CallStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_round_trips_as_its_snake_case_name() {
        for status in CallStatus::ALL {
            let json = serde_json::to_value(status).expect("serializable");
            assert_eq!(json, status.as_str());
            assert_eq!(serde_json::from_value::<CallStatus>(json).expect("decodes"), status);
        }
    }

    #[test]
    fn provider_spellings_of_old_events_decode_and_anything_else_is_unknown() {
        let decode = |s: &str| serde_json::from_value::<CallStatus>(serde_json::json!(s)).expect("any string decodes");
        for (spelling, status) in [
            ("in-progress", CallStatus::InProgress),
            ("In Progress", CallStatus::InProgress),
            ("answered", CallStatus::InProgress),
            ("no-answer", CallStatus::NoAnswer),
            ("NOANSWER", CallStatus::NoAnswer),
            ("cancelled", CallStatus::Canceled),
            ("rejected", CallStatus::Busy),
            ("ended", CallStatus::Completed),
            ("COMPLETED", CallStatus::Completed),
            ("voicemail", CallStatus::Unknown),
            ("", CallStatus::Unknown),
        ] {
            assert_eq!(decode(spelling), status, "{spelling:?}");
        }
        assert!(serde_json::from_value::<CallStatus>(serde_json::json!(3)).is_err(), "a number is no status");
    }

    #[test]
    fn the_lifecycle_orders_states_and_every_final_status_outranks_the_others() {
        use CallStatus::*;
        let order = [Unknown, Queued, Initiated, Ringing, InProgress, Completed];
        assert!(order.windows(2).all(|w| w[0].lifecycle_rank() < w[1].lifecycle_rank()));
        for status in [Completed, Missed, Busy, NoAnswer, Canceled, Failed] {
            assert!(status.is_final() && status.lifecycle_rank() > InProgress.lifecycle_rank(), "{status}");
        }
        assert!(!Ringing.is_final() && !Unknown.is_final());
    }
}
