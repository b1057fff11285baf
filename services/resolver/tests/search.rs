//! The contact list's filters and sort orders through the Directory API: by channel, by creation
//! and last-interaction time, sorted by creation, last interaction or name, and paged with the
//! keyset cursor in each order without gaps or repeats.

mod common;

use std::time::Duration;

use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use common::{create, interaction, publish, Api};
use contracts::api::directory::{Card, ContactPage};
use contracts::ContactId;
use contracts::{topics, Identity, IdentityKind};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(60);

fn id_of(card: &Card) -> ContactId {
    card.contact_id
}

fn ids(page: &ContactPage) -> Vec<ContactId> {
    page.items.iter().map(id_of).collect()
}

/// Every contact of the listing at `query`, following `next_cursor` page by page.
async fn all_pages(api: &Api, query: &str, limit: usize) -> Vec<ContactId> {
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let after = cursor.as_ref().map(|c| format!("&cursor={c}")).unwrap_or_default();
        let reply = api.get(&format!("/v1/contacts?{query}&limit={limit}{after}")).await;
        assert_eq!(reply.status, 200, "{reply}");
        let page: ContactPage = reply.json();
        let items = ids(&page);
        assert!(items.len() <= limit);
        seen.extend(items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return seen,
        }
    }
    panic!("more than 100 pages");
}

/// RFC 3339 for a query string (`+` would read as a space).
fn query_time(time: DateTime<Utc>) -> String {
    time.to_rfc3339().replace('+', "%2B")
}

fn at(timestamp: i64) -> String {
    query_time(DateTime::<Utc>::from_timestamp(timestamp, 0).expect("valid"))
}

#[tokio::test]
async fn the_list_filters_by_channel_creation_and_last_interaction_and_sorts_by_last_interaction() {
    let s = common::Directory::start().await;
    let messenger =
        create(&s.operator, json!({"name": "Marie", "identities": [{"kind": "psid", "value": "M1", "scope": "page-1"}]})).await;
    let whatsapp =
        create(&s.operator, json!({"name": "Wanda", "identities": [{"kind": "whatsapp", "value": "420603111222"}]})).await;
    let voip = create(&s.operator, json!({"name": "Vojtěch", "identities": [{"kind": "phone", "value": "603 444 555"}]})).await;
    let email =
        create(&s.operator, json!({"name": "Eliška", "identities": [{"kind": "email", "value": "eliska@novak.cz"}]})).await;
    let [m, w, v, e] = [&messenger, &whatsapp, &voip, &email].map(id_of);

    for (channel, expected) in [("messenger", &m), ("whatsapp", &w), ("voip", &v), ("email", &e)] {
        let reply = s.operator.get(&format!("/v1/contacts?channel={channel}")).await;
        assert_eq!((reply.status, ids(&reply.json())), (StatusCode::OK, vec![*expected]), "channel={channel}");
    }
    for channel in ["webchat", "fax"] {
        let reply = s.operator.get(&format!("/v1/contacts?channel={channel}")).await;
        assert_eq!(reply.status, 400, "channel={channel}");
        assert!(reply.problem().detail.contains(channel), "{reply}");
    }

    // created_* are exclusive bounds on the creation time.
    let created = |card: &Card| query_time(card.created_at);
    let page = s.operator.get(&format!("/v1/contacts?created_before={}", created(&voip))).await.json();
    assert_eq!(ids(&page), [w, m], "newest first");
    let query = format!("/v1/contacts?created_after={}&created_before={}", created(&messenger), created(&email));
    assert_eq!(ids(&s.operator.get(&query).await.json()), [v, w]);

    // Interactions at t1 (Marie), t3 (Vojtěch), t2 (Eliška); Wanda never wrote.
    let (t1, t2, t3) = (1_764_000_000, 1_764_100_000, 1_764_200_000);
    let reader = s.kafka.reader(topics::INTERACTIONS_RESOLVED);
    for (n, identity, time) in [
        (1, Identity::new(IdentityKind::Psid, "M1", Some("page-1".into())), t1),
        (2, Identity::new(IdentityKind::Phone, "+420603444555", None), t3),
        (3, Identity::new(IdentityKind::Email, "eliska@novak.cz", None), t2),
    ] {
        let mut event = interaction("acme", &format!("touch-{n}"), vec![identity], None);
        event.body.occurred_at = DateTime::from_timestamp(time, 0).expect("valid");
        publish(&s.publisher, &[event]).await;
    }
    reader.take(3, WAIT).await;

    assert_eq!(
        all_pages(&s.operator, "sort=last_interaction", 1).await,
        [v, e, m, w],
        "most recent first, never in touch last, page by page"
    );
    let query = format!("sort=last_interaction&last_interaction_after={}", at(t1));
    assert_eq!(all_pages(&s.operator, &query, 1).await, [v, e]);
    let query = format!("sort=last_interaction&last_interaction_before={}", at(t3));
    assert_eq!(all_pages(&s.operator, &query, 1).await, [e, m], "never in touch is not before anything");
    let query = format!("last_interaction_after={}&last_interaction_before={}&channel=email", at(t1), at(t3));
    assert_eq!(all_pages(&s.operator, &query, 5).await, [e], "filters combine");

    assert_eq!(s.operator.get("/v1/contacts?created_before=yesterday").await.status, 400);
    assert_eq!(s.operator.get("/v1/contacts?sort=price").await.status, 400);
}

#[tokio::test]
async fn every_sort_order_pages_through_all_contacts_without_gaps_or_repeats() {
    let s = common::Directory::start().await;
    let mut created = Vec::new();
    for name in [
        Some("Zdeněk Malý"),
        Some("Čeněk Dvořák"),
        None,
        Some("Cyril Beneš"),
        Some("Ábel Novák"),
        Some("adam Svoboda"),
        Some("Ábel Novák"),
    ] {
        created.push(id_of(&create(&s.operator, json!({ "name": name })).await));
    }

    let newest_first: Vec<ContactId> = created.iter().rev().copied().collect();
    assert_eq!(all_pages(&s.operator, "sort=created", 2).await, newest_first);
    assert_eq!(all_pages(&s.operator, "", 3).await, newest_first, "created is the default order");

    let by_name = all_pages(&s.operator, "sort=name", 2).await;
    let page: ContactPage = s.operator.get("/v1/contacts?sort=name&limit=200").await.json();
    let names: Vec<Option<&str>> = page.items.iter().map(|c| c.name.as_deref()).collect();
    assert_eq!(
        names,
        ["Ábel Novák", "Ábel Novák", "adam Svoboda", "Čeněk Dvořák", "Cyril Beneš", "Zdeněk Malý"]
            .map(Some)
            .into_iter()
            .chain([None])
            .collect::<Vec<_>>(),
        "case and diacritics do not change the order; unnamed last"
    );
    assert_eq!(by_name, ids(&page), "pages of two give the same order as one page");
    let mut twins = vec![created[4], created[6]];
    twins.sort();
    assert_eq!(by_name[..2], twins[..], "equal names are ordered by id");

    // Unnamed contacts and everybody else in the last-interaction order (nobody wrote yet).
    let mut by_id = created.clone();
    by_id.sort();
    by_id.reverse();
    assert_eq!(all_pages(&s.operator, "sort=last_interaction", 2).await, by_id, "ties broken by id");

    // Free text narrows a sorted listing; a cursor belongs to its sort order.
    assert_eq!(all_pages(&s.operator, "q=novak&sort=name", 1).await, twins);
    let first: ContactPage = s.operator.get("/v1/contacts?sort=name&limit=1").await.json();
    let cursor = first.next_cursor.expect("a next page");
    let reply = s.operator.get(&format!("/v1/contacts?sort=created&cursor={cursor}")).await;
    assert_eq!(reply.status, 400, "{reply}");
    assert_eq!(s.operator.get("/v1/contacts?cursor=bm9wZQ").await.status, 400);
}
