//! The Directory API's OpenAPI 3.1 document: the operations, parameters and bodies come from
//! the handlers' `#[utoipa::path]` and the types of `contracts::api::directory` (see
//! [`super::api`]); this adds what the whole API shares — its description and the bearer scheme.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Directory API",
        version = "1",
        description = "Contacts, their identifiers, merges and duplicates of one tenant (the bearer token's `tenant_id`); another tenant's contact is a 404. Roles: operator, admin, integration; where an operation needs a role it says so. Every error is `application/problem+json` (RFC 7807)."
    ),
    modifiers(&Bearer),
    security(("bearer" = []))
)]
pub struct ApiDoc;

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
        );
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::body::Body;
    use axum::http::{Method, Request, StatusCode};
    use tower::ServiceExt as _;

    use super::super::{document, router, ApiState};
    use crate::resolution::rules::TenantRules;

    fn app() -> axum::Router {
        let verifier = runtime::http::JwtVerifier::new(&testkit::auth()).expect("test auth settings");
        let defaults = TenantRules {
            default_region: None,
            auto_create: true,
            shared_value_limit: 3,
            max_per_kind: 10,
            blocked: Vec::new(),
            identifying_custom: Default::default(),
        };
        // Never connects: requests without a token stop at authentication.
        let pool = sqlx::PgPool::connect_lazy("postgres://nobody@127.0.0.1:1/none").expect("a valid url");
        router(ApiState { pool, verifier: Arc::new(verifier), defaults: Arc::new(defaults) })
    }

    /// A concrete path for a route pattern: every `{parameter}` becomes a value.
    fn concrete(path: &str) -> String {
        path.split('/').map(|segment| if segment.starts_with('{') { "1" } else { segment }).collect::<Vec<_>>().join("/")
    }

    #[tokio::test]
    async fn every_documented_operation_is_served_and_asks_for_a_token() {
        let document = serde_json::to_value(document()).expect("serializable");
        let paths = document["paths"].as_object().expect("paths");
        assert!(paths.len() >= 15, "{:?}", paths.keys());
        for (path, operations) in paths {
            for method in operations.as_object().expect("operations").keys() {
                let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("a method");
                let request = Request::builder().method(method.clone()).uri(concrete(path)).body(Body::empty()).expect("request");
                let status = app().oneshot(request).await.expect("infallible").status();
                assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}");
                let documented = &operations[method.as_str().to_lowercase()]["responses"];
                assert!(documented.get("401").is_some(), "{method} {path} documents its 401");
            }
        }
    }

    #[test]
    fn every_reference_points_at_a_schema_and_request_bodies_refuse_unknown_fields() {
        let document = serde_json::to_value(document()).expect("serializable");
        let text = document.to_string();
        for reference in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
            let name = reference.split('"').next().unwrap_or_default();
            assert!(document["components"]["schemas"].get(name).is_some(), "missing schema {name}");
        }
        for name in ["NewContact", "Rename", "NewIdentity", "MergeRequest", "Definition", "BlockValue"] {
            assert_eq!(document["components"]["schemas"][name]["additionalProperties"], false, "{name}");
        }
    }
}
