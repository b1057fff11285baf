//! Identifier normalization (DESIGN.md §2 `identity`): every identity is brought to one canonical
//! form before it is stored or matched, so `+420 777 123 456`, `00420777123456` and `777123456`
//! (default region CZ) are one phone, and `Jan@Example.CZ ` is one e-mail.
//!
//! A phone is kept when it is a *possible* number — its country code exists and its national
//! part has a length numbers of that country have — not only when the bundled metadata calls it
//! valid: numbers are allocated faster than metadata ships, and a typed number that matches
//! nothing harms no one ([`is_allocated`] still tells the two apart). A WhatsApp id is the
//! number of a registered account as it is: digits only, never range-checked.

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

/// A phone number in E.164 (`+420777123456`) when it is a possible number.
pub fn normalize_phone(raw: &str, region: Option<Region>) -> Result<String> {
    let trimmed = raw.trim();
    // WhatsApp ids and many CDRs carry international numbers without the leading `+`.
    let candidate = if region.is_none() && !trimmed.starts_with('+') && !trimmed.starts_with("00") {
        format!("+{trimmed}")
    } else {
        trimmed.to_owned()
    };
    let e164 = possible_e164(region, &candidate).ok_or_else(|| Error::InvalidPhone(raw.to_owned()))?;
    // The canonical form must be a fixed point: a national number with the trunk prefix in it
    // (`+31 000 959 4353`) formats as `+3109594353`, which parses as another number again. Such
    // input is no phone number, so it is refused rather than stored under a form that moves.
    if possible_e164(None, &e164).as_deref() != Some(e164.as_str()) {
        return Err(Error::InvalidPhone(raw.to_owned()));
    }
    Ok(e164)
}

/// The E.164 form of `candidate` when it parses and is a possible number.
fn possible_e164(region: Option<Region>, candidate: &str) -> Option<String> {
    let number = phonenumber::parse(region.map(|r| r.0), candidate).ok().filter(is_possible)?;
    Some(number.format().mode(phonenumber::Mode::E164).to_string())
}

/// Whether the country code exists and the national number has a length its country uses
/// (libphonenumber's "possible" check), and the whole fits E.164's 15 digits.
fn is_possible(number: &phonenumber::PhoneNumber) -> bool {
    let code = number.code().value();
    let national = number.national().to_string();
    let digits = code.to_string().len() + national.len();
    if !(national.bytes().all(|b| b.is_ascii_digit()) && digits <= 15) {
        return false;
    }
    let Some(regions) = phonenumber::metadata::DATABASE.by_code(&code) else { return false };
    let length = national.len() as u16;
    // The bundled metadata leaves the general description's lengths empty for many regions; a
    // number type's lengths are what the country uses.
    regions.iter().any(|meta| {
        let d = meta.descriptors();
        let types = [
            Some(d.general()),
            d.fixed_line(),
            d.mobile(),
            d.toll_free(),
            d.premium_rate(),
            d.shared_cost(),
            d.personal_number(),
            d.voip(),
            d.pager(),
            d.uan(),
            d.voicemail(),
        ];
        types.into_iter().flatten().any(|t| t.possible_length().contains(&length) || t.possible_local_length().contains(&length))
    })
}

/// Whether `e164` (as [`normalize_phone`] returns it) is in a range the bundled metadata knows
/// as allocated: information for operators, never a reason to drop a number.
pub fn is_allocated(e164: &str) -> bool {
    phonenumber::parse(None, e164).is_ok_and(|number| phonenumber::is_valid(&number))
}

/// Whether `e164` is a fixed line (or a number type homes and offices share: shared-cost,
/// toll-free, UAN) per the bundled metadata. Such a number identifies a household or an office,
/// not a person.
pub fn is_landline(e164: &str) -> bool {
    use phonenumber::Type;
    phonenumber::parse(None, e164).is_ok_and(|number| {
        matches!(
            number.number_type(&phonenumber::metadata::DATABASE),
            Type::FixedLine | Type::SharedCost | Type::TollFree | Type::Uan
        )
    })
}

/// A WhatsApp id (`wa_id`): the digits of a registered number, taken as they are (a `+` and
/// separators removed). `None` when it is not 6–15 digits.
pub fn normalize_wa_id(raw: &str) -> Option<String> {
    let digits: String = raw.trim().trim_start_matches('+').chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    ((6..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
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
        // WhatsApp ids are registered numbers in international form without `+`: kept as they are.
        IdentityKind::Whatsapp => normalize_wa_id(&identity.value).ok_or_else(|| Error::InvalidPhone(identity.value.clone()))?,
        _ => identity.value.trim().to_owned(),
    };
    if value.is_empty() {
        return Err(Error::Empty(identity.kind));
    }
    let scope = identity.scope.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    Ok(Identity { kind: identity.kind, value, scope, provenance: identity.provenance })
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
    fn numbers_in_ranges_the_metadata_does_not_know_are_kept_when_possible() {
        // 711 is not an allocated Czech range (yet), but nine digits is a Czech number's length.
        assert_eq!(normalize_phone("+420 711 148 936", cz()).as_deref(), Ok("+420711148936"));
        assert_eq!(normalize_phone("711 148 936", cz()).as_deref(), Ok("+420711148936"));
        assert!(!is_allocated("+420711148936"));
        assert!(is_allocated("+420777123456"));
        assert!(normalize_phone("+420 711 148", cz()).is_err(), "too short for a Czech number");
        assert!(normalize_phone("+999 123 456 789", None).is_err(), "no such country code");
    }

    #[test]
    fn fixed_lines_are_told_from_mobiles() {
        assert!(is_landline("+420222333444"), "Prague");
        assert!(!is_landline("+420777123456"));
        assert!(!is_landline("+420711148936"), "an unknown range is not known to be a fixed line");
    }

    #[test]
    fn wa_ids_are_digits_of_a_registered_number_without_range_checks() {
        let id = Identity::new(IdentityKind::Whatsapp, "420711148936", None);
        assert_eq!(normalize(&id, cz()).expect("a wa_id").value, "420711148936");
        assert!(normalize(&Identity::new(IdentityKind::Whatsapp, "CZ.1502576394655843", None), cz()).is_err());
    }

    #[test]
    fn a_number_whose_canonical_form_would_move_is_not_a_phone() {
        // Parsed, `+310009594353` formats as `+3109594353`, which parses as `+319594353`.
        assert!(normalize_phone("+310009594353", None).is_err());
        assert_eq!(normalize_phone("+31 20 123 4567", None).as_deref(), Ok("+31201234567"));
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

    use proptest::prelude::*;

    proptest! {
        /// Normalizing a normalized value changes nothing, and every way of writing a number
        /// (spaces, dashes, `00` or `+`) gives the same E.164. A national number that starts with
        /// 420 is left out: written alone it reads as the country code and what follows.
        #[test]
        fn normalization_is_idempotent_and_ignores_how_a_number_is_written(
            national in "[1-9][0-9]{8}".prop_filter("reads as +420…", |n| !n.starts_with("420")),
            sep in "[ -]?",
        ) {
            let plain = format!("+420{national}");
            if let Ok(e164) = normalize_phone(&plain, cz()) {
                prop_assert_eq!(normalize_phone(&e164, cz()), Ok(e164.clone()));
                let spaced = format!("00420{sep}{}{sep}{}{sep}{}", &national[..3], &national[3..6], &national[6..]);
                prop_assert_eq!(normalize_phone(&spaced, cz()), Ok(e164.clone()));
                prop_assert_eq!(normalize_phone(&national, cz()), Ok(e164));
            }
        }

        /// Whatever digits a number is written with, its canonical form normalizes to itself.
        #[test]
        fn phone_normalization_is_idempotent_for_any_digits(digits in "[0-9]{4,16}", plus in any::<bool>(), czech in any::<bool>()) {
            let raw = if plus { format!("+{digits}") } else { digits };
            let region = if czech { cz() } else { None };
            if let Ok(once) = normalize_phone(&raw, region) {
                prop_assert_eq!(normalize_phone(&once, None), Ok(once.clone()));
                prop_assert_eq!(normalize_phone(&once, region), Ok(once));
            }
        }

        #[test]
        fn email_normalization_is_idempotent(local in "[A-Za-z0-9._+-]{1,20}", domain in "[A-Za-z0-9-]{1,10}\\.[A-Za-z]{2,4}") {
            let raw = format!(" {local}@{domain} ");
            if let Ok(once) = normalize_email(&raw) {
                prop_assert_eq!(normalize_email(&once), Ok(once.clone()));
                prop_assert_eq!(once.to_lowercase(), once);
            }
        }
    }
}
