//! API tokens from an OIDC issuer: a test issuer on loopback serves its discovery document and
//! a JWKS with RSA and P-256 keys made by the test; the verifier fetches and caches them,
//! follows a key rotation, refuses forged, misdirected and badly timed tokens, and does not let
//! a flood of made-up key ids hammer the issuer.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::pkcs8::EncodePrivateKey as _;
use rsa::pkcs1::EncodeRsaPrivateKey as _;
use rsa::pkcs8::{EncodePublicKey as _, LineEnding};
use rsa::rand_core::OsRng;
use rsa::traits::PublicKeyParts as _;
use runtime::http::auth::{AuthError, JwtVerifier, Refusal, Role};
use runtime::settings::AuthSettings;
use serde_json::{json, Value};

const AUDIENCE: &str = "contactd-api";

/// A signing key of the test issuer.
struct SigningKey {
    kid: String,
    alg: Algorithm,
    encoding: EncodingKey,
    jwk: Value,
    /// The public key as PEM (what an attacker would use as an HMAC secret).
    public_pem: String,
}

impl SigningKey {
    fn rsa(kid: &str) -> Self {
        let private = rsa::RsaPrivateKey::new(&mut OsRng, 2048).expect("RSA key");
        let public = private.to_public_key();
        let pem = private.to_pkcs1_pem(LineEnding::LF).expect("PEM");
        Self {
            kid: kid.into(),
            alg: Algorithm::RS256,
            encoding: EncodingKey::from_rsa_pem(pem.as_bytes()).expect("encoding key"),
            jwk: json!({
                "kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
                "n": URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
                "e": URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
            }),
            public_pem: public.to_public_key_pem(LineEnding::LF).expect("PEM"),
        }
    }

    fn p256(kid: &str) -> Self {
        let private = p256::SecretKey::random(&mut OsRng);
        let pem = private.to_pkcs8_pem(LineEnding::LF).expect("PEM");
        let mut jwk: Value = serde_json::from_str(&private.public_key().to_jwk_string()).expect("JWK");
        jwk["kid"] = json!(kid);
        jwk["alg"] = json!("ES256");
        jwk["use"] = json!("sig");
        Self {
            kid: kid.into(),
            alg: Algorithm::ES256,
            encoding: EncodingKey::from_ec_pem(pem.as_bytes()).expect("encoding key"),
            jwk,
            public_pem: String::new(),
        }
    }

    /// The same key under another key id.
    fn with_kid(&self, kid: &str) -> Self {
        Self {
            kid: kid.into(),
            alg: self.alg,
            encoding: self.encoding.clone(),
            jwk: self.jwk.clone(),
            public_pem: self.public_pem.clone(),
        }
    }

    fn sign(&self, claims: &Value) -> String {
        let header = Header { kid: Some(self.kid.clone()), ..Header::new(self.alg) };
        jsonwebtoken::encode(&header, claims, &self.encoding).expect("signed")
    }
}

#[derive(Default)]
struct IssuerState {
    url: Mutex<String>,
    /// The `issuer` the discovery document names (normally the issuer's own URL).
    names_issuer: Mutex<Option<String>>,
    jwks: Mutex<Value>,
    jwks_fetches: AtomicUsize,
}

/// A test OIDC issuer on a loopback port.
struct Issuer {
    url: String,
    state: Arc<IssuerState>,
}

impl Issuer {
    async fn start(keys: &[&SigningKey]) -> Self {
        let state = Arc::new(IssuerState::default());
        let app = Router::new()
            .route("/realms/contactd/.well-known/openid-configuration", get(discovery))
            .route("/realms/contactd/protocol/openid-connect/certs", get(jwks))
            .with_state(Arc::clone(&state));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/realms/contactd", listener.local_addr().expect("address"));
        tokio::spawn(async move { axum::serve(listener, app.into_make_service()).await });
        *state.url.lock().expect("lock") = url.clone();
        let issuer = Self { url, state };
        issuer.publish(keys);
        issuer
    }

    /// Replaces the JWKS (a key rotation).
    fn publish(&self, keys: &[&SigningKey]) {
        *self.state.jwks.lock().expect("lock") = json!({ "keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>() });
    }

    fn jwks_fetches(&self) -> usize {
        self.state.jwks_fetches.load(Ordering::SeqCst)
    }

    /// Settings of a verifier trusting this issuer, with a Keycloak-like claims mapping.
    fn settings(&self) -> AuthSettings {
        AuthSettings {
            oidc_discovery: true,
            issuer: self.url.clone(),
            audience: AUDIENCE.into(),
            tenant_claim: "org.tenant".into(),
            role_claim: "realm_access.roles".into(),
            role_map: BTreeMap::from([("cc-agent".into(), Role::Operator), ("cc-admin".into(), Role::Admin)]),
            ..AuthSettings::default()
        }
    }

    /// Claims of a valid token of tenant `acme`, with `changes` applied (`null` removes).
    fn claims(&self, changes: Value) -> Value {
        let now = now();
        let mut claims = json!({
            "sub": "f81d4fae-7dec-11d0-a765-00a0c91e6bf6", "iss": self.url, "aud": [AUDIENCE, "account"],
            "iat": now, "exp": now + 300, "org": {"tenant": "acme"}, "realm_access": {"roles": ["offline_access", "cc-agent"]},
        });
        for (k, v) in changes.as_object().expect("object") {
            match v {
                Value::Null => drop(claims.as_object_mut().expect("object").remove(k)),
                v => claims[k] = v.clone(),
            }
        }
        claims
    }
}

async fn discovery(State(state): State<Arc<IssuerState>>) -> axum::Json<Value> {
    let url = state.url.lock().expect("lock").clone();
    let issuer = state.names_issuer.lock().expect("lock").clone().unwrap_or_else(|| url.clone());
    axum::Json(
        json!({ "issuer": issuer, "jwks_uri": format!("{url}/protocol/openid-connect/certs"), "id_token_signing_alg_values_supported": ["RS256", "ES256"] }),
    )
}

async fn jwks(State(state): State<Arc<IssuerState>>) -> axum::Json<Value> {
    state.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    axum::Json(state.jwks.lock().expect("lock").clone())
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("after 1970").as_secs()
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

#[tokio::test]
async fn rs256_and_es256_tokens_of_the_issuer_are_accepted_with_the_mapped_tenant_and_role() {
    let (rsa, ec) = (SigningKey::rsa("rsa-1"), SigningKey::p256("ec-1"));
    let issuer = Issuer::start(&[&rsa, &ec]).await;
    let verifier = JwtVerifier::new(&issuer.settings()).expect("verifier");

    let claims = verifier.verify(&rsa.sign(&issuer.claims(json!({})))).await.expect("RS256 accepted");
    assert_eq!((claims.tenant_id.as_str(), claims.role), ("acme", Role::Operator));
    assert_eq!(claims.sub, "f81d4fae-7dec-11d0-a765-00a0c91e6bf6");
    let admin = issuer.claims(json!({"realm_access": {"roles": ["cc-agent", "cc-admin"]}}));
    let claims = verifier.verify(&ec.sign(&admin)).await.expect("ES256 accepted");
    assert_eq!((claims.tenant_id.as_str(), claims.role), ("acme", Role::Admin), "the strongest mapped role");
    assert_eq!(issuer.jwks_fetches(), 1, "keys are cached");

    let no_role = issuer.claims(json!({"realm_access": {"roles": ["offline_access"]}}));
    assert!(matches!(verifier.verify(&rsa.sign(&no_role)).await, Err(AuthError::Forbidden(_))), "a user without a mapped role");
}

#[tokio::test]
async fn misdirected_badly_timed_tenantless_and_forged_tokens_are_refused() {
    let (rsa, ec) = (SigningKey::rsa("rsa-1"), SigningKey::p256("ec-1"));
    let issuer = Issuer::start(&[&rsa, &ec]).await;
    let verifier = JwtVerifier::new(&issuer.settings()).expect("verifier");
    let refused = |token: String| {
        let verifier = &verifier;
        async move { verifier.verify(&token).await.err() }
    };
    let now = now();
    for (changes, reason) in [
        (json!({"iss": "https://evil.example.com/realms/contactd"}), Refusal::Issuer),
        (json!({"aud": "account"}), Refusal::Audience),
        (json!({"exp": now - 3600}), Refusal::Expired),
        (json!({"nbf": now + 3600}), Refusal::NotYetValid),
        (json!({"exp": now + 7 * 24 * 3600}), Refusal::Lifetime),
        (json!({"org": {"tenant": ""}}), Refusal::NoTenant),
        (json!({"org": null}), Refusal::NoTenant),
        (json!({"exp": null}), Refusal::MissingClaim),
    ] {
        assert_eq!(refused(rsa.sign(&issuer.claims(changes.clone()))).await, Some(AuthError::Invalid(reason)), "{changes}");
        assert_eq!(refused(ec.sign(&issuer.claims(changes.clone()))).await, Some(AuthError::Invalid(reason)), "{changes}");
    }

    // alg=none: a token that claims to need no signature.
    let unsigned = format!("{}.{}.", b64(&json!({"alg": "none", "kid": "rsa-1"})), b64(&issuer.claims(json!({}))));
    assert!(matches!(refused(unsigned).await, Some(AuthError::Invalid(Refusal::Malformed | Refusal::Algorithm))));
    // HS256 "signed" with the issuer's public key as the HMAC secret (algorithm confusion).
    let confused = jsonwebtoken::encode(
        &Header { kid: Some("rsa-1".into()), ..Header::new(Algorithm::HS256) },
        &issuer.claims(json!({})),
        &EncodingKey::from_secret(rsa.public_pem.as_bytes()),
    )
    .expect("signed");
    assert_eq!(refused(confused).await, Some(AuthError::Invalid(Refusal::Algorithm)));
    // Signed by someone else's key under the issuer's key id.
    let impostor = SigningKey::rsa("impostor").with_kid("rsa-1");
    assert_eq!(refused(impostor.sign(&issuer.claims(json!({})))).await, Some(AuthError::Invalid(Refusal::Signature)));
    // An ES256 token naming the RSA key's id finds no fitting key.
    let mismatched = SigningKey::p256("other").with_kid("rsa-1");
    assert_eq!(refused(mismatched.sign(&issuer.claims(json!({})))).await, Some(AuthError::Invalid(Refusal::UnknownKey)));
}

#[tokio::test]
async fn a_rotated_key_is_fetched_once_and_a_flood_of_unknown_key_ids_does_not_refetch() {
    let (old, new) = (SigningKey::rsa("2026-01"), SigningKey::rsa("2026-02"));
    let issuer = Issuer::start(&[&old]).await;
    let verifier = JwtVerifier::new(&issuer.settings()).expect("verifier");
    verifier.verify(&old.sign(&issuer.claims(json!({})))).await.expect("the current key");
    assert_eq!(issuer.jwks_fetches(), 1);

    // The issuer rotates: the new key replaces the old one; tokens are signed with the new key.
    issuer.publish(&[&new]);
    verifier.verify(&new.sign(&issuer.claims(json!({})))).await.expect("the new key after one refresh");
    assert_eq!(issuer.jwks_fetches(), 2, "one refresh for the unknown kid");

    // Made-up key ids, concurrently: within auth.jwks_min_refetch_s no further fetch.
    let flood = (0..50).map(|i| {
        let forged = new.with_kid(&format!("forged-{i}"));
        let token = forged.sign(&issuer.claims(json!({})));
        let verifier = &verifier;
        async move { verifier.verify(&token).await.err() }
    });
    for refusal in futures::future::join_all(flood).await {
        assert_eq!(refusal, Some(AuthError::Invalid(Refusal::UnknownKey)));
    }
    assert_eq!(issuer.jwks_fetches(), 2, "the flood was not passed on to the issuer");
    // The retired key is gone with the refresh.
    let retired = verifier.verify(&old.sign(&issuer.claims(json!({})))).await.err();
    assert_eq!(retired, Some(AuthError::Invalid(Refusal::UnknownKey)));
    verifier.verify(&new.sign(&issuer.claims(json!({})))).await.expect("the new key still verifies");
    assert_eq!(issuer.jwks_fetches(), 2);
}

#[tokio::test]
async fn keys_are_refetched_periodically_so_a_removed_key_stops_verifying_without_an_unknown_kid() {
    let (old, new) = (SigningKey::rsa("2026-01"), SigningKey::rsa("2026-02"));
    let issuer = Issuer::start(&[&old, &new]).await;
    let settings = AuthSettings { jwks_refresh_s: 0, jwks_min_refetch_s: 0, ..issuer.settings() };
    let verifier = JwtVerifier::new(&settings).expect("verifier");
    verifier.verify(&old.sign(&issuer.claims(json!({})))).await.expect("the old key");
    issuer.publish(&[&new]);
    let revoked = verifier.verify(&old.sign(&issuer.claims(json!({})))).await.err();
    assert_eq!(revoked, Some(AuthError::Invalid(Refusal::UnknownKey)));
    assert!(issuer.jwks_fetches() >= 2);
}

#[tokio::test]
async fn an_unreachable_or_mismatched_issuer_makes_tokens_unverifiable_not_accepted() {
    let rsa = SigningKey::rsa("rsa-1");
    let issuer = Issuer::start(&[&rsa]).await;
    // The discovery document names another issuer (OIDC Discovery §4.3): its keys are not used.
    *issuer.state.names_issuer.lock().expect("lock") = Some("https://evil.example.com".into());
    let verifier = JwtVerifier::new(&issuer.settings()).expect("verifier");
    assert_eq!(verifier.verify(&rsa.sign(&issuer.claims(json!({})))).await.err(), Some(AuthError::KeysUnavailable));
    assert_eq!(issuer.jwks_fetches(), 0);

    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind").local_addr().expect("address");
    let settings = AuthSettings { issuer: format!("http://{closed}/realms/gone"), ..issuer.settings() };
    let verifier = JwtVerifier::new(&settings).expect("verifier");
    let token = rsa.sign(&json!({"sub": "x", "iss": settings.issuer, "aud": AUDIENCE, "exp": now() + 60}));
    assert_eq!(verifier.verify(&token).await.err(), Some(AuthError::KeysUnavailable));

    let plain = AuthSettings { issuer: "http://login.example.com/realms/x".into(), ..issuer.settings() };
    assert!(JwtVerifier::new(&plain).is_err(), "an issuer outside loopback must be https");
}
