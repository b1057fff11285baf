//! The Timeline API's handlers. Each `#[utoipa::path]` lists every status the handler can
//! answer with; the router registers the handlers through the same attributes, so the document
//! and the routes cannot drift apart.

use axum::extract::State;
use contracts::api::timeline::{InteractionDetail, SearchResults, TimelinePage, UnidentifiedPage};
use contracts::ContactId;
use runtime::http::problem::{Problem, PROBLEM_JSON};
use runtime::http::{ApiError, Json, Path, Query, TenantAuth};
use uuid::Uuid;

use super::params::{self, NoParams, PageParams, SearchParams, TimelineParams};
use super::position::{self, SearchCursor};
use super::ApiState;
use crate::store::read::{self, SearchFilter, TimelineQuery};

/// The errors every read can answer with.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // Only documents responses; handlers answer with `ApiError`.
pub enum ReadErrors {
    /// A malformed id or query parameter (the detail names it): a control character, a value
    /// out of its bounds or of its type, an unknown or repeated parameter, a cursor this API did
    /// not issue, a search without a letter or digit, or an empty time window (`from` not
    /// before `to`).
    #[response(status = 400, content_type = PROBLEM_JSON)]
    BadRequest(Problem),
    /// No valid bearer token.
    #[response(status = 401, content_type = PROBLEM_JSON)]
    Unauthorized(Problem),
    /// The request took longer than the server's request timeout.
    #[response(status = 408, content_type = PROBLEM_JSON)]
    Timeout(Problem),
    /// The database failed; the cause is logged, never sent.
    #[response(status = 500, content_type = PROBLEM_JSON)]
    Internal(Problem),
}

/// No interaction of the caller's tenant has this id.
#[derive(utoipa::IntoResponses)]
#[response(status = 404, content_type = PROBLEM_JSON)]
#[allow(dead_code)] // Only documents the response.
pub struct NotFound(Problem);

/// A contact's interactions and contact-detail changes, newest first.
///
/// Keyset-paginated on `(occurred_at, id)`: items that arrive between two page requests neither
/// repeat nor hide older ones. A contact with no history (or of another tenant) has an empty page.
#[utoipa::path(
    get,
    path = "/v1/contacts/{id}/timeline",
    tag = "timeline",
    params(("id" = Uuid, Path, description = "The contact's id."), TimelineParams),
    responses((status = 200, description = "A page of the timeline.", body = TimelinePage), ReadErrors),
    security(("bearer" = []))
)]
pub async fn timeline(
    auth: TenantAuth,
    State(state): State<ApiState>,
    Path(contact_id): Path<ContactId>,
    Query(params): Query<TimelineParams>,
) -> Result<Json<TimelinePage>, ApiError> {
    let limit = params::limit(params.limit)?;
    let to = match (params.to, params.before) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    params::window(params.from, to)?;
    let query = TimelineQuery {
        search: params::search_query(params.q.as_deref())?,
        channel: params.channel,
        item_type: params.item_type,
        from: params.from,
        to,
        after: params.cursor.as_deref().map(position::decode_timeline).transpose()?,
        limit: i64::from(limit) + 1,
    };
    let mut items = read::timeline(&state.pool, auth.tenant(), contact_id, &query).await?;
    let next_cursor = next_page(&mut items, limit).map(|last| {
        let (at, id) = last.position();
        position::encode_timeline(at, id)
    });
    Ok(Json(TimelinePage { items, next_cursor }))
}

/// One interaction — or the one a message id belongs to — with its transcript, details,
/// parameters, attachments and `matched_by`.
#[utoipa::path(
    get,
    path = "/v1/interactions/{id}",
    tag = "timeline",
    params(("id" = Uuid, Path, description = "An interaction's id, or the id of any of its messages.")),
    responses((status = 200, description = "The interaction.", body = InteractionDetail), NotFound, ReadErrors),
    security(("bearer" = []))
)]
pub async fn interaction(
    auth: TenantAuth,
    State(state): State<ApiState>,
    Path(id): Path<Uuid>,
    Query(NoParams {}): Query<NoParams>,
) -> Result<Json<InteractionDetail>, ApiError> {
    read::interaction(&state.pool, auth.tenant(), id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("interaction {id}")))
}

/// Tenant-wide interaction search, best first.
///
/// Hits are the best (`ts_rank`) of the newest `rank_window` matches, each with an HTML-safe
/// snippet whose matched words are in `<mark>…</mark>`.
#[utoipa::path(
    get,
    path = "/v1/search",
    tag = "timeline",
    params(SearchParams),
    responses((status = 200, description = "A page of hits.", body = SearchResults), ReadErrors),
    security(("bearer" = []))
)]
pub async fn search(
    auth: TenantAuth,
    State(state): State<ApiState>,
    Query(params): Query<SearchParams>,
) -> Result<Json<SearchResults>, ApiError> {
    let search =
        params::search_query(Some(&params.q))?.ok_or_else(|| ApiError::BadRequest("query parameter `q` is blank".into()))?;
    params::window(params.from, params.to)?;
    let limit = params::limit(params.limit)?;
    let cursor = params.cursor.as_deref().map(position::decode_search).transpose()?;
    let filter = SearchFilter {
        search,
        channel: params.channel,
        from: params.from,
        to: params.to,
        after: cursor.map(|c| c.after),
        window_floor: cursor.map(|c| c.window_floor),
        limit: i64::from(limit) + 1,
    };
    let page = read::search(&state.pool, auth.tenant(), &filter).await?;
    let mut items = page.items;
    let next_cursor = match (next_page(&mut items, limit), page.window_floor) {
        (Some(last), Some(window_floor)) => Some(position::encode_search(&SearchCursor {
            after: (last.rank.unwrap_or(0.0), last.occurred_at, last.interaction_id),
            window_floor,
        })),
        _ => None,
    };
    Ok(Json(SearchResults { items, next_cursor, ranked_matches: page.ranked, rank_window: read::RANK_WINDOW }))
}

/// Cuts the `limit + 1` fetched items to `limit`; the last kept item when there is more.
/// The tenant's unidentified conversations (no contact yet), the most recently active first.
///
/// An interaction is unidentified when nothing usable identified the person, or only
/// identifiers several people share; it leaves this list when an operator links its
/// conversation to a contact.
#[utoipa::path(
    get,
    path = "/v1/conversations/unidentified",
    tag = "timeline",
    params(PageParams),
    responses((status = 200, description = "A page of unidentified conversations.", body = UnidentifiedPage), ReadErrors),
    security(("bearer" = []))
)]
pub async fn unidentified(
    auth: TenantAuth,
    State(state): State<ApiState>,
    Query(params): Query<PageParams>,
) -> Result<Json<UnidentifiedPage>, ApiError> {
    let limit = params::limit(params.limit)?;
    let after = params.cursor.as_deref().map(position::decode_timeline).transpose()?;
    let mut items = read::unidentified(&state.pool, auth.tenant(), after, i64::from(limit) + 1).await?;
    let next_cursor = next_page(&mut items, limit).map(|last| position::encode_timeline(last.last_message_at, last.id));
    Ok(Json(UnidentifiedPage { items, next_cursor }))
}

fn next_page<T>(items: &mut Vec<T>, limit: u32) -> Option<&T> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if items.len() > limit {
        items.truncate(limit);
        items.last()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_keeps_the_limit_and_points_at_its_last_item() {
        let mut items = vec![1, 2, 3];
        assert_eq!(next_page(&mut items, 2), Some(&2));
        assert_eq!(items, [1, 2]);
        assert_eq!(next_page(&mut items, 2), None);
    }
}
