//! Role checks of the Directory API happen before the body is read: an operator sending a
//! malformed body to an admin-only endpoint gets 403 (not the 400/422 that would tell it the
//! field list), with the problem body and challenge of the shared auth layer; tokens refused
//! outright get 401 with `WWW-Authenticate: Bearer`.

mod common;

use serde_json::{json, Value};

/// Bodies that fail to parse in different ways (not JSON, wrong shape, unknown field).
fn malformed_bodies() -> [&'static str; 3] {
    ["{not json", r#"{"name": 7}"#, r#"{"pattern": "x", "unknown_field": true}"#]
}

async fn send(api: &common::Api, method: &str, path: &str, content_type: &str, body: &str) -> (u16, Option<String>, Value) {
    let http = testkit::http();
    let url = format!("{}{path}", api.base);
    let request = match method {
        "POST" => http.post(url),
        "PATCH" => http.patch(url),
        "DELETE" => http.delete(url),
        "GET" => http.get(url),
        other => panic!("unsupported method {other}"),
    };
    let response = request
        .bearer_auth(&api.token)
        .header("content-type", content_type)
        .body(body.to_owned())
        .send()
        .await
        .expect("request sent");
    let status = response.status().as_u16();
    let challenge = response.headers().get("www-authenticate").and_then(|v| v.to_str().ok()).map(str::to_owned);
    (status, challenge, response.json().await.unwrap_or(Value::Null))
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
                let (status, challenge, problem) = send(caller, method, path, content_type, body).await;
                assert_eq!(status, 403, "{method} {path} {body}: {problem}");
                assert_eq!(problem["detail"], "this needs the admin role", "{problem}");
                assert_eq!(challenge.as_deref(), Some(r#"Bearer realm="contactd", error="insufficient_scope""#));
            }
        }
    }
    // The import body is a CSV file: an operator is refused before it is read or its type checked.
    let (status, _, problem) = send(&s.operator, "POST", "/v1/contacts/import", "application/json", "{not csv").await;
    assert_eq!(status, 403, "{problem}");
    assert_eq!(problem["detail"], "this needs the admin or integration role");
    let (status, _, _) = send(&s.operator, "GET", "/v1/contacts/export", "text/plain", "").await;
    assert_eq!(status, 403);

    // The same malformed bodies from an admin are parsed and refused as bodies.
    for body in malformed_bodies() {
        let (status, _, problem) = send(&s.admin, "POST", "/v1/blocked-values", "application/json", body).await;
        assert!(matches!(status, 400 | 422), "{body}: {status} {problem}");
    }
    let (status, _, problem) = send(&s.integration, "POST", "/v1/contacts/import", "application/json", "{not csv").await;
    assert_eq!(status, 415, "an integration may import: {problem}");
}

/// The detail of a token whose tenant is no tenant id (`contracts::limits::is_tenant_id`).
const TENANT_ID_REFUSED: &str = "the token's tenant id is not 1 to 64 ASCII letters, digits, -, _ or .";

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
        let problem: Value = response.json().await.expect("problem+json");
        if let Some(detail) = detail {
            assert_eq!(problem["detail"], detail);
        }
        let text = problem.to_string();
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
}
