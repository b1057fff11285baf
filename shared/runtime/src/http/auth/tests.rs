use super::*;
use secrecy::SecretString;
use serde_json::json;

fn settings(secret: &str) -> AuthSettings {
    AuthSettings { hs256_secret: Some(SecretString::from(secret)), ..AuthSettings::default() }
}

async fn verify(settings: &AuthSettings, token: &str) -> Result<Claims, AuthError> {
    JwtVerifier::new(settings).expect("verifier").verify(token).await
}

/// Why the development verifier (secret `k`) refuses a token with these claims changed
/// (`null` removes a claim); `None` when it accepts it.
async fn refusal(settings: &AuthSettings, changes: serde_json::Value) -> Option<AuthError> {
    let mut claims = json!({
        "sub": "op-1", "tenant_id": "acme", "role": "operator", "exp": now() + 600, "iss": "contactd", "aud": "contactd-api",
    });
    for (k, v) in changes.as_object().expect("object") {
        match v {
            serde_json::Value::Null => drop(claims.as_object_mut().expect("object").remove(k)),
            v => claims[k] = v.clone(),
        }
    }
    let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(b"k")).expect("signed");
    verify(settings, &token).await.err()
}

#[tokio::test]
async fn a_token_issued_with_the_secret_verifies_and_carries_the_tenant() {
    let token = issue_hs256(&settings("s3cret"), "op-1", "acme", Role::Operator, 60).expect("issued");
    let claims = verify(&settings("s3cret"), &token).await.expect("valid");
    assert_eq!(claims.tenant_id, "acme");
    assert_eq!(claims.role, Role::Operator);
}

#[tokio::test]
async fn a_token_signed_with_another_secret_is_rejected() {
    let token = issue_hs256(&settings("other"), "op-1", "acme", Role::Operator, 60).expect("issued");
    assert_eq!(verify(&settings("s3cret"), &token).await.err(), Some(AuthError::Invalid(Refusal::Signature)));
}

#[tokio::test]
async fn a_token_for_another_audience_or_issuer_is_rejected() {
    let s = settings("k");
    assert_eq!(refusal(&s, json!({})).await, None);
    assert_eq!(refusal(&s, json!({"aud": "other"})).await, Some(AuthError::Invalid(Refusal::Audience)));
    assert_eq!(refusal(&s, json!({"aud": ["other", "contactd-api"]})).await, None, "one of several audiences");
    assert_eq!(refusal(&s, json!({"iss": "other"})).await, Some(AuthError::Invalid(Refusal::Issuer)));
}

#[tokio::test]
async fn expiry_is_required_and_honoured_within_the_leeway() {
    let s = settings("k");
    assert_eq!(refusal(&s, json!({"exp": null})).await, Some(AuthError::Invalid(Refusal::MissingClaim)));
    assert_eq!(refusal(&s, json!({"exp": now() - 120})).await, Some(AuthError::Invalid(Refusal::Expired)));
    assert_eq!(refusal(&s, json!({"exp": now() - 5})).await, None, "within the 30 s leeway");
}

#[tokio::test]
async fn a_token_not_valid_yet_is_refused_beyond_the_leeway() {
    let s = settings("k");
    assert_eq!(refusal(&s, json!({"nbf": now() + 3600})).await, Some(AuthError::Invalid(Refusal::NotYetValid)));
    assert_eq!(refusal(&s, json!({"nbf": now() + 5})).await, None, "within the 30 s leeway");
    assert_eq!(refusal(&s, json!({"nbf": now() - 5})).await, None);
}

#[tokio::test]
async fn a_token_living_longer_than_the_maximum_is_refused() {
    let s = AuthSettings { max_token_lifetime_s: 3600, ..settings("k") };
    assert_eq!(refusal(&s, json!({"exp": now() + 7200})).await, Some(AuthError::Invalid(Refusal::Lifetime)));
    assert_eq!(refusal(&s, json!({"exp": now() + 3000})).await, None);
    assert!(issue_hs256(&s, "op", "acme", Role::Operator, 7200).is_err(), "the CLI does not issue a token it would refuse");
}

#[tokio::test]
async fn a_token_without_tenant_or_subject_is_invalid_and_one_without_a_known_role_forbidden() {
    let s = settings("k");
    assert_eq!(refusal(&s, json!({"tenant_id": ""})).await, Some(AuthError::Invalid(Refusal::NoTenant)));
    assert_eq!(refusal(&s, json!({"tenant_id": null})).await, Some(AuthError::Invalid(Refusal::NoTenant)));
    for tenant in ["acme|vk".to_owned(), "a".repeat(contracts::limits::TENANT_ID_BYTES + 1), "a\u{0}b".to_owned()] {
        assert_eq!(refusal(&s, json!({ "tenant_id": tenant })).await, Some(AuthError::Invalid(Refusal::TenantId)), "{tenant:?}");
    }
    let longest = "a".repeat(contracts::limits::TENANT_ID_BYTES);
    assert_eq!(refusal(&s, json!({ "tenant_id": longest })).await, None);
    assert!(issue_hs256(&s, "op", "acme|vk", Role::Operator, 60).is_err(), "the CLI does not issue a token it would refuse");
    assert_eq!(refusal(&s, json!({"sub": null})).await, Some(AuthError::Invalid(Refusal::MissingClaim)));
    assert!(matches!(refusal(&s, json!({"role": "root"})).await, Some(AuthError::Forbidden(_))));
    assert!(matches!(refusal(&s, json!({"role": null})).await, Some(AuthError::Forbidden(_))));
}

#[tokio::test]
async fn garbage_unsigned_and_other_algorithm_tokens_are_refused() {
    let s = settings("k");
    assert_eq!(verify(&s, "not-a-jwt").await.err(), Some(AuthError::Invalid(Refusal::Malformed)));
    assert_eq!(verify(&s, "a.b.c").await.err(), Some(AuthError::Invalid(Refusal::Malformed)));
    let none = format!("{}.{}.", base64_url(r#"{"alg":"none","typ":"JWT"}"#), base64_url(r#"{"sub":"x"}"#));
    assert!(matches!(verify(&s, &none).await, Err(AuthError::Invalid(Refusal::Malformed | Refusal::Algorithm))));
    let claims =
        json!({"sub": "op", "tenant_id": "acme", "role": "admin", "exp": now() + 60, "iss": "contactd", "aud": "contactd-api"});
    let hs384 = jsonwebtoken::encode(&Header::new(Algorithm::HS384), &claims, &EncodingKey::from_secret(b"k")).expect("signed");
    assert_eq!(verify(&s, &hs384).await.err(), Some(AuthError::Invalid(Refusal::Algorithm)));
}

fn base64_url(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}
