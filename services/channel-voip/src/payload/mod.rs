//! Wire formats of the call sources. Only the fields we use are read; unknown fields and columns
//! are ignored so provider additions never break ingestion.
//!
//! - [`twilio`]: Twilio call status callbacks (form-encoded, one per call progress event).
//! - [`cdr`]: one call detail record, whichever PBX dialect it came in, and the times in it.
//! - The CDR endpoint reads the body by its `Content-Type` ([`cdrs`]):
//!   - `application/json` (and no content type): JSON objects with Asterisk or FreeSWITCH field
//!     names, one or an array ([`cdr`]);
//!   - `text/csv`, `text/plain`: Asterisk CSV lines, as `cdr_csv` writes `Master.csv` or as the
//!     default `cdr_custom` mapping does ([`asterisk_csv`]), one or many lines;
//!   - `application/xml`, `text/xml`: a FreeSWITCH `mod_xml_cdr` document ([`freeswitch`]);
//!   - `application/x-www-form-urlencoded`, `application/x-www-form-base64-encoded`,
//!     `application/x-www-form-plaintext`: what FreeSWITCH's `mod_xml_cdr`/`mod_json_cdr` post
//!     with their `encode` option (`cdr=<document>`, URL-encoded, Base64 or raw).

pub mod asterisk_csv;
pub mod cdr;
pub mod freeswitch;
pub mod twilio;

use channel::WebhookError;
use chrono_tz::Tz;

pub use asterisk_csv::{CdrCsvColumns, CsvLayout};
pub use cdr::Cdr;
pub use twilio::TwilioCallStatus;

/// How one PBX writes its CDRs: the zone of its zone-less times and its CSV columns.
#[derive(Debug, Clone)]
pub struct Reading {
    /// The zone CDR times without an offset are in (`Master.csv` is written in the PBX's local
    /// time unless `usegmtime=yes`).
    pub zone: Tz,
    pub csv: CsvLayout,
}

impl Default for Reading {
    fn default() -> Self {
        Self { zone: Tz::UTC, csv: CsvLayout::default() }
    }
}

/// The CDRs of one request, read as its `Content-Type` says.
pub fn cdrs(content_type: Option<&str>, body: &[u8], reading: &Reading) -> Result<Vec<Cdr>, WebhookError> {
    let (essence, parameters) = media_type(content_type.unwrap_or(""));
    match essence.as_str() {
        "" | "application/json" => cdr::from_json(body, reading.zone),
        "text/csv" | "text/plain" => {
            let header = parameters.iter().any(|(k, v)| k == "header" && v.eq_ignore_ascii_case("present"));
            asterisk_csv::cdrs(body, &reading.csv, header, reading.zone)
        }
        "application/xml" | "text/xml" => freeswitch::from_xml(body, reading.zone).map(|cdr| vec![cdr]),
        "application/x-www-form-urlencoded" | "application/x-www-form-base64-encoded" | "application/x-www-form-plaintext" => {
            freeswitch::from_form(&essence, body, reading.zone)
        }
        other if other.ends_with("+json") => cdr::from_json(body, reading.zone),
        other => Err(WebhookError::Malformed(format!(
            "unsupported Content-Type {other:?}: send application/json, text/csv, application/xml or FreeSWITCH's form encoding"
        ))),
    }
}

/// `type/subtype` lower-cased and the parameters of a `Content-Type` value.
fn media_type(value: &str) -> (String, Vec<(String, String)>) {
    let mut parts = value.split(';');
    let essence = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
    let parameters = parts
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().trim_matches('"').to_owned()))
        .collect();
    (essence, parameters)
}

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
    fn the_content_type_chooses_the_format_and_an_unknown_one_is_malformed() {
        let reading = Reading::default();
        let json = br#"{"uniqueid":"1.1","src":"777123456","dst":"222333444"}"#;
        assert_eq!(cdrs(Some("application/json; charset=utf-8"), json, &reading).expect("json").len(), 1);
        assert_eq!(cdrs(None, json, &reading).expect("no content type is JSON").len(), 1);
        let csv = b"\"\",\"777123456\",\"222333444\",\"ctx\",\"\",\"SIP/a\",\"\",\"Dial\",\"\",\"2024-03-14 09:15:00\",,\"2024-03-14 09:15:20\",20,0,\"NO ANSWER\",\"DOCUMENTATION\",\"1.2\",\"\"\n";
        assert_eq!(cdrs(Some("text/csv"), csv, &reading).expect("csv")[0].call_id, "1.2");
        assert_eq!(cdrs(Some("TEXT/PLAIN"), csv, &reading).expect("plain text is CSV").len(), 1);
        assert!(matches!(cdrs(Some("image/png"), json, &reading), Err(WebhookError::Malformed(_))));
    }
}
