//! Call events → normalized interactions. One call is one interaction: every state of it (Twilio
//! sends one callback per state, a PBX a final CDR) carries the same `provider_ref` — the
//! `CallSid`, or the CDR's `linkedid` — so all states share one `interaction_id` and later states
//! update the earlier ones downstream.
//!
//! - **Tenant and customer**: the tenant's number is the called number of an inbound call and
//!   the calling number of an outbound one; the customer is the other side. When the direction
//!   is unknown or the expected side is no tenant number, the other side is tried (PBX CDRs have
//!   no direction; Twilio `<Dial>` legs can go either way). Numbers are compared in E.164.
//! - **Identity**: the customer's number as a `phone` identity in E.164. Withheld callers
//!   (`anonymous`, Twilio's keypad-spelled `+266696687`, …) and non-numbers (`client:alice`,
//!   extensions) give no identity; the call is still published.
//! - **Status**: provider states map to the contract's [`CallStatus`]: `queued`, `initiated`,
//!   `ringing`, `in_progress`, `completed`, `failed`; an unanswered inbound call (busy, no
//!   answer, caller gave up) is `missed`, an unanswered outbound one `busy`, `no_answer` or
//!   `canceled`. The provider's own status and sequence number stay in `parameters`, and so do
//!   the PBX's channels, last application and account codes.

use std::collections::BTreeMap;

use channel::{AccountInteraction, AccountMap};
use chrono::{DateTime, TimeDelta, Utc};
use contracts::{Call, CallStatus, Channel, Direction, Identity, IdentityKind, InteractionBody, NameSource, Profile};
use identity::Region;

use crate::payload::{Cdr, TwilioCallStatus};

/// The status of a call as its provider reports it, before the direction is known.
pub mod status {
    use contracts::{CallStatus, Direction};

    use crate::payload::Cdr;

    /// Twilio `CallStatus` (`queued`, `initiated`, `ringing`, `in-progress`, `completed`,
    /// `busy`, `no-answer`, `canceled`, `failed`), its `answered` event included.
    /// <https://www.twilio.com/docs/voice/api/call-resource#call-status-values>
    pub fn from_twilio(call_status: &str) -> CallStatus {
        CallStatus::parse(call_status)
    }

    /// Asterisk `disposition`, else FreeSWITCH `hangup_cause` (Q.850 names), else whether the
    /// call was answered at all.
    pub fn from_cdr(cdr: &Cdr) -> CallStatus {
        let answered = cdr.billsec.is_some_and(|s| s > 0) || cdr.answer.is_some();
        if let Some(disposition) = &cdr.disposition {
            return match disposition.trim().to_ascii_uppercase().as_str() {
                "ANSWERED" => CallStatus::Completed,
                "NO ANSWER" | "NOANSWER" | "NO_ANSWER" => CallStatus::NoAnswer,
                "BUSY" => CallStatus::Busy,
                "FAILED" | "CONGESTION" => CallStatus::Failed,
                "CANCEL" | "CANCELED" | "CANCELLED" => CallStatus::Canceled,
                _ => CallStatus::Unknown,
            };
        }
        if answered {
            return CallStatus::Completed;
        }
        match cdr.hangup_cause.as_deref().map(|c| c.trim().to_ascii_uppercase()) {
            Some(cause) => match cause.as_str() {
                "NO_ANSWER" | "NO_USER_RESPONSE" | "NORMAL_CLEARING" | "ALLOTTED_TIMEOUT" => CallStatus::NoAnswer,
                "USER_BUSY" | "CALL_REJECTED" => CallStatus::Busy,
                "ORIGINATOR_CANCEL" | "LOSE_RACE" => CallStatus::Canceled,
                _ => CallStatus::Failed,
            },
            None => CallStatus::NoAnswer,
        }
    }

    /// The contract's status of a call in `direction`: an unanswered inbound call (busy, no
    /// answer, the caller gave up) is `missed`; an outbound one keeps what happened.
    pub fn for_direction(status: CallStatus, direction: Direction) -> CallStatus {
        match (status, direction) {
            (CallStatus::Busy | CallStatus::NoAnswer | CallStatus::Canceled, Direction::Inbound) => CallStatus::Missed,
            _ => status,
        }
    }
}

/// Caller ids that mean "withheld", spelled out or as Twilio's keypad spellings (ANONYMOUS,
/// RESTRICTED, BLOCKED, UNAVAILABLE, UNKNOWN).
/// <https://help.twilio.com/articles/223179988-Why-am-I-getting-calls-from-these-strange-numbers->
const WITHHELD: [&str; 14] = [
    "anonymous",
    "restricted",
    "blocked",
    "unavailable",
    "unknown",
    "private",
    "withheld",
    "unknown caller",
    "+266696687",
    "+7378742833",
    "+2562533",
    "+86282452253",
    "+8656696",
    "0",
];

/// The tenants' numbers and how numbers are brought to the form they are keyed by.
#[derive(Debug, Clone, Default)]
pub struct Numbers {
    accounts: AccountMap,
    region: Option<Region>,
}

impl Numbers {
    /// Keys the configured numbers by [`Numbers::key`].
    pub fn new(configured: &AccountMap, region: Option<Region>) -> Self {
        let mut numbers = Self { accounts: AccountMap::default(), region };
        let accounts = configured.0.iter().map(|(number, tenant)| (numbers.key(number), tenant.clone())).collect();
        numbers.accounts = AccountMap(accounts);
        numbers
    }

    /// The account map the kit resolves tenants with.
    pub fn accounts(&self) -> &AccountMap {
        &self.accounts
    }

    /// A number in E.164, or `None` for withheld callers and anything that is no phone number.
    /// Numbers without a country code use the default region; long digit strings without `+`
    /// (`420777123456`, as many trunks write them) are also tried as international.
    pub fn e164(&self, raw: &str) -> Option<String> {
        let number = dial_string(raw)?;
        let national = self.region.and_then(|region| identity::normalize_phone(number, Some(region)).ok());
        national.or_else(|| {
            let digits = number.bytes().filter(u8::is_ascii_digit).count();
            let international = self.region.is_none() || number.starts_with('+') || digits >= 11;
            international.then(|| identity::normalize_phone(number, None).ok()).flatten()
        })
    }

    /// The account key of a number: E.164 when it is one, else the trimmed text (an extension or
    /// account code).
    pub fn key(&self, raw: &str) -> String {
        self.e164(raw).unwrap_or_else(|| raw.trim().to_owned())
    }

    fn owns(&self, raw: &str) -> bool {
        self.accounts.tenant_of(&self.key(raw)).is_some()
    }
}

/// The number part of a caller id (`tel:+420…`, `sip:+420…@host`), or `None` when withheld.
fn dial_string(raw: &str) -> Option<&str> {
    let mut number = raw.trim();
    for scheme in ["tel:", "sip:", "sips:"] {
        if number.len() >= scheme.len()
            && number.is_char_boundary(scheme.len())
            && number[..scheme.len()].eq_ignore_ascii_case(scheme)
        {
            number = &number[scheme.len()..];
        }
    }
    let number = number.split(['@', ';']).next().unwrap_or_default().trim();
    let withheld = number.is_empty() || WITHHELD.iter().any(|w| w.eq_ignore_ascii_case(number));
    (!withheld).then_some(number)
}

/// What every call source tells about one call state.
struct CallFacts {
    call_id: String,
    conversation_ref: String,
    direction: Option<Direction>,
    from: Option<String>,
    to: Option<String>,
    caller_name: Option<String>,
    /// As the provider reports it; [`status::for_direction`] makes it the contract's.
    status: CallStatus,
    occurred_at: Option<DateTime<Utc>>,
    duration_s: Option<u64>,
    recording_url: Option<String>,
    /// An account to fall back on when neither number is a tenant's (a PBX `accountcode`).
    fallback_account: Option<String>,
    /// A `<Dial>` child leg: dropped when neither side is a tenant number (an agent's leg whose
    /// customer is on the parent call).
    child_leg: bool,
    parameters: BTreeMap<String, String>,
}

/// One Twilio status callback. `None` for child legs no tenant number takes part in.
pub fn from_twilio(callback: TwilioCallStatus, numbers: &Numbers) -> Option<AccountInteraction> {
    let direction = match callback.direction.as_deref().map(str::to_ascii_lowercase) {
        Some(d) if d == "inbound" => Some(Direction::Inbound),
        Some(d) if d.starts_with("outbound") => Some(Direction::Outbound),
        _ => None,
    };
    let mut parameters = BTreeMap::from([
        ("provider".to_owned(), "twilio".to_owned()),
        ("provider_status".to_owned(), callback.call_status.clone()),
    ]);
    let optional = [
        ("sequence_number", &callback.sequence_number),
        ("twilio_direction", &callback.direction),
        ("account_sid", &callback.account_sid),
        ("callback_source", &callback.callback_source),
        ("recording_sid", &callback.recording_sid),
        ("parent_call_sid", &callback.parent_call_sid),
        ("forwarded_from", &callback.forwarded_from),
        ("sip_response_code", &callback.sip_response_code),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            parameters.insert(name.to_owned(), value.clone());
        }
    }
    // The event time less the conversation: about when the call started, so every state of a
    // call sits at the same place in the timeline.
    let occurred_at = callback.timestamp.map(|at| {
        callback
            .call_duration
            .and_then(|d| i64::try_from(d).ok())
            .and_then(TimeDelta::try_seconds)
            .and_then(|d| at.checked_sub_signed(d))
            .unwrap_or(at)
    });
    let facts = CallFacts {
        conversation_ref: callback.parent_call_sid.clone().unwrap_or_else(|| callback.call_sid.clone()),
        call_id: callback.call_sid,
        direction,
        from: callback.from,
        to: callback.to,
        caller_name: callback.caller_name,
        status: status::from_twilio(&callback.call_status),
        occurred_at,
        duration_s: callback.call_duration,
        recording_url: callback.recording_url,
        fallback_account: None,
        child_leg: callback.parent_call_sid.is_some(),
        parameters,
    };
    interaction(facts, numbers)
}

/// Where a CDR came from: the PBX that named itself (`X-PBX-Id`) and where its recordings are.
#[derive(Debug, Clone, Copy, Default)]
pub struct CdrSource<'a> {
    pub pbx: Option<&'a str>,
    pub recording_base_url: Option<&'a str>,
}

/// One PBX call detail record.
pub fn from_cdr(cdr: Cdr, numbers: &Numbers, source: CdrSource<'_>) -> Option<AccountInteraction> {
    let direction = match cdr.direction.as_deref().map(str::to_ascii_lowercase) {
        Some(d) if d == "inbound" => Some(Direction::Inbound),
        Some(d) if d == "outbound" => Some(Direction::Outbound),
        _ => None,
    };
    let call_status = status::from_cdr(&cdr);
    let mut parameters = BTreeMap::from([("provider".to_owned(), "pbx".to_owned())]);
    if let Some(pbx) = source.pbx {
        parameters.insert("pbx".to_owned(), pbx.to_owned());
    }
    if let Some(raw) = cdr.disposition.as_ref().or(cdr.hangup_cause.as_ref()) {
        parameters.insert("provider_status".to_owned(), raw.clone());
    }
    let optional = [
        ("sequence_number", &cdr.sequence),
        ("uniqueid", &cdr.leg_id),
        ("hangup_cause", &cdr.hangup_cause),
        ("accountcode", &cdr.accountcode),
        ("dcontext", &cdr.dcontext),
        ("userfield", &cdr.userfield),
        ("channel", &cdr.channel),
        ("dstchannel", &cdr.dstchannel),
        ("lastapp", &cdr.lastapp),
        ("peeraccount", &cdr.peeraccount),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            parameters.insert(name.to_owned(), value.clone());
        }
    }
    if let Some(duration) = cdr.duration {
        parameters.insert("duration_total_s".to_owned(), duration.to_string());
    }
    let recording_url = cdr.recording.as_deref().and_then(|file| {
        if file.starts_with("https://") || file.starts_with("http://") {
            return Some(file.to_owned());
        }
        parameters.insert("recording_file".to_owned(), file.to_owned());
        source.recording_base_url.map(|base| format!("{}/{}", base.trim_end_matches('/'), file.trim_start_matches('/')))
    });
    let talk_time = cdr.answer.zip(cdr.end).and_then(|(answer, end)| u64::try_from((end - answer).num_seconds()).ok());
    let facts = CallFacts {
        conversation_ref: cdr.call_id.clone(),
        call_id: cdr.call_id,
        direction,
        from: cdr.src,
        to: cdr.dst,
        caller_name: cdr.caller_name,
        status: call_status,
        occurred_at: cdr.start.or(cdr.answer).or(cdr.end),
        duration_s: cdr.billsec.or(talk_time),
        recording_url,
        fallback_account: cdr.accountcode,
        child_leg: false,
        parameters,
    };
    interaction(facts, numbers)
}

fn interaction(mut call: CallFacts, numbers: &Numbers) -> Option<AccountInteraction> {
    let inbound = (Direction::Inbound, call.to.as_deref(), call.from.as_deref());
    let outbound = (Direction::Outbound, call.from.as_deref(), call.to.as_deref());
    let candidates = match call.direction {
        Some(Direction::Outbound) => [outbound, inbound],
        _ => [inbound, outbound],
    };
    let owned = candidates.iter().find(|(_, tenant_side, _)| tenant_side.is_some_and(|n| numbers.owns(n)));
    let (direction, account, customer) = match owned {
        Some(&(direction, tenant_side, customer)) => (direction, numbers.key(tenant_side.unwrap_or_default()), customer),
        None if call.child_leg => {
            tracing::debug!(call = %call.call_id, "a dial leg between no tenant numbers; its parent call carries the customer");
            return None;
        }
        None => {
            let [(direction, tenant_side, customer), _] = candidates;
            let direction = call.direction.unwrap_or(direction);
            match call.fallback_account.as_deref().filter(|code| numbers.accounts.tenant_of(code).is_some()) {
                Some(code) => {
                    // Without a direction, an extension (no phone number) calling a phone number
                    // is an agent calling out.
                    let is_phone = |n: Option<&str>| n.is_some_and(|n| numbers.e164(n).is_some());
                    let direction = match call.direction {
                        None if !is_phone(call.from.as_deref()) && is_phone(call.to.as_deref()) => Direction::Outbound,
                        _ => direction,
                    };
                    let customer = if direction == Direction::Inbound { call.from.as_deref() } else { call.to.as_deref() };
                    (direction, code.to_owned(), customer)
                }
                // Nobody owns it: the kit refuses it (logging this account).
                None => (direction, tenant_side.map_or_else(|| "<no number>".to_owned(), |n| numbers.key(n)), customer),
            }
        }
    };

    let mut identities = Vec::new();
    match customer.map(|raw| (raw, numbers.e164(raw))) {
        Some((_, Some(e164))) => identities.push(Identity::new(IdentityKind::Phone, e164, None)),
        Some((raw, None)) if dial_string(raw).is_some() => {
            call.parameters.insert("customer_number".to_owned(), raw.to_owned());
        }
        _ => {
            call.parameters.insert("caller_withheld".to_owned(), "true".to_owned());
        }
    }
    let profile = match (direction, &call.caller_name) {
        (Direction::Inbound, Some(name))
            if !identities.is_empty() && dial_string(name).is_some() && numbers.e164(name).is_none() =>
        {
            Some(Profile { name: Some(name.clone()), name_source: NameSource::Channel })
        }
        _ => None,
    };

    let body = InteractionBody {
        channel: Channel::Voip,
        direction,
        occurred_at: call.occurred_at.unwrap_or_else(Utc::now),
        provider_ref: call.call_id,
        conversation_ref: Some(call.conversation_ref),
        identities,
        profile,
        content: None,
        call: Some(Call {
            from: call.from.as_deref().and_then(|n| numbers.e164(n)),
            to: call.to.as_deref().and_then(|n| numbers.e164(n)),
            duration_s: call.duration_s,
            status: Some(status::for_direction(call.status, direction)),
            recording_url: call.recording_url,
        }),
        parameters: call.parameters,
        reaction: None,
        event: None,
        sanitized: Vec::new(),
    };
    Some(AccountInteraction { account, body })
}

#[cfg(test)]
mod tests;
