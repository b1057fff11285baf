//! Why a request is not authenticated or not allowed, as the client sees it: problem+json with a
//! short, stable detail and the RFC 6750 §3 challenge `WWW-Authenticate: Bearer …`. The detail
//! never carries a library's message (those are logged at debug level where they happen).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::bearer::BearerError;
use crate::http::metrics as names;
use crate::http::problem::{problem_body, problem_response};

/// The realm of every challenge.
const REALM: &str = "contactd";

/// Why a presented token is refused (401 `invalid_token`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the token is not a well-formed JWT")]
    Malformed,
    #[error("the token's signing algorithm is not accepted")]
    Algorithm,
    #[error("the token's signing key is unknown")]
    UnknownKey,
    #[error("the token's signature is invalid")]
    Signature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token's issuer is not accepted")]
    Issuer,
    #[error("the token's audience is not accepted")]
    Audience,
    #[error("the token lacks a required claim (exp, iss, aud, sub)")]
    MissingClaim,
    #[error("the token's lifetime exceeds the accepted maximum")]
    Lifetime,
    #[error("the token carries no tenant")]
    NoTenant,
    /// The tenant claim is not a tenant id (`contracts::limits::is_tenant_id`).
    #[error("the token's tenant id is not 1 to 64 ASCII letters, digits, -, _ or .")]
    TenantId,
}

impl Refusal {
    /// A metric label.
    pub fn code(self) -> &'static str {
        match self {
            Refusal::Malformed => "malformed",
            Refusal::Algorithm => "algorithm",
            Refusal::UnknownKey => "unknown_key",
            Refusal::Signature => "signature",
            Refusal::Expired => "expired",
            Refusal::NotYetValid => "not_yet_valid",
            Refusal::Issuer => "issuer",
            Refusal::Audience => "audience",
            Refusal::MissingClaim => "missing_claim",
            Refusal::Lifetime => "lifetime",
            Refusal::NoTenant => "no_tenant",
            Refusal::TenantId => "tenant_id",
        }
    }
}

/// An authentication or authorization failure of one request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No usable bearer credentials: 401 with a bare challenge (RFC 6750 §3.1).
    #[error("{0}")]
    Missing(BearerError),
    /// A token was presented and refused: 401 `error="invalid_token"`.
    #[error("{0}")]
    Invalid(Refusal),
    /// A valid token whose role may not do this: 403 `error="insufficient_scope"`.
    #[error("{0}")]
    Forbidden(&'static str),
    /// The issuer's keys cannot be fetched and none are cached: 503, the client may retry.
    #[error("the token signing keys are unavailable; try again later")]
    KeysUnavailable,
}

impl AuthError {
    pub fn status(&self) -> StatusCode {
        match self {
            AuthError::Missing(_) | AuthError::Invalid(_) => StatusCode::UNAUTHORIZED,
            AuthError::Forbidden(_) => StatusCode::FORBIDDEN,
            AuthError::KeysUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn challenge(&self) -> Option<String> {
        match self {
            AuthError::Missing(_) => Some(format!("Bearer realm=\"{REALM}\"")),
            AuthError::Invalid(refusal) => {
                Some(format!("Bearer realm=\"{REALM}\", error=\"invalid_token\", error_description=\"{refusal}\""))
            }
            AuthError::Forbidden(_) => Some(format!("Bearer realm=\"{REALM}\", error=\"insufficient_scope\"")),
            AuthError::KeysUnavailable => None,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            AuthError::Missing(_) => "missing",
            AuthError::Invalid(refusal) => refusal.code(),
            AuthError::Forbidden(_) => "role",
            AuthError::KeysUnavailable => "keys_unavailable",
        }
    }
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        metrics::counter!(names::AUTH_REFUSED, "reason" => self.code()).increment(1);
        let status = self.status();
        let mut response = problem_response(status, &problem_body(status, &self.to_string()));
        if let Some(value) = self.challenge().and_then(|c| HeaderValue::from_str(&c).ok()) {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}

/// The bare challenge, for 401s built outside this module ([`crate::http::ApiError`]).
pub fn bearer_challenge() -> HeaderValue {
    HeaderValue::from_static("Bearer realm=\"contactd\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bare_challenge_names_the_same_realm() {
        assert_eq!(bearer_challenge().to_str().ok(), AuthError::Missing(BearerError::Missing).challenge().as_deref());
    }
}
