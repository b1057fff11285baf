//! Where the tenant and the role are in an issuer's tokens ([`ClaimMapping`], from
//! `auth.tenant_claim`, `auth.role_claim`, `auth.role_map`): a claim name or a dotted path into
//! nested objects, e.g. Keycloak's `realm_access.roles` or an organization claim `org.tenant`.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use contracts::limits;

use super::{Refusal, Role};
use crate::settings::AuthSettings;

/// How the tenant and the role are read from verified claims.
#[derive(Debug, Clone)]
pub struct ClaimMapping {
    tenant: String,
    role: String,
    /// Lower-cased issuer role name → role; empty means the roles' own names.
    role_map: BTreeMap<String, Role>,
}

impl ClaimMapping {
    pub fn new(settings: &AuthSettings) -> Self {
        Self {
            tenant: settings.tenant_claim.clone(),
            role: settings.role_claim.clone(),
            role_map: settings.role_map.iter().map(|(name, role)| (name.to_lowercase(), *role)).collect(),
        }
    }

    /// The tenant: a tenant id ([`limits::is_tenant_id`]: 1–64 ASCII letters, digits, `-`, `_`,
    /// `.`). No tenant claim, a non-string or an empty one is [`Refusal::NoTenant`]; any other
    /// string that is no tenant id is [`Refusal::TenantId`].
    pub fn tenant<'a>(&self, claims: &'a Map<String, Value>) -> Result<&'a str, Refusal> {
        let tenant = lookup(claims, &self.tenant).and_then(Value::as_str).filter(|t| !t.is_empty()).ok_or(Refusal::NoTenant)?;
        if limits::is_tenant_id(tenant) {
            Ok(tenant)
        } else {
            Err(Refusal::TenantId)
        }
    }

    /// The strongest role the token's role claim maps to (admin, then integration, then
    /// operator), if any.
    pub fn role(&self, claims: &Map<String, Value>) -> Option<Role> {
        let names: Vec<&str> = match lookup(claims, &self.role)? {
            Value::String(name) => vec![name.as_str()],
            Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
            _ => return None,
        };
        names.into_iter().filter_map(|name| self.map(name)).max_by_key(|role| strength(*role))
    }

    fn map(&self, name: &str) -> Option<Role> {
        if self.role_map.is_empty() {
            serde_json::from_value(Value::String(name.to_owned())).ok()
        } else {
            self.role_map.get(&name.to_lowercase()).copied()
        }
    }
}

fn strength(role: Role) -> u8 {
    match role {
        Role::Operator => 0,
        Role::Integration => 1,
        Role::Admin => 2,
    }
}

/// The claim named `path`, or else the value at the dotted `path` through nested objects.
fn lookup<'a>(claims: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    if let Some(value) = claims.get(path) {
        return Some(value);
    }
    let mut segments = path.split('.');
    let first = claims.get(segments.next()?)?;
    segments.try_fold(first, |value, segment| value.as_object()?.get(segment))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn mapping(tenant: &str, role: &str, role_map: &[(&str, Role)]) -> ClaimMapping {
        ClaimMapping::new(&AuthSettings {
            tenant_claim: tenant.into(),
            role_claim: role.into(),
            role_map: role_map.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            ..AuthSettings::default()
        })
    }

    fn claims(value: Value) -> Map<String, Value> {
        value.as_object().cloned().expect("an object")
    }

    #[test]
    fn the_default_mapping_reads_tenant_id_and_role() {
        let m = mapping("tenant_id", "role", &[]);
        let c = claims(json!({"tenant_id": "acme", "role": "admin"}));
        assert_eq!(m.tenant(&c), Ok("acme"));
        assert_eq!(m.role(&c), Some(Role::Admin));
        assert_eq!(m.role(&claims(json!({"role": "superuser"}))), None, "an unknown role name is no role");
    }

    #[test]
    fn nested_paths_and_role_arrays_are_mapped_to_the_strongest_role() {
        let m = mapping("org.tenant", "realm_access.roles", &[("CC-Agents", Role::Operator), ("cc-admins", Role::Admin)]);
        let c =
            claims(json!({"org": {"tenant": "acme"}, "realm_access": {"roles": ["offline_access", "cc-agents", "CC-ADMINS"]}}));
        assert_eq!(m.tenant(&c), Ok("acme"));
        assert_eq!(m.role(&c), Some(Role::Admin));
        assert_eq!(m.role(&claims(json!({"realm_access": {"roles": ["admin"]}}))), None, "only mapped names count");
    }

    #[test]
    fn a_claim_whose_name_contains_dots_is_found_as_a_whole() {
        let m = mapping("https://example.com/tenant", "role", &[]);
        assert_eq!(m.tenant(&claims(json!({"https://example.com/tenant": "acme"}))), Ok("acme"));
    }

    #[test]
    fn missing_empty_or_non_string_tenants_are_no_tenant_and_other_strings_must_be_tenant_ids() {
        let m = mapping("tenant_id", "role", &[]);
        for tenant in [json!(""), json!(42), json!(null), json!(["acme"])] {
            assert_eq!(m.tenant(&claims(json!({ "tenant_id": tenant }))), Err(Refusal::NoTenant), "{tenant}");
        }
        assert_eq!(m.tenant(&claims(json!({}))), Err(Refusal::NoTenant));
        let long = "x".repeat(limits::TENANT_ID_BYTES + 1);
        for tenant in ["a\u{0}b", " acme", "acme|vk", "ačme", "a b", long.as_str()] {
            assert_eq!(m.tenant(&claims(json!({ "tenant_id": tenant }))), Err(Refusal::TenantId), "{tenant:?}");
        }
        let longest = "x".repeat(limits::TENANT_ID_BYTES);
        assert_eq!(m.tenant(&claims(json!({ "tenant_id": longest }))), Ok(longest.as_str()));
    }
}
