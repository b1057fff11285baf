//! Apple Messages for Business request authentication: `Authorization: Bearer <JWT>`, a JWT signed
//! HS256 with the MSP's Messaging API secret (Apple issues the secret base64-encoded and signs with
//! the decoded bytes). The algorithm is pinned to HS256, `aud` must be the MSP id when one is
//! configured, `exp` is checked when present and a token without `exp` must carry a recent `iat`
//! (Apple documents `aud` and `iat` as the claims it sets).
//! <https://developer.apple.com/documentation/businesschatapi/authorizing_messages>
//! <https://register.apple.com/resources/messages/msp-rest-api/common-specs>

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use axum::http::HeaderMap;
use base64::Engine;
use channel::WebhookError;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use runtime::http::auth::bearer;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::config::SecretEncoding;

/// The time claims we check ourselves; signature, algorithm, `exp` and `aud` are checked by
/// `jsonwebtoken`.
#[derive(Debug, Deserialize)]
struct Claims {
    #[serde(default)]
    exp: Option<u64>,
    #[serde(default)]
    iat: Option<u64>,
}

/// Checks the bearer token of every request; built once from the configuration.
pub struct TokenVerifier {
    key: DecodingKey,
    validation: Validation,
    leeway: u64,
    max_age: u64,
}

impl std::fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenVerifier").field("leeway", &self.leeway).field("max_age", &self.max_age).finish_non_exhaustive()
    }
}

impl TokenVerifier {
    pub fn new(
        secret: &SecretString,
        encoding: SecretEncoding,
        msp_id: Option<&str>,
        leeway: u64,
        max_age: u64,
    ) -> anyhow::Result<Self> {
        let key = match encoding {
            SecretEncoding::Base64 => base64::engine::general_purpose::STANDARD
                .decode(secret.expose_secret().trim())
                .context("apple: secret is not valid base64 (set secret_encoding = \"plain\" for a raw secret)")?,
            SecretEncoding::Plain => secret.expose_secret().as_bytes().to_vec(),
        };
        anyhow::ensure!(!key.is_empty(), "apple: secret is empty");
        let mut validation = Validation::new(Algorithm::HS256);
        // `exp` is checked whenever present; its absence is handled in `verify` (then `iat` rules).
        validation.required_spec_claims.clear();
        validation.leeway = leeway;
        match msp_id {
            Some(msp_id) => validation.set_audience(&[msp_id]),
            None => validation.validate_aud = false,
        }
        Ok(Self { key: DecodingKey::from_secret(&key), validation, leeway, max_age })
    }

    /// Checks the `Authorization` header: 401 when missing or not a JWT at all, 403 when it is a
    /// token that fails (forged, other algorithm, expired, other audience, too old).
    pub fn verify(&self, headers: &HeaderMap) -> Result<(), WebhookError> {
        let token = bearer::credentials(headers).map_err(|e| WebhookError::Unauthenticated(e.to_string()))?;
        let claims = jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation)
            .map_err(|error| match error.kind() {
                ErrorKind::InvalidToken | ErrorKind::Base64(_) | ErrorKind::Json(_) | ErrorKind::Utf8(_) => {
                    WebhookError::Unauthenticated(format!("bearer token is not a JWT: {error}"))
                }
                _ => WebhookError::Forbidden(format!("bearer token refused: {error}")),
            })?
            .claims;
        let now = now();
        if let Some(iat) = claims.iat {
            if iat > now + self.leeway {
                return Err(WebhookError::Forbidden("token issued in the future".into()));
            }
        }
        match (claims.exp, claims.iat) {
            (Some(_), _) => Ok(()),
            (None, Some(iat)) if now.saturating_sub(iat) <= self.max_age + self.leeway => Ok(()),
            (None, Some(_)) => Err(WebhookError::Forbidden("token without exp is older than max_token_age_secs".into())),
            (None, None) => Err(WebhookError::Forbidden("token carries neither exp nor iat".into())),
        }
    }
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::header::AUTHORIZATION;
    use axum::http::HeaderValue;
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::json;

    const SECRET_B64: &str = "c2VjcmV0LWZyb20tYXBwbGU="; // "secret-from-apple"

    fn verifier(msp_id: Option<&str>) -> TokenVerifier {
        TokenVerifier::new(&SecretString::from(SECRET_B64), SecretEncoding::Base64, msp_id, 60, 3600).expect("valid secret")
    }

    fn token(alg: Algorithm, key: &[u8], claims: serde_json::Value) -> String {
        jsonwebtoken::encode(&Header::new(alg), &claims, &EncodingKey::from_secret(key)).expect("encodable")
    }

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_str(value).expect("header value"));
        headers
    }

    fn check(v: &TokenVerifier, token: &str) -> Result<(), WebhookError> {
        v.verify(&headers(&format!("Bearer {token}")))
    }

    #[test]
    fn a_token_signed_with_the_decoded_secret_verifies() {
        let t = token(Algorithm::HS256, b"secret-from-apple", json!({"aud": "msp-1", "iat": now() - 5, "exp": now() + 300}));
        assert!(check(&verifier(Some("msp-1")), &t).is_ok());
        assert!(check(&verifier(None), &t).is_ok(), "no msp_id configured: the audience is not checked");
    }

    #[test]
    fn a_token_signed_with_the_base64_text_itself_is_forbidden() {
        let t = token(Algorithm::HS256, SECRET_B64.as_bytes(), json!({"iat": now(), "exp": now() + 300}));
        assert!(matches!(check(&verifier(None), &t), Err(WebhookError::Forbidden(_))));
    }

    #[test]
    fn a_plain_secret_is_used_as_is() {
        let v = TokenVerifier::new(&SecretString::from("plain-secret"), SecretEncoding::Plain, None, 60, 3600).expect("valid");
        let t = token(Algorithm::HS256, b"plain-secret", json!({"iat": now()}));
        assert!(check(&v, &t).is_ok());
    }

    #[test]
    fn expired_other_audience_and_other_algorithms_are_forbidden() {
        let v = verifier(Some("msp-1"));
        let key = b"secret-from-apple";
        let expired = token(Algorithm::HS256, key, json!({"aud": "msp-1", "iat": now() - 4000, "exp": now() - 3000}));
        let other_aud = token(Algorithm::HS256, key, json!({"aud": "msp-2", "iat": now(), "exp": now() + 300}));
        let hs512 = token(Algorithm::HS512, key, json!({"aud": "msp-1", "iat": now(), "exp": now() + 300}));
        for (name, t) in [("expired", expired), ("audience", other_aud), ("hs512", hs512)] {
            assert!(matches!(check(&v, &t), Err(WebhookError::Forbidden(_))), "{name}");
        }
    }

    #[test]
    fn a_token_without_exp_needs_a_recent_iat() {
        let v = verifier(None);
        let key = b"secret-from-apple";
        assert!(check(&v, &token(Algorithm::HS256, key, json!({"iat": now() - 3000}))).is_ok());
        assert!(matches!(
            check(&v, &token(Algorithm::HS256, key, json!({"iat": now() - 7200}))),
            Err(WebhookError::Forbidden(_))
        ));
        assert!(matches!(check(&v, &token(Algorithm::HS256, key, json!({"iss": "x"}))), Err(WebhookError::Forbidden(_))));
        assert!(matches!(check(&v, &token(Algorithm::HS256, key, json!({"iat": now() + 600}))), Err(WebhookError::Forbidden(_))));
    }

    #[test]
    fn a_missing_or_malformed_authorization_is_unauthenticated() {
        let v = verifier(None);
        assert!(matches!(v.verify(&HeaderMap::new()), Err(WebhookError::Unauthenticated(_))));
        for value in ["Basic abc", "Bearer ", "Bearer not-a-jwt", "Bearer a.b.c"] {
            assert!(matches!(v.verify(&headers(value)), Err(WebhookError::Unauthenticated(_))), "{value}");
        }
    }

    #[test]
    fn a_secret_that_is_not_base64_fails_at_startup() {
        assert!(TokenVerifier::new(&SecretString::from("not base64!"), SecretEncoding::Base64, None, 60, 3600).is_err());
    }
}
