//! How API bearer tokens are verified (`[auth]`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use secrecy::SecretString;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

use crate::http::auth::Role;

/// How API bearer tokens (JWT) are verified. Exactly one key source applies, in this order:
/// an OIDC issuer (`oidc_discovery` or `jwks_url`), a fixed RS256 key (`rs256_public_key_pem`),
/// or the development HS256 secret (`hs256_secret`, what `contactd token` signs with). The
/// accepted algorithms are pinned: `algorithms` for the first two, HS256 for the last.
///
/// Every token needs `exp`, `iss` = `issuer`, `aud` containing `audience`, `sub`, a tenant and
/// a role (see `tenant_claim`, `role_claim`); `nbf` is honoured; `exp` may lie at most
/// `max_token_lifetime_s` ahead.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSettings {
    /// HS256 shared secret for development tokens (`contactd token`). Ignored when an issuer's
    /// keys are configured.
    pub hs256_secret: Option<SecretString>,
    /// A fixed RS256 public key (PEM), for an issuer without a JWKS endpoint.
    pub rs256_public_key_pem: Option<String>,
    /// OIDC: read the issuer's keys from the `jwks_uri` of its discovery document,
    /// `<issuer>/.well-known/openid-configuration` (the document's `issuer` must equal `issuer`).
    pub oidc_discovery: bool,
    /// The issuer's JWKS URL, for an issuer without discovery (takes precedence over discovery).
    pub jwks_url: Option<String>,
    /// Signing algorithms accepted with the issuer's keys (JWKS or PEM), e.g. `["RS256", "ES256"]`
    /// or, from the environment, `RS256,ES256`.
    #[serde(deserialize_with = "list_or_comma_separated")]
    pub algorithms: Vec<SigningAlgorithm>,
    /// Expected `iss`. For an OIDC issuer its URL exactly as in its tokens, e.g.
    /// `https://keycloak.example.com/realms/contactd`; discovery and JWKS must be `https://`
    /// (plain `http://` only on loopback).
    pub issuer: String,
    /// Expected `aud` (one of the token's audiences).
    pub audience: String,
    /// Where the tenant is in the token: a claim name (`tenant_id`) or a dotted path into nested
    /// objects (`org.tenant`); a claim whose own name contains dots is found as well. Its value
    /// must be a non-empty string.
    pub tenant_claim: String,
    /// Where the role is: a claim or dotted path holding a string or an array of strings, e.g.
    /// `role`, `roles` (Entra ID app roles), `realm_access.roles` (Keycloak).
    pub role_claim: String,
    /// The issuer's role names mapped to this API's roles, e.g. `{ "contactd-admins" = "admin" }`;
    /// names compare case-insensitively (environment keys are lower-cased). Empty: the names
    /// `operator`, `admin`, `integration` themselves. Of several mapped roles the strongest
    /// counts (admin, then integration, then operator); a token with none gets 403.
    pub role_map: BTreeMap<String, Role>,
    /// Clock skew tolerated on `exp` and `nbf`, in seconds.
    pub leeway_s: u64,
    /// Longest accepted token lifetime: a token whose `exp` is further ahead is refused.
    pub max_token_lifetime_s: u64,
    /// How often the issuer's keys are fetched again (key rotation), in seconds.
    pub jwks_refresh_s: u64,
    /// Least time between two fetches caused by a token with an unknown key id (`kid`), so
    /// forged `kid`s cannot flood the issuer.
    pub jwks_min_refetch_s: u64,
    /// CA certificate (PEM file) to trust for the issuer besides the system's roots.
    pub ca_cert: Option<PathBuf>,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            hs256_secret: None,
            rs256_public_key_pem: None,
            oidc_discovery: false,
            jwks_url: None,
            algorithms: vec![SigningAlgorithm::RS256, SigningAlgorithm::ES256],
            issuer: "contactd".into(),
            audience: "contactd-api".into(),
            tenant_claim: "tenant_id".into(),
            role_claim: "role".into(),
            role_map: BTreeMap::new(),
            leeway_s: 30,
            max_token_lifetime_s: 24 * 3600,
            jwks_refresh_s: 3600,
            jwks_min_refetch_s: 30,
            ca_cert: None,
        }
    }
}

/// Asymmetric JWS algorithms (RFC 7518 §3.1) an issuer may sign with. HMAC algorithms are not
/// in this set on purpose: a public key must never be usable as an HMAC secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum SigningAlgorithm {
    RS256,
    RS384,
    RS512,
    PS256,
    PS384,
    PS512,
    ES256,
    ES384,
}

/// A list from a TOML array or from one comma-separated string (environment variables).
fn list_or_comma_separated<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        List(Vec<String>),
        Text(String),
    }
    let items = match Raw::deserialize(deserializer)? {
        Raw::List(items) => items,
        Raw::Text(text) => text.split(',').map(|item| item.trim().to_owned()).filter(|item| !item.is_empty()).collect(),
    };
    items.into_iter().map(|item| T::deserialize(serde::de::value::StringDeserializer::<D::Error>::new(item))).collect()
}
