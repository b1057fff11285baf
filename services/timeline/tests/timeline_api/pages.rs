//! Pages, filters, the detail view and tenancy.

use std::collections::HashSet;

use axum::http::StatusCode;
use chrono::DateTime;
use contracts::api::timeline::{Item, ItemType};
use contracts::{CallStatus, Channel, ContactChangeKind};
use uuid::Uuid;

use crate::support::*;

#[tokio::test]
async fn pages_are_newest_first_and_the_cursor_walks_every_entry_once() {
    let timeline = spawn().await;
    let contact = Uuid::new_v4();
    let items: Vec<_> = (0..5)
        .map(|n| {
            msg(contact, &format!("m{n}"), n * 60)
                .channel(Channel::Email)
                .conversation(None)
                .text(&format!("zpráva {n}"))
                .resolved()
        })
        .collect();
    timeline.apply(&items).await;
    timeline.apply(&items[..2]).await; // redelivery

    let walked = timeline.walk(&format!("/v1/contacts/{contact}/timeline?limit=2"), "acme").await;
    assert_eq!(texts(&walked), ["zpráva 4", "zpráva 3", "zpráva 2", "zpráva 1", "zpráva 0"], "newest first, each once");
    let first = timeline.page(&format!("/v1/contacts/{contact}/timeline?limit=2"), "acme").await;
    assert_eq!(first.items.len(), 2);
    let last = timeline.page(&format!("/v1/contacts/{contact}/timeline?limit=5"), "acme").await;
    assert_eq!((last.items.len(), last.next_cursor), (5, None), "a page that holds the rest has no cursor");
}

#[tokio::test]
async fn the_channel_and_type_filters_and_the_detail_view_work() {
    let timeline = spawn().await;
    let contact = Uuid::new_v4();
    let email = msg(contact, "e1", 60).channel(Channel::Email).text("e-mail");
    let call = msg(contact, "c1", 120).call("completed", Some(5), None).text("call");
    timeline.apply(&resolved(&[&email, &call])).await;
    timeline.apply_changes(&[change(contact, ContactChangeKind::Created, 0)]).await;

    let voip = timeline.page(&format!("/v1/contacts/{contact}/timeline?channel=voip"), "acme").await;
    let only = interactions(&voip.items);
    assert_eq!((voip.items.len(), only[0].channel), (1, Channel::Voip), "a channel asks for its interactions only");
    assert_eq!(only[0].details.call_status, Some(CallStatus::Completed));
    let events = timeline.timeline(contact, "type=contact_event", "acme").await;
    assert!(events.len() == 1 && events.iter().all(|i| i.item_type() == ItemType::ContactEvent));
    assert_eq!(timeline.timeline(contact, "type=interaction", "acme").await.len(), 2);

    let detail = timeline.detail(email.id(), "acme").await;
    assert_eq!(detail.item_type, ItemType::Interaction);
    assert_eq!(detail.interaction.event.body.content.as_ref().and_then(|c| c.text.as_deref()), Some("e-mail"));
    assert!(!detail.interaction.resolution.created_contact);
    assert_eq!(detail.interaction.matched_by.map(|m| m.kind), Some(contracts::IdentityKind::Whatsapp));
    let missing = timeline.get(&format!("/v1/interactions/{}", Uuid::new_v4()), "acme").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let nobody = timeline.page(&format!("/v1/contacts/{}/timeline", Uuid::new_v4()), "acme").await;
    assert!(nobody.items.is_empty() && nobody.next_cursor.is_none(), "a contact without history has an empty page");
}

#[tokio::test]
async fn pages_stay_stable_while_new_items_arrive_between_requests() {
    let timeline = spawn().await;
    let contact = Uuid::new_v4();
    let original: Vec<Msg> = (0..30)
        .map(|n| {
            msg(contact, &format!("orig-{n}"), 10_000 + n * 60)
                .channel(Channel::Email)
                .conversation(None)
                .text(&format!("původní {n}"))
        })
        .collect();
    timeline.apply(&original.iter().map(Msg::resolved).collect::<Vec<_>>()).await;

    let (mut seen, mut newer, mut older_below_cursor) = (Vec::<Item>::new(), HashSet::new(), HashSet::new());
    let mut cursor: Option<String> = None;
    for round in 0.. {
        let path = match &cursor {
            Some(c) => format!("/v1/contacts/{contact}/timeline?limit=7&cursor={c}"),
            None => format!("/v1/contacts/{contact}/timeline?limit=7"),
        };
        let page = timeline.page(&path, "acme").await;
        seen.extend(page.items);
        let Some(next) = page.next_cursor else { break };
        cursor = Some(next);
        // Between two page requests: two items newer than everything, one older than the cursor.
        let last_at = seen.last().expect("a full page").position().0.timestamp() - T0;
        let email = |m: Msg| m.channel(Channel::Email).conversation(None);
        let inserted = [
            email(msg(contact, &format!("new-{round}-a"), 100_000 + round * 10).text("nová")),
            email(msg(contact, &format!("new-{round}-b"), 100_001 + round * 10).text("nová")),
            email(msg(contact, &format!("old-{round}"), last_at - 7).text("starší")),
        ];
        newer.extend([inserted[0].id(), inserted[1].id()]);
        older_below_cursor.insert(inserted[2].id());
        timeline.apply(&inserted.iter().map(Msg::resolved).collect::<Vec<_>>()).await;
        assert!(round < 20, "the walk ends");
    }

    let positions: Vec<(DateTime<chrono::Utc>, Uuid)> = seen.iter().map(Item::position).collect();
    let unique: HashSet<Uuid> = positions.iter().map(|p| p.1).collect();
    assert_eq!(unique.len(), positions.len(), "no item twice");
    assert!(positions.windows(2).all(|w| w[0] > w[1]), "strictly newest first");
    assert!(original.iter().all(|item| unique.contains(&item.id())), "every original item is seen once");
    assert!(newer.iter().all(|id| !unique.contains(id)), "items newer than the first page never show up later");
    assert!(older_below_cursor.iter().all(|id| unique.contains(id)), "items inserted below the cursor are reached");
}

#[tokio::test]
async fn another_tenant_sees_nothing_on_any_endpoint() {
    let timeline = spawn().await;
    let contact = Uuid::new_v4();
    let first = msg(contact, "wa.1", 0).text("tajné heslo");
    let second = msg(contact, "wa.2", 60).text("další tajemství");
    let added = with_field(
        change(contact, ContactChangeKind::IdentifierAdded, 30),
        "identities.email",
        None,
        Some(email("tajny@example.cz")),
    );
    timeline.apply(&resolved(&[&first, &second])).await;
    timeline.apply_changes(&[added]).await;
    // Another tenant with the same contact id has its own history.
    let theirs = msg(contact, "wa.1", 10).tenant("globex").text("globex zpráva");
    timeline.apply(&resolved(&[&theirs])).await;

    let page = timeline.page(&format!("/v1/contacts/{contact}/timeline?limit=1"), "acme").await;
    let cursor = page.next_cursor.expect("more than one item");
    assert_eq!(timeline.timeline(contact, "", "acme").await.len(), 2, "one conversation and one change");
    assert_eq!(texts(&timeline.timeline(contact, "", "globex").await), ["globex zpráva"]);
    // A cursor is only a position: with another tenant's cursor, globex still sees only its own items.
    let theirs_after = timeline.page(&format!("/v1/contacts/{contact}/timeline?cursor={cursor}"), "globex").await;
    assert_eq!(texts(&theirs_after.items), ["globex zpráva"]);
    assert!(timeline.timeline(contact, "type=contact_event", "globex").await.is_empty());
    assert!(timeline.timeline(contact, "q=tajne", "globex").await.is_empty());
    for id in [first.id(), second.id()] {
        assert_eq!(timeline.get(&format!("/v1/interactions/{id}"), "globex").await.status, StatusCode::NOT_FOUND);
        assert_eq!(timeline.detail(id, "acme").await.interaction.interaction_id, first.id(), "by interaction and message id");
    }
    assert!(timeline.search("q=tajne", "globex").await.items.is_empty());
    assert_eq!(timeline.search("q=tajne", "acme").await.items.len(), 1);
    assert!(timeline.search("q=globex", "acme").await.items.is_empty());
    assert_eq!(timeline.search("q=globex", "globex").await.items.len(), 1);
}
