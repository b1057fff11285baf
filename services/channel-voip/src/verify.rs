//! Authentication of the two call sources.
//!
//! **Twilio** signs every webhook with `X-Twilio-Signature`: Base64(HMAC-SHA1(auth token, the
//! full URL Twilio requested, with its query string, followed by every POST parameter sorted by
//! name, each as name immediately followed by value)). Repeated names are sorted by value.
//! Twilio is inconsistent about the default port in the signed URL, so — like its own helper
//! libraries — the URL is tried as configured, without and with the default port.
//! <https://www.twilio.com/docs/usage/security#validating-requests>,
//! reference implementation: `RequestValidator` in
//! <https://github.com/twilio/twilio-python/blob/main/twilio/request_validator.py>.
//!
//! **PBX CDRs** carry `X-Webhook-Signature: sha256=<hex>`, the HMAC-SHA256 of the raw body under
//! the configured secret (the kit's shared scheme).

use base64::Engine as _;
use channel::{signature, RawRequest, WebhookError};
use hmac::{Hmac, Mac};
use sha1::Sha1;

use crate::payload::form_pairs;

pub const TWILIO_SIGNATURE_HEADER: &str = "x-twilio-signature";
pub const CDR_SIGNATURE_HEADER: &str = "x-webhook-signature";

type HmacSha1 = Hmac<Sha1>;

/// The `X-Twilio-Signature` of a form POST to `url` with `params`.
pub fn twilio_signature(auth_token: &[u8], url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut mac = HmacSha1::new_from_slice(auth_token).expect("HMAC accepts keys of any length");
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Checks `X-Twilio-Signature` of a request Twilio made to `public_url` + the request's path
/// and query.
pub fn verify_twilio(auth_token: &[u8], public_url: &str, request: &RawRequest) -> Result<(), WebhookError> {
    let given = request
        .headers
        .get(TWILIO_SIGNATURE_HEADER)
        .ok_or_else(|| WebhookError::Unauthenticated("missing X-Twilio-Signature header".into()))?
        .to_str()
        .map_err(|_| WebhookError::Unauthenticated("X-Twilio-Signature is not ASCII".into()))?
        .trim();
    let path_and_query = request.uri.path_and_query().map_or("/", |pq| pq.as_str());
    let url = format!("{}{path_and_query}", public_url.trim_end_matches('/'));
    let params = form_pairs(&request.body);
    // Every candidate is computed and compared, so timing does not tell which one matched.
    let matches = url_variants(&url)
        .iter()
        .map(|candidate| signature::secrets_equal(&twilio_signature(auth_token, candidate, &params), given))
        .fold(false, |any, matched| any | matched);
    if matches {
        Ok(())
    } else {
        Err(WebhookError::Forbidden("X-Twilio-Signature does not match".into()))
    }
}

/// Checks `X-Webhook-Signature: sha256=<hex>` over a CDR body.
pub fn verify_cdr(secret: &[u8], request: &RawRequest) -> Result<(), WebhookError> {
    let header = request.headers.get(CDR_SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
    signature::verify_sha256_header(secret, &request.body, header)
}

/// `url` as given, without its port, and with the scheme's default port.
fn url_variants(url: &str) -> Vec<String> {
    let mut variants = vec![url.to_owned()];
    let Some((scheme, rest)) = url.split_once("://") else { return variants };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => authority,
    };
    let default_port = if scheme.eq_ignore_ascii_case("https") { 443 } else { 80 };
    for candidate in [format!("{scheme}://{host}{tail}"), format!("{scheme}://{host}:{default_port}{tail}")] {
        if !variants.contains(&candidate) {
            variants.push(candidate);
        }
    }
    variants
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, HeaderValue, Uri};
    use channel::Bytes;

    // Vectors of the Twilio helper library's own tests (twilio-python
    // `tests/unit/test_request_validator.py`): auth token `12345`.
    const TOKEN: &[u8] = b"12345";
    const URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";

    fn params() -> Vec<(String, String)> {
        [
            ("CallSid", "CA1234567890ABCDE"),
            ("Digits", "1234"),
            ("From", "+14158675309"),
            ("To", "+18005551212"),
            ("Caller", "+14158675309"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .into()
    }

    #[test]
    fn the_signature_matches_twilios_library_vector() {
        assert_eq!(twilio_signature(TOKEN, URL, &params()), "RSOYDt4T1cUTdK1PDd93/VVr8B8=");
    }

    #[test]
    fn repeated_parameters_are_sorted_by_value_like_twilios_library() {
        let params: Vec<(String, String)> = [("Sid", "CA123"), ("SidAccount", "AC123"), ("Digits", "5678"), ("Digits", "1234")]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .into();
        assert_eq!(twilio_signature(TOKEN, URL, &params), "IK+Dwps556ElfBT0I3Rgjkr1wJU=");
    }

    fn request(public_path_and_query: &'static str, signature: Option<&str>) -> RawRequest {
        let body = params().iter().map(|(k, v)| format!("{k}={}", v.replace('+', "%2B"))).collect::<Vec<_>>().join("&");
        let mut headers = HeaderMap::new();
        if let Some(signature) = signature {
            headers.insert(TWILIO_SIGNATURE_HEADER, HeaderValue::from_str(signature).expect("ascii"));
        }
        RawRequest { headers, uri: Uri::from_static(public_path_and_query), body: Bytes::from(body) }
    }

    #[test]
    fn a_request_verifies_against_the_public_url_plus_path_and_query() {
        let ok = request("/myapp.php?foo=1&bar=2", Some("RSOYDt4T1cUTdK1PDd93/VVr8B8="));
        assert!(verify_twilio(TOKEN, "https://mycompany.com/", &ok).is_ok());
        // Twilio's library: the same request signed over the URL with the default port (`:443`).
        let with_port = request("/myapp.php?foo=1&bar=2", Some("kvajT1Ptam85bY51eRf/AJRuM3w="));
        assert!(verify_twilio(TOKEN, "https://mycompany.com", &with_port).is_ok());
        // A configured non-default port that Twilio left out of the signed URL.
        assert!(verify_twilio(TOKEN, "https://mycompany.com:1234", &ok).is_ok());
    }

    #[test]
    fn a_wrong_signature_path_or_token_is_forbidden_and_a_missing_one_unauthenticated() {
        let ok = request("/myapp.php?foo=1&bar=2", Some("RSOYDt4T1cUTdK1PDd93/VVr8B8="));
        assert!(matches!(verify_twilio(b"54321", "https://mycompany.com", &ok), Err(WebhookError::Forbidden(_))));
        let other_query = request("/myapp.php?foo=1", Some("RSOYDt4T1cUTdK1PDd93/VVr8B8="));
        assert!(matches!(verify_twilio(TOKEN, "https://mycompany.com", &other_query), Err(WebhookError::Forbidden(_))));
        let missing = request("/myapp.php?foo=1&bar=2", None);
        assert!(matches!(verify_twilio(TOKEN, "https://mycompany.com", &missing), Err(WebhookError::Unauthenticated(_))));
    }

    #[test]
    fn url_variants_toggle_the_default_port() {
        assert_eq!(
            url_variants("https://h.cz:8443/p?q=1"),
            vec!["https://h.cz:8443/p?q=1", "https://h.cz/p?q=1", "https://h.cz:443/p?q=1"]
        );
        assert_eq!(url_variants("http://h.cz/p"), vec!["http://h.cz/p", "http://h.cz:80/p"]);
        assert_eq!(url_variants("not a url"), vec!["not a url"]);
    }
}
