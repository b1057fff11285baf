//! Which identifiers may take part in matching at all (DESIGN.md §4 rule 6a), as pure
//! functions: default blocked values (placeholders, test and example addresses, no-reply
//! mailboxes, one repeated digit), role mailboxes many people write from (`info@`, `sales@`, …
//! and the tenant's own), the tenant's blocked values and patterns (its own numbers and
//! mailboxes among them), custom identifiers whose definition does not identify the client, and
//! values that do not normalize — and the tenant's policies for the rest ([`TenantRules`]).

use std::collections::HashSet;

use contracts::{Identity, IdentityKind, IgnoreReason, IgnoredIdentity};
use identity::Region;
use serde::Deserialize;

/// Placeholders systems write where they have no value.
const PLACEHOLDERS: [&str; 13] =
    ["", "-1", "0", "null", "nil", "none", "n/a", "na", "undefined", "anonymous", "unknown", "private", "restricted"];
/// Domains reserved for examples and tests (RFC 2606, RFC 6761).
const RESERVED_DOMAINS: [&str; 3] = ["example.com", "example.org", "example.net"];
const RESERVED_TLDS: [&str; 4] = [".example", ".test", ".invalid", ".localhost"];
const NO_REPLY_LOCAL_PARTS: [&str; 8] =
    ["noreply", "no-reply", "no_reply", "donotreply", "do-not-reply", "mailer-daemon", "postmaster", "bounce"];
const TEST_ADDRESSES: [&str; 3] = ["test@test.com", "test@test.cz", "a@a.com"];
/// Local parts of mailboxes a team shares, in the languages the product's customers write:
/// colleagues write from them, so they identify a company, not a person.
const ROLE_LOCAL_PARTS: [&str; 40] = [
    "info",
    "sales",
    "support",
    "help",
    "helpdesk",
    "hello",
    "contact",
    "contacts",
    "office",
    "admin",
    "team",
    "service",
    "services",
    "billing",
    "accounts",
    "accounting",
    "finance",
    "orders",
    "reception",
    "marketing",
    "hr",
    "jobs",
    "careers",
    "press",
    "mail",
    "email",
    "podpora",
    "kontakt",
    "kancelar",
    "obchod",
    "objednavky",
    "fakturace",
    "ucetni",
    "recepce",
    "servis",
    "sekretariat",
    "reklamace",
    "zakaznici",
    "poradna",
    "dotazy",
];

/// When two contacts may be merged without an operator.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AutoMerge {
    /// Never: the duplicates queue suggests, an operator merges.
    #[default]
    Never,
    /// When one interaction carries verified identifiers of both (a WhatsApp message whose wa_id
    /// is one card and whose number another): journaled and reversible like a manual merge.
    Verified,
}

impl AutoMerge {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "never" => Some(Self::Never),
            "verified" => Some(Self::Verified),
            _ => None,
        }
    }
}

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
    pub auto_merge: AutoMerge,
    /// A typed-only match adds identifiers and names directly instead of proposing them.
    pub typed_enrichment: bool,
    /// Fixed lines decide no match by themselves.
    pub weak_landlines: bool,
    /// A phone not seen on its card for this many days decides no match by itself.
    pub phone_recycle_after_days: u32,
    /// The tenant's own role mailboxes: local parts (`objednavky`) or addresses.
    pub role_addresses: Vec<String>,
}

impl Default for TenantRules {
    fn default() -> Self {
        Self {
            default_region: None,
            auto_create: true,
            shared_value_limit: 3,
            max_per_kind: 10,
            blocked: Vec::new(),
            identifying_custom: HashSet::new(),
            auto_merge: AutoMerge::Never,
            typed_enrichment: false,
            weak_landlines: true,
            phone_recycle_after_days: 365,
            role_addresses: Vec::new(),
        }
    }
}

impl TenantRules {
    /// Normalizes `raw` or says why it takes no part in matching.
    pub fn screen(&self, raw: &Identity) -> Result<Identity, IgnoredIdentity> {
        let ignore = |reason: IgnoreReason| IgnoredIdentity::new(raw.kind, raw.value.clone(), reason);
        if raw.kind == IdentityKind::ConversationLink {
            return Err(ignore(IgnoreReason::NotAcceptedFromChannels));
        }
        let placeholder_number =
            matches!(raw.kind, IdentityKind::Phone | IdentityKind::Whatsapp) && one_repeated_digit(&raw.value);
        if placeholder_number || PLACEHOLDERS.contains(&raw.value.trim().to_lowercase().as_str()) {
            return Err(ignore(IgnoreReason::Blocked));
        }
        if raw.value.trim().chars().any(char::is_control) || raw.scope.as_deref().is_some_and(|s| s.chars().any(char::is_control))
        {
            return Err(ignore(IgnoreReason::Invalid).detail("contains control characters"));
        }
        // Longer than any real identifier of its kind: it would never identify anyone, and it
        // would not fit the identifier index.
        if raw.value.trim().len() > raw.kind.max_value_bytes() {
            return Err(ignore(IgnoreReason::TooLong));
        }
        if raw.kind == IdentityKind::Custom {
            let parameter = raw.scope.as_deref().unwrap_or("");
            if !self.identifying_custom.contains(parameter) {
                return Err(ignore(IgnoreReason::NotIdentifying));
            }
        }
        let identity =
            identity::normalize(raw, self.default_region).map_err(|e| ignore(IgnoreReason::Invalid).detail(e.to_string()))?;
        if is_blocked_by_default(&identity) {
            return Err(ignore(IgnoreReason::Blocked));
        }
        if let Some(blocked) =
            self.blocked.iter().find(|b| b.kind.is_none_or(|k| k == identity.kind) && glob(&b.pattern, &identity.value))
        {
            let reason = if blocked.reason == "own" { IgnoreReason::Own } else { IgnoreReason::Blocked };
            return Err(ignore(reason));
        }
        if identity.kind == IdentityKind::Email && self.is_role_address(&identity.value) {
            return Err(ignore(IgnoreReason::RoleAddress));
        }
        Ok(identity)
    }

    /// `info@…`, `podpora+eshop@…` and the tenant's own role mailboxes.
    pub fn is_role_address(&self, email: &str) -> bool {
        let (local, _) = email.rsplit_once('@').unwrap_or((email, ""));
        let local = local.split('+').next().unwrap_or(local);
        ROLE_LOCAL_PARTS.contains(&local)
            || self.role_addresses.iter().any(|r| r.eq_ignore_ascii_case(email) || r.eq_ignore_ascii_case(local))
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
            role_addresses: vec!["objednavky".into(), "eshop@acme.cz".into()],
            blocked: vec![
                Blocked { kind: Some(IdentityKind::Phone), pattern: "+420800*".into(), reason: "blocked".into() },
                Blocked { kind: None, pattern: "info@acme.cz".into(), reason: "own".into() },
            ],
            identifying_custom: ["crm_id".to_owned()].into(),
            ..TenantRules::default()
        }
    }

    fn screen(kind: IdentityKind, value: &str, scope: Option<&str>) -> Result<String, IgnoreReason> {
        rules().screen(&Identity::new(kind, value, scope.map(str::to_owned))).map(|i| i.value).map_err(|i| i.reason)
    }

    #[test]
    fn placeholders_and_repeated_digits_are_blocked() {
        for value in ["null", "-1", "Anonymous", " ", "0000000000", "+420 777 777 777"] {
            assert_eq!(screen(IdentityKind::Phone, value, None), Err(IgnoreReason::Blocked), "{value}");
        }
        assert_eq!(screen(IdentityKind::Phone, "+420 777 123 456", None), Ok("+420777123456".into()));
    }

    #[test]
    fn test_example_and_no_reply_addresses_are_blocked() {
        for value in
            ["test@test.com", "jan@example.com", "x@mail.example.org", "a@shop.test", "NoReply@acme.cz", "no-reply@bank.cz"]
        {
            assert_eq!(screen(IdentityKind::Email, value, None), Err(IgnoreReason::Blocked), "{value}");
        }
        assert_eq!(screen(IdentityKind::Email, "jan@novak.cz", None), Ok("jan@novak.cz".into()));
    }

    #[test]
    fn tenant_values_and_patterns_are_blocked_with_their_reason() {
        assert_eq!(screen(IdentityKind::Phone, "800 123 456", None), Err(IgnoreReason::Blocked), "a tenant pattern");
        assert_eq!(screen(IdentityKind::Email, "Info@Acme.cz", None), Err(IgnoreReason::Own), "the tenant's own mailbox");
    }

    #[test]
    fn only_identifying_custom_parameters_take_part() {
        assert_eq!(screen(IdentityKind::Custom, "CRM-1", Some("crm_id")), Ok("CRM-1".into()));
        assert_eq!(screen(IdentityKind::Custom, "blue", Some("favourite_colour")), Err(IgnoreReason::NotIdentifying));
    }

    #[test]
    fn values_longer_than_any_identifier_of_their_kind_are_too_long() {
        let local = "a".repeat(10_000);
        assert_eq!(screen(IdentityKind::Email, &format!("{local}@novak.cz"), None), Err(IgnoreReason::TooLong));
        assert_eq!(screen(IdentityKind::Psid, &"1".repeat(257), None), Err(IgnoreReason::TooLong));
        assert_eq!(screen(IdentityKind::Psid, &"1".repeat(256), None), Ok("1".repeat(256)));
    }

    #[test]
    fn invalid_values_say_why() {
        let ignored = rules().screen(&Identity::new(IdentityKind::Email, "not-an-address", None)).expect_err("invalid");
        assert_eq!(ignored.reason, IgnoreReason::Invalid);
        assert!(ignored.detail.is_some_and(|d| d.contains("not an e-mail address")));
    }

    #[test]
    fn role_mailboxes_identify_nobody() {
        for value in ["info@firma.cz", "Podpora+eshop@firma.cz", "objednavky@firma.cz", "eshop@acme.cz"] {
            assert_eq!(screen(IdentityKind::Email, value, None), Err(IgnoreReason::RoleAddress), "{value}");
        }
        assert_eq!(screen(IdentityKind::Email, "informace.novak@firma.cz", None), Ok("informace.novak@firma.cz".into()));
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
