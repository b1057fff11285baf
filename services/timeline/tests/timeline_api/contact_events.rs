//! Contact-detail changes on the timeline, merges and unmerges.

use contracts::api::timeline::Item;
use contracts::{Actor, ContactChangeKind};
use serde_json::json;
use uuid::Uuid;

use crate::support::*;

#[tokio::test]
async fn contact_detail_changes_are_interleaved_with_interactions_and_filterable_by_type() {
    let timeline = spawn().await;
    let contact = Uuid::new_v4();
    let created = with_field(change(contact, ContactChangeKind::Created, -3600), "name", None, Some(json!("Jan Novák")));
    let added = with_field(
        change(contact, ContactChangeKind::IdentifierAdded, 3600),
        "identities.email",
        None,
        Some(email("jan.novak@example.cz")),
    );
    let renamed = with_field(
        change(contact, ContactChangeKind::NameChanged, 10_800),
        "name",
        Some(json!("Jan Novák")),
        Some(json!("Jan Nováček")),
    );
    let removed = with_field(
        change(contact, ContactChangeKind::IdentifierRemoved, 14_400),
        "identities.email",
        Some(email("jan.novak@example.cz")),
        None,
    );
    let mut suggestion = change(contact, ContactChangeKind::DuplicateSuggested, 5000);
    suggestion.related_contact_id = Some(Uuid::new_v4().into());
    let first = msg(contact, "wamid.a", 0).text("první zpráva");
    let second = msg(contact, "wamid.b", 7200).text("druhá zpráva");
    timeline.apply_changes(&[created, added.clone(), suggestion, renamed, removed]).await;
    timeline.apply_changes(std::slice::from_ref(&added)).await; // redelivery
    timeline.apply(&resolved(&[&first, &second])).await;

    let items = timeline.timeline(contact, "", "acme").await;
    assert_eq!(
        kinds(&items),
        [
            "event:identifier_removed",
            "event:name_changed",
            "interaction:druhá zpráva",
            "event:identifier_added",
            "interaction:první zpráva",
            "event:created"
        ],
        "one chronological history; the duplicate suggestion is not a change of the card"
    );
    let event = items[3].as_contact_event().expect("a contact event");
    assert_eq!(event.change_id, added.change_id);
    assert_eq!(event.changes[0].field, "identities.email");
    assert_eq!(event.changes[0].after.as_ref().map(|a| a["value"].clone()), Some(json!("jan.novak@example.cz")));
    assert_eq!(event.actor, Actor::Operator { id: "op-1".into() });
    assert_eq!(event.reason.as_deref(), Some("operator edit"));

    let walked = timeline.walk(&format!("/v1/contacts/{contact}/timeline?limit=2"), "acme").await;
    assert_eq!(kinds(&walked), kinds(&items), "small pages walk the same merged order");
    assert_eq!(
        kinds(&timeline.timeline(contact, "type=interaction", "acme").await),
        ["interaction:druhá zpráva", "interaction:první zpráva"]
    );
    assert_eq!(timeline.timeline(contact, "type=contact_event", "acme").await.len(), 4);
    assert_eq!(timeline.timeline(contact, "channel=whatsapp", "acme").await.len(), 2, "events have no channel");
    let window = timeline.timeline(contact, &format!("from={}&to={}", rfc3339(0), rfc3339(7200)), "acme").await;
    assert_eq!(kinds(&window), ["event:identifier_added", "interaction:první zpráva"]);
    let before = timeline.timeline(contact, &format!("before={}", rfc3339(0)), "acme").await;
    assert_eq!(kinds(&before), ["event:created"]);
    let both = timeline.timeline(contact, &format!("to={}&before={}", rfc3339(7200), rfc3339(0)), "acme").await;
    assert_eq!(kinds(&both), ["event:created"], "with `to` and `before`, the earlier one counts");
    let found = timeline.timeline(contact, "q=novak", "acme").await;
    assert_eq!(kinds(&found), ["event:identifier_removed", "event:name_changed", "event:identifier_added", "event:created"]);
    assert!(found.iter().all(|i| i.as_contact_event().is_some_and(|e| e.rank.is_some_and(|r| r > 0.0))), "ranked");
}

#[tokio::test]
async fn a_merge_moves_the_merged_contacts_history_and_an_unmerge_restores_it() {
    let timeline = spawn().await;
    let (survivor, merged) = (Uuid::new_v4(), Uuid::new_v4());
    let own = msg(survivor, "s.1", 0).channel(contracts::Channel::Email).conversation(None).text("přeživší");
    let m1 = msg(merged, "m.1", 100).conversation(Some("m-conv")).text("sloučený 1");
    let m2 = msg(merged, "m.2", 200).conversation(Some("m-conv")).text("sloučený 2");
    let merged_added = with_field(
        change(merged, ContactChangeKind::IdentifierAdded, 150),
        "identities.email",
        None,
        Some(email("m@example.cz")),
    );
    timeline.apply(&resolved(&[&own, &m1, &m2])).await;
    timeline.apply_changes(&[change(survivor, ContactChangeKind::Created, -100), merged_added]).await;

    let mut merge = change(survivor, ContactChangeKind::Merged, 1000);
    merge.related_contact_id = Some(merged.into());
    timeline.apply_changes(&[merge.clone()]).await;
    // The resolver may still attribute a late message to the merged-away id.
    let late = msg(merged, "m.3", 1100).conversation(Some("m-conv")).text("sloučený 3");
    timeline.apply(&resolved(&[&late])).await;

    let items = timeline.timeline(survivor, "", "acme").await;
    assert_eq!(
        kinds(&items),
        ["event:merged", "event:identifier_added", "interaction:sloučený 1", "interaction:přeživší", "event:created"]
    );
    let merged_from = |item: &Item| match item {
        Item::Interaction(i) => i.merged_from,
        Item::ContactEvent(e) => e.merged_from,
    };
    assert_eq!((merged_from(&items[1]), merged_from(&items[2])), (Some(merged.into()), Some(merged.into())));
    assert_eq!(items[2].as_interaction().map(|i| i.message_count), Some(3), "the late message joined its conversation");
    assert_eq!(merged_from(&items[3]), None);
    assert!(timeline.timeline(merged, "", "acme").await.is_empty(), "nothing is left on the merged-away contact");

    let mut unmerge = change(survivor, ContactChangeKind::Unmerged, 2000);
    unmerge.related_contact_id = Some(merged.into());
    timeline.apply_changes(&[unmerge]).await;

    let restored = timeline.timeline(merged, "", "acme").await;
    assert_eq!(kinds(&restored), ["event:identifier_added", "interaction:sloučený 1"]);
    assert_eq!(restored[1].as_interaction().map(|i| i.message_count), Some(3));
    let contact_of = |item: &Item| match item {
        Item::Interaction(i) => i.contact_id,
        Item::ContactEvent(e) => Some(e.contact_id),
    };
    assert!(restored.iter().all(|i| merged_from(i).is_none() && contact_of(i) == Some(merged.into())));
    let back = timeline.timeline(survivor, "", "acme").await;
    assert_eq!(kinds(&back), ["event:unmerged", "event:merged", "interaction:přeživší", "event:created"]);

    // A replayed merge (same change id) is not applied again.
    timeline.apply_changes(&[merge]).await;
    assert_eq!(timeline.timeline(merged, "", "acme").await.len(), 2);
}
