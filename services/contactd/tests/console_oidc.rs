//! The console's OpenID Connect sign-in in a real headless Chromium: authorization code with
//! PKCE against an identity provider run by this test (discovery document, authorization
//! endpoint that signs the operator in at once, token endpoint that checks the PKCE verifier and
//! issues an RS256 access token), with contactd's APIs configured to accept that provider's key.
//! The provider is test scaffolding; what is under test is the console's flow and the APIs
//! accepting its token. Needs the same tools as `console.rs`, plus `openssl` for the key.

mod console_support;

use std::collections::HashMap;
use std::process::Command;
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use contactd::launcher;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use runtime::settings::AuthSettings;
use runtime::shutdown::CancellationToken;
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const CLIENT_ID: &str = "contactd-console";

/// An RSA key pair made for this run: (private PEM, public PEM).
fn key_pair() -> (String, String) {
    let dir = std::env::temp_dir().join(format!("console-oidc-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("temporary folder");
    let (private, public) = (dir.join("key.pem"), dir.join("public.pem"));
    let openssl = |args: &[&str]| {
        let status = Command::new("openssl").args(args).output().expect("openssl runs (Debian's openssl package)");
        assert!(status.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&status.stderr));
    };
    let (private_path, public_path) = (private.to_string_lossy(), public.to_string_lossy());
    openssl(&["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", &private_path]);
    openssl(&["pkey", "-in", &private_path, "-pubout", "-out", &public_path]);
    let pair = (std::fs::read_to_string(&private).expect("key"), std::fs::read_to_string(&public).expect("public key"));
    std::fs::remove_dir_all(&dir).expect("temporary folder removed");
    pair
}

/// The test's identity provider.
struct Provider {
    base: String,
    key: EncodingKey,
    auth: AuthSettings,
    /// Codes handed out: the PKCE challenge and redirect URI they were issued for.
    codes: Mutex<HashMap<String, (String, String)>>,
}

/// Browsers call the discovery and token endpoints from the console's origin.
fn cors(mut response: Response) -> Response {
    response.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    response
}

async fn discovery(State(provider): State<Arc<Provider>>) -> Response {
    let base = &provider.base;
    cors(
        axum::Json(json!({
            "issuer": base,
            "authorization_endpoint": format!("{base}/authorize"),
            "token_endpoint": format!("{base}/token"),
            "response_types_supported": ["code"],
            "code_challenge_methods_supported": ["S256"],
        }))
        .into_response(),
    )
}

#[derive(Deserialize)]
struct Authorize {
    response_type: String,
    client_id: String,
    redirect_uri: String,
    state: String,
    code_challenge: String,
    code_challenge_method: String,
    scope: String,
}

/// Signs the operator in at once and sends the browser back with a code.
async fn authorize(State(provider): State<Arc<Provider>>, Query(request): Query<Authorize>) -> Response {
    let valid = request.response_type == "code"
        && request.client_id == CLIENT_ID
        && request.code_challenge_method == "S256"
        && request.scope.split(' ').any(|scope| scope == "openid")
        && request.redirect_uri.ends_with("/console/");
    if !valid {
        return (StatusCode::BAD_REQUEST, "invalid authorization request").into_response();
    }
    let code = uuid::Uuid::new_v4().simple().to_string();
    provider.codes.lock().expect("not poisoned").insert(code.clone(), (request.code_challenge, request.redirect_uri.clone()));
    Redirect::to(&format!("{}?code={code}&state={}", request.redirect_uri, request.state)).into_response()
}

#[derive(Deserialize)]
struct TokenRequest {
    grant_type: String,
    code: String,
    redirect_uri: String,
    client_id: String,
    code_verifier: String,
}

/// Exchanges a code for an access token when the verifier matches the challenge (RFC 7636).
async fn token(State(provider): State<Arc<Provider>>, Form(request): Form<TokenRequest>) -> Response {
    let issued = provider.codes.lock().expect("not poisoned").remove(&request.code);
    let verified = issued.is_some_and(|(challenge, redirect_uri)| {
        URL_SAFE_NO_PAD.encode(Sha256::digest(request.code_verifier.as_bytes())) == challenge
            && redirect_uri == request.redirect_uri
    });
    if request.grant_type != "authorization_code" || request.client_id != CLIENT_ID || !verified {
        return cors((StatusCode::BAD_REQUEST, axum::Json(json!({"error": "invalid_grant"}))).into_response());
    }
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("after 1970").as_secs();
    let claims = json!({
        "sub": "oidc-operator", "tenant_id": "acme", "role": "operator", "exp": now + 600,
        "iss": provider.auth.issuer, "aud": provider.auth.audience,
    });
    let access_token = jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &provider.key).expect("signed");
    cors(axum::Json(json!({"access_token": access_token, "token_type": "Bearer", "expires_in": 600})).into_response())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_signs_in_with_openid_connect_and_the_apis_accept_the_token() {
    console_support::chromium();
    let (private_pem, public_pem) = key_pair();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let database = testkit::fresh_database();
    let mut settings = launcher::load_settings(false).expect("settings");
    settings.database = (*database).clone();
    settings.kafka.brokers = String::new();
    settings.auth.rs256_public_key_pem = Some(public_pem);
    settings.service.resolver.console.oidc = Some(console::Oidc {
        issuer: base.clone(),
        client_id: CLIENT_ID.into(),
        scopes: "openid profile".into(),
        audience: None,
        connect_origins: Vec::new(),
    });
    let provider = Arc::new(Provider {
        base,
        key: EncodingKey::from_rsa_pem(private_pem.as_bytes()).expect("private key"),
        auth: settings.auth.clone(),
        codes: Mutex::new(HashMap::new()),
    });
    let idp = Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/authorize", get(authorize))
        .route("/token", post(token))
        .with_state(Arc::clone(&provider));
    let shutdown = CancellationToken::new();
    let idp_shutdown = shutdown.clone();
    tokio::spawn(async move { axum::serve(listener, idp).with_graceful_shutdown(idp_shutdown.cancelled_owned()).await });

    let stack = launcher::start(settings.clone(), shutdown.clone()).await.expect("contactd starts");
    // A contact for the directory to show, created with a token of the provider's key.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("after 1970").as_secs();
    let claims = json!({"sub": "setup", "tenant_id": "acme", "role": "operator", "exp": now + 600, "iss": settings.auth.issuer, "aud": settings.auth.audience});
    let setup = jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &provider.key).expect("signed");
    let created = reqwest::Client::new()
        .post(format!("http://{}/v1/contacts", stack.resolver))
        .bearer_auth(setup)
        .json(&json!({"name": "Eva Nová", "identities": [{"kind": "email", "value": "eva@nova.cz"}]}))
        .send()
        .await
        .expect("sent");
    assert_eq!(created.status(), 201);
    let config: Value = reqwest::get(format!("{}config.json", stack.console_url().expect("console")))
        .await
        .expect("config")
        .json()
        .await
        .expect("json");
    assert_eq!(config["sign_in"]["mode"], "oidc", "no development sign-in beside a configured provider: {config}");

    let console = stack.console_url().expect("the console is served");
    console_support::run_scenario("oidc.mjs", vec![("CONSOLE_URL", console), ("CONTACT_NAME", "Eva Nová".to_owned())]).await;
    assert!(provider.codes.lock().expect("not poisoned").is_empty(), "the code was exchanged, once");

    shutdown.cancel();
    stack.wait().await.expect("contactd stops cleanly");
}
