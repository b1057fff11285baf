//! At-least-once delivery: a replay of both topics from the beginning — each topic in its own
//! order, the two interleaved however the consumers happen to run, in batches of any size —
//! changes no row. Deterministic: the handlers are called directly, then every row is compared.

use contracts::{ContactChange, ContactChangeKind, ResolvedInteraction};
use uuid::Uuid;

use crate::support::*;

/// One batch of either topic.
#[derive(Clone)]
enum Batch {
    Interactions(Vec<ResolvedInteraction>),
    Changes(Vec<ContactChange>),
}

async fn apply(timeline: &Timeline, batch: &Batch) {
    match batch {
        Batch::Interactions(items) => timeline.apply(items).await,
        Batch::Changes(changes) => timeline.apply_changes(changes).await,
    }
}

/// Chats, a call, reactions, delivery statuses, a merge with a message after it, an unmerge and
/// an erasure, in the batches they first arrived in.
fn history() -> Vec<Batch> {
    let (a, b, erased) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let chat = [
        msg(a, "r.1", 0).text("Dobrý den"),
        msg(a, "r.2", 60).outbound().text("Dobrý den, jak pomohu?"),
        msg(a, "r.2", 90).outbound().param("delivery_status", "read").param("delivery_status_at", &rfc3339(90)),
        msg(a, "r.2r", 95).reaction("r.2", Some("👍")),
        msg(a, "r.3", 5000).text("Po pauze"),
    ];
    let call = [msg(b, "CA-r", 100).call("ringing", None, None), msg(b, "CA-r", 100).call("completed", Some(12), None)];
    let b_chat = msg(b, "r.4", 200).conversation(Some("b-conv")).text("Zpráva od B");
    let mut merge = change(a, ContactChangeKind::Merged, 6000);
    merge.related_contact_id = Some(b.into());
    let mut unmerge = change(a, ContactChangeKind::Unmerged, 7000);
    unmerge.related_contact_id = Some(b.into());
    let (erased_history, erased_changes) = {
        let chat = msg(erased, "wamid.p1", 0).text("Tajné").attachment("pas.jpg");
        let created = change(erased, ContactChangeKind::Created, -60);
        (resolved(&[&chat]), vec![created])
    };
    let added =
        with_field(change(a, ContactChangeKind::IdentifierAdded, 30), "identities.email", None, Some(email("a@example.cz")));
    vec![
        Batch::Interactions(chat.iter().chain(&call).chain([&b_chat]).map(Msg::resolved).collect()),
        Batch::Interactions(erased_history),
        Batch::Changes(erased_changes),
        Batch::Changes(vec![added]),
        Batch::Changes(vec![merge]),
        Batch::Interactions(vec![msg(b, "r.5", 6500).conversation(Some("b-conv")).text("Po sloučení").resolved()]),
        Batch::Changes(vec![
            unmerge,
            change(erased, ContactChangeKind::Deleted, 8000),
            change(erased, ContactChangeKind::Erased, 8001),
        ]),
    ]
}

/// Each topic's messages in order, as a fresh consumer group reads them.
fn topics(history: &[Batch]) -> (Vec<ResolvedInteraction>, Vec<ContactChange>) {
    let (mut interactions, mut changes) = (Vec::new(), Vec::new());
    for batch in history {
        match batch {
            Batch::Interactions(items) => interactions.extend(items.iter().cloned()),
            Batch::Changes(items) => changes.extend(items.iter().cloned()),
        }
    }
    (interactions, changes)
}

#[tokio::test]
async fn replaying_both_topics_from_the_beginning_changes_nothing() {
    let timeline = spawn().await;
    let history = history();
    for batch in &history {
        apply(&timeline, batch).await;
    }
    let before = snapshot(&timeline.pool).await;
    assert!(before.len() > 20, "{before:#?}");
    assert!(before.iter().any(|r| r.starts_with("erased_contacts")) && before.iter().any(|r| r.starts_with("contact_merges")));

    let (interactions, changes) = topics(&history);
    let replays = [
        (
            "interactions first, whole topics per batch",
            vec![Batch::Interactions(interactions.clone()), Batch::Changes(changes.clone())],
        ),
        (
            "changes first, whole topics per batch",
            vec![Batch::Changes(changes.clone()), Batch::Interactions(interactions.clone())],
        ),
        (
            "one message per batch, the topics alternating",
            interactions
                .iter()
                .map(|i| Batch::Interactions(vec![i.clone()]))
                .zip(changes.iter().map(|c| Batch::Changes(vec![c.clone()])))
                .flat_map(|(i, c)| [i, c])
                .chain(interactions.iter().skip(changes.len()).map(|i| Batch::Interactions(vec![i.clone()])))
                .collect(),
        ),
    ];
    for (how, replay) in replays {
        for batch in &replay {
            apply(&timeline, batch).await;
        }
        let after = snapshot(&timeline.pool).await;
        let changed: Vec<_> = after.iter().filter(|r| !before.contains(r)).collect();
        assert!(changed.is_empty(), "{how}: rows changed by the replay: {changed:#?}");
        assert_eq!(before, after, "{how}");
    }
}
