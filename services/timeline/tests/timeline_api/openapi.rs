//! The served OpenAPI document against the routes: every documented operation is served (and
//! the routes are built from the same attributes, so nothing is served undocumented), every
//! error it documents is a problem, and the bounds it states are the ones the code enforces.
//! That every answer matches its documented schema is checked on every response of the suite
//! ([`crate::support::Timeline::ok`]).

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};
use runtime::http::auth::Role;
use serde_json::Value;
use timeline::http::params::{MAX_LIMIT, MAX_QUERY_CHARS};
use uuid::Uuid;

use crate::support::*;

fn document() -> Value {
    serde_json::to_value(timeline::http::openapi()).expect("serializable")
}

#[tokio::test]
async fn the_document_lists_exactly_the_served_routes_and_every_documented_operation_is_served() {
    let timeline = spawn().await;
    let document = document();
    let paths = document["paths"].as_object().expect("paths");
    let listed: BTreeSet<&str> = paths.keys().map(String::as_str).collect();
    assert_eq!(
        listed,
        ["/openapi.json", "/v1/contacts/{id}/timeline", "/v1/conversations/unidentified", "/v1/interactions/{id}", "/v1/search"]
            .into_iter()
            .collect(),
        "DESIGN.md §6's routes and the document itself"
    );
    let token = testkit::token("acme", Role::Operator);
    for (path, operations) in paths {
        let concrete = path.replace("{id}", &Uuid::new_v4().to_string());
        for method in [Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            let documented = operations.get(method.as_str().to_lowercase()).is_some();
            let reply = timeline.request(method.clone(), &concrete, Some(&token)).await;
            if documented {
                assert!(
                    ![StatusCode::NOT_FOUND, StatusCode::METHOD_NOT_ALLOWED].contains(&reply.status)
                        || reply.content_type.is_some(),
                    "{method} {path} is documented but not routed: {}",
                    reply.status
                );
            } else {
                assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path} is routed but not documented");
            }
        }
    }
    let served = timeline.request(Method::GET, "/openapi.json", None).await;
    assert_eq!((served.status, served.body), (StatusCode::OK, document), "served as generated, without a token");
}

#[tokio::test]
async fn every_error_is_a_documented_problem_and_the_stated_bounds_are_the_enforced_ones() {
    let document = document();
    for (path, operations) in document["paths"].as_object().expect("paths") {
        for (method, operation) in operations.as_object().expect("operations") {
            let responses = operation["responses"].as_object().expect("responses");
            if path == "/openapi.json" {
                continue;
            }
            for status in ["200", "400", "401", "408", "500"] {
                assert!(responses.contains_key(status), "{method} {path} documents {status}");
            }
            for (status, response) in responses.iter().filter(|(s, _)| s.as_str() != "200") {
                let schema = &response["content"]["application/problem+json"]["schema"]["$ref"];
                assert_eq!(schema, "#/components/schemas/Problem", "{method} {path} {status}");
            }
            assert_eq!(operation["security"][0]["bearer"], serde_json::json!([]), "{method} {path} needs a token");
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                let schema = &parameter["schema"];
                match parameter["name"].as_str() {
                    Some("limit") => assert_eq!((&schema["minimum"], &schema["maximum"]), (&1.into(), &MAX_LIMIT.into())),
                    Some("q") => assert_eq!(schema["maxLength"], MAX_QUERY_CHARS),
                    Some("cursor") => assert_eq!(schema["maxLength"], runtime::http::cursor::MAX_CURSOR_BYTES),
                    Some("id") => assert_eq!((&parameter["in"], &schema["format"]), (&"path".into(), &"uuid".into())),
                    _ => {}
                }
            }
        }
    }
    assert_eq!(
        document["paths"]["/v1/interactions/{id}"]["get"]["responses"]["404"]["content"]["application/problem+json"]["schema"]
            ["$ref"],
        "#/components/schemas/Problem"
    );
    let scheme = &document["components"]["securitySchemes"]["bearer"];
    assert_eq!((&scheme["type"], &scheme["scheme"]), (&"http".into(), &"bearer".into()));
}
