//! Erasure (GDPR): redacting every personal trace, or deleting the whole history, for good.

use axum::http::StatusCode;
use contracts::api::timeline::Item;
use contracts::{Channel, ContactChange, ContactChangeKind, ResolvedInteraction};
use serde_json::json;
use timeline::{Config, ErasureMode};
use uuid::Uuid;

use crate::support::*;

const SECRETS: [&str; 9] =
    ["žluťoučký", "zlutoucky", "Novák", "novak", "420777123456", "998877", "pas.jpg", "jan_novak", "rec.example"];

/// The history of a contact with personal data everywhere: texts, a subject, an attachment,
/// identities, a matched identifier, parameters, a call with numbers and a recording, and
/// identifier and name changes.
fn personal_history(contact: Uuid) -> (Vec<ResolvedInteraction>, Vec<ContactChange>, Vec<Uuid>) {
    let chat = msg(contact, "wamid.p1", 0)
        .text("Příliš žluťoučký kůň, volejte +420777123456")
        .attachment("pas.jpg")
        .param("whatsapp_username", "jan_novak");
    let reply = msg(contact, "wamid.p2", 60).outbound().text("Dobrý den, pane Nováku.");
    let reaction = msg(contact, "wamid.p3", 90).reaction("wamid.p2", Some("👍"));
    let mail = msg(contact, "mail.p1", 600)
        .channel(Channel::Email)
        .conversation(None)
        .subject("Smlouva Jan Novák")
        .text("Tajné číslo smlouvy 998877");
    let call = msg(contact, "CA-p1", 1200).conversation(None).call("completed", Some(30), Some("https://rec.example/p1.mp3"));
    let changes = vec![
        with_field(change(contact, ContactChangeKind::Created, -60), "name", None, Some(json!("Jan Novák"))),
        with_field(
            change(contact, ContactChangeKind::IdentifierAdded, 30),
            "identities.email",
            None,
            Some(email("jan.novak@example.cz")),
        ),
    ];
    let ids = vec![chat.id(), mail.id(), call.id()];
    (resolved(&[&chat, &reply, &reaction, &mail, &call]), changes, ids)
}

/// Every secret found in the rows of the contact (and of its merge partners' entries about it).
async fn leftovers(timeline: &Timeline, contact: Uuid) -> Vec<String> {
    let mut found = Vec::new();
    for (table, filter) in [
        ("interactions", "contact_id = $1 OR merged_from = $1"),
        ("interaction_messages", "interaction_id IN (SELECT interaction_id FROM interactions WHERE contact_id = $1)"),
        ("contact_events", "contact_id = $1 OR related_contact_id = $1"),
        ("message_reactions", "contact_id = $1"),
    ] {
        // Table names and filters are this list's constants.
        let rows: Vec<String> = sqlx::query_scalar(&format!("SELECT t::text FROM {table} t WHERE {filter}"))
            .bind(contact)
            .fetch_all(&timeline.pool)
            .await
            .expect("rows");
        for row in rows {
            for secret in SECRETS {
                if row.to_lowercase().contains(&secret.to_lowercase()) {
                    found.push(format!("{table}: {secret} in {row}"));
                }
            }
        }
    }
    found
}

fn assert_no_secret(what: &str, json: &str) {
    for secret in SECRETS {
        assert!(!json.to_lowercase().contains(&secret.to_lowercase()), "{secret} in {what}: {json}");
    }
}

#[tokio::test]
async fn erasure_redacts_every_personal_trace_and_nothing_comes_back_on_replay() {
    let timeline = spawn().await;
    let (erased, kept) = (Uuid::new_v4(), Uuid::new_v4());
    let (history, changes, ids) = personal_history(erased);
    timeline.apply(&history).await;
    timeline.apply(&resolved(&[&msg(kept, "wamid.k1", 0).text("Příliš žluťoučký kůň")])).await;
    timeline.apply_changes(&changes).await;
    assert_eq!(timeline.search("q=zlutoucky", "acme").await.items.len(), 2, "searchable before");
    assert!(!leftovers(&timeline, erased).await.is_empty(), "the check sees personal data when it is there");

    timeline
        .apply_changes(&[change(erased, ContactChangeKind::Deleted, 5000), change(erased, ContactChangeKind::Erased, 5001)])
        .await;

    let items = timeline.timeline(erased, "", "acme").await;
    assert_eq!(
        kinds(&items),
        [
            "event:erased",
            "event:deleted",
            "interaction:",
            "interaction:",
            "event:identifier_added",
            "interaction:",
            "event:created"
        ],
        "the entries stay, without content"
    );
    let marker = |item: &Item| {
        item.as_contact_event().is_some_and(|e| matches!(e.kind, ContactChangeKind::Erased | ContactChangeKind::Deleted))
    };
    let redacted = |item: &Item| match item {
        Item::Interaction(i) => i.redacted,
        Item::ContactEvent(e) => e.redacted,
    };
    assert!(items.iter().all(|i| redacted(i) || marker(i)));
    assert_no_secret("the timeline", &serde_json::to_string(&items).expect("json"));
    for id in &ids {
        let detail = timeline.detail(*id, "acme").await;
        assert!(detail.transcript.iter().all(|m| m.text.is_none()));
        assert!(detail.interaction.attachments.is_empty() && detail.interaction.parameters.is_empty());
        assert!(detail.interaction.event.body.identities.is_empty());
        assert_no_secret("an interaction", &serde_json::to_string(&detail).expect("json"));
    }
    let call = interactions(&items).into_iter().find(|i| i.channel == Channel::Voip).expect("the call entry");
    assert_eq!(call.details.duration_s, Some(30), "non-personal facts stay");
    for q in ["zlutoucky", "novak", "smlouva", "998877", "420777123456", "example"] {
        assert!(timeline.timeline(erased, &format!("q={q}"), "acme").await.is_empty(), "{q} on the timeline");
    }
    let hits = timeline.search("q=zlutoucky", "acme").await.items;
    assert_eq!(hits.iter().map(|h| h.contact_id).collect::<Vec<_>>(), [Some(kept.into())], "only the other contact is found");
    for q in ["novak", "smlouva", "998877"] {
        assert!(timeline.search(&format!("q={q}"), "acme").await.items.is_empty(), "{q} tenant-wide");
    }
    assert_eq!(leftovers(&timeline, erased).await, Vec::<String>::new());

    // A replay of the contact's history, or a late change, stores nothing again.
    timeline.apply(&history).await;
    timeline.apply_changes(&changes).await;
    let late = with_field(change(erased, ContactChangeKind::NameChanged, 6000), "name", None, Some(json!("Jan Novák")));
    timeline.apply_changes(&[late]).await;
    assert_eq!(leftovers(&timeline, erased).await, Vec::<String>::new());
    assert_eq!(timeline.timeline(erased, "", "acme").await.len(), items.len());
}

#[tokio::test]
async fn erasure_in_delete_mode_removes_the_whole_history() {
    let timeline = spawn_with(Config { erasure_mode: ErasureMode::Delete, ..Config::default() }).await;
    let erased = Uuid::new_v4();
    let (history, changes, ids) = personal_history(erased);
    timeline.apply(&history).await;
    timeline.apply_changes(&changes).await;
    assert_eq!(timeline.timeline(erased, "", "acme").await.len(), 5);

    timeline
        .apply_changes(&[change(erased, ContactChangeKind::Deleted, 5000), change(erased, ContactChangeKind::Erased, 5001)])
        .await;
    assert!(timeline.timeline(erased, "", "acme").await.is_empty());
    for id in &ids {
        assert_eq!(timeline.get(&format!("/v1/interactions/{id}"), "acme").await.status, StatusCode::NOT_FOUND);
    }
    assert!(timeline.search("q=zlutoucky", "acme").await.items.is_empty());

    timeline.apply(&history).await;
    timeline.apply_changes(&changes).await;
    assert!(timeline.timeline(erased, "", "acme").await.is_empty(), "a replay stores nothing");
    let rows: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM interactions WHERE contact_id = $1) + (SELECT count(*) FROM contact_events WHERE contact_id = $1)
              + (SELECT count(*) FROM interaction_messages WHERE message_id = ANY($2))
              + (SELECT count(*) FROM message_reactions WHERE contact_id = $1)",
    )
    .bind(erased)
    .bind(&ids)
    .fetch_one(&timeline.pool)
    .await
    .expect("count");
    assert_eq!(rows, 0);
}
