//! Apple Messages for Business wire format, as Apple's service posts it to the MSP's `/message`
//! endpoint: routing in the `id`, `source-id` (the customer's opaque id), `destination-id` (the
//! business id), `capability-list` and `device-agent` headers; a JSON body, possibly
//! gzip-compressed, with `type` (`text`, `interactive`, `typing_start`, `typing_end`, `close`),
//! `body`, `attachments`, `interactiveData` or `interactiveDataRef`, `locale`, `group` and
//! `intent`. Only the fields we use are typed; everything else is ignored so new provider fields
//! never break ingestion. Attachment decryption keys are deliberately not read, so they never
//! reach Kafka.
//! <https://register.apple.com/resources/messages/msp-rest-api/common-specs>
//! <https://register.apple.com/resources/messages/msp-rest-api/messages-received>
//! <https://register.apple.com/resources/messages/msp-rest-api/type-text>
//! <https://register.apple.com/resources/messages/msp-rest-api/type-interactive>

use std::io::Read;

use axum::http::header::CONTENT_ENCODING;
use axum::http::HeaderMap;
use channel::WebhookError;
use flate2::read::MultiGzDecoder;
use serde::de::IgnoredAny;
use serde::Deserialize;

pub const ID_HEADER: &str = "id";
pub const SOURCE_ID_HEADER: &str = "source-id";
pub const DESTINATION_ID_HEADER: &str = "destination-id";
pub const CAPABILITY_LIST_HEADER: &str = "capability-list";
pub const DEVICE_AGENT_HEADER: &str = "device-agent";

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Why a body could not be turned into JSON bytes.
#[derive(Debug, PartialEq, Eq)]
pub enum BodyError {
    /// The inflated body would exceed the limit (a compression bomb or a huge payload).
    TooLarge(usize),
    Malformed(String),
}

/// The JSON bytes of the body: inflated when `Content-Encoding: gzip` says so or the body starts
/// with the gzip magic bytes (Apple compresses larger payloads), never beyond `limit` bytes.
pub fn decode_body<'a>(headers: &HeaderMap, body: &'a [u8], limit: usize) -> Result<std::borrow::Cow<'a, [u8]>, BodyError> {
    let encoding = headers.get(CONTENT_ENCODING).map(|v| v.to_str().unwrap_or("?").trim().to_ascii_lowercase());
    let gzip = match encoding.as_deref() {
        None | Some("") | Some("identity") => body.starts_with(&GZIP_MAGIC),
        Some("gzip") | Some("x-gzip") => true,
        Some(other) => return Err(BodyError::Malformed(format!("unsupported Content-Encoding {other:?}"))),
    };
    if !gzip {
        return Ok(std::borrow::Cow::Borrowed(body));
    }
    let mut inflated = Vec::new();
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    MultiGzDecoder::new(body)
        .take(cap)
        .read_to_end(&mut inflated)
        .map_err(|e| BodyError::Malformed(format!("gzip body does not inflate: {e}")))?;
    if inflated.len() > limit {
        return Err(BodyError::TooLarge(limit));
    }
    Ok(std::borrow::Cow::Owned(inflated))
}

/// One message from Apple's service. The routing ids are also in the headers, which win.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub source_id: Option<String>,
    #[serde(default)]
    pub destination_id: Option<String>,
    /// The text; attachments appear in it as U+FFFC object replacement characters.
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub locale: Option<String>,
    /// The entry point's `biz-group-id`.
    #[serde(default)]
    pub group: Option<String>,
    /// The entry point's `biz-intent-id`.
    #[serde(default)]
    pub intent: Option<String>,
    #[serde(default)]
    pub attachments: Vec<Attachment>,
    #[serde(default)]
    pub interactive_data: Option<InteractiveData>,
    /// Sent instead of `interactiveData` when it is larger than 10 KB (encrypted, downloaded
    /// separately).
    #[serde(default)]
    pub interactive_data_ref: Option<InteractiveDataRef>,
}

/// Attachment metadata (the file itself is encrypted on Apple's storage; its `key` is not read).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, alias = "mime-type")]
    pub mime_type: Option<String>,
    /// Bytes of the encrypted file; Apple sends it as a string.
    #[serde(default, alias = "file-size")]
    pub size: Option<Scalar>,
    #[serde(default, alias = "mmcs-url")]
    pub url: Option<String>,
}

/// A string or a number (Apple writes sizes and durations either way).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Scalar {
    Text(String),
    Number(serde_json::Number),
}

impl Scalar {
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Scalar::Text(text) => text.trim().parse().ok(),
            Scalar::Number(number) => number.as_u64(),
        }
    }

    pub fn to_text(&self) -> String {
        match self {
            Scalar::Text(text) => text.clone(),
            Scalar::Number(number) => number.to_string(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InteractiveData {
    #[serde(default)]
    pub bid: Option<String>,
    #[serde(default)]
    pub data: Option<InteractiveBody>,
    #[serde(default)]
    pub received_message: Option<Bubble>,
    #[serde(default)]
    pub reply_message: Option<Bubble>,
}

/// `interactiveData.data`: which key is present tells the kind of interaction.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InteractiveBody {
    #[serde(default)]
    pub request_identifier: Option<String>,
    #[serde(default)]
    pub reply_message: Option<Bubble>,
    /// A list picker answer carries only the items the customer selected.
    #[serde(default)]
    pub list_picker: Option<ListPicker>,
    /// A time picker answer carries the chosen slot.
    #[serde(default)]
    pub event: Option<Event>,
    /// Older time picker answers nest the event.
    #[serde(default)]
    pub time_picker: Option<TimePicker>,
    #[serde(default, rename = "quick-reply")]
    pub quick_reply: Option<QuickReply>,
    #[serde(default)]
    pub authenticate: Option<IgnoredAny>,
    #[serde(default)]
    pub payment: Option<IgnoredAny>,
    /// Forms (`template: messageForms`).
    #[serde(default)]
    pub dynamic: Option<IgnoredAny>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Bubble {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub subtitle: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct ListPicker {
    #[serde(default)]
    pub sections: Vec<Section>,
}

#[derive(Debug, Deserialize)]
pub struct Section {
    #[serde(default)]
    pub items: Vec<Item>,
}

#[derive(Debug, Deserialize)]
pub struct Item {
    #[serde(default)]
    pub identifier: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct TimePicker {
    #[serde(default)]
    pub event: Option<Event>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub timeslots: Vec<Timeslot>,
    /// Minutes from UTC of the business location.
    #[serde(default)]
    pub timezone_offset: Option<Scalar>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Timeslot {
    #[serde(default)]
    pub identifier: Option<String>,
    /// ISO 8601 in UTC, e.g. `2025-11-27T08:00+0000`.
    #[serde(default)]
    pub start_time: Option<String>,
    /// Seconds.
    #[serde(default)]
    pub duration: Option<Scalar>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QuickReply {
    #[serde(default)]
    pub items: Vec<Item>,
    #[serde(default)]
    pub selected_index: Option<usize>,
    #[serde(default)]
    pub selected_identifier: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct InteractiveDataRef {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub size: Option<Scalar>,
}

/// Who talks to whom, from the headers (the body's copies only fill in missing headers and must
/// agree with them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// Message id (UUID).
    pub id: String,
    /// The customer's opaque id.
    pub source_id: String,
    /// The business id.
    pub destination_id: String,
    pub capabilities: Option<String>,
    pub device_agent: Option<String>,
}

impl Envelope {
    pub fn new(headers: &HeaderMap, message: &Message) -> Result<Self, WebhookError> {
        Ok(Self {
            id: routing(headers, ID_HEADER, message.id.as_deref())?,
            source_id: routing(headers, SOURCE_ID_HEADER, message.source_id.as_deref())?,
            destination_id: routing(headers, DESTINATION_ID_HEADER, message.destination_id.as_deref())?,
            capabilities: header(headers, CAPABILITY_LIST_HEADER),
            device_agent: header(headers, DEVICE_AGENT_HEADER),
        })
    }
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned)
}

fn routing(headers: &HeaderMap, name: &str, in_body: Option<&str>) -> Result<String, WebhookError> {
    let in_body = in_body.map(str::trim).filter(|v| !v.is_empty());
    match (header(headers, name), in_body) {
        (Some(h), Some(b)) if h != b => Err(WebhookError::Malformed(format!("`{name}` header and body disagree"))),
        (Some(h), _) => Ok(h),
        (None, Some(b)) => Ok(b.to_owned()),
        (None, None) => Err(WebhookError::Malformed(format!("missing `{name}` header"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use flate2::write::GzEncoder;
    use flate2::Compression;
    use std::io::Write;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(bytes).expect("in-memory write");
        encoder.finish().expect("in-memory finish")
    }

    fn encoding(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_ENCODING, HeaderValue::from_str(value).expect("header value"));
        headers
    }

    #[test]
    fn a_plain_body_passes_through() {
        assert_eq!(decode_body(&HeaderMap::new(), b"{}", 10).expect("plain").as_ref(), b"{}");
    }

    #[test]
    fn gzip_is_inflated_by_header_or_by_magic_bytes() {
        let packed = gzip(b"{\"type\":\"text\"}");
        assert_eq!(decode_body(&encoding("gzip"), &packed, 100).expect("header").as_ref(), b"{\"type\":\"text\"}");
        assert_eq!(decode_body(&HeaderMap::new(), &packed, 100).expect("magic").as_ref(), b"{\"type\":\"text\"}");
    }

    #[test]
    fn an_inflated_body_over_the_limit_is_too_large() {
        let bomb = gzip(&vec![b' '; 100_000]);
        assert!(bomb.len() < 1_000);
        assert_eq!(decode_body(&encoding("gzip"), &bomb, 10_000), Err(BodyError::TooLarge(10_000)));
    }

    #[test]
    fn broken_gzip_and_unknown_encodings_are_malformed() {
        assert!(matches!(decode_body(&encoding("gzip"), b"{}", 100), Err(BodyError::Malformed(_))));
        assert!(matches!(decode_body(&HeaderMap::new(), &[0x1f, 0x8b, 0, 1], 100), Err(BodyError::Malformed(_))));
        assert!(matches!(decode_body(&encoding("br"), b"{}", 100), Err(BodyError::Malformed(_))));
    }

    #[test]
    fn headers_win_and_must_agree_with_the_body() {
        let message: Message =
            serde_json::from_str(r#"{"type":"text","id":"m1","sourceId":"urn:mbid:A","destinationId":"biz"}"#).expect("json");
        let envelope = Envelope::new(&HeaderMap::new(), &message).expect("body fills in");
        assert_eq!(
            (envelope.id.as_str(), envelope.source_id.as_str(), envelope.destination_id.as_str()),
            ("m1", "urn:mbid:A", "biz")
        );
        let mut headers = HeaderMap::new();
        headers.insert(DESTINATION_ID_HEADER, HeaderValue::from_static("other-biz"));
        assert!(matches!(Envelope::new(&headers, &message), Err(WebhookError::Malformed(_))));
        let bare: Message = serde_json::from_str(r#"{"type":"text"}"#).expect("json");
        assert!(matches!(Envelope::new(&HeaderMap::new(), &bare), Err(WebhookError::Malformed(_))));
    }
}
