//! Mail relay authentication. Inbound relays (a Postfix/Exim pipe to `curl`, a cloud inbound
//! route) have no common signature scheme, so the adapter accepts the two a relay can be set up
//! with:
//! - `Authorization: Bearer <relay_token>` (RFC 6750 §2.1,
//!   <https://www.rfc-editor.org/rfc/rfc6750#section-2.1>), compared in constant time;
//! - `X-Webhook-Signature: sha256=<hex>`, the HMAC-SHA256 of the raw message under
//!   `signing_secret` (the scheme of the project's other signed webhooks), for relays that can
//!   sign and must not send a replayable bearer.
//!
//! A signature header wins when a signing secret is configured. Missing credentials are 401,
//! wrong ones 403.

use channel::{signature, RawRequest, WebhookError};
use runtime::http::auth::bearer;
use secrecy::{ExposeSecret, SecretString};

pub const SIGNATURE_HEADER: &str = "x-webhook-signature";

/// The secrets a relay may authenticate with.
pub struct Credentials {
    pub relay_token: Option<SecretString>,
    pub signing_secret: Option<SecretString>,
}

impl Credentials {
    pub fn verify(&self, request: &RawRequest) -> Result<(), WebhookError> {
        let signature_header = request.headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
        if let (Some(secret), Some(header)) = (&self.signing_secret, signature_header) {
            return signature::verify_sha256_header(secret.expose_secret().as_bytes(), &request.body, Some(header));
        }
        let Some(token) = &self.relay_token else {
            return Err(WebhookError::Unauthenticated(format!("missing {SIGNATURE_HEADER} header")));
        };
        let given = bearer::credentials(&request.headers).map_err(|e| WebhookError::Unauthenticated(e.to_string()))?;
        if signature::secrets_equal(given, token.expose_secret()) {
            Ok(())
        } else {
            Err(WebhookError::Forbidden("relay token does not match".into()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, HeaderValue, Uri};
    use channel::Bytes;

    fn request(headers: &[(&'static str, &str)]) -> RawRequest {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(*name, HeaderValue::from_str(value).expect("valid header"));
        }
        RawRequest { headers: map, uri: Uri::from_static("/webhooks/email"), body: Bytes::from_static(b"From: a@b.cz\n\nhi") }
    }

    fn token_only() -> Credentials {
        Credentials { relay_token: Some(SecretString::from("s3cret")), signing_secret: None }
    }

    #[test]
    fn the_right_bearer_token_passes_in_any_scheme_case() {
        assert!(token_only().verify(&request(&[("authorization", "Bearer s3cret")])).is_ok());
        assert!(token_only().verify(&request(&[("authorization", "bearer  s3cret ")])).is_ok());
    }

    #[test]
    fn a_missing_or_non_bearer_authorization_is_unauthenticated() {
        for headers in [vec![], vec![("authorization", "Basic czNjcmV0")], vec![("authorization", "Bearer ")]] {
            assert!(matches!(token_only().verify(&request(&headers)), Err(WebhookError::Unauthenticated(_))), "{headers:?}");
        }
    }

    #[test]
    fn a_wrong_token_is_forbidden() {
        assert!(matches!(token_only().verify(&request(&[("authorization", "Bearer guess")])), Err(WebhookError::Forbidden(_))));
    }

    #[test]
    fn a_signature_is_checked_when_a_signing_secret_is_configured() {
        let credentials = Credentials { relay_token: None, signing_secret: Some(SecretString::from("sign")) };
        let good = format!("sha256={}", signature::hmac_sha256_hex(b"sign", b"From: a@b.cz\n\nhi"));
        assert!(credentials.verify(&request(&[("x-webhook-signature", &good)])).is_ok());
        let forged = format!("sha256={}", signature::hmac_sha256_hex(b"other", b"From: a@b.cz\n\nhi"));
        assert!(matches!(credentials.verify(&request(&[("x-webhook-signature", &forged)])), Err(WebhookError::Forbidden(_))));
        assert!(matches!(credentials.verify(&request(&[])), Err(WebhookError::Unauthenticated(_))));
        assert!(matches!(
            credentials.verify(&request(&[("authorization", "Bearer sign")])),
            Err(WebhookError::Unauthenticated(_))
        ));
    }
}
