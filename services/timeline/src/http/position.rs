//! Where a page ends, as the position the next page starts after. Both are encoded by the one
//! cursor codec of the APIs ([`runtime::http::cursor`]), which answers 400 for anything that
//! does not decode to the position: a cursor of the other endpoint, one this API never issued,
//! one naming a time outside the years 0–9999 or a rank that is not a number.

use chrono::{DateTime, Datelike, Utc};
use runtime::http::{cursor, ApiError};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A time as exact microseconds (PostgreSQL's precision), limited to what RFC 3339 can write
/// — well inside PostgreSQL's range, so a forged cursor never reaches the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
struct Micros(DateTime<Utc>);

impl TryFrom<i64> for Micros {
    type Error = &'static str;

    fn try_from(micros: i64) -> Result<Self, Self::Error> {
        DateTime::from_timestamp_micros(micros)
            .filter(|t| (0..=9999).contains(&t.year()))
            .map(Micros)
            .ok_or("a time outside the years 0-9999")
    }
}

impl From<Micros> for i64 {
    fn from(time: Micros) -> i64 {
        time.0.timestamp_micros()
    }
}

/// A `ts_rank` as its exact `f32` bits, so the next page starts exactly after the last hit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
struct Rank(f32);

impl TryFrom<u32> for Rank {
    type Error = &'static str;

    fn try_from(bits: u32) -> Result<Self, Self::Error> {
        Some(f32::from_bits(bits)).filter(|r| r.is_finite()).map(Rank).ok_or("not a rank")
    }
}

impl From<Rank> for u32 {
    fn from(rank: Rank) -> u32 {
        rank.0.to_bits()
    }
}

/// A timeline position: the last item's `(occurred_at, id)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TimelinePosition {
    at: Micros,
    id: Uuid,
}

/// Where the next search page starts — after the last hit's `(rank, occurred_at, id)` — and
/// the oldest ranked match (the window every page ranks).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchPosition {
    rank: Rank,
    at: Micros,
    id: Uuid,
    floor_at: Micros,
    floor_id: Uuid,
}

/// Where the next search page starts, and the window its hits are ranked in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SearchCursor {
    pub after: (f32, DateTime<Utc>, Uuid),
    pub window_floor: (DateTime<Utc>, Uuid),
}

pub fn encode_timeline(at: DateTime<Utc>, id: Uuid) -> String {
    cursor::encode(&TimelinePosition { at: Micros(at), id })
}

pub fn decode_timeline(raw: &str) -> Result<(DateTime<Utc>, Uuid), ApiError> {
    cursor::decode(raw).map(|p: TimelinePosition| (p.at.0, p.id))
}

pub fn encode_search(cursor: &SearchCursor) -> String {
    let (rank, at, id) = cursor.after;
    let (floor_at, floor_id) = cursor.window_floor;
    cursor::encode(&SearchPosition { rank: Rank(rank), at: Micros(at), id, floor_at: Micros(floor_at), floor_id })
}

pub fn decode_search(raw: &str) -> Result<SearchCursor, ApiError> {
    cursor::decode(raw)
        .map(|p: SearchPosition| SearchCursor { after: (p.rank.0, p.at.0, p.id), window_floor: (p.floor_at.0, p.floor_id) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Microseconds from year 0 to year 9999.
    const RANGE: std::ops::RangeInclusive<i64> = -62_167_219_200_000_000..=253_402_300_799_999_999;

    proptest! {
        #[test]
        fn a_timeline_position_round_trips_exactly(micros in RANGE, id in any::<u128>()) {
            let at = DateTime::from_timestamp_micros(micros).expect("in range");
            let id = Uuid::from_u128(id);
            prop_assert_eq!(decode_timeline(&encode_timeline(at, id)).expect("ours"), (at, id));
        }

        #[test]
        fn a_search_position_round_trips_exactly(rank in any::<f32>().prop_filter("finite", |r| r.is_finite()),
                                                 micros in RANGE, floor in RANGE, ids in any::<(u128, u128)>()) {
            let at = DateTime::from_timestamp_micros(micros).expect("in range");
            let floor_at = DateTime::from_timestamp_micros(floor).expect("in range");
            let cursor = SearchCursor { after: (rank, at, Uuid::from_u128(ids.0)), window_floor: (floor_at, Uuid::from_u128(ids.1)) };
            let decoded = decode_search(&encode_search(&cursor)).expect("ours");
            prop_assert_eq!(decoded.after.0.to_bits(), rank.to_bits(), "the rank is exact to the bit");
            prop_assert_eq!(decoded, cursor);
        }

        #[test]
        fn any_other_text_is_a_400_or_a_position_in_range(raw in ".{0,64}|[A-Za-z0-9_-]{0,200}") {
            for decoded in [decode_timeline(&raw).map(|p| p.0), decode_search(&raw).map(|c| c.after.1)] {
                match decoded {
                    Ok(at) => prop_assert!((0..=9999).contains(&at.year())),
                    Err(error) => prop_assert_eq!(error.status(), axum::http::StatusCode::BAD_REQUEST),
                }
            }
        }
    }

    #[test]
    fn cursors_of_the_other_endpoint_out_of_range_or_without_a_rank_are_refused() {
        let at = DateTime::from_timestamp_micros(1_764_000_000_123_456).expect("valid");
        let timeline = encode_timeline(at, Uuid::from_u128(7));
        assert!(decode_search(&timeline).is_err(), "a timeline cursor is no search cursor");
        let search = encode_search(&SearchCursor { after: (0.5, at, Uuid::nil()), window_floor: (at, Uuid::nil()) });
        assert!(decode_timeline(&search).is_err(), "nor the other way round");
        let ancient = cursor::encode(&serde_json::json!({ "at": i64::MIN, "id": Uuid::nil() }));
        assert!(decode_timeline(&ancient).is_err(), "beyond PostgreSQL's range");
        let year_10000 = cursor::encode(&serde_json::json!({ "at": 253_402_300_800_000_000_i64, "id": Uuid::nil() }));
        assert!(decode_timeline(&year_10000).is_err());
        let nan =
            serde_json::json!({ "rank": f32::NAN.to_bits(), "at": 0, "id": Uuid::nil(), "floor_at": 0, "floor_id": Uuid::nil() });
        let nan = cursor::encode(&nan);
        assert!(decode_search(&nan).is_err());
    }
}
