//! FreeSWITCH's HTTP CDR posts.
//!
//! - `mod_xml_cdr` posts one `<cdr>` document per call leg: `<channel_data>`, `<variables>`
//!   (channel variables, percent-encoded) and `<callflow><caller_profile>`
//!   (<https://developer.signalwire.com/freeswitch/FreeSWITCH-Explained/Modules/mod_xml_cdr_6587377>).
//!   Its elements become the same record fields the JSON format has.
//! - Both `mod_xml_cdr` and `mod_json_cdr` wrap the document as `cdr=<document>` by their `encode`
//!   option: `true` (`application/x-www-form-urlencoded`, URL-encoded), `base64`
//!   (`application/x-www-form-base64-encoded`) or `false` (`application/x-www-form-plaintext`,
//!   the document as is); `mod_json_cdr` with `encode=false` posts `application/json`
//!   (`src/mod/event_handlers/mod_{xml,json}_cdr` in FreeSWITCH's sources).

use base64::Engine as _;
use channel::WebhookError;
use chrono_tz::Tz;
use quick_xml::events::Event;
use quick_xml::Reader;
use serde_json::{Map, Value};

use super::cdr::{self, Cdr};
use super::form_decode;

/// Sections of a `<cdr>` whose child elements are fields (`caller_profile` and `times` of a
/// `<callflow>`).
const SECTIONS: [&str; 4] = ["variables", "channel_data", "caller_profile", "times"];
/// The sections that belong to a callflow in the JSON shape.
const CALLFLOW_SECTIONS: [&str; 2] = ["caller_profile", "times"];

/// Deepest element nesting read (a `<cdr>` document is about five levels deep).
const MAX_DEPTH: usize = 32;

/// The CDR of a `mod_xml_cdr` document.
pub fn from_xml(body: &[u8], zone: Tz) -> Result<Cdr, WebhookError> {
    let malformed = |why: String| WebhookError::Malformed(format!("XML CDR: {why}"));
    let text = std::str::from_utf8(body).map_err(|_| malformed("not UTF-8".into()))?;
    let mut reader = Reader::from_str(text);
    let mut path: Vec<String> = Vec::new();
    let mut sections: Map<String, Value> = Map::new();
    let mut value = String::new();
    let mut seen_cdr = false;
    loop {
        match reader.read_event().map_err(|e| malformed(e.to_string()))? {
            Event::Start(element) => {
                let name = String::from_utf8_lossy(element.local_name().as_ref()).into_owned();
                seen_cdr |= path.is_empty() && name == "cdr";
                path.push(name);
                if path.len() > MAX_DEPTH {
                    return Err(malformed("nested too deep".into()));
                }
                value.clear();
            }
            Event::Text(text) => value.push_str(&text.decode().map_err(|e| malformed(e.to_string()))?),
            Event::CData(data) => value.push_str(&data.decode().map_err(|e| malformed(e.to_string()))?),
            Event::GeneralRef(reference) => {
                let resolved = match reference.resolve_char_ref().map_err(|e| malformed(e.to_string()))? {
                    Some(c) => Some(c),
                    None => {
                        let name = reference.decode().map_err(|e| malformed(e.to_string()))?;
                        quick_xml::escape::resolve_predefined_entity(&name).and_then(|s| s.chars().next())
                    }
                };
                value.extend(resolved);
            }
            Event::End(_) => {
                let field = path.pop().unwrap_or_default();
                // Only the first `callflow` (the call's own profile, not a transfer's).
                if let Some(section) = path.last().filter(|s| SECTIONS.contains(&s.as_str())) {
                    let entry = sections.entry(section.clone()).or_insert_with(|| Value::Object(Map::new()));
                    if let Value::Object(fields) = entry {
                        fields.entry(field).or_insert_with(|| Value::from(value.trim()));
                    }
                }
                value.clear();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !seen_cdr {
        return Err(malformed("expected a <cdr> document".into()));
    }
    // The JSON shape: sections as objects, the caller profile and times inside a callflow.
    let mut record = Map::new();
    let mut callflow = Map::new();
    for (name, fields) in sections {
        if CALLFLOW_SECTIONS.contains(&name.as_str()) {
            callflow.insert(name, fields);
        } else {
            record.insert(name, fields);
        }
    }
    record.insert("callflow".into(), Value::from(vec![Value::Object(callflow)]));
    Cdr::from_record(record, zone)
}

/// A `cdr=<document>` form post of `mod_xml_cdr` or `mod_json_cdr`.
pub fn from_form(content_type: &str, body: &[u8], zone: Tz) -> Result<Vec<Cdr>, WebhookError> {
    let value =
        body.strip_prefix(b"cdr=").ok_or_else(|| WebhookError::Malformed("a FreeSWITCH form post starts with cdr=".into()))?;
    let document: Vec<u8> = match content_type {
        "application/x-www-form-urlencoded" => form_decode(value).into_bytes(),
        "application/x-www-form-base64-encoded" => {
            let compact: Vec<u8> = value.iter().copied().filter(|b| !b.is_ascii_whitespace()).collect();
            base64::engine::general_purpose::STANDARD
                .decode(compact)
                .map_err(|e| WebhookError::Malformed(format!("cdr= is not Base64: {e}")))?
        }
        _ => value.to_vec(),
    };
    match document.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'<') => from_xml(&document, zone).map(|cdr| vec![cdr]),
        Some(b'{' | b'[') => cdr::from_json(&document, zone),
        _ => Err(WebhookError::Malformed("cdr= holds neither an XML nor a JSON CDR".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const XML: &str = r#"<?xml version="1.0"?>
<cdr core-uuid="2df5304f" switchname="pbx1">
  <channel_data><direction>inbound</direction><state>CS_REPORTING</state></channel_data>
  <variables>
    <uuid>6f644233-fcae-46bb-ad45-74838a9c51ab</uuid>
    <caller_id_name>Jan%20Nov%C3%A1k</caller_id_name>
    <start_stamp>2024-01-15%2014%3A15%3A00</start_stamp>
    <billsec>42</billsec>
    <hangup_cause>NORMAL_CLEARING</hangup_cause>
    <sip_h_X-Note>a &amp; b &#x2713;</sip_h_X-Note>
  </variables>
  <callflow dialplan="XML">
    <caller_profile><caller_id_number>777123456</caller_id_number><destination_number>222333444</destination_number></caller_profile>
  </callflow>
  <callflow dialplan="XML">
    <caller_profile><caller_id_number>999</caller_id_number></caller_profile>
  </callflow>
</cdr>"#;

    #[test]
    fn a_mod_xml_cdr_document_reads_variables_channel_data_and_the_first_caller_profile() {
        let cdr = from_xml(XML.as_bytes(), chrono_tz::Europe::Prague).expect("valid");
        assert_eq!(cdr.call_id, "6f644233-fcae-46bb-ad45-74838a9c51ab");
        assert_eq!(cdr.direction.as_deref(), Some("inbound"));
        assert_eq!(cdr.caller_name.as_deref(), Some("Jan Novák"));
        assert_eq!((cdr.src.as_deref(), cdr.dst.as_deref()), (Some("777123456"), Some("222333444")));
        assert_eq!(cdr.start.map(|t| t.to_rfc3339()).as_deref(), Some("2024-01-15T13:15:00+00:00"));
        assert_eq!(cdr.billsec, Some(42));
    }

    #[test]
    fn every_encode_option_of_freeswitch_is_read() {
        let utc = chrono_tz::UTC;
        let urlencoded: String = XML.bytes().map(|b| format!("%{b:02X}")).collect();
        let base64 = base64::engine::general_purpose::STANDARD.encode(XML);
        for (content_type, body) in [
            ("application/x-www-form-urlencoded", format!("cdr={urlencoded}")),
            ("application/x-www-form-base64-encoded", format!("cdr={base64}")),
            ("application/x-www-form-plaintext", format!("cdr={XML}")),
        ] {
            let got = from_form(content_type, body.as_bytes(), utc).unwrap_or_else(|e| panic!("{content_type}: {e}"));
            assert_eq!(got[0].call_id, "6f644233-fcae-46bb-ad45-74838a9c51ab", "{content_type}");
        }
        let json = r#"cdr={"variables":{"uuid":"j-1","caller_id_number":"777123456"}}"#;
        assert_eq!(from_form("application/x-www-form-plaintext", json.as_bytes(), utc).expect("json")[0].call_id, "j-1");
    }

    #[test]
    fn broken_documents_are_malformed() {
        for (content_type, body) in [
            ("application/x-www-form-plaintext", "uuid=1"),
            ("application/x-www-form-plaintext", "cdr=hello"),
            ("application/x-www-form-base64-encoded", "cdr=***"),
        ] {
            assert!(
                matches!(from_form(content_type, body.as_bytes(), chrono_tz::UTC), Err(WebhookError::Malformed(_))),
                "{body}"
            );
        }
        for xml in ["<cdr><variables><uuid>1</variables></cdr>", "<other/>", "not xml", "<cdr><variables></variables></cdr>"] {
            assert!(matches!(from_xml(xml.as_bytes(), chrono_tz::UTC), Err(WebhookError::Malformed(_))), "{xml}");
        }
    }
}
