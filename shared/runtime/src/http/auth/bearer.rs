//! The credentials of an `Authorization: Bearer <token>` header, parsed one way for every caller
//! (the APIs' JWTs, the e-mail relay's shared token, Apple's JWT). RFC 7235 §2.1 makes the scheme
//! name case-insensitive (`bearer`, `BEARER`) and separates it from the credentials by one or more
//! spaces; RFC 6750 §2.1 defines the `Bearer` scheme.

use axum::http::header::AUTHORIZATION;
use axum::http::HeaderMap;

/// Why a request carries no usable bearer credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BearerError {
    #[error("missing `Authorization: Bearer <token>` header")]
    Missing,
    #[error("the Authorization header is not text")]
    NotText,
    #[error("the Authorization header does not use the Bearer scheme")]
    OtherScheme,
    #[error("the Authorization header carries an empty Bearer token")]
    Empty,
}

/// The token of the request's `Authorization: Bearer <token>` header.
pub fn credentials(headers: &HeaderMap) -> Result<&str, BearerError> {
    let value = headers.get(AUTHORIZATION).ok_or(BearerError::Missing)?;
    parse(value.to_str().map_err(|_| BearerError::NotText)?)
}

/// The token of an `Authorization` header value `Bearer <token>`: the scheme in any case, then
/// spaces or tabs, then the token without surrounding whitespace.
pub fn parse(value: &str) -> Result<&str, BearerError> {
    let value = value.trim_matches([' ', '\t']);
    let (scheme, token) = value.split_once([' ', '\t']).unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(if value.is_empty() { BearerError::Empty } else { BearerError::OtherScheme });
    }
    let token = token.trim_matches([' ', '\t']);
    if token.is_empty() {
        Err(BearerError::Empty)
    } else {
        Ok(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scheme_is_case_insensitive_and_spaces_are_tolerated() {
        for value in ["Bearer abc.def", "bearer abc.def", "BEARER abc.def", "BeArEr   abc.def  ", " Bearer\tabc.def"] {
            assert_eq!(parse(value), Ok("abc.def"), "{value:?}");
        }
    }

    #[test]
    fn other_schemes_and_empty_tokens_are_refused() {
        assert_eq!(parse("Basic dXNlcjpwYXNz"), Err(BearerError::OtherScheme));
        assert_eq!(parse("Bearerabc"), Err(BearerError::OtherScheme));
        assert_eq!(parse("Bearer"), Err(BearerError::Empty));
        assert_eq!(parse("Bearer   "), Err(BearerError::Empty));
        assert_eq!(parse(""), Err(BearerError::Empty));
    }

    #[test]
    fn a_missing_or_binary_header_is_told_apart() {
        let mut headers = HeaderMap::new();
        assert_eq!(credentials(&headers), Err(BearerError::Missing));
        headers.insert(AUTHORIZATION, axum::http::HeaderValue::from_bytes(b"Bearer \xff").expect("opaque bytes are allowed"));
        assert_eq!(credentials(&headers), Err(BearerError::NotText));
    }
}
