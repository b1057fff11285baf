//! Query parameters of the Timeline API: their types (closed sets as enums, times as RFC 3339,
//! unknown parameters refused — all decoded by the shared [`runtime::http::Query`], which names
//! the parameter in its 400) and the checks serde cannot express, each a 400 naming the
//! parameter. The `#[param]` bounds are what the OpenAPI document states; the checks below hold
//! the code to them.

use chrono::{DateTime, Utc};
use contracts::api::timeline::ItemType;
use contracts::Channel;
use runtime::http::ApiError;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::search::SearchQuery;

/// Items per page unless `limit` says otherwise.
pub const DEFAULT_LIMIT: u32 = 50;
/// Most items per page.
pub const MAX_LIMIT: u32 = 200;
/// Longest search text (characters); a search needs a few words, not a pasted document.
pub const MAX_QUERY_CHARS: usize = 200;

/// `GET /v1/contacts/{id}/timeline`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TimelineParams {
    /// Full-text search: diacritics- and case-insensitive prefix match of every term. At least
    /// one letter or digit; a blank value is no search.
    #[param(max_length = 200)]
    pub q: Option<String>,
    /// Only this channel's interactions (contact events have no channel).
    #[param(inline)]
    pub channel: Option<Channel>,
    /// Only items of this type.
    #[serde(rename = "type")]
    #[param(rename = "type", inline)]
    pub item_type: Option<ItemType>,
    /// Items at or after this time (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Items before this time (RFC 3339); after `from`.
    pub to: Option<DateTime<Utc>>,
    /// Alias of `to` (DESIGN.md §6); with both, the earlier one counts.
    pub before: Option<DateTime<Utc>>,
    /// `next_cursor` of the previous page, unchanged.
    #[param(max_length = 1024)]
    pub cursor: Option<String>,
    /// Items per page (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
}

/// `GET /v1/search`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// What to search for: diacritics- and case-insensitive prefix match of every term; at least
    /// one letter or digit.
    #[param(min_length = 1, max_length = 200)]
    pub q: String,
    /// Only this channel's interactions.
    #[param(inline)]
    pub channel: Option<Channel>,
    /// Interactions at or after this time (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Interactions before this time (RFC 3339); after `from`.
    pub to: Option<DateTime<Utc>>,
    /// `next_cursor` of the previous page, unchanged.
    #[param(max_length = 1024)]
    pub cursor: Option<String>,
    /// Hits per page (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
}

/// `GET /v1/conversations/unidentified`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// `next_cursor` of the previous page, unchanged.
    #[param(max_length = 1024)]
    pub cursor: Option<String>,
    /// Items per page (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
}

/// An endpoint without query parameters: any parameter is refused like an unknown one elsewhere.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}

/// The page size `limit` asks for: a 400 outside `1..=MAX_LIMIT` (never clamped silently).
pub fn limit(raw: Option<u32>) -> Result<u32, ApiError> {
    match raw {
        None => Ok(DEFAULT_LIMIT),
        Some(limit) if (1..=MAX_LIMIT).contains(&limit) => Ok(limit),
        Some(limit) => {
            Err(ApiError::BadRequest(format!("query parameter `limit` must be between 1 and {MAX_LIMIT}, not {limit}")))
        }
    }
}

/// The search `q` asks for: `None` for blank text; a 400 for text over [`MAX_QUERY_CHARS`] or
/// without a letter or digit (it would otherwise silently match everything).
pub fn search_query(raw: Option<&str>) -> Result<Option<SearchQuery>, ApiError> {
    let Some(text) = raw.map(str::trim).filter(|q| !q.is_empty()) else {
        return Ok(None);
    };
    if text.chars().count() > MAX_QUERY_CHARS {
        return Err(ApiError::BadRequest(format!("query parameter `q` is longer than {MAX_QUERY_CHARS} characters")));
    }
    SearchQuery::parse(text)
        .map(Some)
        .ok_or_else(|| ApiError::BadRequest("query parameter `q` has no letters or digits to search for".into()))
}

/// The time window `[from, to)`; a 400 when it is empty.
pub fn window(from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> Result<(), ApiError> {
    match (from, to) {
        (Some(from), Some(to)) if from >= to => {
            Err(ApiError::BadRequest("query parameter `from` must be before `to` (or `before`)".into()))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;
    use runtime::http::extract::parse_query;

    fn refusal(query: &str) -> String {
        let error = parse_query::<TimelineParams>(query)
            .and_then(|p| limit(p.limit).and_then(|_| search_query(p.q.as_deref())).and_then(|_| window(p.from, p.to)))
            .expect_err(query);
        assert_eq!(error.status(), StatusCode::BAD_REQUEST, "{query}");
        error.to_string()
    }

    #[test]
    fn every_refusal_names_its_parameter() {
        for (query, parameter) in [
            ("limit=0", "`limit`"),
            ("limit=201", "`limit`"),
            ("limit=-1", "`limit`"),
            ("limit=many", "`limit`"),
            ("channel=fax", "`channel`"),
            ("type=note", "`type`"),
            ("from=yesterday", "`from`"),
            ("q=%21%21%21", "`q`"),
            ("from=2025-01-02T00:00:00Z&to=2025-01-01T00:00:00Z", "`from`"),
            ("unknown=1", "unknown"),
            ("q=a%00b", "`q`"),
        ] {
            let detail = refusal(query);
            assert!(detail.contains(parameter), "{query}: {detail}");
        }
        assert!(refusal(&format!("q={}", "a".repeat(MAX_QUERY_CHARS + 1))).contains("`q`"));
    }

    #[test]
    fn the_bounds_are_inclusive_and_blank_values_are_absent() {
        assert_eq!(limit(Some(1)).expect("lowest"), 1);
        assert_eq!(limit(Some(MAX_LIMIT)).expect("highest"), MAX_LIMIT);
        assert_eq!(limit(None).expect("default"), DEFAULT_LIMIT);
        let params = parse_query::<TimelineParams>("q=&cursor=&limit=&channel=").expect("empty is absent");
        assert!(params.q.is_none() && params.cursor.is_none() && params.limit.is_none() && params.channel.is_none());
        assert_eq!(search_query(Some("   ")).expect("blank"), None);
        assert!(search_query(Some(&"á".repeat(MAX_QUERY_CHARS))).expect("characters, not bytes").is_some());
    }
}
