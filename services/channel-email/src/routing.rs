//! Which tenant mailbox an address is. The configured keys (`mailboxes.<key> = <tenant>`) are
//! exact addresses (`podpora@acme.cz`) or a domain's catch-all (`*@acme.cz`); an address is
//! routed, case-insensitively, by
//!
//! 1. the exact address;
//! 2. the address without its `+tag` (sub-addressing, RFC 5233): `podpora+eshop@acme.cz` is
//!    `podpora@acme.cz`'s, with the tag `eshop` kept;
//! 3. its domain's catch-all: anything `@acme.cz` no exact key names.
//!
//! An exact address always wins over the catch-all of its domain, so one domain can send some
//! mailboxes to another tenant than the rest.

use channel::AccountMap;

/// How an address was routed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteKind {
    Exact,
    PlusTag,
    CatchAll,
}

impl RouteKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RouteKind::Exact => "exact",
            RouteKind::PlusTag => "plus_tag",
            RouteKind::CatchAll => "catch_all",
        }
    }
}

/// The tenant mailbox an address reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The configured key the kit maps to the tenant (`podpora@acme.cz`, `*@acme.cz`).
    pub key: String,
    /// The mailbox as operators know it: the configured address, or for a catch-all the address
    /// itself (lower-cased, without its tag).
    pub mailbox: String,
    /// The `+tag` of the address, if it had one.
    pub tag: Option<String>,
    pub kind: RouteKind,
}

/// The tenants' mailboxes, keyed by lower-cased address or `*@domain`.
#[derive(Debug, Clone, Default)]
pub struct Mailboxes(AccountMap);

/// The prefix of a catch-all key.
const CATCH_ALL: &str = "*@";

impl Mailboxes {
    /// Lower-cases the configured keys; a key that is no address or catch-all is refused.
    pub fn new(configured: &AccountMap) -> anyhow::Result<Self> {
        let mut keys = std::collections::BTreeMap::new();
        for (address, tenant) in &configured.0 {
            let key = mailbox_key(address);
            let valid = match key.rsplit_once('@') {
                Some((local, domain)) => {
                    !local.is_empty() && !domain.is_empty() && !domain.contains(['@', '*']) && !key.contains(char::is_whitespace)
                }
                None => false,
            };
            anyhow::ensure!(valid, "email: mailbox {address:?} must be an address (podpora@acme.cz) or a catch-all (*@acme.cz)");
            anyhow::ensure!(
                key.starts_with(CATCH_ALL) || !key.contains('*'),
                "email: mailbox {address:?}: `*` only as the whole local part"
            );
            keys.insert(key, tenant.clone());
        }
        Ok(Self(AccountMap(keys)))
    }

    /// The account map the kit resolves tenants with (keys as [`mailbox_key`] makes them).
    pub fn accounts(&self) -> &AccountMap {
        &self.0
    }

    /// The tenant mailbox `address` is, if any.
    pub fn route(&self, address: &str) -> Option<Route> {
        let address = mailbox_key(address);
        let (local, domain) = address.rsplit_once('@')?;
        if self.0.tenant_of(&address).is_some() {
            return Some(Route { key: address.clone(), mailbox: address, tag: None, kind: RouteKind::Exact });
        }
        let (base, tag) = match local.split_once('+') {
            Some((base, tag)) if !base.is_empty() => (format!("{base}@{domain}"), Some(tag.to_owned()).filter(|t| !t.is_empty())),
            _ => (address.clone(), None),
        };
        if tag.is_some() && self.0.tenant_of(&base).is_some() {
            return Some(Route { key: base.clone(), mailbox: base, tag, kind: RouteKind::PlusTag });
        }
        let catch_all = format!("{CATCH_ALL}{domain}");
        self.0.tenant_of(&catch_all).map(|_| Route { key: catch_all, mailbox: base, tag, kind: RouteKind::CatchAll })
    }

    /// Whether `address` is one of the tenant's (any route).
    pub fn owns(&self, address: &str) -> bool {
        self.route(address).is_some()
    }

    /// The tenant `address` routes to.
    pub fn tenant_of(&self, address: &str) -> Option<&str> {
        self.route(address).and_then(|route| self.0.tenant_of(&route.key))
    }
}

/// The lookup key of a mailbox address.
pub fn mailbox_key(address: &str) -> String {
    address.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mailboxes() -> Mailboxes {
        Mailboxes::new(&AccountMap(
            [
                ("Podpora@ACME.cz".to_owned(), "acme".to_owned()),
                ("*@acme.cz".to_owned(), "acme-sales".to_owned()),
                ("info@beta.cz".to_owned(), "beta".to_owned()),
            ]
            .into(),
        ))
        .expect("valid keys")
    }

    #[test]
    fn an_exact_address_routes_to_its_mailbox_case_insensitively() {
        let route = mailboxes().route("PODPORA@acme.CZ").expect("routed");
        assert_eq!(
            route,
            Route { key: "podpora@acme.cz".into(), mailbox: "podpora@acme.cz".into(), tag: None, kind: RouteKind::Exact }
        );
        assert_eq!(mailboxes().tenant_of("podpora@acme.cz"), Some("acme"), "exact beats the domain's catch-all");
    }

    #[test]
    fn a_plus_tag_routes_to_the_base_mailbox_and_keeps_the_tag() {
        let route = mailboxes().route("podpora+eshop@acme.cz").expect("routed");
        assert_eq!(
            (route.key.as_str(), route.tag.as_deref(), route.kind),
            ("podpora@acme.cz", Some("eshop"), RouteKind::PlusTag)
        );
        assert_eq!(mailboxes().tenant_of("Podpora+Eshop@Acme.cz"), Some("acme"));
        assert_eq!(mailboxes().tenant_of("info+x@beta.cz"), Some("beta"));
        assert_eq!(mailboxes().tenant_of("info+@beta.cz"), None, "an empty tag is no tag");
    }

    #[test]
    fn the_catch_all_takes_the_rest_of_its_domain_only() {
        let route = mailboxes().route("Obchod+Jaro@acme.cz").expect("routed");
        assert_eq!(
            route,
            Route {
                key: "*@acme.cz".into(),
                mailbox: "obchod@acme.cz".into(),
                tag: Some("jaro".into()),
                kind: RouteKind::CatchAll
            }
        );
        assert_eq!(mailboxes().tenant_of("obchod@acme.cz"), Some("acme-sales"));
        assert_eq!(mailboxes().tenant_of("obchod@beta.cz"), None);
        assert_eq!(mailboxes().tenant_of("obchod@sub.acme.cz"), None, "a subdomain is another domain");
        assert_eq!(mailboxes().tenant_of("no-at-sign"), None);
    }

    #[test]
    fn keys_that_are_no_address_or_catch_all_are_refused() {
        for key in ["acme.cz", "*", "@acme.cz", "a*b@acme.cz", "*@*", "jan novak@acme.cz"] {
            let configured = AccountMap([(key.to_owned(), "acme".to_owned())].into());
            assert!(Mailboxes::new(&configured).is_err(), "{key}");
        }
    }
}
