//! Bad input against every endpoint, through the real server (the shared accept loop adds the
//! path check and the problem+json fallbacks for unknown routes and wrong methods): every case
//! is a 4xx `application/problem+json` body of the documented `Problem` schema whose `status` is
//! the response's — never a 5xx — and the valid values at each bound are accepted.

use std::net::SocketAddr;

use contracts::{Channel, ContactChangeKind};
use runtime::http::auth::Role;
use runtime::http::{cursor, Readiness};
use runtime::settings::HttpSettings;
use runtime::shutdown::CancellationToken;
use serde_json::Value;
use timeline::http::params::{MAX_LIMIT, MAX_QUERY_CHARS};
use timeline::http::position;
use timeline::http::ApiState;
use uuid::Uuid;

use crate::support::*;

/// The timeline's router served as in production, on a port of its own.
struct Served {
    addr: SocketAddr,
    shutdown: CancellationToken,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

async fn serve(timeline: &Timeline) -> Served {
    let verifier = std::sync::Arc::new(runtime::http::JwtVerifier::new(&testkit::auth()).expect("verifier"));
    let routes = timeline::http::router(ApiState { pool: timeline.pool.clone(), verifier });
    let shutdown = CancellationToken::new();
    let http: HttpSettings = HttpSettings::on(SocketAddr::from(([127, 0, 0, 1], 0)));
    let readiness = Readiness { database: None, kafka: None };
    let (addr, _task) = runtime::http::serve("timeline-test", &http, routes, readiness, shutdown.clone()).await.expect("serving");
    Served { addr, shutdown }
}

/// One request of the matrix and the status it must get.
struct Case {
    method: &'static str,
    path: String,
    token: Option<String>,
    status: u16,
}

fn get(path: impl Into<String>, status: u16) -> Case {
    Case { method: "GET", path: path.into(), token: Some(testkit::token("acme", Role::Operator)), status }
}

/// The query parameters of each endpoint, with a valid value for each (`q` is required on search).
fn endpoints(contact: Uuid, interaction: Uuid) -> Vec<(String, Vec<(&'static str, String)>)> {
    let time = rfc3339(0);
    let common = |q: &str| {
        vec![
            ("q", q.to_owned()),
            ("channel", "email".to_owned()),
            ("from", time.clone()),
            ("to", rfc3339(10_000)),
            ("cursor", String::new()),
            ("limit", "10".to_owned()),
        ]
    };
    let mut timeline = common("zprava");
    timeline.extend([("type", "interaction".to_owned()), ("before", rfc3339(10_000))]);
    vec![
        (format!("/v1/contacts/{contact}/timeline"), timeline),
        (format!("/v1/interactions/{interaction}"), vec![]),
        ("/v1/search".to_owned(), common("zprava")),
    ]
}

/// What each parameter must refuse, besides control characters and over-long values.
fn wrong_values(parameter: &str) -> Vec<String> {
    let at = at(0);
    let search_cursor =
        position::encode_search(&position::SearchCursor { after: (0.5, at, Uuid::nil()), window_floor: (at, Uuid::nil()) });
    match parameter {
        "q" => vec!["%21%21%21".into(), "%3A%2A%20%26%20%7C".into(), "a".repeat(MAX_QUERY_CHARS + 1)],
        "channel" => vec!["fax".into(), "VOIP".into(), "voip%20".into(), "1".into()],
        "type" => vec!["note".into(), "Interaction".into()],
        "from" | "to" | "before" => {
            vec!["yesterday".into(), "2025-13-01T00:00:00Z".into(), "1764000000".into(), "2025-01-01T00:00:00%2B25:00".into()]
        }
        "cursor" => vec![
            "%25%25%25".into(),
            "bm9wZQ".into(),
            cursor::encode(&serde_json::json!({"at": i64::MIN, "id": Uuid::nil()})),
            cursor::encode(&serde_json::json!({"at": "x", "id": "y"})),
            search_cursor,
            position::encode_timeline(at, Uuid::nil()),
        ],
        "limit" => {
            vec!["0".into(), (MAX_LIMIT + 1).to_string(), "-1".into(), "1.5".into(), "many".into(), "99999999999999999999".into()]
        }
        other => panic!("no wrong values for {other}"),
    }
}

fn query(pairs: &[(&str, String)]) -> String {
    pairs.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
}

#[tokio::test]
async fn every_bad_input_to_every_endpoint_is_a_4xx_problem_and_every_bound_is_accepted() {
    let timeline = spawn().await;
    let contact = Uuid::new_v4();
    let item = msg(contact, "b.1", 0).channel(Channel::Email).conversation(None).text("zpráva");
    timeline.apply(&resolved(&[&item])).await;
    timeline.apply_changes(&[change(contact, ContactChangeKind::Created, -60)]).await;
    let served = serve(&timeline).await;
    let long = "x".repeat(5000);

    let mut cases = Vec::new();
    for (path, params) in endpoints(contact, item.id()) {
        let valid = query(&params);
        cases.push(get(format!("{path}?{valid}"), 200));
        for (i, (parameter, _)) in params.iter().enumerate() {
            let with = |value: &str| {
                let mut changed = params.clone();
                changed[i].1 = value.to_owned();
                format!("{path}?{}", query(&changed))
            };
            for bad in ["a%00b", "%00", "a%1Bb", "a%7Fb"] {
                cases.push(get(with(bad), 400));
            }
            cases.push(get(with(&long), 400));
            for wrong in wrong_values(parameter) {
                // The other endpoint's cursor is a wrong value only on this one.
                let ours = match path.as_str() {
                    "/v1/search" => position::decode_search(&wrong).is_ok(),
                    _ => position::decode_timeline(&wrong).is_ok(),
                };
                if !ours {
                    cases.push(get(with(&wrong), 400));
                }
            }
            if !params[i].1.is_empty() {
                cases.push(get(format!("{path}?{valid}&{parameter}={}", params[i].1), 400));
                // given twice
            }
        }
        cases.push(get(format!("{path}?{valid}&unknown=1"), 400));
        cases.push(get(format!("{path}?{valid}&Limit=1"), 400));
        cases.push(get(format!("{path}?%00=1"), 400));
        for method in ["POST", "PUT", "PATCH", "DELETE"] {
            cases.push(Case { method, ..get(path.clone(), 405) });
        }
        cases.push(Case { token: None, ..get(path.clone(), 401) });
        cases.push(Case { token: Some("not.a.jwt".into()), ..get(path.clone(), 401) });
        cases.push(Case { token: Some(testkit::token("acme", Role::Operator).replace('.', "x")), ..get(path.clone(), 401) });
        for tenant in ["a\u{0}b", "acme|vk"] {
            let signed = testkit::token_with(serde_json::json!({ "tenant_id": tenant }));
            cases.push(Case { token: Some(signed), ..get(path.clone(), 401) });
        }
    }
    for id_path in ["/v1/contacts/{}/timeline", "/v1/interactions/{}"] {
        for bad_id in ["not-a-uuid", "a%00b", "%00", "%0A", &long, "00000000-0000-0000-0000-00000000000g", "%E2%82%AC"] {
            cases.push(get(id_path.replace("{}", bad_id), 400));
        }
    }
    // Bounds and spellings that are valid.
    let boundaries = [
        format!("/v1/contacts/{contact}/timeline?limit=1"),
        format!("/v1/contacts/{contact}/timeline?limit={MAX_LIMIT}"),
        format!("/v1/contacts/{contact}/timeline?q={}", "á".repeat(MAX_QUERY_CHARS)),
        format!("/v1/contacts/{contact}/timeline?q=&cursor=&limit=&channel=&type="),
        format!("/v1/contacts/{contact}/timeline?q=%20%20"),
        format!("/v1/contacts/{contact}/timeline?from=2025-01-01T00:00:00%2B01:00"),
        format!("/v1/contacts/{contact}/timeline?from=0000-01-01T00:00:00Z&to=9999-12-31T23:59:59.999999Z"),
        format!("/v1/search?q={}&limit={MAX_LIMIT}", "z".repeat(MAX_QUERY_CHARS)),
    ];
    cases.extend(boundaries.into_iter().map(|path| get(path, 200)));
    // Required, empty and contradicting parameters.
    cases.push(get("/v1/search", 400));
    cases.push(get("/v1/search?q=", 400));
    cases.push(get("/v1/search?q=%20", 400));
    cases.push(get(format!("/v1/contacts/{contact}/timeline?from={}&to={}", rfc3339(100), rfc3339(50)), 400));
    cases.push(get(format!("/v1/contacts/{contact}/timeline?from={}&before={}", rfc3339(100), rfc3339(100)), 400));
    // Unknown routes.
    for path in [
        "/",
        "/v1",
        "/v1/nope",
        &format!("/v1/contacts/{contact}"),
        &format!("/v1/contacts/{contact}/timeline/x"),
        "/v1/search/x",
    ] {
        cases.push(get(path, 404));
    }

    let client = testkit::http();
    let mut failures = Vec::new();
    for case in &cases {
        let url = format!("http://{}{}", served.addr, case.path);
        let method = case.method.parse().expect("a method");
        let mut request = client.request(method, &url);
        if let Some(token) = &case.token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("sent");
        let status = response.status().as_u16();
        let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let body: Value = response.json().await.unwrap_or(Value::Null);
        let short = case.path.chars().take(120).collect::<String>();
        let body_excerpt = body.to_string().chars().take(300).collect::<String>();
        if status != case.status {
            failures.push(format!("{} {short}: {status} instead of {} ({body_excerpt})", case.method, case.status));
        } else if status != 200 {
            if content_type.as_deref() != Some("application/problem+json") || body["status"] != status {
                failures.push(format!("{} {short}: not a problem: {content_type:?} {body_excerpt}", case.method));
            } else {
                timeline.conforms("Problem", &body);
            }
        }
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
    assert!(cases.len() > 200, "{} cases", cases.len());
}
