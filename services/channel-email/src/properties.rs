//! Properties of the parser over valid messages (issue 17): see [`testkit::parsing_properties`].
//! Messages are built in the shape of the fixtures (`plain_czech_qp.eml`,
//! `multipart_attachment.eml`): an encoded-word sender name and subject, a mixed-case sender
//! address, a UTF-8 body and optionally an attachment with an RFC 2231 file name; the text is
//! arbitrary (NUL, over-long) and always transfer-encoded, so every message is valid MIME.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use channel::AccountMap;
use proptest::prelude::*;
use testkit::arbitrary::text;
use testkit::parsing_properties::check_parsing;

use crate::{parse, routing};

/// What varies between generated messages.
#[derive(Debug, Clone)]
struct Mail {
    name: String,
    address: String,
    subject: String,
    message_id: String,
    day: u8,
    body: String,
    attachment: Option<String>,
}

fn mail() -> impl Strategy<Value = Mail> {
    let address = "[A-Za-z0-9][A-Za-z0-9._+-]{0,15}@[A-Za-z0-9-]{1,12}\\.(cz|com|eu)";
    (text(), address, text(), "[a-z0-9.-]{1,24}@[a-z0-9.-]{1,16}", 1..=28u8, text(), proptest::option::of(text())).prop_map(
        |(name, address, subject, message_id, day, body, attachment)| Mail {
            name,
            address,
            subject,
            message_id,
            day,
            body,
            attachment,
        },
    )
}

/// RFC 2047 encoded word.
fn word(text: &str) -> String {
    format!("=?utf-8?b?{}?=", STANDARD.encode(text))
}

/// Base64 in lines of 76 characters.
fn base64_lines(bytes: &[u8]) -> String {
    let encoded = STANDARD.encode(bytes);
    encoded.as_bytes().chunks(76).map(|line| String::from_utf8_lossy(line).into_owned() + "\r\n").collect()
}

fn raw(mail: &Mail) -> String {
    let headers = format!(
        "Message-ID: <{}>\r\nDate: {:02} Mar 2024 10:15:00 +0100\r\nFrom: {} <{}>\r\nTo: Podpora ACME <Podpora@ACME.cz>\r\n\
         Subject: {}\r\nMIME-Version: 1.0\r\n",
        mail.message_id,
        mail.day,
        word(&mail.name),
        mail.address,
        word(&mail.subject)
    );
    let text_part = format!(
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{}",
        base64_lines(mail.body.as_bytes())
    );
    let Some(file_name) = &mail.attachment else { return format!("{headers}{text_part}") };
    let encoded_name: String = file_name.bytes().map(|b| format!("%{b:02X}")).collect();
    format!(
        "{headers}Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\n{text_part}--b1\r\n\
         Content-Type: application/pdf\r\nContent-Disposition: attachment; filename*=UTF-8''{encoded_name}\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}--b1--\r\n",
        base64_lines(b"%PDF-1.4\n")
    )
}

proptest! {
    #[test]
    fn valid_messages_parse_deterministically_within_limits_and_round_trip(mail in mail()) {
        let raw = raw(&mail);
        let mailboxes = routing::Mailboxes::new(&AccountMap([("podpora@acme.cz".into(), "acme".into())].into())).expect("valid");
        let events = check_parsing(|| parse(raw.as_bytes(), &mailboxes).map(|interaction| vec![interaction]))?;
        let sender = events[0].body.identities.first().map(|identity| identity.value.clone());
        prop_assert_eq!(sender, Some(mail.address.to_lowercase()), "the sender is the first identity, normalized");
    }
}
