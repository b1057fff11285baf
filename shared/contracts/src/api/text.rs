//! Text that comes from an operator or an integration, valid by construction: a value of these
//! types is trimmed, not blank, within its length and free of control characters (U+0000
//! above all, which PostgreSQL cannot store), so a handler never sees one that is not. Lengths
//! are counted in characters, as JSON Schema's `maxLength` counts them; at four bytes a
//! character every bound here still fits a btree index row.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a text was refused (the JSON extractor prefixes the field's path).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("must not be blank")]
    Blank,
    #[error("must be at most {0} characters")]
    TooLong(usize),
    #[error("must not contain control characters")]
    Control,
    #[error("{0}")]
    Invalid(String),
}

/// Checks a one-line text: trimmed, not blank, at most `max` characters, no control character.
pub fn one_line(raw: &str, max: usize) -> Result<String, TextError> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(TextError::Blank);
    }
    if text.chars().count() > max {
        return Err(TextError::TooLong(max));
    }
    if text.chars().any(char::is_control) {
        return Err(TextError::Control);
    }
    Ok(text.to_owned())
}

/// A trimmed, non-blank, one-line text of at most `MAX` characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Text<const MAX: usize>(String);

impl<const MAX: usize> Text<MAX> {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl<const MAX: usize> TryFrom<String> for Text<MAX> {
    type Error = TextError;

    fn try_from(raw: String) -> Result<Self, TextError> {
        one_line(&raw, MAX).map(Self)
    }
}

impl<const MAX: usize> TryFrom<&str> for Text<MAX> {
    type Error = TextError;

    fn try_from(raw: &str) -> Result<Self, TextError> {
        one_line(raw, MAX).map(Self)
    }
}

impl<const MAX: usize> From<Text<MAX>> for String {
    fn from(text: Text<MAX>) -> String {
        text.0
    }
}

impl<const MAX: usize> fmt::Display for Text<MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A person's name as an operator writes it.
pub const NAME_CHARS: usize = 200;
pub type PersonName = Text<NAME_CHARS>;
/// A label shown to operators (a custom identifier's).
pub const LABEL_CHARS: usize = 200;
pub type Label = Text<LABEL_CHARS>;
/// A blocked value or pattern (`*` wildcards).
pub const PATTERN_CHARS: usize = 256;
pub type Pattern = Text<PATTERN_CHARS>;

/// The name of a custom identifier parameter: what web forms and integrations send as the
/// parameter's key, so letters, digits, `_` and `-`, at most 64.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ParameterName(String);

pub const PARAMETER_NAME_CHARS: usize = 64;

impl ParameterName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ParameterName {
    type Error = TextError;

    fn try_from(raw: String) -> Result<Self, TextError> {
        let name = one_line(&raw, PARAMETER_NAME_CHARS)?;
        if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            return Err(TextError::Invalid("letters, digits, `_` and `-` only".into()));
        }
        Ok(Self(name))
    }
}

impl From<ParameterName> for String {
    fn from(name: ParameterName) -> String {
        name.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_bounded_and_free_of_control_characters() {
        assert_eq!(PersonName::try_from("  Jiří Novák ").map(Text::into_string), Ok("Jiří Novák".into()));
        assert_eq!(PersonName::try_from("   "), Err(TextError::Blank));
        assert_eq!(PersonName::try_from("a\u{0}b"), Err(TextError::Control));
        assert_eq!(PersonName::try_from("a\nb"), Err(TextError::Control), "a name is one line");
        assert!(PersonName::try_from("ř".repeat(NAME_CHARS)).is_ok(), "characters, not bytes");
        assert_eq!(PersonName::try_from("ř".repeat(NAME_CHARS + 1)), Err(TextError::TooLong(NAME_CHARS)));
        assert!(serde_json::from_str::<PersonName>("\"\"").is_err());
    }

    #[test]
    fn parameter_names_are_identifiers() {
        assert!(ParameterName::try_from("crm_id".to_owned()).is_ok());
        assert!(ParameterName::try_from("crm id".to_owned()).is_err());
        assert!(ParameterName::try_from("x".repeat(65)).is_err());
    }
}
