//! Signature checks shared by providers. Every comparison is constant-time.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::WebhookError;

type HmacSha256 = Hmac<Sha256>;

/// HMAC-SHA256 of `body` under `secret`, hex-encoded (the `sha256=` scheme of Meta webhooks).
pub fn hmac_sha256_hex(secret: &[u8], body: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// Checks a `sha256=<hex>` signature header over `body`.
pub fn verify_sha256_header(secret: &[u8], body: &[u8], header: Option<&str>) -> Result<(), WebhookError> {
    let header = header.ok_or_else(|| WebhookError::Unauthenticated("missing signature header".into()))?;
    let hex_sig = header
        .trim()
        .strip_prefix("sha256=")
        .ok_or_else(|| WebhookError::Unauthenticated("signature header must be `sha256=<hex>`".into()))?;
    let given = hex::decode(hex_sig).map_err(|_| WebhookError::Unauthenticated("signature is not hex".into()))?;
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(body);
    mac.verify_slice(&given).map_err(|_| WebhookError::Forbidden("signature does not match the body".into()))
}

/// Constant-time equality of two secrets (verify tokens, shared secrets).
pub fn secrets_equal(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_made_with_the_secret_verifies() {
        let sig = format!("sha256={}", hmac_sha256_hex(b"secret", b"{\"a\":1}"));
        assert!(verify_sha256_header(b"secret", b"{\"a\":1}", Some(&sig)).is_ok());
    }

    #[test]
    fn a_tampered_body_or_wrong_secret_is_forbidden() {
        let sig = format!("sha256={}", hmac_sha256_hex(b"secret", b"{\"a\":1}"));
        assert!(matches!(verify_sha256_header(b"secret", b"{\"a\":2}", Some(&sig)), Err(WebhookError::Forbidden(_))));
        assert!(matches!(verify_sha256_header(b"other", b"{\"a\":1}", Some(&sig)), Err(WebhookError::Forbidden(_))));
    }

    #[test]
    fn a_missing_or_malformed_header_is_unauthenticated() {
        for header in [None, Some("md5=abc"), Some("sha256=zz")] {
            assert!(matches!(verify_sha256_header(b"s", b"x", header), Err(WebhookError::Unauthenticated(_))), "{header:?}");
        }
    }

    #[test]
    fn known_vector_matches_rfc_4231_case_2() {
        assert_eq!(
            hmac_sha256_hex(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
