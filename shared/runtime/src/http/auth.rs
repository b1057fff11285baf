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
mod tests;
