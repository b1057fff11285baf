//! `contactd`'s console port: the operator console and both APIs on one origin, split by path
//! exactly as the production Ingress splits them (`k8s/base/ingress.yaml`), so the console's
//! relative `/v1/…` calls reach the resolver or the timeline in this process. `/openapi.json`
//! describes both APIs in one document. With the development JWT secret, the console signs in
//! through [`DEV_TOKEN_PATH`], which mints a token for any tenant and role: development only,
//! and only in this binary.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use runtime::http::auth::{issue_hs256, Role};
use runtime::http::{ApiError, Json};
use runtime::settings::AuthSettings;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::launcher::dev;

/// Where the development sign-in asks for a token.
pub const DEV_TOKEN_PATH: &str = "/console/dev/token";

/// How long a development token lasts: a working day.
const DEV_TOKEN_TTL_SECS: u64 = 8 * 3600;

/// Whether the APIs check tokens with the well-known development secret: only then may the
/// console hand out tokens, since anyone can forge them anyway.
pub fn development_auth(auth: &AuthSettings) -> bool {
    auth.rs256_public_key_pem.is_none() && auth.hs256_secret.as_ref().is_some_and(|s| s.expose_secret() == dev::JWT_SECRET)
}

/// How the console signs in here: OpenID Connect when configured, the development sign-in with
/// the development secret, else a pasted token.
fn sign_in(settings: &console::Settings, auth: &AuthSettings) -> console::SignIn {
    match &settings.oidc {
        Some(oidc) => console::SignIn::Oidc(oidc.clone()),
        None if development_auth(auth) => console::SignIn::Development {
            token_path: DEV_TOKEN_PATH.into(),
            tenants: vec![dev::TENANT.into()],
            roles: ["operator", "admin"].map(String::from).to_vec(),
        },
        None => console::SignIn::Token,
    }
}

/// The console, the Directory API (`directory`) and the Timeline API (`timeline`) on one router.
pub fn router(settings: &console::Settings, auth: &AuthSettings, directory: Router, timeline: Router) -> anyhow::Result<Router> {
    let sign_in = sign_in(settings, auth);
    let development = matches!(sign_in, console::SignIn::Development { .. });
    let client = console::ClientConfig::new(settings, sign_in)?;
    let mut router = console::router(&client)?
        .merge(directory)
        .merge(timeline)
        .route("/openapi.json", get(|| async { axum::Json(openapi()) }));
    if development {
        router = router.route(DEV_TOKEN_PATH, post(dev_token).with_state(Arc::new(auth.clone())));
    }
    Ok(router)
}

/// Both APIs' OpenAPI documents as one: the Directory API's, with the Timeline API's paths and
/// the schemas they refer to.
pub fn openapi() -> Value {
    let mut document = resolver::directory::document();
    document.merge(timeline::http::document());
    document.info.title = "contactd APIs (Directory and Timeline)".into();
    serde_json::to_value(document).unwrap_or_default()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DevTokenRequest {
    tenant: String,
    role: Role,
}

#[derive(Debug, Serialize)]
struct DevToken {
    token: String,
}

async fn dev_token(
    State(auth): State<Arc<AuthSettings>>,
    Json(request): Json<DevTokenRequest>,
) -> Result<Json<DevToken>, ApiError> {
    let tenant = request.tenant.trim();
    if !contracts::limits::is_tenant_id(tenant) {
        return Err(ApiError::Unprocessable(format!("tenant: {}", contracts::limits::TENANT_ID_RULE)));
    }
    let token = issue_hs256(&auth, "console-dev", tenant, request.role, DEV_TOKEN_TTL_SECS)?;
    Ok(Json(DevToken { token }))
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use http_body_util::BodyExt as _;
    use secrecy::SecretString;
    use tower::ServiceExt as _;

    use super::*;

    fn auth(secret: &str) -> AuthSettings {
        AuthSettings { hs256_secret: Some(SecretString::from(secret)), ..AuthSettings::default() }
    }

    async fn post_token(app: &Router, body: &str) -> (StatusCode, Value) {
        let request = Request::post(DEV_TOKEN_PATH).header("content-type", "application/json").body(Body::from(body.to_owned()));
        let response = app.clone().oneshot(request.expect("request")).await.expect("infallible");
        let status = response.status();
        let bytes = response.into_body().collect().await.expect("body").to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    #[tokio::test]
    async fn the_development_sign_in_exists_only_with_the_development_secret() {
        let settings = console::Settings::default();
        let app = router(&settings, &auth(dev::JWT_SECRET), Router::new(), Router::new()).expect("router");
        let (status, body) = post_token(&app, r#"{"tenant":"acme","role":"admin"}"#).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let claims = runtime::http::JwtVerifier::new(&auth(dev::JWT_SECRET))
            .expect("verifier")
            .verify(body["token"].as_str().expect("token"))
            .await
            .expect("a valid token");
        assert_eq!((claims.tenant_id.as_str(), claims.role), ("acme", Role::Admin));
        assert_eq!(post_token(&app, r#"{"tenant":"<script>","role":"admin"}"#).await.0, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(post_token(&app, r#"{"tenant":"acme","role":"root"}"#).await.0, StatusCode::UNPROCESSABLE_ENTITY);

        let production = router(&settings, &auth("a-real-secret"), Router::new(), Router::new()).expect("router");
        assert_eq!(post_token(&production, r#"{"tenant":"acme","role":"admin"}"#).await.0, StatusCode::METHOD_NOT_ALLOWED);
        let config = production
            .oneshot(Request::get("/console/config.json").body(Body::empty()).expect("request"))
            .await
            .expect("infallible");
        let config: Value = serde_json::from_slice(&config.into_body().collect().await.expect("body").to_bytes()).expect("json");
        assert_eq!(config["sign_in"]["mode"], "token");
    }

    #[test]
    fn one_document_describes_both_apis() {
        let document = openapi();
        for path in ["/v1/contacts", "/v1/contacts/{id}/merges", "/v1/contacts/{id}/timeline", "/v1/search"] {
            assert!(document["paths"].get(path).is_some(), "{path} missing");
        }
    }
}
