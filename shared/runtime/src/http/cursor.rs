//! The one cursor codec of the APIs: a page's `next_cursor` is the position after its last item
//! (whatever the service's position type holds: sort key and id), serialized as JSON and
//! base64url-encoded, so clients treat it as opaque. A cursor that does not decode to the
//! expected position is a 400, never a 500.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::problem::ApiError;

/// Longest cursor accepted (positions are a timestamp, an id and at most a 200-character key).
pub const MAX_CURSOR_BYTES: usize = 1024;

/// The opaque cursor of `position`.
pub fn encode<P: Serialize>(position: &P) -> String {
    // A position is plain data (strings, numbers, ids): serializing it cannot fail; should a
    // future type make it fail, the page simply has no next cursor.
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(position).unwrap_or_default())
}

/// The position in `cursor`; a 400 when it is not one this API issued.
pub fn decode<P: DeserializeOwned>(cursor: &str) -> Result<P, ApiError> {
    let bad = || ApiError::BadRequest("invalid cursor: pass the `next_cursor` of the previous page unchanged".into());
    if cursor.len() > MAX_CURSOR_BYTES {
        return Err(bad());
    }
    let raw = URL_SAFE_NO_PAD.decode(cursor.trim()).map_err(|_| bad())?;
    serde_json::from_slice(&raw).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Position {
        at: i64,
        id: String,
    }

    #[test]
    fn a_position_round_trips_and_anything_else_is_a_400() {
        let position = Position { at: 1_764_000_000, id: "ž\"".into() };
        assert_eq!(decode::<Position>(&encode(&position)).expect("valid"), position);
        for garbage in ["%%%", "e30", &"A".repeat(2000)] {
            let error = decode::<Position>(garbage).expect_err("garbage");
            assert_eq!(error.status(), axum::http::StatusCode::BAD_REQUEST, "{garbage}");
        }
    }
}
