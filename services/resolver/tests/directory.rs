//! Operator operations through the Directory API and their effect on resolution and on the
//! events CRM consumers read: identifiers, merges and unmerges, links, blocked and shared values,
//! custom identifier definitions, deletion with erasure, and tenant isolation.

mod common;

use std::time::Duration;

use axum::http::StatusCode;
use common::{create, id, interaction, publish};
use contracts::api::directory::{
    AcceptDuplicate, BlockReason, Blocked, BlockedList, Card, Combined, Conflict, ContactPage, DuplicatePair, Link,
    LinkConversation, MergeHistory, MergePreview, MergeRequest, MergeResult, Moves, NameChoice, NamedValue, SuggestionList,
    UnmergeResult,
};
use contracts::ContactId;
use contracts::{
    topics, Actor, ContactChange, ContactChangeKind, IdentityKind, IgnoreReason, MatchedBy, NameSource, ResolvedInteraction,
};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(60);

/// A card's identifiers as (kind, value), sorted.
fn identities(card: &Card) -> Vec<(IdentityKind, String)> {
    let mut out: Vec<(IdentityKind, String)> = card.identities.iter().map(|i| (i.kind, i.value.clone())).collect();
    out.sort();
    out
}

/// The kinds of `contact`'s change events, in order. Events of different contacts travel on
/// different partitions, so only one contact's events have an order to assert.
fn kinds_of(changes: &[ContactChange], contact: ContactId) -> Vec<ContactChangeKind> {
    changes.iter().filter(|c| c.contact_id == contact).map(|c| c.kind).collect()
}

fn merge(merged: ContactId) -> MergeRequest {
    MergeRequest { merged_contact_id: merged, name: NameChoice::Survivor }
}

#[tokio::test]
async fn merge_then_unmerge_restores_both_contacts_and_events_tell_crm_consumers() {
    let s = common::Directory::start().await;
    let a = create(&s.operator, json!({"name": "Jan Novák", "identities": [{"kind": "email", "value": "jan@novak.cz"}]})).await;
    let b = create(&s.operator, json!({"name": "Honza", "identities": [{"kind": "phone", "value": "777 123 456"}, {"kind": "psid", "value": "P1", "scope": "page"}]})).await;
    let (a_id, b_id) = (a.contact_id, b.contact_id);
    assert_eq!(s.operator.post("/v1/conversations/conv-b/link", &LinkConversation { contact_id: b_id }).await.status, 200);

    let reply = s
        .operator
        .post(&format!("/v1/contacts/{a_id}/merge"), &MergeRequest { merged_contact_id: b_id, name: NameChoice::Merged })
        .await;
    assert_eq!(reply.status, 200, "{reply}");
    let merged: MergeResult = reply.json();
    let merge_id = merged.merge_id;
    assert_eq!(merged.survivor.name.as_deref(), Some("Honza"), "the operator chose the merged contact's name");
    assert_eq!(identities(&merged.survivor).len(), 3);
    let gone: Card = s.operator.get(&format!("/v1/contacts/{b_id}")).await.json();
    assert_eq!(gone.merged_into, Some(a_id), "a merged-away id answers with its survivor");

    // An interaction by the merged contact's PSID, or in its linked conversation, now lands on the survivor.
    let reader = s.kafka.reader(topics::INTERACTIONS_RESOLVED);
    publish(
        &s.publisher,
        &[interaction(
            "acme",
            "after-merge",
            vec![contracts::Identity::new(IdentityKind::Psid, "P1", Some("page".into()))],
            None,
        )],
    )
    .await;
    assert_eq!(testkit::decode::<ResolvedInteraction>(&reader.take(1, WAIT).await[0]).contact_id, Some(a_id));

    let reply = s.operator.post_empty(&format!("/v1/merges/{merge_id}/unmerge")).await;
    assert_eq!(reply.status, 200, "{reply}");
    let _: UnmergeResult = reply.json();
    let a_after: Card = s.operator.get(&format!("/v1/contacts/{a_id}")).await.json();
    let b_after: Card = s.operator.get(&format!("/v1/contacts/{b_id}")).await.json();
    assert_eq!((identities(&a_after), &a_after.name), (identities(&a), &a.name), "the survivor is exactly as before");
    assert_eq!((identities(&b_after), &b_after.name), (identities(&b), &b.name), "the merged contact is exactly as before");
    assert_eq!(b_after.merged_into, None);
    assert_eq!(s.operator.post_empty(&format!("/v1/merges/{merge_id}/unmerge")).await.status, 404, "a merge is undone once");

    let changes: Vec<ContactChange> =
        s.kafka.reader(topics::CONTACTS_CHANGES).take(6, WAIT).await.iter().map(testkit::decode).collect();
    use ContactChangeKind as K;
    assert_eq!(kinds_of(&changes, b_id), [K::Created, K::ConversationLinked]);
    assert_eq!(
        kinds_of(&changes, a_id),
        [K::Created, K::Merged, K::Unmerged, K::DifferentPeople],
        "one contact's events stay in order; an unmerge records two different people"
    );
    let merge_event = changes.iter().find(|c| c.kind == K::Merged).expect("a merged event");
    assert_eq!(merge_event.related_contact_id, Some(b_id));
    assert_eq!(merge_event.actor, Actor::Operator { id: "test-operator".into() });
    let name_change = merge_event.changes.iter().find(|f| f.field == "name").expect("name moved");
    assert_eq!((&name_change.before, &name_change.after), (&Some(json!("Jan Novák")), &Some(json!("Honza"))));

    // The compacted snapshot topic: B's card (created, then linked), B's tombstone at the merge,
    // B's card again after unmerge.
    let snapshots = s.kafka.reader(topics::CONTACTS_SNAPSHOT).take(8, WAIT).await;
    let of_b: Vec<bool> = snapshots
        .iter()
        .filter(|m| testkit::key(m).ends_with(&b_id.to_string()))
        .map(|m| rdkafka::Message::payload(m).is_some())
        .collect();
    assert_eq!(of_b, [true, true, false, true], "cards, tombstone on merge-away, card after unmerge");
}

#[tokio::test]
async fn identifiers_are_validated_owned_once_and_every_change_is_an_event() {
    let s = common::Directory::start().await;
    let a = create(&s.operator, json!({"identities": [{"kind": "phone", "value": "+420 777 111 222"}]})).await;
    let b = create(&s.operator, json!({})).await;
    let (a_id, b_id) = (a.contact_id, b.contact_id);
    let identities_of_b = format!("/v1/contacts/{b_id}/identities");

    let reply = s.operator.post(&identities_of_b, &json!({"kind": "phone", "value": "00420777111222"})).await;
    assert_eq!(reply.status, 409, "the same number in another format is the same identifier");
    assert_eq!(reply.problem().owner_contact_id, Some(a_id));
    let reply = s.operator.post(&identities_of_b, &json!({"kind": "email", "value": "not-an-address"})).await;
    assert_eq!(reply.status, 422);
    let reply = s.operator.post(&identities_of_b, &json!({"kind": "email", "value": "test@test.com"})).await;
    assert_eq!(reply.status, 422, "blocked values are refused");
    let reply = s.operator.post(&identities_of_b, &json!({"kind": "email", "value": "x@y.cz", "colour": "red"})).await;
    assert_eq!(reply.status, 422, "unknown fields are rejected");

    let reply = s.operator.post(&identities_of_b, &json!({"kind": "email", "value": "Eva@Example.CZ"})).await;
    assert_eq!(reply.status, 201);
    let card: Card = reply.json();
    let email_id = card.identities[0].identity_id;
    let reply = s.operator.patch(&format!("/v1/contacts/{b_id}/identities/{email_id}"), &json!({"value": "eva@novak.cz"})).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json::<Card>().identities[0].value, "eva@novak.cz");
    assert_eq!(s.operator.delete(&format!("/v1/contacts/{b_id}/identities/{email_id}")).await.status, 204);
    let reply = s.operator.patch(&format!("/v1/contacts/{b_id}"), &json!({"name": "Eva Nováková"})).await;
    assert_eq!((reply.status, reply.json::<Card>().name_source), (StatusCode::OK, Some(NameSource::Operator)));
    assert_eq!(s.operator.patch(&format!("/v1/contacts/{b_id}"), &json!({"name": "Eva Nováková"})).await.status, 200);

    let change_reader = s.kafka.reader(topics::CONTACTS_CHANGES);
    let changes: Vec<ContactChange> = change_reader.take(6, WAIT).await.iter().map(testkit::decode).collect();
    use ContactChangeKind as K;
    assert_eq!(kinds_of(&changes, a_id), [K::Created]);
    assert_eq!(
        kinds_of(&changes, b_id),
        [K::Created, K::IdentifierAdded, K::IdentifierEdited, K::IdentifierRemoved, K::NameChanged],
        "one contact's events stay in order"
    );
    let edited = changes.iter().find(|c| c.kind == K::IdentifierEdited).expect("an edit event");
    // A field change's before and after are the field's JSON, whatever the field.
    assert_eq!(edited.changes[0].before.as_ref().map(|v| &v["value"]), Some(&json!("eva@example.cz")));
    assert_eq!(edited.changes[0].after.as_ref().map(|v| &v["value"]), Some(&json!("eva@novak.cz")));
    let extra = s.published(&change_reader).await;
    assert!(extra.is_empty(), "renaming to the same name emitted {} events", extra.len());

    // An operator's name is never overwritten by a channel or a form.
    let reader = s.kafka.reader(topics::INTERACTIONS_RESOLVED);
    publish(
        &s.publisher,
        &[interaction("acme", "n", vec![id(IdentityKind::Phone, "+420777111222")], Some(("Someone Else", NameSource::Form)))],
    )
    .await;
    reader.take(1, WAIT).await;
    assert_eq!(s.operator.card(a_id).await.name.as_deref(), Some("Someone Else"), "a form name fills a contact without a name");
    publish(
        &s.publisher,
        &[interaction("acme", "n2", vec![id(IdentityKind::Phone, "+420777111222")], Some(("Channel Name", NameSource::Channel)))],
    )
    .await;
    reader.take(1, WAIT).await;
    assert_eq!(s.operator.card(a_id).await.name.as_deref(), Some("Someone Else"), "a channel name ranks below a form name");
    s.operator.patch(&format!("/v1/contacts/{a_id}"), &json!({"name": "Operátor Jméno"})).await;
    publish(
        &s.publisher,
        &[interaction("acme", "n3", vec![id(IdentityKind::Phone, "+420777111222")], Some(("Form Again", NameSource::Form)))],
    )
    .await;
    reader.take(1, WAIT).await;
    assert_eq!(s.operator.card(a_id).await.name.as_deref(), Some("Operátor Jméno"));
}

#[tokio::test]
async fn linked_conversations_custom_identifiers_blocked_and_shared_values_steer_resolution() {
    let s = common::Directory::start().await;
    let reader = s.kafka.reader(topics::INTERACTIONS_RESOLVED);
    let resolve = |event: contracts::InteractionEvent| {
        let (publisher, reader) = (&s.publisher, &reader);
        async move {
            publish(publisher, &[event]).await;
            testkit::decode::<ResolvedInteraction>(&reader.take(1, WAIT).await[0])
        }
    };

    // Custom identifiers: only defined parameters flagged as identifying match.
    let definition = json!({"name": "crm_id", "label": "CRM", "identifies_client": true});
    assert_eq!(s.operator.post("/v1/identifier-definitions", &definition).await.status, 403);
    assert_eq!(s.admin.post("/v1/identifier-definitions", &definition).await.status, 201);
    let crm = create(&s.operator, json!({"identities": [{"kind": "custom", "value": "CRM-77", "scope": "crm_id"}]})).await;
    let mut by_crm = interaction("acme", "crm", vec![id(IdentityKind::Email, "new@novak.cz")], None);
    by_crm.body.parameters.insert("crm_id".into(), "CRM-77".into());
    let resolved = resolve(by_crm).await;
    assert_eq!(resolved.contact_id, Some(crm.contact_id));
    assert_eq!(
        resolved.resolution.matched_by,
        Some(MatchedBy { kind: IdentityKind::Custom, value: "CRM-77".into(), scope: Some("crm_id".into()) })
    );
    assert_eq!(s.admin.patch("/v1/identifier-definitions/crm_id", &json!({"identifies_client": false})).await.status, 200);
    let mut off = interaction("acme", "crm-off", vec![id(IdentityKind::Email, "other@novak.cz")], None);
    off.body.parameters.insert("crm_id".into(), "CRM-77".into());
    assert_ne!(
        resolve(off).await.contact_id,
        Some(crm.contact_id),
        "a parameter that no longer identifies the client never matches"
    );

    // A conversation linked by an operator wins over identifiers, and the contact learns them.
    let target = create(&s.operator, json!({"name": "Linked"})).await;
    s.operator.post("/v1/conversations/session-linked/link", &LinkConversation { contact_id: target.contact_id }).await;
    let linked = resolve(interaction("acme", "linked", vec![id(IdentityKind::Email, "visitor@novak.cz")], None)).await;
    assert_eq!(linked.contact_id, Some(target.contact_id));
    assert_eq!(linked.resolution.matched_by.map(|m| m.kind), Some(IdentityKind::ConversationLink));
    let card = s.operator.card(target.contact_id).await;
    assert_eq!(identities(&card), [(IdentityKind::Email, "visitor@novak.cz".to_owned())]);
    assert_eq!(s.operator.post_empty("/v1/conversations/session-linked/unlink").await.status, 204);

    // Blocked values never match nor attach; the decision says why.
    assert_eq!(s.admin.post("/v1/blocked-values", &json!({"kind": "phone", "pattern": "+420800*"})).await.status, 201);
    let blocked = resolve(interaction(
        "acme",
        "blocked",
        vec![id(IdentityKind::Phone, "800 123 456"), id(IdentityKind::Email, "noreply@shop.cz")],
        None,
    ))
    .await;
    let reasons: Vec<IgnoreReason> = blocked.resolution.ignored.iter().map(|i| i.reason).collect();
    assert_eq!(reasons, [IgnoreReason::Blocked, IgnoreReason::Blocked]);

    // A value held by three contacts (knowingly shared) stops being used for matching.
    let mut holders = Vec::new();
    for _ in 0..3 {
        let contact = create(&s.operator, json!({})).await;
        let path = format!("/v1/contacts/{}/identities", contact.contact_id);
        let reply = s.operator.post(&path, &json!({"kind": "phone", "value": "+420222111000", "shared": true})).await;
        assert_eq!(reply.status, 201);
        holders.push(Some(contact.contact_id));
    }
    let shared = resolve(interaction("acme", "switchboard", vec![id(IdentityKind::Phone, "+420222111000")], None)).await;
    assert!(!holders.contains(&shared.contact_id), "a switchboard number attaches to nobody");
    assert_eq!(shared.resolution.ignored.first().map(|i| i.reason), Some(IgnoreReason::Shared));
}

#[tokio::test]
async fn deleting_with_erasure_frees_identifiers_and_tells_consumers() {
    let s = common::Directory::start().await;
    let card = create(&s.operator, json!({"name": "Smazat", "identities": [{"kind": "email", "value": "gone@novak.cz"}]})).await;
    let contact = card.contact_id;
    assert_eq!(s.other_tenant.delete(&format!("/v1/contacts/{contact}?erase=true")).await.status, 404);
    assert_eq!(s.operator.delete(&format!("/v1/contacts/{contact}?erase=true")).await.status, 403, "erasure is an admin's");
    assert_eq!(s.admin.delete(&format!("/v1/contacts/{contact}?erase=true")).await.status, 204);
    assert_eq!(s.operator.get(&format!("/v1/contacts/{contact}")).await.status, 404);

    let messages = s.kafka.reader(topics::CONTACTS_CHANGES).take(3, WAIT).await;
    let changes: Vec<ContactChange> = messages.iter().map(testkit::decode).collect();
    let kinds: Vec<ContactChangeKind> = changes.iter().map(|c| c.kind).collect();
    assert_eq!(kinds, [ContactChangeKind::Created, ContactChangeKind::Deleted, ContactChangeKind::Erased]);
    // About the wire itself: the value appears nowhere in the event as published.
    assert!(
        !testkit::json(&messages[1]).to_string().contains("gone@novak.cz"),
        "an erased contact's values are not repeated in events"
    );

    let snapshots = s.kafka.reader(topics::CONTACTS_SNAPSHOT).take(2, WAIT).await;
    assert!(rdkafka::Message::payload(&snapshots[1]).is_none(), "a tombstone on delete");

    let reader = s.kafka.reader(topics::INTERACTIONS_RESOLVED);
    publish(&s.publisher, &[interaction("acme", "back", vec![id(IdentityKind::Email, "gone@novak.cz")], None)]).await;
    let resolved: ResolvedInteraction = testkit::decode(&reader.take(1, WAIT).await[0]);
    assert_ne!(resolved.contact_id, Some(contact));
    assert!(resolved.resolution.created_contact, "the freed identifier starts a new contact");

    // A contact deleted without erasure can be erased later.
    let later =
        create(&s.operator, json!({"name": "Později", "identities": [{"kind": "email", "value": "later@novak.cz"}]})).await;
    let later = later.contact_id;
    assert_eq!(s.operator.delete(&format!("/v1/contacts/{later}")).await.status, 204);
    assert_eq!(s.operator.delete(&format!("/v1/contacts/{later}")).await.status, 404, "deleted once");
    assert_eq!(s.admin.delete(&format!("/v1/contacts/{later}?erase=true")).await.status, 204, "erased after");
}

#[tokio::test]
async fn no_endpoint_that_takes_an_id_crosses_tenants() {
    use axum::http::Method;
    let s = common::Directory::start().await;
    let a = create(&s.operator, json!({"identities": [{"kind": "email", "value": "a@novak.cz"}]})).await;
    let b = create(&s.operator, json!({})).await;
    let c = create(&s.operator, json!({})).await;
    let (a_id, b_id, c_id) = (a.contact_id, b.contact_id, c.contact_id);
    let identity_id = a.identities[0].identity_id;
    let merged: MergeResult = s.operator.post(&format!("/v1/contacts/{a_id}/merge"), &merge(b_id)).await.json();
    let merge_id = merged.merge_id;
    let foreign = &s.other_tenant;
    for (method, path, body) in [
        (Method::GET, format!("/v1/contacts/{a_id}"), None),
        (Method::PATCH, format!("/v1/contacts/{a_id}"), Some(json!({"name": "x"}))),
        (Method::DELETE, format!("/v1/contacts/{a_id}"), None),
        (Method::POST, format!("/v1/contacts/{a_id}/identities"), Some(json!({"kind": "email", "value": "x@novak.cz"}))),
        (Method::PATCH, format!("/v1/contacts/{a_id}/identities/{identity_id}"), Some(json!({"value": "y@novak.cz"}))),
        (Method::DELETE, format!("/v1/contacts/{a_id}/identities/{identity_id}"), None),
        (Method::POST, format!("/v1/contacts/{a_id}/merge"), Some(json!(merge(b_id)))),
        (Method::POST, format!("/v1/merges/{merge_id}/unmerge"), None),
        (Method::POST, "/v1/conversations/c1/link".to_owned(), Some(json!(LinkConversation { contact_id: a_id }))),
        (Method::GET, format!("/v1/contacts/{a_id}/merge-preview?with={c_id}"), None),
        (Method::GET, format!("/v1/contacts/{c_id}/merge-preview?with={a_id}"), None),
        (
            Method::POST,
            "/v1/duplicates/accept".to_owned(),
            Some(json!(AcceptDuplicate { contact_a: a_id, contact_b: c_id, survivor: None, name: NameChoice::Survivor })),
        ),
    ] {
        let reply = foreign.call(method.clone(), &path, body.as_ref()).await;
        assert_eq!(reply.status, 404, "{method} {path}: {reply}");
    }
    assert!(foreign.get("/v1/contacts").await.json::<ContactPage>().items.is_empty());
    assert!(foreign.get("/v1/duplicates").await.json::<SuggestionList>().items.is_empty());
    assert_eq!(s.operator.get(&format!("/v1/contacts/{a_id}")).await.status, 200, "the owner still sees it");
}

#[tokio::test]
async fn the_contact_list_filters_by_text_without_diacritics_email_phone_and_identifier() {
    let s = common::Directory::start().await;
    let jiri =
        create(&s.operator, json!({"name": "Jiří Novák", "identities": [{"kind": "phone", "value": "+420 602 123 456"}]})).await;
    create(&s.operator, json!({"name": "Eva Svobodová", "identities": [{"kind": "email", "value": "eva@svoboda.cz"}]})).await;
    let names = |page: ContactPage| -> Vec<String> { page.items.into_iter().map(|c| c.name.unwrap_or_default()).collect() };
    let op = &s.operator;
    assert_eq!(names(op.get("/v1/contacts?q=jiri%20novak").await.json()), ["Jiří Novák"]);
    assert_eq!(names(op.get("/v1/contacts?email=EVA@svoboda.cz").await.json()), ["Eva Svobodová"]);
    assert_eq!(names(op.get("/v1/contacts?phone=00420602123456").await.json()), ["Jiří Novák"]);
    assert_eq!(names(op.get("/v1/contacts?identifier=phone:%2B420602123456").await.json()), ["Jiří Novák"]);
    let first: ContactPage = op.get("/v1/contacts?limit=1").await.json();
    let cursor = first.next_cursor.expect("a second page");
    let second: ContactPage = s.operator.get(&format!("/v1/contacts?limit=1&cursor={cursor}")).await.json();
    assert_eq!(second.items.first().map(|c| c.contact_id), Some(jiri.contact_id), "newest first, then older");
    assert_eq!(s.operator.get("/v1/contacts?phone=hello").await.status, 400);
}

#[tokio::test]
async fn a_merge_preview_shows_both_cards_and_what_conflicts_without_changing_anything() {
    let s = common::Directory::start().await;
    let a = create(
        &s.operator,
        json!({"name": "Jan Novák", "identities": [{"kind": "email", "value": "jan@novak.cz"}, {"kind": "phone", "value": "777 111 333"}]}),
    )
    .await;
    let b = create(
        &s.operator,
        json!({"name": "Honza Novák", "identities": [{"kind": "email", "value": "honza@novak.cz"}, {"kind": "psid", "value": "P1", "scope": "page"}]}),
    )
    .await;
    let (a_id, b_id) = (a.contact_id, b.contact_id);
    s.operator.post("/v1/conversations/conv-b/link", &LinkConversation { contact_id: b_id }).await;
    let changes = s.kafka.reader(topics::CONTACTS_CHANGES);
    changes.take(3, WAIT).await;

    let reply = s.operator.get(&format!("/v1/contacts/{a_id}/merge-preview?with={b_id}")).await;
    assert_eq!(reply.status, 200, "{reply}");
    let preview: MergePreview = reply.json();
    assert_eq!((preview.survivor.contact_id, preview.merged.contact_id), (a_id, b_id));
    assert_eq!(preview.survivor.identities.len(), 2, "the survivor's full card");
    let operator_name = |name: &str| NamedValue { value: name.into(), source: Some(NameSource::Operator) };
    assert_eq!(
        preview.conflicts,
        [Conflict {
            field: "name".into(),
            survivor: operator_name("Jan Novák"),
            merged: operator_name("Honza Novák"),
            choose_with: "name: survivor | merged".into(),
        }]
    );
    assert_eq!(
        preview.combined,
        [Combined {
            kind: IdentityKind::Email,
            scope: None,
            survivor: vec!["jan@novak.cz".into()],
            merged: vec!["honza@novak.cz".into()]
        }],
        "two e-mails are combined, not a conflict; kinds only one side holds are neither"
    );
    assert_eq!(preview.moves, Moves { identities: 2, conversation_links: 1 });

    let a_after: Card = s.operator.get(&format!("/v1/contacts/{a_id}")).await.json();
    let b_after: Card = s.operator.get(&format!("/v1/contacts/{b_id}")).await.json();
    assert_eq!((a_after, b_after), (a.clone(), b.clone()), "a preview changes nothing");
    assert!(s.published(&changes).await.is_empty(), "a preview emits no events");

    let same_name = create(&s.operator, json!({"name": "Jan Novák"})).await;
    let path = format!("/v1/contacts/{a_id}/merge-preview?with={}", same_name.contact_id);
    assert!(s.operator.get(&path).await.json::<MergePreview>().conflicts.is_empty(), "equal names do not conflict");

    let unknown = ContactId::random();
    for (query, expected) in [
        (format!("with={a_id}"), 422),
        (format!("with={unknown}"), 404),
        ("with=not-a-uuid".to_owned(), 400),
        (String::new(), 400),
    ] {
        let reply = s.operator.get(&format!("/v1/contacts/{a_id}/merge-preview?{query}")).await;
        assert_eq!(reply.status, expected, "?{query}: {reply}");
        reply.problem();
    }
    assert_eq!(s.operator.post(&format!("/v1/contacts/{a_id}/merge"), &merge(b_id)).await.status, 200);
    assert_eq!(
        s.operator.get(&format!("/v1/contacts/{a_id}/merge-preview?with={b_id}")).await.status,
        404,
        "a merged-away contact cannot be merged again"
    );
}

#[tokio::test]
async fn accepting_a_duplicate_suggestion_merges_the_pair_into_the_older_contact() {
    let s = common::Directory::start().await;
    let older =
        create(&s.operator, json!({"name": "Jana Dvořáková", "identities": [{"kind": "email", "value": "jana@dvorak.cz"}]}))
            .await;
    let newer = create(&s.operator, json!({"identities": [{"kind": "phone", "value": "603 222 333"}]})).await;
    let (older_id, newer_id) = (older.contact_id, newer.contact_id);
    // One interaction carries both identifiers: it attaches to the e-mail's contact and suggests the pair.
    let reader = s.kafka.reader(topics::INTERACTIONS_RESOLVED);
    publish(
        &s.publisher,
        &[interaction(
            "acme",
            "both",
            vec![id(IdentityKind::Email, "jana@dvorak.cz"), id(IdentityKind::Phone, "+420603222333")],
            None,
        )],
    )
    .await;
    reader.take(1, WAIT).await;
    let duplicates: SuggestionList = s.operator.get("/v1/duplicates").await.json();
    assert_eq!(duplicates.items.len(), 1, "{duplicates:?}");

    let accept = |contact_a, contact_b, survivor| AcceptDuplicate { contact_a, contact_b, survivor, name: NameChoice::Survivor };
    let pair = DuplicatePair { contact_a: newer_id, contact_b: older_id };
    assert_eq!(s.other_tenant.post("/v1/duplicates/accept", &pair).await.status, 404, "another tenant's pair");
    let stranger = ContactId::random();
    let reply = s.operator.post("/v1/duplicates/accept", &accept(newer_id, older_id, Some(stranger))).await;
    assert_eq!(reply.status, 422, "the survivor must be one of the pair");
    let reply = s.operator.post("/v1/duplicates/accept", &accept(older_id, stranger, None)).await;
    assert_eq!(reply.status, 404, "no such suggestion");

    let reply = s.operator.post("/v1/duplicates/accept", &pair).await;
    assert_eq!(reply.status, 200, "{reply}");
    let accepted: MergeResult = reply.json();
    assert_eq!(accepted.survivor.contact_id, older_id, "the older contact survives by default");
    assert_eq!(accepted.survivor.name.as_deref(), Some("Jana Dvořáková"));
    assert_eq!(
        identities(&accepted.survivor),
        [(IdentityKind::Email, "jana@dvorak.cz".to_owned()), (IdentityKind::Phone, "+420603222333".to_owned())]
    );
    assert_eq!(s.operator.get(&format!("/v1/contacts/{newer_id}")).await.json::<Card>().merged_into, Some(older_id));
    assert!(s.operator.get("/v1/duplicates").await.json::<SuggestionList>().items.is_empty(), "the suggestion is merged");
    assert_eq!(s.operator.post("/v1/duplicates/accept", &pair).await.status, 404, "accepted once");

    let changes: Vec<ContactChange> = s
        .kafka
        .reader(topics::CONTACTS_CHANGES)
        .until(WAIT, |m| m.iter().any(|m| testkit::decode::<ContactChange>(m).kind == ContactChangeKind::Merged))
        .await
        .iter()
        .map(testkit::decode)
        .collect();
    let merged = changes.iter().find(|c| c.kind == ContactChangeKind::Merged).expect("a merged event");
    assert_eq!((merged.contact_id, merged.related_contact_id), (older_id, Some(newer_id)));
    assert_eq!(merged.reason, "duplicate suggestion accepted");

    // The merge is journaled like any other: it can be undone.
    assert_eq!(s.operator.post_empty(&format!("/v1/merges/{}/unmerge", accepted.merge_id)).await.status, 200);
}

/// What the console reads besides the cards: a card's merge history (to unmerge from it), a
/// conversation's link (the session panel) and the blocked values (settings, admins only).
#[tokio::test]
async fn merge_history_conversation_links_and_blocked_values_can_be_read_back() {
    let s = common::Directory::start().await;
    let a = create(&s.operator, json!({"name": "Eva Malá", "identities": [{"kind": "email", "value": "eva@mala.cz"}]})).await;
    let b = create(&s.operator, json!({"name": "Eva M.", "identities": [{"kind": "phone", "value": "604 111 222"}]})).await;
    let (a_id, b_id) = (a.contact_id, b.contact_id);
    assert_eq!(
        s.operator.get(&format!("/v1/contacts/{a_id}/merges")).await.json::<MergeHistory>(),
        MergeHistory { items: vec![] }
    );

    let merged: MergeResult = s.operator.post(&format!("/v1/contacts/{a_id}/merge"), &merge(b_id)).await.json();
    let merge_id = merged.merge_id;
    for contact in [a_id, b_id] {
        let reply = s.operator.get(&format!("/v1/contacts/{contact}/merges")).await;
        assert_eq!(reply.status, 200, "{reply}");
        let history: MergeHistory = reply.json();
        assert_eq!(history.items.len(), 1, "both sides see the merge: {history:?}");
        let record = &history.items[0];
        assert_eq!((record.merge_id, record.survivor_id, record.merged_id), (merge_id, a_id, b_id));
        assert_eq!(record.merged_by, "test-operator");
        assert_eq!(record.unmerged_at, None);
    }
    assert_eq!(s.operator.post_empty(&format!("/v1/merges/{merge_id}/unmerge")).await.status, 200);
    let history: MergeHistory = s.operator.get(&format!("/v1/contacts/{a_id}/merges")).await.json();
    assert!(history.items.first().is_some_and(|m| m.unmerged_at.is_some()), "an unmerged merge says when: {history:?}");
    let foreign: MergeHistory = s.other_tenant.get(&format!("/v1/contacts/{a_id}/merges")).await.json();
    assert_eq!(foreign, MergeHistory { items: vec![] });

    let conversation = "218374651:512093847";
    let link = format!("/v1/conversations/{}/link", conversation.replace(':', "%3A"));
    assert_eq!(s.operator.get(&link).await.status, 404, "not linked yet");
    assert_eq!(s.operator.post(&link, &LinkConversation { contact_id: b_id }).await.status, 200);
    let reply = s.operator.get(&link).await;
    assert_eq!(reply.status, 200, "{reply}");
    let found: Link = reply.json();
    assert_eq!(
        (found.conversation_ref.as_str(), found.contact_id, found.linked_by.as_str()),
        (conversation, b_id, "test-operator")
    );
    assert_eq!(s.other_tenant.get(&link).await.status, 404, "another tenant's link does not exist");

    assert_eq!(s.operator.get("/v1/blocked-values").await.status, 403, "admins only");
    let block = json!({"kind": "email", "pattern": "*@acme.cz", "reason": "own"});
    assert_eq!(s.admin.post("/v1/blocked-values", &block).await.status, 201);
    assert_eq!(s.admin.post("/v1/blocked-values", &json!({"pattern": "0000*"})).await.status, 201);
    let reply = s.admin.get("/v1/blocked-values").await;
    assert_eq!(reply.status, 200, "{reply}");
    assert_eq!(
        reply.json::<BlockedList>().items,
        [
            Blocked { kind: None, pattern: "0000*".into(), reason: BlockReason::Blocked },
            Blocked { kind: Some(IdentityKind::Email), pattern: "*@acme.cz".into(), reason: BlockReason::Own },
        ]
    );
    assert_eq!(s.other_tenant.get("/v1/blocked-values").await.json::<BlockedList>(), BlockedList { items: vec![] });
}
