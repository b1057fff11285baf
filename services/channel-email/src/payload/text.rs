//! The body text of a message, recovered as far as its structure allows (see the parent module).

use mail_parser::{Address, Message, MessageParser, MessagePart, MimeHeaders, PartType};

use super::bounce::is_report;
use super::AttachmentMeta;

/// How deep forwarded messages inside forwarded messages are read.
const MAX_FORWARD_DEPTH: usize = 3;

/// The message's text (see the module docs): its own text, then that of forwarded messages.
pub(super) fn body_text(message: &Message<'_>) -> Option<String> {
    text_of(message, 0)
}

fn text_of(message: &Message<'_>, depth: usize) -> Option<String> {
    let mut parts: Vec<String> = own_text(message).into_iter().collect();
    // A delivery report returns our own message: its text is not the customer's.
    if depth < MAX_FORWARD_DEPTH && !is_report(message) {
        for part in &message.parts {
            if let PartType::Message(forwarded) = &part.body {
                if let Some(text) = text_of(forwarded, depth + 1) {
                    parts.push(format!("{}\n\n{text}", forward_header(forwarded)));
                }
            }
        }
    }
    let text = parts.join("\n\n");
    (!text.trim().is_empty()).then_some(text)
}

/// The text bodies mail-parser found (text/plain preferred inside multipart/alternative; HTML
/// converted when it is the only alternative); else every inline text part; else the body
/// re-read with the boundary it really uses.
fn own_text(message: &Message<'_>) -> Option<String> {
    let found: Vec<String> =
        (0..message.text_body_count()).filter_map(|i| message.body_text(i)).map(|t| t.into_owned()).collect();
    if let Some(text) = joined(found) {
        return Some(text);
    }
    let inline: Vec<String> = message
        .parts
        .iter()
        .filter(|part| !part.is_message() && part.content_disposition().is_none_or(|d| !d.is_attachment()))
        // Neither returned headers nor a multipart left unsplit (its raw body, delimiters and all).
        .filter(|part| {
            part.content_type().is_none_or(|ct| {
                !ct.ctype().eq_ignore_ascii_case("multipart")
                    && ct.subtype().is_none_or(|s| !s.eq_ignore_ascii_case("rfc822-headers"))
            })
        })
        .filter_map(|part| match &part.body {
            PartType::Text(text) => Some(text.to_string()),
            PartType::Html(html) => Some(mail_parser::decoders::html::html_to_text(html)),
            _ => None,
        })
        .collect();
    joined(inline).or_else(|| reread_with_used_boundary(message))
}

fn joined(texts: Vec<String>) -> Option<String> {
    let texts: Vec<&str> = texts.iter().map(|t| t.trim()).filter(|t| !t.is_empty()).collect();
    (!texts.is_empty()).then(|| texts.join("\n\n"))
}

/// A multipart body whose declared boundary never occurs (or that declares none) is left as one
/// raw part; its delimiter lines (`--token`) still say where the parts are.
fn reread_with_used_boundary(message: &Message<'_>) -> Option<String> {
    let root = message.root_part();
    let multipart = root.content_type().is_some_and(|ct| ct.ctype().eq_ignore_ascii_case("multipart"));
    if !multipart || matches!(root.body, PartType::Multipart(_)) {
        return None;
    }
    let raw = root.contents();
    let boundary = String::from_utf8_lossy(raw).lines().find_map(|line| {
        let token = line.trim_end().strip_prefix("--")?;
        let token = token.strip_suffix("--").unwrap_or(token);
        let valid = (1..=70).contains(&token.len()) && !token.contains(['"', '\\']) && !token.starts_with(' ');
        valid.then(|| token.to_owned())
    })?;
    let mut rebuilt = format!("Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n").into_bytes();
    rebuilt.extend_from_slice(raw);
    let reread = MessageParser::default().parse(&rebuilt)?;
    if !matches!(reread.root_part().body, PartType::Multipart(_)) {
        return None;
    }
    let texts = (0..reread.text_body_count()).filter_map(|i| reread.body_text(i)).map(|t| t.into_owned()).collect();
    joined(texts)
}

/// What a mail client shows above a forwarded message's text.
fn forward_header(forwarded: &Message<'_>) -> String {
    let mut lines = vec!["---------- Forwarded message ----------".to_owned()];
    let from = forwarded.from().and_then(Address::first).map(|a| match (a.name(), a.address()) {
        (Some(name), Some(address)) => format!("{name} <{address}>"),
        (name, address) => address.or(name).unwrap_or_default().to_owned(),
    });
    for (label, value) in
        [("From", from), ("Date", forwarded.date().map(|d| d.to_rfc3339())), ("Subject", forwarded.subject().map(str::to_owned))]
    {
        if let Some(value) = value.filter(|v| !v.trim().is_empty()) {
            lines.push(format!("{label}: {value}"));
        }
    }
    lines.join("\n")
}

pub(super) fn attachment(part: &MessagePart<'_>) -> AttachmentMeta {
    let mime = part
        .content_type()
        .map(|ct| match ct.subtype() {
            Some(subtype) => format!("{}/{}", ct.ctype(), subtype),
            None => ct.ctype().to_owned(),
        })
        .unwrap_or_else(|| "application/octet-stream".to_owned())
        .to_ascii_lowercase();
    let name = part.attachment_name().map(str::trim).filter(|n| !n.is_empty()).map(str::to_owned);
    AttachmentMeta { name, mime, size: part.len() as u64 }
}
