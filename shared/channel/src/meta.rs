//! Meta (Messenger, WhatsApp Cloud API) webhooks: the verification handshake
//! `GET ?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…` answered with the challenge,
//! and `X-Hub-Signature-256: sha256=<hex>`, the HMAC-SHA256 of the raw body under the app secret.
//! <https://developers.facebook.com/docs/graph-api/webhooks/getting-started#verification-requests>
//! <https://developers.facebook.com/docs/graph-api/webhooks/getting-started#validate-payloads>

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, MethodRouter};
use secrecy::{ExposeSecret, SecretString};

use crate::signature::{secrets_equal, verify_sha256_header};
use crate::{RawRequest, WebhookError};

/// The header Meta signs webhook bodies in.
pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";

/// Checks `X-Hub-Signature-256` over the raw body with the app secret.
pub fn verify_signature(app_secret: &[u8], request: &RawRequest) -> Result<(), WebhookError> {
    let header = request.headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
    verify_sha256_header(app_secret, &request.body, header)
}

/// The `GET` handler that answers Meta's subscription handshake.
pub fn verification(verify_token: SecretString) -> MethodRouter {
    let token = Arc::new(verify_token);
    get(move |Query(query): Query<HashMap<String, String>>| {
        let token = Arc::clone(&token);
        async move { answer(&query, token.expose_secret()) }
    })
}

/// Meta's own samples answer 403 unless `hub.mode` is `subscribe` and the token matches (e.g.
/// the Messenger sample app's `GET /webhook`,
/// <https://github.com/fbsamples/original-coast-clothing/blob/main/app.js>): a wrong or missing
/// mode is as forbidden as a wrong token. Only an authentic request without `hub.challenge`, which
/// there is nothing to echo for, is malformed (400).
fn answer(query: &HashMap<String, String>, expected: &str) -> Response {
    let mode = query.get("hub.mode").map(String::as_str);
    let given = query.get("hub.verify_token").map(String::as_str).unwrap_or("");
    // Both checks always run, so timing does not tell which one failed.
    let token_matches = secrets_equal(given, expected);
    if mode != Some("subscribe") || !token_matches {
        tracing::warn!(mode = ?mode, "webhook verification with a wrong hub.mode or verify token");
        return runtime::http::problem::problem(
            StatusCode::FORBIDDEN,
            "hub.mode must be subscribe and hub.verify_token must match",
        );
    }
    match query.get("hub.challenge") {
        Some(challenge) => (StatusCode::OK, challenge.clone()).into_response(),
        None => runtime::http::problem::problem(StatusCode::BAD_REQUEST, "hub.challenge is missing"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(pairs: &[(&str, &str)]) -> StatusCode {
        let query = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        answer(&query, "verify-me").status()
    }

    #[test]
    fn the_right_mode_and_token_get_the_challenge() {
        let query = [("hub.mode", "subscribe"), ("hub.verify_token", "verify-me"), ("hub.challenge", "42")];
        assert_eq!(status(&query), StatusCode::OK);
    }

    #[test]
    fn any_wrong_or_missing_mode_or_token_is_forbidden() {
        for query in [
            &[("hub.mode", "unsubscribe"), ("hub.verify_token", "verify-me"), ("hub.challenge", "1")][..],
            &[("hub.mode", "Subscribe"), ("hub.verify_token", "verify-me"), ("hub.challenge", "1")],
            &[("hub.verify_token", "verify-me"), ("hub.challenge", "1")],
            &[("hub.mode", "subscribe"), ("hub.verify_token", "guess"), ("hub.challenge", "1")],
            &[("hub.mode", "subscribe"), ("hub.challenge", "1")],
            &[("hub.mode", "unsubscribe"), ("hub.verify_token", "guess")],
            &[],
        ] {
            assert_eq!(status(query), StatusCode::FORBIDDEN, "{query:?}");
        }
    }

    #[test]
    fn only_a_missing_challenge_is_malformed() {
        assert_eq!(status(&[("hub.mode", "subscribe"), ("hub.verify_token", "verify-me")]), StatusCode::BAD_REQUEST);
    }
}
