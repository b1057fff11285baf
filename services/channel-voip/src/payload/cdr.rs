//! Wire formats of the two call sources. Only the fields we use are read; unknown fields are
//! ignored so provider additions never break ingestion.
//!
//! - **Twilio call status callbacks**: `application/x-www-form-urlencoded` POSTs, one per call
//!   progress event (`initiated`, `ringing`, `answered`, `completed`), each carrying the full
//!   call state.
//!   <https://www.twilio.com/docs/voice/api/call-resource#statuscallback>,
//!   <https://www.twilio.com/docs/usage/webhooks/voice-webhooks>
//! - **PBX call detail records**: a JSON object (or an array of them) with Asterisk CDR field
//!   names, <https://docs.asterisk.org/Configuration/Reporting/Call-Detail-Records-CDR/CDR-Specification/>,
//!   or FreeSWITCH's (flat, or `mod_json_cdr`'s `variables` object),
//!   <https://developer.signalwire.com/freeswitch/FreeSWITCH-Explained/Modules/mod_json_cdr_1048992/>.

use channel::WebhookError;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{Map, Value};

/// `application/x-www-form-urlencoded` pairs in body order, decoded like browsers and the WHATWG
/// URL standard do (`+` is a space, invalid escapes stay literal, invalid UTF-8 is replaced), so
/// decoding never fails and the signature is computed over what Twilio's libraries see.
/// <https://url.spec.whatwg.org/#application/x-www-form-urlencoded>
pub fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    body.split(|&b| b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| match pair.iter().position(|&b| b == b'=') {
            Some(eq) => (form_decode(&pair[..eq]), form_decode(&pair[eq + 1..])),
            None => (form_decode(pair), String::new()),
        })
        .collect()
}

/// Percent-decodes one form component (`+` → space).
pub fn form_decode(raw: &[u8]) -> String {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'+' => out.push(b' '),
            b'%' => match (raw.get(i + 1).and_then(hex_value), raw.get(i + 2).and_then(hex_value)) {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_value(byte: &u8) -> Option<u8> {
    (*byte as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

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

/// One call detail record, whichever PBX dialect it came in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cdr {
    /// `linkedid` (the whole call across transfers and legs), else `uniqueid` / `uuid`.
    pub call_id: String,
    /// `uniqueid` of this leg, when it differs from `call_id`.
    pub leg_id: Option<String>,
    pub src: Option<String>,
    pub dst: Option<String>,
    /// Caller name (`caller_id_name`, or the name part of Asterisk's `clid` `"Name" <number>`).
    pub caller_name: Option<String>,
    pub start: Option<DateTime<Utc>>,
    pub answer: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    /// Seconds from start to end.
    pub duration: Option<u64>,
    /// Seconds from answer to end.
    pub billsec: Option<u64>,
    /// Asterisk `ANSWERED|NO ANSWER|BUSY|FAILED|CONGESTION`.
    pub disposition: Option<String>,
    /// FreeSWITCH Q.850 cause name (`NORMAL_CLEARING`, `NO_ANSWER`, `USER_BUSY`, …).
    pub hangup_cause: Option<String>,
    /// An explicit `inbound|outbound`, when the PBX sends one.
    pub direction: Option<String>,
    pub recording: Option<String>,
    pub accountcode: Option<String>,
    pub sequence: Option<String>,
    pub dcontext: Option<String>,
    pub userfield: Option<String>,
}

/// The CDRs of one request: a single object or an array.
pub fn cdrs(body: &[u8]) -> Result<Vec<Cdr>, WebhookError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
    match value {
        Value::Object(record) => Ok(vec![Cdr::try_from(record)?]),
        Value::Array(records) => records
            .into_iter()
            .map(|record| match record {
                Value::Object(record) => Cdr::try_from(record),
                _ => Err(WebhookError::Malformed("every CDR must be a JSON object".into())),
            })
            .collect(),
        _ => Err(WebhookError::Malformed("expected a CDR object or an array of them".into())),
    }
}

impl TryFrom<Map<String, Value>> for Cdr {
    type Error = WebhookError;

    fn try_from(record: Map<String, Value>) -> Result<Self, WebhookError> {
        let fields = Fields::new(record);
        let call_id = fields
            .text(&["linkedid", "linked_id", "uniqueid", "unique_id", "call_uuid", "uuid"])
            .ok_or_else(|| WebhookError::Malformed("CDR without linkedid/uniqueid/uuid".into()))?;
        let leg_id = fields.text(&["uniqueid", "unique_id", "uuid"]).filter(|leg| *leg != call_id);
        let src = fields.text(&["src", "caller_id_number", "ani", "from"]);
        let dst = fields.text(&["dst", "destination_number", "to"]);
        if src.is_none() && dst.is_none() {
            return Err(WebhookError::Malformed("CDR without src or dst".into()));
        }
        let clid = fields.text(&["clid", "caller_id"]);
        let caller_name = fields.text(&["caller_id_name"]).or_else(|| clid.as_deref().and_then(clid_name));
        Ok(Cdr {
            call_id,
            leg_id,
            src,
            dst,
            caller_name,
            start: fields.time(&["start", "start_time", "calldate", "start_stamp", "start_epoch"]),
            answer: fields.time(&["answer", "answer_time", "answer_stamp", "answer_epoch"]),
            end: fields.time(&["end", "end_time", "end_stamp", "end_epoch"]),
            duration: fields.number(&["duration"]),
            billsec: fields.number(&["billsec"]),
            disposition: fields.text(&["disposition"]),
            hangup_cause: fields.text(&["hangup_cause"]),
            direction: fields.text(&["direction", "call_direction"]),
            recording: fields.text(&["recordingfile", "recording_file", "recording_url", "record_path", "recording"]),
            accountcode: fields.text(&["accountcode", "account_code"]),
            sequence: fields.text(&["sequence"]),
            dcontext: fields.text(&["dcontext", "context"]),
            userfield: fields.text(&["userfield"]),
        })
    }
}

/// The name of Asterisk's `clid` (`"Jan Novák" <777123456>`), if it is more than the number.
fn clid_name(clid: &str) -> Option<String> {
    let (name, rest) = clid.split_once('<')?;
    let name = name.trim().trim_matches('"').trim();
    let number = rest.trim_end().trim_end_matches('>').trim();
    (!name.is_empty() && name != number).then(|| name.to_owned())
}

/// A CDR's fields looked up by alias: the record's own fields first, then FreeSWITCH
/// `mod_json_cdr`'s `variables` (percent-encoded by default) and `channel_data`.
struct Fields {
    record: Map<String, Value>,
    variables: Map<String, Value>,
    channel_data: Map<String, Value>,
}

impl Fields {
    fn new(mut record: Map<String, Value>) -> Self {
        let mut take = |name: &str| match record.remove(name) {
            Some(Value::Object(map)) => map,
            _ => Map::new(),
        };
        let (variables, channel_data) = (take("variables"), take("channel_data"));
        Self { record, variables, channel_data }
    }

    /// The first alias present as a non-empty string or number, as text.
    fn text(&self, aliases: &[&str]) -> Option<String> {
        let scalar = |value: &Value| match value {
            Value::String(s) => Some(s.trim().to_owned()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        };
        let own = aliases.iter().filter_map(|a| self.record.get(*a)).filter_map(scalar);
        let variables =
            aliases.iter().filter_map(|a| self.variables.get(*a)).filter_map(scalar).map(|v| form_decode(v.as_bytes()));
        let channel = aliases.iter().filter_map(|a| self.channel_data.get(*a)).filter_map(scalar);
        own.chain(variables).chain(channel).find(|v| !v.is_empty())
    }

    fn number(&self, aliases: &[&str]) -> Option<u64> {
        self.text(aliases).and_then(|v| v.parse::<f64>().ok()).filter(|v| v.is_finite() && *v >= 0.0).map(|v| v as u64)
    }

    /// The first alias that is a time: RFC 3339, `YYYY-MM-DD HH:MM:SS` (taken as UTC, which is
    /// how the PBX should be set to write CDRs), or Unix seconds. Zero means "never" (an
    /// unanswered call's `answer_epoch`).
    fn time(&self, aliases: &[&str]) -> Option<DateTime<Utc>> {
        aliases.iter().find_map(|alias| self.text(&[alias]).and_then(|v| parse_time(&v)))
    }
}

fn parse_time(value: &str) -> Option<DateTime<Utc>> {
    if let Ok(time) = DateTime::parse_from_rfc3339(value) {
        return Some(time.with_timezone(&Utc));
    }
    if let Ok(naive) = NaiveDateTime::parse_from_str(value, "%Y-%m-%d %H:%M:%S") {
        return Some(naive.and_utc());
    }
    value.parse::<i64>().ok().filter(|&secs| secs > 0).and_then(|secs| DateTime::from_timestamp(secs, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_bodies_decode_plus_and_percent_escapes_leniently() {
        let pairs = form_pairs(b"From=%2B420777123456&CallerName=Jan+Nov%C3%A1k&Bad=%zz%4&Flag&&");
        assert_eq!(
            pairs,
            vec![
                ("From".to_owned(), "+420777123456".to_owned()),
                ("CallerName".to_owned(), "Jan Novák".to_owned()),
                ("Bad".to_owned(), "%zz%4".to_owned()),
                ("Flag".to_owned(), String::new()),
            ]
        );
    }

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
    fn asterisk_cdrs_read_strings_numbers_and_clid_names() {
        let got = cdrs(
            r#"{"uniqueid":"1710.2","linkedid":"1710.1","src":"777123456","dst":"222333444",
            "clid":"\"Jan Novák\" <777123456>","start":"2024-03-14 09:15:00","answer":"","end":"2024-03-14 09:15:20",
            "duration":"20","billsec":0,"disposition":"NO ANSWER"}"#
                .as_bytes(),
        )
        .expect("valid");
        let cdr = &got[0];
        assert_eq!(cdr.call_id, "1710.1");
        assert_eq!(cdr.leg_id.as_deref(), Some("1710.2"));
        assert_eq!(cdr.caller_name.as_deref(), Some("Jan Novák"));
        assert_eq!(cdr.start.map(|t| t.to_rfc3339()), Some("2024-03-14T09:15:00+00:00".to_owned()));
        assert_eq!(cdr.answer, None);
        assert_eq!((cdr.duration, cdr.billsec), (Some(20), Some(0)));
    }

    #[test]
    fn freeswitch_json_cdrs_read_their_variables() {
        let got = cdrs(
            br#"[{"channel_data":{"direction":"inbound"},"variables":{"uuid":"a-b","call_uuid":"a-b",
            "caller_id_number":"%2B420777123456","destination_number":"%2B420222333444","caller_id_name":"Jan%20Nov%C3%A1k",
            "start_epoch":"1710407700","answer_epoch":"0","billsec":"42","hangup_cause":"NORMAL_CLEARING"}}]"#,
        )
        .expect("valid");
        let cdr = &got[0];
        assert_eq!(cdr.call_id, "a-b");
        assert_eq!(cdr.src.as_deref(), Some("+420777123456"));
        assert_eq!(cdr.caller_name.as_deref(), Some("Jan Novák"));
        assert_eq!(cdr.direction.as_deref(), Some("inbound"));
        assert_eq!(cdr.start.map(|t| t.timestamp()), Some(1_710_407_700));
        assert_eq!(cdr.answer, None, "answer_epoch 0 means unanswered");
        assert_eq!(cdr.billsec, Some(42));
    }

    #[test]
    fn cdrs_without_an_id_or_numbers_are_malformed() {
        for body in [&br#"{"src":"1","dst":"2"}"#[..], br#"{"linkedid":"x"}"#, b"[1]", b"\"cdr\"", b"{"] {
            assert!(matches!(cdrs(body), Err(WebhookError::Malformed(_))), "{}", String::from_utf8_lossy(body));
        }
    }
}
