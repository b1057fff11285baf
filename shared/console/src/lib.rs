//! The operator console: a browser front end for the Directory and Timeline APIs, written as
//! plain ES modules and CSS (no build step, nothing to install to build it) and embedded in the
//! binary that serves it. [`router`] serves it under `/console/` with `/console/config.json`
//! (how to sign in, UI defaults). The front end calls the APIs with relative `/v1/…` URLs, so
//! whatever serves the console must route both APIs on the same origin: the Ingress in
//! production, `contactd`'s console port in development.
//!
//! Every value the console shows comes from customers, so the front end builds the DOM with
//! text nodes only, and the responses carry a Content-Security-Policy that allows no inline
//! script or style and no origin but this one (and the identity provider's, for sign-in).

mod assets;
pub mod settings;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

pub use settings::{ClientConfig, Language, Oidc, Settings, SettingsError, SignIn};

/// Where the console is served.
pub const PATH: &str = "/console/";

struct Served {
    config: Vec<u8>,
    config_etag: String,
}

/// The console's routes: `/console` (redirects), `/console/`, `/console/config.json` and the
/// assets, each with the console's security headers.
pub fn router(config: &ClientConfig) -> Result<Router, SettingsError> {
    let policy = content_security_policy(&config.connect_sources()?);
    let policy = HeaderValue::from_str(&policy).expect("validated origins hold only URL characters");
    let config = serde_json::to_vec(config).expect("the client configuration (strings, numbers) always serializes");
    let served = Arc::new(Served { config_etag: assets::etag(&config), config });
    Ok(Router::new()
        .route("/console", get(|| async { Redirect::permanent(PATH) }))
        .route(PATH, get(index))
        .route("/console/config.json", get(client_config))
        .route("/console/{*path}", get(asset))
        .with_state(served)
        .layer(middleware::from_fn(move |request, next| security_headers(policy.clone(), request, next))))
}

/// Only this origin's scripts, styles and images; fetches to this origin and the identity
/// provider; no plugins, frames, or `<base>`.
fn content_security_policy(connect_sources: &[String]) -> String {
    let connect = std::iter::once("'self'").chain(connect_sources.iter().map(String::as_str)).collect::<Vec<_>>().join(" ");
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src {connect}; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

async fn security_headers(policy: HeaderValue, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    response
}

async fn index(headers: HeaderMap) -> Response {
    asset_response(&headers, "index.html")
}

async fn asset(headers: HeaderMap, Path(path): Path<String>) -> Response {
    asset_response(&headers, &path)
}

async fn client_config(State(served): State<Arc<Served>>, headers: HeaderMap) -> Response {
    cached(&headers, &served.config_etag, "application/json", Body::from(served.config.clone()))
}

fn asset_response(headers: &HeaderMap, path: &str) -> Response {
    match assets::find(path) {
        Some(asset) => cached(headers, &asset.etag(), asset.content_type, Body::from(asset.body)),
        None => (StatusCode::NOT_FOUND, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], "not found").into_response(),
    }
}

/// Revalidated on every use (`no-cache`) so a new release shows at once, answered with 304
/// when the browser's copy is current.
fn cached(headers: &HeaderMap, etag: &str, content_type: &'static str, body: Body) -> Response {
    let current = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|tag| tag.trim().trim_start_matches("W/") == etag));
    let common = [(header::ETAG, etag.to_owned()), (header::CACHE_CONTROL, "no-cache".to_owned())];
    if current {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    (common, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

#[cfg(test)]
mod tests {
    use axum::http::Request;
    use http_body_util::BodyExt as _;
    use tower::ServiceExt as _;

    use super::*;

    fn app() -> Router {
        let settings = Settings::default();
        router(&ClientConfig::new(&settings, SignIn::from_settings(&settings)).expect("valid")).expect("router")
    }

    async fn get(app: &Router, path: &str, if_none_match: Option<&str>) -> Response {
        let mut request = Request::get(path);
        if let Some(tag) = if_none_match {
            request = request.header(header::IF_NONE_MATCH, tag);
        }
        app.clone().oneshot(request.body(Body::empty()).expect("request")).await.expect("infallible")
    }

    #[tokio::test]
    async fn every_response_carries_a_policy_without_inline_script_and_the_page_loads_its_module() {
        let app = app();
        for path in ["/console/", "/console/config.json", "/console/js/app.js", "/console/missing.js", "/console"] {
            let response = get(&app, path, None).await;
            let policy = response.headers()[header::CONTENT_SECURITY_POLICY].to_str().expect("ascii");
            assert!(policy.contains("script-src 'self';") && policy.contains("default-src 'none'"), "{path}: {policy}");
            assert!(!policy.contains("unsafe"), "{path}: {policy}");
            assert_eq!(response.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        }
        let page = get(&app, "/console/", None).await;
        assert_eq!(page.headers()[header::CONTENT_TYPE], "text/html; charset=utf-8");
        let html = String::from_utf8(page.into_body().collect().await.expect("body").to_bytes().to_vec()).expect("utf-8");
        assert!(html.contains(r#"<script type="module" src="js/app.js"></script>"#), "{html}");
        assert!(!html.contains("style="), "no inline style: the policy would refuse it");
        assert_eq!(get(&app, "/console", None).await.headers()[header::LOCATION], "/console/");
    }

    #[tokio::test]
    async fn unknown_paths_are_404_and_a_current_copy_is_304() {
        let app = app();
        for path in ["/console/../Cargo.toml", "/console/js/../../src/lib.rs", "/console/nothing.html"] {
            assert_eq!(get(&app, path, None).await.status(), StatusCode::NOT_FOUND, "{path}");
        }
        let first = get(&app, "/console/console.css", None).await;
        assert_eq!(first.headers()[header::CONTENT_TYPE], "text/css; charset=utf-8");
        let etag = first.headers()[header::ETAG].to_str().expect("ascii").to_owned();
        assert_eq!(get(&app, "/console/console.css", Some(&etag)).await.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(get(&app, "/console/console.css", Some("\"other\"")).await.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn the_identity_provider_is_the_only_other_origin_the_page_may_fetch_from() {
        let settings = Settings {
            oidc: Some(Oidc {
                issuer: "https://id.example.com/realms/acme".into(),
                client_id: "console".into(),
                scopes: "openid".into(),
                audience: None,
                connect_origins: Vec::new(),
            }),
            ..Settings::default()
        };
        let app = router(&ClientConfig::new(&settings, SignIn::from_settings(&settings)).expect("valid")).expect("router");
        let response = get(&app, "/console/config.json", None).await;
        let policy = response.headers()[header::CONTENT_SECURITY_POLICY].to_str().expect("ascii").to_owned();
        assert!(policy.contains("connect-src 'self' https://id.example.com;"), "{policy}");
        let body: serde_json::Value =
            serde_json::from_slice(&response.into_body().collect().await.expect("body").to_bytes()).expect("json");
        assert_eq!(body["sign_in"]["issuer"], "https://id.example.com/realms/acme");
        assert_eq!(body["language"], "cs");
    }
}
