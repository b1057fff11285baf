//! Bearer JWT authentication, one layer for every API. The tenant always comes from the token,
//! never from the request. [`JwtVerifier`] pins the algorithms by configuration
//! ([`AuthSettings`]: an OIDC issuer's JWKS, a fixed RS256 key, or the development HS256
//! secret), requires `exp`, honours `nbf`, checks issuer, audience and a bounded lifetime, and
//! maps the tenant and role claims ([`claims`]).
//!
//! Handlers take [`TenantAuth`] (any role) or a [`RequireRole`] such as [`AdminAuth`]; both are
//! extracted before the body, so a caller without the role gets 403 without the body being read.
//! Failures answer problem+json with `WWW-Authenticate: Bearer` ([`AuthError`]).

pub mod bearer;
pub mod claims;
mod error;
pub mod jwks;

use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use bearer::BearerError;
pub use error::{bearer_challenge, AuthError, Refusal};

use super::ApiError;
use crate::settings::{AuthSettings, SigningAlgorithm};
use claims::ClaimMapping;
use jwks::{KeyCache, KeySource};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Operator,
    Admin,
    Integration,
}

/// The caller, as verified from the token (the tenant and role after claim mapping).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub tenant_id: String,
    pub role: Role,
    pub exp: u64,
    pub iss: String,
    pub aud: String,
}

/// Where the verification keys come from.
enum Keys {
    /// One fixed key (the HS256 secret or an RS256 PEM).
    Fixed(DecodingKey),
    /// An OIDC issuer's JWKS.
    Issuer(KeyCache),
}

/// Checks tokens; shared by every handler of a service.
pub struct JwtVerifier {
    keys: Keys,
    /// One validation per accepted algorithm: `jsonwebtoken` wants every algorithm of a
    /// validation to fit the key, and an issuer may hold RSA and EC keys at once.
    validations: Vec<(Algorithm, Validation)>,
    mapping: ClaimMapping,
    max_lifetime: u64,
    issuer: String,
    audience: String,
}

impl JwtVerifier {
    /// A verifier for `settings`. Builds no connection: an issuer's keys are fetched on first use.
    pub fn new(settings: &AuthSettings) -> anyhow::Result<Self> {
        let (keys, algorithms) = if let Some(source) = key_source(settings) {
            anyhow::ensure!(!settings.algorithms.is_empty(), "auth.algorithms is empty");
            let cache = KeyCache::new(
                source,
                settings.ca_cert.as_deref(),
                Duration::from_secs(settings.jwks_refresh_s),
                Duration::from_secs(settings.jwks_min_refetch_s),
            )?;
            (Keys::Issuer(cache), settings.algorithms.iter().copied().map(algorithm).collect())
        } else if let Some(pem) = &settings.rs256_public_key_pem {
            let key = DecodingKey::from_rsa_pem(pem.as_bytes()).context("auth.rs256_public_key_pem is not an RSA public key")?;
            (Keys::Fixed(key), vec![Algorithm::RS256])
        } else if let Some(secret) = &settings.hs256_secret {
            anyhow::ensure!(!secret.expose_secret().is_empty(), "auth.hs256_secret is empty");
            (Keys::Fixed(DecodingKey::from_secret(secret.expose_secret().as_bytes())), vec![Algorithm::HS256])
        } else {
            anyhow::bail!("auth: configure an issuer (auth.oidc_discovery or auth.jwks_url), auth.rs256_public_key_pem or auth.hs256_secret");
        };
        let validation = |alg| {
            let mut validation = Validation::new(alg);
            validation.set_issuer(&[&settings.issuer]);
            validation.set_audience(&[&settings.audience]);
            validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
            validation.validate_nbf = true;
            validation.leeway = settings.leeway_s;
            (alg, validation)
        };
        tracing::info!(issuer = %settings.issuer, ?algorithms, "api tokens verified");
        Ok(Self {
            keys,
            validations: algorithms.into_iter().map(validation).collect(),
            mapping: ClaimMapping::new(settings),
            max_lifetime: settings.max_token_lifetime_s.saturating_add(settings.leeway_s),
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
        })
    }

    /// The caller a token names, or why it is refused. The reason a library gave is logged at
    /// debug level; the error carries only our stable reason.
    pub async fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        let header = jsonwebtoken::decode_header(token).map_err(|error| refuse(&error, "bearer token header"))?;
        let Some((_, validation)) = self.validations.iter().find(|(alg, _)| *alg == header.alg) else {
            tracing::debug!(alg = ?header.alg, "bearer token signed with an algorithm not accepted");
            return Err(AuthError::Invalid(Refusal::Algorithm));
        };
        let key = match &self.keys {
            Keys::Fixed(key) => key.clone(),
            Keys::Issuer(cache) => cache.key(header.kid.as_deref(), header.alg).await?,
        };
        let claims = jsonwebtoken::decode::<Map<String, Value>>(token, &key, validation)
            .map_err(|error| refuse(&error, "bearer token"))?
            .claims;
        self.map(&claims)
    }

    fn map(&self, claims: &Map<String, Value>) -> Result<Claims, AuthError> {
        let exp = claims.get("exp").and_then(Value::as_u64).ok_or(AuthError::Invalid(Refusal::MissingClaim))?;
        if exp.saturating_sub(now()) > self.max_lifetime {
            tracing::debug!(exp, "bearer token lives longer than auth.max_token_lifetime_s");
            return Err(AuthError::Invalid(Refusal::Lifetime));
        }
        let sub = claims.get("sub").and_then(Value::as_str).filter(|s| !s.is_empty());
        let sub = sub.ok_or(AuthError::Invalid(Refusal::MissingClaim))?;
        let tenant = self.mapping.tenant(claims).map_err(|refusal| {
            tracing::debug!(sub, reason = %refusal, "bearer token names no valid tenant");
            AuthError::Invalid(refusal)
        })?;
        let role = self.mapping.role(claims).ok_or_else(|| {
            tracing::debug!(sub, tenant, "bearer token maps to no role");
            AuthError::Forbidden("the token carries no role of this API")
        })?;
        Ok(Claims {
            sub: sub.to_owned(),
            tenant_id: tenant.to_owned(),
            role,
            exp,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
        })
    }
}

/// The issuer's key source, when one is configured.
fn key_source(settings: &AuthSettings) -> Option<KeySource> {
    match (&settings.jwks_url, settings.oidc_discovery) {
        (Some(url), _) => Some(KeySource::Jwks { url: url.clone() }),
        (None, true) => Some(KeySource::Discovery { issuer: settings.issuer.clone() }),
        (None, false) => None,
    }
}

fn algorithm(alg: SigningAlgorithm) -> Algorithm {
    match alg {
        SigningAlgorithm::RS256 => Algorithm::RS256,
        SigningAlgorithm::RS384 => Algorithm::RS384,
        SigningAlgorithm::RS512 => Algorithm::RS512,
        SigningAlgorithm::PS256 => Algorithm::PS256,
        SigningAlgorithm::PS384 => Algorithm::PS384,
        SigningAlgorithm::PS512 => Algorithm::PS512,
        SigningAlgorithm::ES256 => Algorithm::ES256,
        SigningAlgorithm::ES384 => Algorithm::ES384,
    }
}

/// Our reason for a library error, which is logged and not passed on.
fn refuse(error: &jsonwebtoken::errors::Error, what: &str) -> AuthError {
    let refusal = match error.kind() {
        ErrorKind::InvalidSignature => Refusal::Signature,
        ErrorKind::ExpiredSignature => Refusal::Expired,
        ErrorKind::ImmatureSignature => Refusal::NotYetValid,
        ErrorKind::InvalidIssuer => Refusal::Issuer,
        ErrorKind::InvalidAudience => Refusal::Audience,
        ErrorKind::MissingRequiredClaim(_) => Refusal::MissingClaim,
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName | ErrorKind::MissingAlgorithm => Refusal::Algorithm,
        _ => Refusal::Malformed,
    };
    tracing::debug!(%error, reason = %refusal, "{what} refused");
    AuthError::Invalid(refusal)
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Issues an HS256 token (`contactd token`, the demo's and the tests' tokens).
pub fn issue_hs256(settings: &AuthSettings, sub: &str, tenant_id: &str, role: Role, ttl_secs: u64) -> anyhow::Result<String> {
    let secret = settings.hs256_secret.as_ref().ok_or_else(|| anyhow::anyhow!("auth.hs256_secret is not set"))?;
    anyhow::ensure!(
        contracts::limits::is_tenant_id(tenant_id),
        "tenant {tenant_id:?} is not {}",
        contracts::limits::TENANT_ID_RULE
    );
    anyhow::ensure!(
        ttl_secs <= settings.max_token_lifetime_s,
        "a token for {ttl_secs} s would be refused: auth.max_token_lifetime_s is {}",
        settings.max_token_lifetime_s
    );
    let claims = Claims {
        sub: sub.to_owned(),
        tenant_id: tenant_id.to_owned(),
        role,
        exp: now() + ttl_secs,
        iss: settings.issuer.clone(),
        aud: settings.audience.clone(),
    };
    Ok(jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.expose_secret().as_bytes()),
    )?)
}

/// The authenticated caller, any role; extracting it rejects requests without a valid bearer
/// token (401) before anything else of the request is read.
#[derive(Debug, Clone)]
pub struct TenantAuth(pub Claims);

impl TenantAuth {
    pub fn tenant(&self) -> &str {
        &self.0.tenant_id
    }

    /// A role check inside a handler, for rules that depend on the request (prefer a
    /// [`RequireRole`] extractor, which checks before the body is read).
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.0.role) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!("role {:?} may not do this", self.0.role)))
        }
    }
}

impl<S> FromRequestParts<S> for TenantAuth
where
    Arc<JwtVerifier>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let verifier = Arc::<JwtVerifier>::from_ref(state);
        let token = bearer::credentials(&parts.headers).map_err(AuthError::Missing)?;
        verifier.verify(token).await.map(TenantAuth)
    }
}

/// A set of roles allowed to call a handler (see [`roles`]).
pub trait RoleSet: Send + Sync + 'static {
    const ROLES: &'static [Role];
    /// The 403 detail.
    const REFUSAL: &'static str;
}

/// The role sets handlers require.
pub mod roles {
    use super::{Role, RoleSet};

    /// Tenant configuration (identifier definitions, blocked values).
    pub struct Admin;
    impl RoleSet for Admin {
        const ROLES: &'static [Role] = &[Role::Admin];
        const REFUSAL: &'static str = "this needs the admin role";
    }

    /// Bulk access to the directory (export, import).
    pub struct AdminOrIntegration;
    impl RoleSet for AdminOrIntegration {
        const ROLES: &'static [Role] = &[Role::Admin, Role::Integration];
        const REFUSAL: &'static str = "this needs the admin or integration role";
    }
}

/// The authenticated caller holding one of `R`'s roles; others get 403 during extraction, so a
/// handler listing it before its body never reads the body of a caller without the role.
pub struct RequireRole<R: RoleSet>(pub TenantAuth, PhantomData<R>);

/// A caller with the admin role.
pub type AdminAuth = RequireRole<roles::Admin>;
/// A caller with the admin or the integration role.
pub type AdminOrIntegrationAuth = RequireRole<roles::AdminOrIntegration>;

impl<R: RoleSet> Deref for RequireRole<R> {
    type Target = TenantAuth;

    fn deref(&self) -> &TenantAuth {
        &self.0
    }
}

impl<R: RoleSet, S> FromRequestParts<S> for RequireRole<R>
where
    Arc<JwtVerifier>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let auth = TenantAuth::from_request_parts(parts, state).await?;
        if R::ROLES.contains(&auth.0.role) {
            Ok(RequireRole(auth, PhantomData))
        } else {
            Err(AuthError::Forbidden(R::REFUSAL))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;
    use serde_json::json;

    fn settings(secret: &str) -> AuthSettings {
        AuthSettings { hs256_secret: Some(SecretString::from(secret)), ..AuthSettings::default() }
    }

    async fn verify(settings: &AuthSettings, token: &str) -> Result<Claims, AuthError> {
        JwtVerifier::new(settings).expect("verifier").verify(token).await
    }

    /// Why the development verifier (secret `k`) refuses a token with these claims changed
    /// (`null` removes a claim); `None` when it accepts it.
    async fn refusal(settings: &AuthSettings, changes: serde_json::Value) -> Option<AuthError> {
        let mut claims = json!({
            "sub": "op-1", "tenant_id": "acme", "role": "operator", "exp": now() + 600, "iss": "contactd", "aud": "contactd-api",
        });
        for (k, v) in changes.as_object().expect("object") {
            match v {
                serde_json::Value::Null => drop(claims.as_object_mut().expect("object").remove(k)),
                v => claims[k] = v.clone(),
            }
        }
        let token =
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(b"k")).expect("signed");
        verify(settings, &token).await.err()
    }

    #[tokio::test]
    async fn a_token_issued_with_the_secret_verifies_and_carries_the_tenant() {
        let token = issue_hs256(&settings("s3cret"), "op-1", "acme", Role::Operator, 60).expect("issued");
        let claims = verify(&settings("s3cret"), &token).await.expect("valid");
        assert_eq!(claims.tenant_id, "acme");
        assert_eq!(claims.role, Role::Operator);
    }

    #[tokio::test]
    async fn a_token_signed_with_another_secret_is_rejected() {
        let token = issue_hs256(&settings("other"), "op-1", "acme", Role::Operator, 60).expect("issued");
        assert_eq!(verify(&settings("s3cret"), &token).await.err(), Some(AuthError::Invalid(Refusal::Signature)));
    }

    #[tokio::test]
    async fn a_token_for_another_audience_or_issuer_is_rejected() {
        let s = settings("k");
        assert_eq!(refusal(&s, json!({})).await, None);
        assert_eq!(refusal(&s, json!({"aud": "other"})).await, Some(AuthError::Invalid(Refusal::Audience)));
        assert_eq!(refusal(&s, json!({"aud": ["other", "contactd-api"]})).await, None, "one of several audiences");
        assert_eq!(refusal(&s, json!({"iss": "other"})).await, Some(AuthError::Invalid(Refusal::Issuer)));
    }

    #[tokio::test]
    async fn expiry_is_required_and_honoured_within_the_leeway() {
        let s = settings("k");
        assert_eq!(refusal(&s, json!({"exp": null})).await, Some(AuthError::Invalid(Refusal::MissingClaim)));
        assert_eq!(refusal(&s, json!({"exp": now() - 120})).await, Some(AuthError::Invalid(Refusal::Expired)));
        assert_eq!(refusal(&s, json!({"exp": now() - 5})).await, None, "within the 30 s leeway");
    }

    #[tokio::test]
    async fn a_token_not_valid_yet_is_refused_beyond_the_leeway() {
        let s = settings("k");
        assert_eq!(refusal(&s, json!({"nbf": now() + 3600})).await, Some(AuthError::Invalid(Refusal::NotYetValid)));
        assert_eq!(refusal(&s, json!({"nbf": now() + 5})).await, None, "within the 30 s leeway");
        assert_eq!(refusal(&s, json!({"nbf": now() - 5})).await, None);
    }

    #[tokio::test]
    async fn a_token_living_longer_than_the_maximum_is_refused() {
        let s = AuthSettings { max_token_lifetime_s: 3600, ..settings("k") };
        assert_eq!(refusal(&s, json!({"exp": now() + 7200})).await, Some(AuthError::Invalid(Refusal::Lifetime)));
        assert_eq!(refusal(&s, json!({"exp": now() + 3000})).await, None);
        assert!(issue_hs256(&s, "op", "acme", Role::Operator, 7200).is_err(), "the CLI does not issue a token it would refuse");
    }

    #[tokio::test]
    async fn a_token_without_tenant_or_subject_is_invalid_and_one_without_a_known_role_forbidden() {
        let s = settings("k");
        assert_eq!(refusal(&s, json!({"tenant_id": ""})).await, Some(AuthError::Invalid(Refusal::NoTenant)));
        assert_eq!(refusal(&s, json!({"tenant_id": null})).await, Some(AuthError::Invalid(Refusal::NoTenant)));
        for tenant in ["acme|vk".to_owned(), "a".repeat(contracts::limits::TENANT_ID_BYTES + 1), "a\u{0}b".to_owned()] {
            assert_eq!(
                refusal(&s, json!({ "tenant_id": tenant })).await,
                Some(AuthError::Invalid(Refusal::TenantId)),
                "{tenant:?}"
            );
        }
        let longest = "a".repeat(contracts::limits::TENANT_ID_BYTES);
        assert_eq!(refusal(&s, json!({ "tenant_id": longest })).await, None);
        assert!(issue_hs256(&s, "op", "acme|vk", Role::Operator, 60).is_err(), "the CLI does not issue a token it would refuse");
        assert_eq!(refusal(&s, json!({"sub": null})).await, Some(AuthError::Invalid(Refusal::MissingClaim)));
        assert!(matches!(refusal(&s, json!({"role": "root"})).await, Some(AuthError::Forbidden(_))));
        assert!(matches!(refusal(&s, json!({"role": null})).await, Some(AuthError::Forbidden(_))));
    }

    #[tokio::test]
    async fn garbage_unsigned_and_other_algorithm_tokens_are_refused() {
        let s = settings("k");
        assert_eq!(verify(&s, "not-a-jwt").await.err(), Some(AuthError::Invalid(Refusal::Malformed)));
        assert_eq!(verify(&s, "a.b.c").await.err(), Some(AuthError::Invalid(Refusal::Malformed)));
        let none = format!("{}.{}.", base64_url(r#"{"alg":"none","typ":"JWT"}"#), base64_url(r#"{"sub":"x"}"#));
        assert!(matches!(verify(&s, &none).await, Err(AuthError::Invalid(Refusal::Malformed | Refusal::Algorithm))));
        let claims = json!({"sub": "op", "tenant_id": "acme", "role": "admin", "exp": now() + 60, "iss": "contactd", "aud": "contactd-api"});
        let hs384 =
            jsonwebtoken::encode(&Header::new(Algorithm::HS384), &claims, &EncodingKey::from_secret(b"k")).expect("signed");
        assert_eq!(verify(&s, &hs384).await.err(), Some(AuthError::Invalid(Refusal::Algorithm)));
    }

    fn base64_url(text: &str) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
    }
}
