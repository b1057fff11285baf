//! Which identifiers may take part in matching at all (DESIGN.md §4 rule 6a), as pure
//! functions: default blocked values (placeholders, test and example addresses, no-reply
//! mailboxes, one repeated digit), the tenant's blocked values and patterns (its own numbers and
//! mailboxes among them), custom identifiers whose definition does not identify the client, and
//! values that do not normalize.

use std::collections::HashSet;

use contracts::{Identity, IdentityKind, IgnoredIdentity};
use identity::Region;

/// Placeholders systems write where they have no value.
const PLACEHOLDERS: [&str; 13] =
    ["", "-1", "0", "null", "nil", "none", "n/a", "na", "undefined", "anonymous", "unknown", "private", "restricted"];
/// Domains reserved for examples and tests (RFC 2606, RFC 6761).
const RESERVED_DOMAINS: [&str; 3] = ["example.com", "example.org", "example.net"];
const RESERVED_TLDS: [&str; 4] = [".example", ".test", ".invalid", ".localhost"];
const NO_REPLY_LOCAL_PARTS: [&str; 8] =
    ["noreply", "no-reply", "no_reply", "donotreply", "do-not-reply", "mailer-daemon", "postmaster", "bounce"];
const TEST_ADDRESSES: [&str; 3] = ["test@test.com", "test@test.cz", "a@a.com"];

/// A tenant's blocked value: `pattern` may contain `*`; `kind: None` blocks it for every kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    pub kind: Option<IdentityKind>,
    pub pattern: String,
    pub reason: String,
}

/// Everything resolution needs to know about one tenant.
#[derive(Debug, Clone)]
pub struct TenantRules {
    pub default_region: Option<Region>,
    pub auto_create: bool,
    /// A value held by this many contacts stops being used for matching.
    pub shared_value_limit: usize,
    /// Most identities of one kind a contact gains automatically.
    pub max_per_kind: usize,
    pub blocked: Vec<Blocked>,
    /// Custom parameters whose definition has `identifies_client = true`.
    pub identifying_custom: HashSet<String>,
}

impl TenantRules {
    /// Normalizes `raw` or says why it takes no part in matching.
    pub fn screen(&self, raw: &Identity) -> Result<Identity, IgnoredIdentity> {
        let ignore = |reason: &str| IgnoredIdentity { kind: raw.kind, value: raw.value.clone(), reason: reason.to_owned() };
        if raw.kind == IdentityKind::ConversationLink {
            return Err(ignore("not_accepted_from_channels"));
        }
        let placeholder_number =
            matches!(raw.kind, IdentityKind::Phone | IdentityKind::Whatsapp) && one_repeated_digit(&raw.value);
        if placeholder_number || PLACEHOLDERS.contains(&raw.value.trim().to_lowercase().as_str()) {
            return Err(ignore("blocked"));
        }
        if raw.value.trim().chars().any(char::is_control) || raw.scope.as_deref().is_some_and(|s| s.chars().any(char::is_control))
        {
            return Err(ignore("invalid: contains control characters"));
        }
        // Longer than any real identifier of its kind: it would never identify anyone, and it
        // would not fit the identifier index.
        if raw.value.trim().len() > raw.kind.max_value_bytes() {
            return Err(ignore("too_long"));
        }
        if raw.kind == IdentityKind::Custom {
            let parameter = raw.scope.as_deref().unwrap_or("");
            if !self.identifying_custom.contains(parameter) {
                return Err(ignore("not_identifying"));
            }
        }
        let identity = identity::normalize(raw, self.default_region).map_err(|e| ignore(&format!("invalid: {e}")))?;
        if is_blocked_by_default(&identity) {
            return Err(ignore("blocked"));
        }
        if let Some(blocked) =
            self.blocked.iter().find(|b| b.kind.is_none_or(|k| k == identity.kind) && glob(&b.pattern, &identity.value))
        {
            return Err(ignore(&blocked.reason));
        }
        Ok(identity)
    }
}

/// Values no tenant should ever match on.
pub fn is_blocked_by_default(identity: &Identity) -> bool {
    match identity.kind {
        IdentityKind::Phone | IdentityKind::Whatsapp => one_repeated_digit(&identity.value),
        IdentityKind::Email => {
            let value = identity.value.as_str();
            let (local, domain) = value.rsplit_once('@').unwrap_or(("", value));
            TEST_ADDRESSES.contains(&value)
                || RESERVED_DOMAINS.iter().any(|d| domain == *d || domain.ends_with(&format!(".{d}")))
                || RESERVED_TLDS.iter().any(|tld| domain.ends_with(tld))
                || NO_REPLY_LOCAL_PARTS.contains(&local)
        }
        _ => false,
    }
}

/// `+420000000000`, `0000000000`, `420777777777`: the subscriber part is one digit repeated.
fn one_repeated_digit(value: &str) -> bool {
    let digits: Vec<char> = value.chars().filter(char::is_ascii_digit).collect();
    // Compare the last nine digits so a country code does not hide the repetition.
    let tail = &digits[digits.len().saturating_sub(9)..];
    tail.len() >= 6 && tail.iter().all(|d| *d == tail[0])
}

/// `*` matches any run of characters; everything else literally, case-insensitively.
pub fn glob(pattern: &str, value: &str) -> bool {
    let (pattern, value) = (pattern.to_lowercase(), value.to_lowercase());
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == value;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !value.starts_with(first) || !value[first.len()..].ends_with(last) || value.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &value[first.len()..value.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(at) => rest = &rest[at + middle.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> TenantRules {
        TenantRules {
            default_region: Region::parse("CZ").ok(),
            auto_create: true,
            shared_value_limit: 3,
            max_per_kind: 10,
            blocked: vec![
                Blocked { kind: Some(IdentityKind::Phone), pattern: "+420800*".into(), reason: "blocked".into() },
                Blocked { kind: None, pattern: "info@acme.cz".into(), reason: "own".into() },
            ],
            identifying_custom: ["crm_id".to_owned()].into(),
        }
    }

    fn screen(kind: IdentityKind, value: &str, scope: Option<&str>) -> Result<String, String> {
        rules().screen(&Identity::new(kind, value, scope.map(str::to_owned))).map(|i| i.value).map_err(|i| i.reason)
    }

    #[test]
    fn placeholders_and_repeated_digits_are_blocked() {
        for value in ["null", "-1", "Anonymous", " ", "0000000000", "+420 777 777 777"] {
            assert_eq!(screen(IdentityKind::Phone, value, None), Err("blocked".into()), "{value}");
        }
        assert_eq!(screen(IdentityKind::Phone, "+420 777 123 456", None), Ok("+420777123456".into()));
    }

    #[test]
    fn test_example_and_no_reply_addresses_are_blocked() {
        for value in
            ["test@test.com", "jan@example.com", "x@mail.example.org", "a@shop.test", "NoReply@acme.cz", "no-reply@bank.cz"]
        {
            assert_eq!(screen(IdentityKind::Email, value, None), Err("blocked".into()), "{value}");
        }
        assert_eq!(screen(IdentityKind::Email, "jan@novak.cz", None), Ok("jan@novak.cz".into()));
    }

    #[test]
    fn tenant_values_and_patterns_are_blocked_with_their_reason() {
        assert_eq!(screen(IdentityKind::Phone, "800 123 456", None), Err("blocked".into()), "a tenant pattern");
        assert_eq!(screen(IdentityKind::Email, "Info@Acme.cz", None), Err("own".into()), "the tenant's own mailbox");
    }

    #[test]
    fn only_identifying_custom_parameters_take_part() {
        assert_eq!(screen(IdentityKind::Custom, "CRM-1", Some("crm_id")), Ok("CRM-1".into()));
        assert_eq!(screen(IdentityKind::Custom, "blue", Some("favourite_colour")), Err("not_identifying".into()));
    }

    #[test]
    fn values_longer_than_any_identifier_of_their_kind_are_too_long() {
        let local = "a".repeat(10_000);
        assert_eq!(screen(IdentityKind::Email, &format!("{local}@novak.cz"), None), Err("too_long".into()));
        assert_eq!(screen(IdentityKind::Psid, &"1".repeat(257), None), Err("too_long".into()));
        assert_eq!(screen(IdentityKind::Psid, &"1".repeat(256), None), Ok("1".repeat(256)));
    }

    #[test]
    fn invalid_values_say_why() {
        assert!(screen(IdentityKind::Email, "not-an-address", None).expect_err("invalid").starts_with("invalid"));
    }

    #[test]
    fn glob_matches_wildcards_anywhere() {
        assert!(glob("+420800*", "+420800123456"));
        assert!(glob("*@acme.cz", "info@ACME.cz"));
        assert!(glob("a*b*c", "axxbyyc"));
        assert!(!glob("a*b*c", "axxc"));
        assert!(!glob("abc", "abcd"));
    }
}
