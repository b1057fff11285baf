//! Bearer JWT authentication. The tenant always comes from the token's `tenant_id` claim, never
//! from the request. The algorithm is pinned by configuration (HS256 secret or RS256 public key);
//! expiry, issuer and audience are checked.

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use super::ApiError;
use crate::settings::AuthSettings;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Operator,
    Admin,
    Integration,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub tenant_id: String,
    pub role: Role,
    pub exp: u64,
    pub iss: String,
    pub aud: String,
}

/// Checks tokens; shared by every handler of a service.
pub struct JwtVerifier {
    key: DecodingKey,
    validation: Validation,
}

impl JwtVerifier {
    pub fn new(settings: &AuthSettings) -> anyhow::Result<Self> {
        let (key, algorithm) = match (&settings.rs256_public_key_pem, &settings.hs256_secret) {
            (Some(pem), _) => (DecodingKey::from_rsa_pem(pem.as_bytes())?, Algorithm::RS256),
            (None, Some(secret)) => (DecodingKey::from_secret(secret.expose_secret().as_bytes()), Algorithm::HS256),
            (None, None) => anyhow::bail!("auth: set auth.hs256_secret or auth.rs256_public_key_pem"),
        };
        let mut validation = Validation::new(algorithm);
        validation.set_issuer(&[&settings.issuer]);
        validation.set_audience(&[&settings.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        Ok(Self { key, validation })
    }

    pub fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| ApiError::Unauthorized(e.to_string()))
    }
}

/// Issues an HS256 token (the demo's and the tests' operator tokens).
pub fn issue_hs256(settings: &AuthSettings, sub: &str, tenant_id: &str, role: Role, ttl_secs: u64) -> anyhow::Result<String> {
    let secret = settings.hs256_secret.as_ref().ok_or_else(|| anyhow::anyhow!("auth.hs256_secret is not set"))?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
    let claims = Claims {
        sub: sub.to_owned(),
        tenant_id: tenant_id.to_owned(),
        role,
        exp: now + ttl_secs,
        iss: settings.issuer.clone(),
        aud: settings.audience.clone(),
    };
    Ok(jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.expose_secret().as_bytes()),
    )?)
}

/// The authenticated caller; extracting it rejects requests without a valid bearer token.
#[derive(Debug, Clone)]
pub struct TenantAuth(pub Claims);

impl TenantAuth {
    pub fn tenant(&self) -> &str {
        &self.0.tenant_id
    }

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
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let verifier = Arc::<JwtVerifier>::from_ref(state);
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| ApiError::Unauthorized("expected `Authorization: Bearer <jwt>`".into()))?;
        verifier.verify(token.trim()).map(TenantAuth)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    fn settings(secret: &str) -> AuthSettings {
        AuthSettings { hs256_secret: Some(SecretString::from(secret)), ..AuthSettings::default() }
    }

    #[test]
    fn a_token_issued_with_the_secret_verifies_and_carries_the_tenant() {
        let token = issue_hs256(&settings("s3cret"), "op-1", "acme", Role::Operator, 60).expect("issued");
        let claims = JwtVerifier::new(&settings("s3cret")).expect("verifier").verify(&token).expect("valid");
        assert_eq!(claims.tenant_id, "acme");
        assert_eq!(claims.role, Role::Operator);
    }

    #[test]
    fn a_token_signed_with_another_secret_is_rejected() {
        let token = issue_hs256(&settings("other"), "op-1", "acme", Role::Operator, 60).expect("issued");
        assert!(JwtVerifier::new(&settings("s3cret")).expect("verifier").verify(&token).is_err());
    }

    #[test]
    fn a_token_for_another_audience_is_rejected() {
        let mut other = settings("s3cret");
        other.audience = "someone-else".into();
        let token = issue_hs256(&other, "op-1", "acme", Role::Operator, 60).expect("issued");
        assert!(JwtVerifier::new(&settings("s3cret")).expect("verifier").verify(&token).is_err());
    }
}
