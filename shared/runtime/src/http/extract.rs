//! Request extractors whose every rejection is a problem+json 4xx naming what was wrong, so no
//! input from outside reaches a handler unchecked or turns into a 500:
//!
//! - [`Json`]: `content-type: application/json` (else 415), within the body limit (else 413),
//!   syntactically JSON (else 400), a JSON **object** (`[null]` is not a request body), no
//!   control characters but tab and line breaks in any string, and the target type's own rules
//!   (unknown fields, lengths, enums: 422 with the field's path, e.g. `identities[2].kind`);
//! - [`Query`]: no control character in any parameter (400 naming it); empty parameters
//!   (`cursor=`) are treated as absent; type errors name the parameter;
//! - [`Path`]: a path parameter that does not parse (a malformed id) is a 400.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::problem::{problem, ApiError};

/// A JSON object body, checked as the module says.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = req.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        if !is_json(content_type) {
            return Err(problem(StatusCode::UNSUPPORTED_MEDIA_TYPE, "expected `content-type: application/json`"));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(IntoResponse::into_response).map_err(|rejection| {
            let status = rejection.status();
            let detail = if status == StatusCode::PAYLOAD_TOO_LARGE {
                "request body larger than the limit"
            } else {
                "the request body could not be read"
            };
            problem(status, detail)
        })?;
        parse_body(&bytes).map(Json).map_err(IntoResponse::into_response)
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

fn is_json(content_type: &str) -> bool {
    let media_type = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    media_type == "application/json" || (media_type.starts_with("application/") && media_type.ends_with("+json"))
}

/// The body as `T`, with the checks of [`Json`] (separate from the extractor for unit tests).
pub fn parse_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| ApiError::BadRequest(format!("the body is not JSON: {e}")))?;
    if !value.is_object() {
        return Err(ApiError::Unprocessable("the body must be a JSON object".into()));
    }
    if let Some(path) = control_character_at(&value, &mut String::new()) {
        return Err(ApiError::Unprocessable(format!("`{path}` contains a control character")));
    }
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if path == "." {
            ApiError::Unprocessable(inner.to_string())
        } else {
            ApiError::Unprocessable(format!("`{path}`: {inner}"))
        }
    })
}

/// Characters no field of the APIs accepts: C0 and C1 controls but tab, line feed, carriage
/// return (multi-line labels and notes), and U+0000 above all, which PostgreSQL cannot store.
pub fn is_refused_control(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

/// The path of the first string (or object key) containing a refused control character.
fn control_character_at(value: &serde_json::Value, path: &mut String) -> Option<String> {
    match value {
        serde_json::Value::String(s) => s.chars().any(is_refused_control).then(|| display_path(path)),
        serde_json::Value::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
            let len = path.len();
            path.push_str(&format!("[{i}]"));
            let found = control_character_at(item, path);
            path.truncate(len);
            found
        }),
        serde_json::Value::Object(map) => map.iter().find_map(|(key, item)| {
            let len = path.len();
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(key);
            let found =
                if key.chars().any(is_refused_control) { Some(display_path(path)) } else { control_character_at(item, path) };
            path.truncate(len);
            found
        }),
        _ => None,
    }
}

fn display_path(path: &str) -> String {
    path.chars().map(|c| if is_refused_control(c) { '\u{fffd}' } else { c }).collect()
}

/// Query parameters as `T`, checked as the module says.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parse_query(parts.uri.query().unwrap_or("")).map(Query)
    }
}

/// `raw` (the part after `?`) as `T`, with the checks of [`Query`].
pub fn parse_query<T: DeserializeOwned>(raw: &str) -> Result<T, ApiError> {
    let mut pairs = Vec::new();
    for (name, value) in form_urlencoded::parse(raw.as_bytes()) {
        if name.chars().chain(value.chars()).any(is_refused_control) {
            return Err(ApiError::BadRequest(format!("query parameter `{}` contains a control character", display_path(&name))));
        }
        if !value.is_empty() {
            pairs.push((name, value));
        }
    }
    let encoded = form_urlencoded::Serializer::new(String::new()).extend_pairs(&pairs).finish();
    let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded::parse(encoded.as_bytes()));
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if path == "." {
            ApiError::BadRequest(format!("query: {inner}"))
        } else {
            ApiError::BadRequest(format!("query parameter `{path}`: {inner}"))
        }
    })
}

/// Path parameters as `T`; one that does not parse is a 400.
#[derive(Debug, Clone, Copy)]
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(rejection) => Err(ApiError::BadRequest(format!("invalid path parameter: {}", rejection.body_text()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Body {
        name: String,
        #[serde(default)]
        tags: Vec<Tag>,
    }

    #[derive(Debug, serde::Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Tag {
        kind: u8,
    }

    fn status<T: DeserializeOwned + std::fmt::Debug>(body: &str) -> (StatusCode, String) {
        match parse_body::<T>(body.as_bytes()) {
            Ok(value) => (StatusCode::OK, format!("{value:?}")),
            Err(error) => (error.status(), error.to_string()),
        }
    }

    #[test]
    fn only_json_objects_pass_and_every_refusal_names_its_field() {
        assert_eq!(status::<Body>(r#"{"name":"Jana"}"#).0, StatusCode::OK);
        assert_eq!(status::<Body>("[null]").0, StatusCode::UNPROCESSABLE_ENTITY, "serde's sequence form of a struct");
        assert_eq!(status::<Body>("{").0, StatusCode::BAD_REQUEST);
        let (code, detail) = status::<Body>(r#"{"name":"a\u0000b"}"#);
        assert_eq!((code, detail.as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "`name` contains a control character"));
        let (code, detail) = status::<Body>(r#"{"name":"x","tags":[{"kind":1},{"kind":"x"}]}"#);
        assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(detail.starts_with("`tags[1].kind`"), "{detail}");
        assert_eq!(status::<Body>(r#"{"name":"x","extra":1}"#).0, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(status::<Body>("{\"name\":\"line\\nbreak\"}").0, StatusCode::OK, "line breaks are text");
    }

    #[derive(Debug, serde::Deserialize, PartialEq, Default)]
    struct Params {
        q: Option<String>,
        limit: Option<u32>,
    }

    #[test]
    fn query_parameters_refuse_control_characters_and_empty_ones_are_absent() {
        assert_eq!(parse_query::<Params>("q=jana&limit=5").expect("valid"), Params { q: Some("jana".into()), limit: Some(5) });
        assert_eq!(parse_query::<Params>("q=&limit=").expect("valid"), Params::default());
        let error = parse_query::<Params>("q=a%00b").expect_err("NUL");
        assert_eq!(
            (error.status(), error.to_string()),
            (StatusCode::BAD_REQUEST, "query parameter `q` contains a control character".into())
        );
        let error = parse_query::<Params>("limit=many").expect_err("not a number");
        assert!(error.to_string().contains("`limit`"), "{error}");
    }
}
