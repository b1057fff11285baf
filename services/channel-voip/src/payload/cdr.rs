//! One call detail record, whichever PBX dialect it came in: Asterisk CDR field names,
//! <https://docs.asterisk.org/Configuration/Reporting/Call-Detail-Records-CDR/CDR-Specification/>,
//! or FreeSWITCH's (flat, or `mod_json_cdr`'s `variables`, `channel_data` and `callflow`
//! objects), <https://developer.signalwire.com/freeswitch/FreeSWITCH-Explained/Modules/mod_json_cdr_1048992/>.
//! Every format the endpoint accepts (JSON, Asterisk CSV, FreeSWITCH XML) becomes a record of
//! these field names first, so one alias table reads them all.
//!
//! Times: RFC 3339 keeps its offset; Unix seconds are absolute; a `YYYY-MM-DD HH:MM:SS` time
//! carries no zone (Asterisk writes the PBX's local time unless `usegmtime=yes`, FreeSWITCH's
//! `*_stamp` are local too) and is read in the PBX's configured zone.

use channel::WebhookError;
use chrono::{DateTime, NaiveDateTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::{Map, Value};

use super::form_decode;

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
    /// The calling channel (`PJSIP/trunk-00000012`) and the one that answered (`PJSIP/101-…`:
    /// which agent took the call).
    pub channel: Option<String>,
    pub dstchannel: Option<String>,
    /// The last dialplan application (`Dial`, `Queue`, `VoiceMail`).
    pub lastapp: Option<String>,
    pub peeraccount: Option<String>,
}

/// The CDRs of a JSON body: a single object or an array of them.
pub fn from_json(body: &[u8], zone: Tz) -> Result<Vec<Cdr>, WebhookError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
    match value {
        Value::Object(record) => Ok(vec![Cdr::from_record(record, zone)?]),
        Value::Array(records) => records
            .into_iter()
            .map(|record| match record {
                Value::Object(record) => Cdr::from_record(record, zone),
                _ => Err(WebhookError::Malformed("every CDR must be a JSON object".into())),
            })
            .collect(),
        _ => Err(WebhookError::Malformed("expected a CDR object or an array of them".into())),
    }
}

impl Cdr {
    /// Reads a record of CDR field names; zone-less times are in `zone`.
    pub fn from_record(record: Map<String, Value>, zone: Tz) -> Result<Self, WebhookError> {
        let fields = Fields::new(record, zone);
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
            start: fields.time(&["start", "start_time", "calldate", "start_stamp", "start_epoch", "created_time"]),
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
            channel: fields.text(&["channel", "channel_name"]),
            dstchannel: fields.text(&["dstchannel"]),
            lastapp: fields.text(&["lastapp", "last_app"]),
            peeraccount: fields.text(&["peeraccount"]),
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

/// A CDR's fields looked up by alias: the record's own fields first, then FreeSWITCH's
/// `variables` (percent-encoded by default), `channel_data` and the first `callflow`'s
/// `caller_profile` (and its `times`, microseconds since the epoch).
struct Fields {
    record: Map<String, Value>,
    variables: Map<String, Value>,
    channel_data: Map<String, Value>,
    caller_profile: Map<String, Value>,
    zone: Tz,
}

impl Fields {
    fn new(mut record: Map<String, Value>, zone: Tz) -> Self {
        let mut take = |name: &str| match record.remove(name) {
            Some(Value::Object(map)) => map,
            _ => Map::new(),
        };
        let (variables, channel_data) = (take("variables"), take("channel_data"));
        // `callflow` is an array in mod_json_cdr (an object when there is one, in older versions).
        let callflow = match record.remove("callflow") {
            Some(Value::Array(mut flows)) if !flows.is_empty() => flows.swap_remove(0),
            Some(flow @ Value::Object(_)) => flow,
            _ => Value::Null,
        };
        let mut caller_profile = match callflow.get("caller_profile") {
            Some(Value::Object(profile)) => profile.clone(),
            _ => Map::new(),
        };
        if let Some(Value::Object(times)) = callflow.get("times") {
            for (name, value) in times {
                // Microseconds since the epoch; zero means "never".
                if let Some(micros) = value.as_str().and_then(|v| v.parse::<i64>().ok()).or(value.as_i64()) {
                    if micros > 0 {
                        caller_profile.insert(name.clone(), Value::from((micros / 1_000_000).to_string()));
                    }
                }
            }
        }
        Self { record, variables, channel_data, caller_profile, zone }
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
        let profile = aliases.iter().filter_map(|a| self.caller_profile.get(*a)).filter_map(scalar);
        own.chain(variables).chain(channel).chain(profile).find(|v| !v.is_empty())
    }

    fn number(&self, aliases: &[&str]) -> Option<u64> {
        self.text(aliases).and_then(|v| v.parse::<f64>().ok()).filter(|v| v.is_finite() && *v >= 0.0).map(|v| v as u64)
    }

    /// The first alias that is a time ([`parse_time`]). Zero means "never" (an unanswered
    /// call's `answer_epoch`).
    fn time(&self, aliases: &[&str]) -> Option<DateTime<Utc>> {
        aliases.iter().find_map(|alias| self.text(&[alias]).and_then(|v| parse_time(&v, self.zone)))
    }
}

/// A CDR time: RFC 3339 (its own offset), `YYYY-MM-DD HH:MM:SS[.fff]` (in `zone`), or Unix
/// seconds (`1710407700`, or `1710407700.123` as `cdr_custom`'s `start(double)` writes them).
pub fn parse_time(value: &str, zone: Tz) -> Option<DateTime<Utc>> {
    let value = value.trim();
    if let Ok(time) = DateTime::parse_from_rfc3339(value) {
        return Some(time.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(value, format) {
            return in_zone(naive, zone);
        }
    }
    let seconds = value.parse::<f64>().ok().filter(|s| s.is_finite() && *s >= 1.0)?;
    // Within chrono's range (an i64 of seconds is not); whole seconds are all a timeline shows.
    DateTime::from_timestamp(seconds.min(1e12) as i64, 0)
}

/// A wall-clock time of `zone` as UTC. In the hour the clocks go back, the earlier (summer)
/// instant is taken; a time in the hour they skip is read with the offset before the change
/// (the PBX's clock had not moved yet).
pub fn in_zone(naive: NaiveDateTime, zone: Tz) -> Option<DateTime<Utc>> {
    let hour = TimeDelta::try_hours(1)?;
    let local = zone
        .from_local_datetime(&naive)
        .earliest()
        .or_else(|| zone.from_local_datetime(&(naive - hour)).earliest().map(|before| before + hour))?;
    Some(local.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cdrs(body: &[u8]) -> Result<Vec<Cdr>, WebhookError> {
        from_json(body, Tz::UTC)
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

    #[test]
    fn zone_less_times_are_read_in_the_pbx_zone_and_others_keep_their_own() {
        let prague = chrono_tz::Europe::Prague;
        let at = |value: &str| parse_time(value, prague).map(|t| t.to_rfc3339());
        assert_eq!(at("2024-01-15 14:15:00").as_deref(), Some("2024-01-15T13:15:00+00:00"), "winter: UTC+1");
        assert_eq!(at("2024-07-15 14:15:00").as_deref(), Some("2024-07-15T12:15:00+00:00"), "summer: UTC+2");
        assert_eq!(at("2024-01-15 14:15:00.250").as_deref(), Some("2024-01-15T13:15:00.250+00:00"));
        assert_eq!(at("2024-01-15T14:15:00+05:00").as_deref(), Some("2024-01-15T09:15:00+00:00"), "an offset wins");
        assert_eq!(at("1705328100").as_deref(), Some("2024-01-15T14:15:00+00:00"), "epoch seconds are absolute");
        assert_eq!(at("1705328100.75").as_deref(), Some("2024-01-15T14:15:00+00:00"));
        assert_eq!(at("0"), None, "zero means never");
        assert_eq!(
            parse_time("2024-01-15 14:15:00", Tz::UTC).map(|t| t.to_rfc3339()).as_deref(),
            Some("2024-01-15T14:15:00+00:00")
        );
    }

    #[test]
    fn the_hours_around_a_clock_change_have_one_reading() {
        let prague = chrono_tz::Europe::Prague;
        let at = |value: &str| parse_time(value, prague).map(|t| t.to_rfc3339());
        // 27 Oct 2024 02:30 happened twice (CEST, then CET): the first one.
        assert_eq!(at("2024-10-27 02:30:00").as_deref(), Some("2024-10-27T00:30:00+00:00"));
        // 31 Mar 2024 02:30 never happened (02:00 CET became 03:00 CEST): read as CET.
        assert_eq!(at("2024-03-31 02:30:00").as_deref(), Some("2024-03-31T01:30:00+00:00"));
    }

    #[test]
    fn a_mod_json_cdr_callflow_fills_what_the_variables_lack() {
        let got = from_json(
            br#"{"variables":{"uuid":"u-1"},"callflow":[{"caller_profile":{"caller_id_number":"777123456",
                "destination_number":"222333444","caller_id_name":"Jana"},"times":{"created_time":"1710407700000000",
                "answered_time":"0"}}]}"#,
            Tz::UTC,
        )
        .expect("valid");
        let cdr = &got[0];
        assert_eq!((cdr.src.as_deref(), cdr.dst.as_deref()), (Some("777123456"), Some("222333444")));
        assert_eq!(cdr.caller_name.as_deref(), Some("Jana"));
        assert_eq!(cdr.start.map(|t| t.timestamp()), Some(1_710_407_700));
    }
}
