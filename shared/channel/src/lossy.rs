//! Provider bodies that should be UTF-8 text and are not: an authentic message with one bad byte
//! is decoded with replacement characters and stored flagged, never refused. The kit does this
//! for text bodies; adapters of binary bodies (gzip) do it after decoding them.

use std::borrow::Cow;

use contracts::limits::{Action, Sanitized};
use contracts::InteractionBody;

/// `bytes` as UTF-8 text, invalid sequences replaced by U+FFFD; `true` when anything was replaced.
pub fn utf8(bytes: &[u8]) -> (Cow<'_, str>, bool) {
    match std::str::from_utf8(bytes) {
        Ok(text) => (Cow::Borrowed(text), false),
        Err(_) => (String::from_utf8_lossy(bytes), true),
    }
}

/// Records on `body` that its provider bytes were decoded lossily.
pub fn flag(body: &mut InteractionBody) {
    let already = body.sanitized.iter().any(|s| s.field == "body" && s.action == Action::LossyUtf8);
    if !already {
        body.sanitized.push(Sanitized { field: "body".into(), action: Action::LossyUtf8, original_size: None });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_text_is_borrowed_and_invalid_bytes_are_replaced_and_reported() {
        assert_eq!(utf8("Žluť".as_bytes()), (Cow::Borrowed("Žluť"), false));
        let (text, lossy) = utf8(b"caf\xe9 ok");
        assert_eq!((text.as_ref(), lossy), ("caf\u{fffd} ok", true));
    }
}
