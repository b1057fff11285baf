//! The contact list's filters and sort orders through the Directory API: by channel, by creation
//! and last-interaction time, sorted by creation, last interaction or name, and paged with the
//! keyset cursor in each order without gaps or repeats.

mod common;

use std::time::Duration;

use chrono::{DateTime, Utc};
use common::{create, interaction, publish, Api};
use contracts::{topics, Identity, IdentityKind};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(60);

fn id_of(card: &Value) -> String {
    card["contact_id"].as_str().expect("contact id").to_owned()
}

fn ids(page: &Value) -> Vec<String> {
    page["items"].as_array().expect("items").iter().map(id_of).collect()
}

/// Every contact of the listing at `query`, following `next_cursor` page by page.
async fn all_pages(api: &Api, query: &str, limit: usize) -> Vec<String> {
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let after = cursor.as_ref().map(|c| format!("&cursor={c}")).unwrap_or_default();
        let (status, page) = api.call("GET", &format!("/v1/contacts?{query}&limit={limit}{after}"), None).await;
        assert_eq!(status, 200, "{page}");
        let items = ids(&page);
        assert!(items.len() <= limit);
        seen.extend(items);
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return seen,
        }
    }
    panic!("more than 100 pages");
}

/// RFC 3339 for a query string (`+` would read as a space).
fn at(timestamp: i64) -> String {
    DateTime::<Utc>::from_timestamp(timestamp, 0).expect("valid").to_rfc3339().replace('+', "%2B")
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
        let (status, page) = s.operator.call("GET", &format!("/v1/contacts?channel={channel}"), None).await;
        assert_eq!((status, ids(&page)), (200, vec![expected.clone()]), "channel={channel}");
    }
    for channel in ["webchat", "fax"] {
        let (status, problem) = s.operator.call("GET", &format!("/v1/contacts?channel={channel}"), None).await;
        assert_eq!(status, 400, "channel={channel}");
        assert!(problem["detail"].as_str().is_some_and(|d| d.contains(channel)), "{problem}");
    }

    // created_* are exclusive bounds on the creation time.
    let created = |card: &Value| card["created_at"].as_str().expect("created_at").replace('+', "%2B");
    let (_, page) = s.operator.call("GET", &format!("/v1/contacts?created_before={}", created(&voip)), None).await;
    assert_eq!(ids(&page), [w.clone(), m.clone()], "newest first");
    let query = format!("/v1/contacts?created_after={}&created_before={}", created(&messenger), created(&email));
    assert_eq!(ids(&s.operator.call("GET", &query, None).await.1), [v.clone(), w.clone()]);

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
        [v.clone(), e.clone(), m.clone(), w.clone()],
        "most recent first, never in touch last, page by page"
    );
    let query = format!("sort=last_interaction&last_interaction_after={}", at(t1));
    assert_eq!(all_pages(&s.operator, &query, 1).await, [v.clone(), e.clone()]);
    let query = format!("sort=last_interaction&last_interaction_before={}", at(t3));
    assert_eq!(all_pages(&s.operator, &query, 1).await, [e.clone(), m.clone()], "never in touch is not before anything");
    let query = format!("last_interaction_after={}&last_interaction_before={}&channel=email", at(t1), at(t3));
    assert_eq!(all_pages(&s.operator, &query, 5).await, [e], "filters combine");

    let (status, _) = s.operator.call("GET", "/v1/contacts?created_before=yesterday", None).await;
    assert_eq!(status, 400);
    let (status, _) = s.operator.call("GET", "/v1/contacts?sort=price", None).await;
    assert_eq!(status, 400);
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

    let newest_first: Vec<String> = created.iter().rev().cloned().collect();
    assert_eq!(all_pages(&s.operator, "sort=created", 2).await, newest_first);
    assert_eq!(all_pages(&s.operator, "", 3).await, newest_first, "created is the default order");

    let by_name = all_pages(&s.operator, "sort=name", 2).await;
    let (_, page) = s.operator.call("GET", "/v1/contacts?sort=name&limit=200", None).await;
    let names: Vec<Value> = page["items"].as_array().expect("items").iter().map(|c| c["name"].clone()).collect();
    assert_eq!(
        names,
        ["Ábel Novák", "Ábel Novák", "adam Svoboda", "Čeněk Dvořák", "Cyril Beneš", "Zdeněk Malý"]
            .map(|n| json!(n))
            .into_iter()
            .chain([Value::Null])
            .collect::<Vec<_>>(),
        "case and diacritics do not change the order; unnamed last"
    );
    assert_eq!(by_name, ids(&page), "pages of two give the same order as one page");
    let mut twins = vec![created[4].clone(), created[6].clone()];
    twins.sort();
    assert_eq!(by_name[..2], twins[..], "equal names are ordered by id");

    // Unnamed contacts and everybody else in the last-interaction order (nobody wrote yet).
    let mut by_id = created.clone();
    by_id.sort();
    by_id.reverse();
    assert_eq!(all_pages(&s.operator, "sort=last_interaction", 2).await, by_id, "ties broken by id");

    // Free text narrows a sorted listing; a cursor belongs to its sort order.
    assert_eq!(all_pages(&s.operator, "q=novak&sort=name", 1).await, twins);
    let (_, first) = s.operator.call("GET", "/v1/contacts?sort=name&limit=1", None).await;
    let cursor = first["next_cursor"].as_str().expect("a next page");
    let (status, problem) = s.operator.call("GET", &format!("/v1/contacts?sort=created&cursor={cursor}"), None).await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(s.operator.call("GET", "/v1/contacts?cursor=bm9wZQ", None).await.0, 400);
}
