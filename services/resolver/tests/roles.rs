//! Role checks of the Directory API happen before the body is read: an operator sending a
//! malformed body to an admin-only endpoint gets 403 (not the 400/422 that would tell it the
//! field list), with the problem body and challenge of the shared auth layer; tokens refused
//! outright get 401 with `WWW-Authenticate: Bearer`.
//!
//! The refused tokens go over a real socket: that test is the one that covers the served stack
//! (server, its middleware, readiness) which every other test skips by calling the API's router
//! through `oneshot`.

mod common;

use axum::http::{header, Method};
use serde_json::{json, Value};

/// Bodies that fail to parse in different ways (not JSON, wrong shape, unknown field).
fn malformed_bodies() -> [&'static str; 3] {
    ["{not json", r#"{"name": 7}"#, r#"{"pattern": "x", "unknown_field": true}"#]
}

async fn send(api: &common::Api, method: &str, path: &str, content_type: &str, body: &str) -> common::Reply {
    let method = Method::from_bytes(method.as_bytes()).expect("an HTTP method");
    api.send_raw(method, path, content_type, body.to_owned()).await
}

fn challenge(reply: &common::Reply) -> Option<&str> {
    reply.headers.get(header::WWW_AUTHENTICATE).and_then(|v| v.to_str().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_only_endpoints_refuse_other_roles_before_reading_the_body() {
    let s = common::Directory::start().await;
    let admin_only = [
        ("POST", "/v1/identifier-definitions", "application/json"),
        ("PATCH", "/v1/identifier-definitions/crm_id", "application/json"),
        ("DELETE", "/v1/identifier-definitions/crm_id", "application/json"),
        ("POST", "/v1/blocked-values", "application/json"),
    ];
    for (method, path, content_type) in admin_only {
        for body in malformed_bodies() {
            for caller in [&s.operator, &s.integration] {
                let reply = send(caller, method, path, content_type, body).await;
                assert_eq!(reply.status, 403, "{method} {path} {body}: {reply}");
                assert_eq!(reply.problem().detail, "this needs the admin role", "{reply}");
                assert_eq!(challenge(&reply), Some(r#"Bearer realm="contactd", error="insufficient_scope""#));
            }
        }
    }
    // The import body is a CSV file: an operator is refused before it is read or its type checked.
    let reply = send(&s.operator, "POST", "/v1/contacts/import", "application/json", "{not csv").await;
    assert_eq!(reply.status, 403, "{reply}");
    assert_eq!(reply.problem().detail, "this needs the admin or integration role");
    assert_eq!(send(&s.operator, "GET", "/v1/contacts/export", "text/plain", "").await.status, 403);

    // The same malformed bodies from an admin are parsed and refused as bodies.
    for body in malformed_bodies() {
        let reply = send(&s.admin, "POST", "/v1/blocked-values", "application/json", body).await;
        assert!(matches!(reply.status.as_u16(), 400 | 422), "{body}: {reply}");
    }
    let reply = send(&s.integration, "POST", "/v1/contacts/import", "application/json", "{not csv").await;
    assert_eq!(reply.status, 415, "an integration may import: {reply}");
}

/// The detail of a token whose tenant is no tenant id (`contracts::limits::is_tenant_id`).
const TENANT_ID_REFUSED: &str = "the token's tenant id is not 1 to 64 ASCII letters, digits, -, _ or .";

/// Over the socket: the served stack answers as the router does, and reports itself ready.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_tokens_get_401_with_a_bearer_challenge_and_no_library_text() {
    let s = common::Directory::start().await;
    let valid = s.operator.token.clone();
    let cases = [
        (None, None),
        (Some(format!("Basic {valid}")), None),
        (Some("Bearer not-a-jwt".to_owned()), Some("the token is not a well-formed JWT")),
        (Some("Bearer eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoia2luZyJ9.c2ln".to_owned()), Some("the token's signature is invalid")),
        (Some(format!("Bearer {}", testkit::token_with(json!({"tenant_id": ""})))), Some("the token carries no tenant")),
        (Some(format!("Bearer {}", testkit::token_with(json!({"tenant_id": "acme|vk"})))), Some(TENANT_ID_REFUSED)),
        (Some(format!("Bearer {}", testkit::token_with(json!({"tenant_id": "a".repeat(65)})))), Some(TENANT_ID_REFUSED)),
        (Some(format!("Bearer {}", testkit::token_with(json!({"tenant_id": "acme\u{7}"})))), Some(TENANT_ID_REFUSED)),
    ];
    for (authorization, detail) in cases {
        let mut request = testkit::http().get(format!("{}/v1/contacts", s.resolver.url));
        if let Some(value) = &authorization {
            request = request.header("authorization", value);
        }
        let response = request.send().await.expect("request sent");
        assert_eq!(response.status().as_u16(), 401, "{authorization:?}");
        let challenge = response.headers().get("www-authenticate").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        assert!(challenge.starts_with("Bearer realm=\"contactd\""), "{challenge}");
        assert_eq!(challenge.contains("error=\"invalid_token\""), detail.is_some(), "{challenge}");
        assert_eq!(response.headers()["content-type"], "application/problem+json");
        let text = response.text().await.expect("a body");
        let problem: common::Problem = serde_json::from_str(&text).expect("problem+json");
        assert_eq!(problem.status, 401);
        if let Some(detail) = detail {
            assert_eq!(problem.detail, detail);
        }
        // About the body as sent: no library's wording leaks into any of its fields.
        assert!(!text.contains("JSON error") && !text.contains("Base64") && !text.contains("variant"), "{text}");
    }
    // The scheme is case-insensitive (RFC 7235 §2.1).
    for scheme in ["bearer", "BEARER", "Bearer"] {
        let response = testkit::http()
            .get(format!("{}/v1/contacts", s.resolver.url))
            .header("authorization", format!("{scheme}  {valid}"))
            .send()
            .await
            .expect("request sent");
        assert_eq!(response.status().as_u16(), 200, "{scheme}");
    }

    // The rest of the served stack: readiness (database and Kafka answer) and a route nobody
    // serves, answered with a problem like every error. `/readyz` has no contract type.
    let ready = testkit::http().get(format!("{}/readyz", s.resolver.url)).send().await.expect("request sent");
    assert_eq!(ready.status().as_u16(), 200);
    assert_eq!(ready.json::<Value>().await.expect("a JSON body")["ready"], true);
    let unknown = testkit::http().get(format!("{}/v1/nothing-here", s.resolver.url)).send().await.expect("request sent");
    assert_eq!(unknown.status().as_u16(), 404);
    assert_eq!(unknown.headers()["content-type"], "application/problem+json");
}
