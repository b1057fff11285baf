//! Identifier normalization (DESIGN.md §2 `identity`): every identity is brought to one canonical
//! form before it is stored or matched, so `+420 777 123 456`, `00420777123456` and `777123456`
//! (default region CZ) are one phone, and `Jan@Example.CZ ` is one e-mail.

use contracts::{Identity, IdentityKind};
use phonenumber::country;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    #[error("`{0}` is not a phone number")]
    InvalidPhone(String),
    #[error("`{0}` is not an e-mail address")]
    InvalidEmail(String),
    #[error("`{0}` is not a valid default region (expected an ISO 3166 code such as CZ)")]
    InvalidRegion(String),
    #[error("empty {0} identifier")]
    Empty(IdentityKind),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A tenant's default region for numbers written without a country code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region(country::Id);

impl Region {
    pub fn parse(code: &str) -> Result<Self> {
        code.trim().to_ascii_uppercase().parse::<country::Id>().map(Region).map_err(|_| Error::InvalidRegion(code.to_owned()))
    }
}

/// A phone number in E.164 (`+420777123456`).
pub fn normalize_phone(raw: &str, region: Option<Region>) -> Result<String> {
    let trimmed = raw.trim();
    // WhatsApp ids and many CDRs carry international numbers without the leading `+`.
    let candidate = if region.is_none() && !trimmed.starts_with('+') && !trimmed.starts_with("00") {
        format!("+{trimmed}")
    } else {
        trimmed.to_owned()
    };
    let number = phonenumber::parse(region.map(|r| r.0), &candidate).map_err(|_| Error::InvalidPhone(raw.to_owned()))?;
    if !phonenumber::is_valid(&number) {
        return Err(Error::InvalidPhone(raw.to_owned()));
    }
    Ok(number.format().mode(phonenumber::Mode::E164).to_string())
}

/// An e-mail address trimmed, with the domain lowercased; matching is case-insensitive, so the
/// local part is lowercased too (mailbox providers treat it case-insensitively in practice).
pub fn normalize_email(raw: &str) -> Result<String> {
    let trimmed = raw.trim().trim_start_matches("mailto:");
    let (local, domain) = trimmed
        .rsplit_once('@')
        .filter(|(l, d)| !l.is_empty() && d.contains('.') && !d.starts_with('.') && !d.ends_with('.'))
        .ok_or_else(|| Error::InvalidEmail(raw.to_owned()))?;
    if trimmed.chars().any(char::is_whitespace) || local.contains('@') {
        return Err(Error::InvalidEmail(raw.to_owned()));
    }
    Ok(format!("{}@{}", local.to_lowercase(), domain.to_ascii_lowercase()))
}

/// Brings one identity to canonical form. Channel ids and custom values are trimmed only.
pub fn normalize(identity: &Identity, region: Option<Region>) -> Result<Identity> {
    let value = match identity.kind {
        IdentityKind::Phone => normalize_phone(&identity.value, region)?,
        IdentityKind::Email => normalize_email(&identity.value)?,
        // WhatsApp ids are phone numbers in international form without `+`: keep that form.
        IdentityKind::Whatsapp => normalize_phone(&identity.value, None)?.trim_start_matches('+').to_owned(),
        _ => identity.value.trim().to_owned(),
    };
    if value.is_empty() {
        return Err(Error::Empty(identity.kind));
    }
    let scope = identity.scope.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    Ok(Identity { kind: identity.kind, value, scope })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cz() -> Option<Region> {
        Some(Region::parse("cz").expect("CZ is a region"))
    }

    #[test]
    fn czech_numbers_in_every_common_format_are_one_number() {
        for raw in ["+420 777 123 456", "00420777123456", "777123456", " 777 123 456 ", "+420777123456"] {
            assert_eq!(normalize_phone(raw, cz()).as_deref(), Ok("+420777123456"), "{raw}");
        }
    }

    #[test]
    fn international_digits_without_plus_parse_without_a_region() {
        assert_eq!(normalize_phone("420777123456", None).as_deref(), Ok("+420777123456"));
        assert_eq!(normalize_phone("16502530000", None).as_deref(), Ok("+16502530000"));
    }

    #[test]
    fn garbage_is_not_a_phone() {
        assert!(normalize_phone("hello", cz()).is_err());
        assert!(normalize_phone("12", cz()).is_err());
    }

    #[test]
    fn emails_are_trimmed_and_lowercased() {
        assert_eq!(normalize_email("  Jan.Novak@Example.CZ ").as_deref(), Ok("jan.novak@example.cz"));
        assert!(normalize_email("no-at-sign").is_err());
        assert!(normalize_email("a@b").is_err());
        assert!(normalize_email("a b@c.cz").is_err());
    }

    #[test]
    fn whatsapp_ids_are_kept_as_international_digits() {
        let id = Identity::new(IdentityKind::Whatsapp, "420777123456", None);
        assert_eq!(normalize(&id, cz()).expect("valid").value, "420777123456");
    }

    #[test]
    fn channel_ids_are_trimmed_and_empty_scopes_dropped() {
        let id = Identity::new(IdentityKind::Psid, " 123 ", Some(" ".into()));
        assert_eq!(normalize(&id, None), Ok(Identity::new(IdentityKind::Psid, "123", None)));
        assert!(normalize(&Identity::new(IdentityKind::Vk, "  ", None), None).is_err());
    }
}
