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

fn answer(query: &HashMap<String, String>, expected: &str) -> Response {
    let mode = query.get("hub.mode").map(String::as_str);
    let given = query.get("hub.verify_token").map(String::as_str).unwrap_or("");
    match (mode, query.get("hub.challenge")) {
        (Some("subscribe"), Some(challenge)) if secrets_equal(given, expected) => {
            (StatusCode::OK, challenge.clone()).into_response()
        }
        (Some("subscribe"), Some(_)) => {
            tracing::warn!("webhook verification with a wrong verify token");
            runtime::http::problem::problem(StatusCode::FORBIDDEN, "verify token does not match")
        }
        _ => runtime::http::problem::problem(
            StatusCode::BAD_REQUEST,
            "expected hub.mode=subscribe, hub.verify_token and hub.challenge",
        ),
    }
}
