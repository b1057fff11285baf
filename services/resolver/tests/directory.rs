//! Operator operations through the Directory API and their effect on resolution and on the
//! events CRM consumers read: identifiers, merges and unmerges, links, blocked and shared values,
//! custom identifier definitions, deletion with erasure, and tenant isolation.

mod common;

use std::time::Duration;

use common::{create, id, interaction, publish};
use contracts::{topics, IdentityKind, NameSource};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(60);

fn identities(card: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = card["identities"]
        .as_array()
        .map(|ids| {
            ids.iter()
                .map(|i| (i["kind"].as_str().unwrap_or("").to_owned(), i["value"].as_str().unwrap_or("").to_owned()))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// The kinds of `contact`'s change events, in order. Events of different contacts travel on
/// different partitions, so only one contact's events have an order to assert.
fn kinds_of<'a>(changes: &'a [Value], contact: &str) -> Vec<&'a str> {
    changes.iter().filter(|c| c["contact_id"] == contact).map(|c| c["kind"].as_str().unwrap_or("")).collect()
}

#[tokio::test]
async fn merge_then_unmerge_restores_both_contacts_and_events_tell_crm_consumers() {
    let s = common::Directory::start().await;
    let a = create(&s.operator, json!({"name": "Jan Novák", "identities": [{"kind": "email", "value": "jan@novak.cz"}]})).await;
    let b = create(&s.operator, json!({"name": "Honza", "identities": [{"kind": "phone", "value": "777 123 456"}, {"kind": "psid", "value": "P1", "scope": "page"}]})).await;
    let (a_id, b_id) = (a["contact_id"].as_str().expect("id"), b["contact_id"].as_str().expect("id"));
    assert_eq!(s.operator.call("POST", "/v1/conversations/conv-b/link", Some(json!({"contact_id": b_id}))).await.0, 200);

    let (status, merged) = s
        .operator
        .call("POST", &format!("/v1/contacts/{a_id}/merge"), Some(json!({"merged_contact_id": b_id, "name": "merged"})))
        .await;
    assert_eq!(status, 200, "{merged}");
    let merge_id = merged["merge_id"].as_str().expect("merge id").to_owned();
    assert_eq!(merged["survivor"]["name"], "Honza", "the operator chose the merged contact's name");
    assert_eq!(identities(&merged["survivor"]).len(), 3);
    let (_, gone) = s.operator.call("GET", &format!("/v1/contacts/{b_id}"), None).await;
    assert_eq!(gone["merged_into"], a_id, "a merged-away id answers with its survivor");

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
    assert_eq!(testkit::json(&reader.take(1, WAIT).await[0])["contact_id"], a_id);

    let (status, restored) = s.operator.call("POST", &format!("/v1/merges/{merge_id}/unmerge"), None).await;
    assert_eq!(status, 200, "{restored}");
    let (_, a_after) = s.operator.call("GET", &format!("/v1/contacts/{a_id}"), None).await;
    let (_, b_after) = s.operator.call("GET", &format!("/v1/contacts/{b_id}"), None).await;
    assert_eq!((identities(&a_after), &a_after["name"]), (identities(&a), &a["name"]), "the survivor is exactly as before");
    assert_eq!((identities(&b_after), &b_after["name"]), (identities(&b), &b["name"]), "the merged contact is exactly as before");
    assert_eq!(b_after["merged_into"], Value::Null);
    assert_eq!(s.operator.call("POST", &format!("/v1/merges/{merge_id}/unmerge"), None).await.0, 404, "a merge is undone once");

    let changes: Vec<Value> = s.kafka.reader(topics::CONTACTS_CHANGES).take(6, WAIT).await.iter().map(testkit::json).collect();
    assert_eq!(kinds_of(&changes, b_id), ["created", "conversation_linked"]);
    assert_eq!(
        kinds_of(&changes, a_id),
        ["created", "merged", "unmerged", "different_people"],
        "one contact's events stay in order; an unmerge records two different people"
    );
    let merge_event = changes.iter().find(|c| c["kind"] == "merged").expect("a merged event");
    assert_eq!(merge_event["related_contact_id"], b_id);
    assert_eq!(merge_event["actor"], json!({"type": "operator", "id": "test-operator"}));
    let name_change =
        merge_event["changes"].as_array().expect("fields").iter().find(|f| f["field"] == "name").expect("name moved");
    assert_eq!((&name_change["before"], &name_change["after"]), (&json!("Jan Novák"), &json!("Honza")));

    // The compacted snapshot topic: B's card (created, then linked), B's tombstone at the merge,
    // B's card again after unmerge.
    let snapshots = s.kafka.reader(topics::CONTACTS_SNAPSHOT).take(8, WAIT).await;
    let of_b: Vec<bool> =
        snapshots.iter().filter(|m| testkit::key(m).ends_with(b_id)).map(|m| rdkafka::Message::payload(m).is_some()).collect();
    assert_eq!(of_b, [true, true, false, true], "cards, tombstone on merge-away, card after unmerge");
}

#[tokio::test]
async fn identifiers_are_validated_owned_once_and_every_change_is_an_event() {
    let s = common::Directory::start().await;
    let a = create(&s.operator, json!({"identities": [{"kind": "phone", "value": "+420 777 111 222"}]})).await;
    let b = create(&s.operator, json!({})).await;
    let (a_id, b_id) = (a["contact_id"].as_str().expect("id"), b["contact_id"].as_str().expect("id"));

    let (status, problem) = s
        .operator
        .call("POST", &format!("/v1/contacts/{b_id}/identities"), Some(json!({"kind": "phone", "value": "00420777111222"})))
        .await;
    assert_eq!(status, 409, "the same number in another format is the same identifier");
    assert_eq!(problem["owner_contact_id"], a_id);
    let (status, _) = s
        .operator
        .call("POST", &format!("/v1/contacts/{b_id}/identities"), Some(json!({"kind": "email", "value": "not-an-address"})))
        .await;
    assert_eq!(status, 422);
    let (status, _) = s
        .operator
        .call("POST", &format!("/v1/contacts/{b_id}/identities"), Some(json!({"kind": "email", "value": "test@test.com"})))
        .await;
    assert_eq!(status, 422, "blocked values are refused");
    let (status, _) = s
        .operator
        .call(
            "POST",
            &format!("/v1/contacts/{b_id}/identities"),
            Some(json!({"kind": "email", "value": "x@y.cz", "colour": "red"})),
        )
        .await;
    assert_eq!(status, 422, "unknown fields are rejected");

    let (status, card) = s
        .operator
        .call("POST", &format!("/v1/contacts/{b_id}/identities"), Some(json!({"kind": "email", "value": "Eva@Example.CZ"})))
        .await;
    assert_eq!(status, 201);
    let email_id = card["identities"][0]["identity_id"].as_str().expect("identity id").to_owned();
    let (status, card) = s
        .operator
        .call("PATCH", &format!("/v1/contacts/{b_id}/identities/{email_id}"), Some(json!({"value": "eva@novak.cz"})))
        .await;
    assert_eq!(status, 200);
    assert_eq!(card["identities"][0]["value"], "eva@novak.cz");
    assert_eq!(s.operator.call("DELETE", &format!("/v1/contacts/{b_id}/identities/{email_id}"), None).await.0, 204);
    let (status, card) = s.operator.call("PATCH", &format!("/v1/contacts/{b_id}"), Some(json!({"name": "Eva Nováková"}))).await;
    assert_eq!((status, &card["name_source"]), (200, &json!("operator")));
    assert_eq!(s.operator.call("PATCH", &format!("/v1/contacts/{b_id}"), Some(json!({"name": "Eva Nováková"}))).await.0, 200);

    let change_reader = s.kafka.reader(topics::CONTACTS_CHANGES);
    let changes: Vec<Value> = change_reader.take(6, WAIT).await.iter().map(testkit::json).collect();
    assert_eq!(kinds_of(&changes, a_id), ["created"]);
    assert_eq!(
        kinds_of(&changes, b_id),
        ["created", "identifier_added", "identifier_edited", "identifier_removed", "name_changed"],
        "one contact's events stay in order"
    );
    let edited = changes.iter().find(|c| c["kind"] == "identifier_edited").expect("an edit event");
    assert_eq!(edited["changes"][0]["before"]["value"], "eva@example.cz");
    assert_eq!(edited["changes"][0]["after"]["value"], "eva@novak.cz");
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
    let (_, a_card) = s.operator.call("GET", &format!("/v1/contacts/{a_id}"), None).await;
    assert_eq!(a_card["name"], "Someone Else", "a form name fills a contact without a name");
    publish(
        &s.publisher,
        &[interaction("acme", "n2", vec![id(IdentityKind::Phone, "+420777111222")], Some(("Channel Name", NameSource::Channel)))],
    )
    .await;
    reader.take(1, WAIT).await;
    assert_eq!(
        s.operator.call("GET", &format!("/v1/contacts/{a_id}"), None).await.1["name"],
        "Someone Else",
        "a channel name ranks below a form name"
    );
    s.operator.call("PATCH", &format!("/v1/contacts/{a_id}"), Some(json!({"name": "Operátor Jméno"}))).await;
    publish(
        &s.publisher,
        &[interaction("acme", "n3", vec![id(IdentityKind::Phone, "+420777111222")], Some(("Form Again", NameSource::Form)))],
    )
    .await;
    reader.take(1, WAIT).await;
    assert_eq!(s.operator.call("GET", &format!("/v1/contacts/{a_id}"), None).await.1["name"], "Operátor Jméno");
}

#[tokio::test]
async fn linked_conversations_custom_identifiers_blocked_and_shared_values_steer_resolution() {
    let s = common::Directory::start().await;
    let reader = s.kafka.reader(topics::INTERACTIONS_RESOLVED);
    let resolve = |event: contracts::InteractionEvent| {
        let (publisher, reader) = (&s.publisher, &reader);
        async move {
            publish(publisher, &[event]).await;
            testkit::json(&reader.take(1, WAIT).await[0])
        }
    };

    // Custom identifiers: only defined parameters flagged as identifying match.
    assert_eq!(
        s.operator
            .call(
                "POST",
                "/v1/identifier-definitions",
                Some(json!({"name": "crm_id", "label": "CRM", "identifies_client": true}))
            )
            .await
            .0,
        403
    );
    assert_eq!(
        s.admin
            .call(
                "POST",
                "/v1/identifier-definitions",
                Some(json!({"name": "crm_id", "label": "CRM", "identifies_client": true}))
            )
            .await
            .0,
        201
    );
    let crm = create(&s.operator, json!({"identities": [{"kind": "custom", "value": "CRM-77", "scope": "crm_id"}]})).await;
    let mut by_crm = interaction("acme", "crm", vec![id(IdentityKind::Email, "new@novak.cz")], None);
    by_crm.body.parameters.insert("crm_id".into(), "CRM-77".into());
    let resolved = resolve(by_crm).await;
    assert_eq!(resolved["contact_id"], crm["contact_id"]);
    assert_eq!(resolved["resolution"]["matched_by"], json!({"kind": "custom", "value": "CRM-77", "scope": "crm_id"}));
    assert_eq!(
        s.admin.call("PATCH", "/v1/identifier-definitions/crm_id", Some(json!({"identifies_client": false}))).await.0,
        200
    );
    let mut off = interaction("acme", "crm-off", vec![id(IdentityKind::Email, "other@novak.cz")], None);
    off.body.parameters.insert("crm_id".into(), "CRM-77".into());
    assert_ne!(
        resolve(off).await["contact_id"],
        crm["contact_id"],
        "a parameter that no longer identifies the client never matches"
    );

    // A conversation linked by an operator wins over identifiers, and the contact learns them.
    let target = create(&s.operator, json!({"name": "Linked"})).await;
    s.operator.call("POST", "/v1/conversations/session-linked/link", Some(json!({"contact_id": target["contact_id"]}))).await;
    let linked = resolve(interaction("acme", "linked", vec![id(IdentityKind::Email, "visitor@novak.cz")], None)).await;
    assert_eq!(linked["contact_id"], target["contact_id"]);
    assert_eq!(linked["resolution"]["matched_by"]["kind"], "conversation_link");
    let (_, card) = s.operator.call("GET", &format!("/v1/contacts/{}", target["contact_id"].as_str().expect("id")), None).await;
    assert_eq!(identities(&card), [("email".to_owned(), "visitor@novak.cz".to_owned())]);
    assert_eq!(s.operator.call("POST", "/v1/conversations/session-linked/unlink", None).await.0, 204);

    // Blocked values never match nor attach; the decision says why.
    assert_eq!(s.admin.call("POST", "/v1/blocked-values", Some(json!({"kind": "phone", "pattern": "+420800*"}))).await.0, 201);
    let blocked = resolve(interaction(
        "acme",
        "blocked",
        vec![id(IdentityKind::Phone, "800 123 456"), id(IdentityKind::Email, "noreply@shop.cz")],
        None,
    ))
    .await;
    let reasons: Vec<&str> = blocked["resolution"]["ignored"]
        .as_array()
        .expect("ignored")
        .iter()
        .map(|i| i["reason"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(reasons, ["blocked", "blocked"]);

    // A value held by three contacts (knowingly shared) stops being used for matching.
    let mut holders = Vec::new();
    for _ in 0..3 {
        let contact = create(&s.operator, json!({})).await;
        let path = format!("/v1/contacts/{}/identities", contact["contact_id"].as_str().expect("id"));
        let (status, _) =
            s.operator.call("POST", &path, Some(json!({"kind": "phone", "value": "+420222111000", "shared": true}))).await;
        assert_eq!(status, 201);
        holders.push(contact["contact_id"].clone());
    }
    let shared = resolve(interaction("acme", "switchboard", vec![id(IdentityKind::Phone, "+420222111000")], None)).await;
    assert!(!holders.contains(&shared["contact_id"]), "a switchboard number attaches to nobody");
    assert_eq!(shared["resolution"]["ignored"][0]["reason"], "shared");
}

#[tokio::test]
async fn deleting_with_erasure_frees_identifiers_and_tells_consumers() {
    let s = common::Directory::start().await;
    let card = create(&s.operator, json!({"name": "Smazat", "identities": [{"kind": "email", "value": "gone@novak.cz"}]})).await;
    let contact = card["contact_id"].as_str().expect("id");
    assert_eq!(s.other_tenant.call("DELETE", &format!("/v1/contacts/{contact}?erase=true"), None).await.0, 404);
    assert_eq!(
        s.operator.call("DELETE", &format!("/v1/contacts/{contact}?erase=true"), None).await.0,
        403,
        "erasure is an admin's"
    );
    assert_eq!(s.admin.call("DELETE", &format!("/v1/contacts/{contact}?erase=true"), None).await.0, 204);
    assert_eq!(s.operator.call("GET", &format!("/v1/contacts/{contact}"), None).await.0, 404);

    let changes: Vec<Value> = s.kafka.reader(topics::CONTACTS_CHANGES).take(3, WAIT).await.iter().map(testkit::json).collect();
    let kinds: Vec<&str> = changes.iter().map(|c| c["kind"].as_str().unwrap_or("")).collect();
    assert_eq!(kinds, ["created", "deleted", "erased"]);
    assert!(!changes[1].to_string().contains("gone@novak.cz"), "an erased contact's values are not repeated in events");

    let snapshots = s.kafka.reader(topics::CONTACTS_SNAPSHOT).take(2, WAIT).await;
    assert!(rdkafka::Message::payload(&snapshots[1]).is_none(), "a tombstone on delete");

    let reader = s.kafka.reader(topics::INTERACTIONS_RESOLVED);
    publish(&s.publisher, &[interaction("acme", "back", vec![id(IdentityKind::Email, "gone@novak.cz")], None)]).await;
    let resolved = testkit::json(&reader.take(1, WAIT).await[0]);
    assert_ne!(resolved["contact_id"], contact);
    assert_eq!(resolved["resolution"]["created_contact"], true, "the freed identifier starts a new contact");

    // A contact deleted without erasure can be erased later.
    let later =
        create(&s.operator, json!({"name": "Později", "identities": [{"kind": "email", "value": "later@novak.cz"}]})).await;
    let later = later["contact_id"].as_str().expect("id");
    assert_eq!(s.operator.call("DELETE", &format!("/v1/contacts/{later}"), None).await.0, 204);
    assert_eq!(s.operator.call("DELETE", &format!("/v1/contacts/{later}"), None).await.0, 404, "deleted once");
    assert_eq!(s.admin.call("DELETE", &format!("/v1/contacts/{later}?erase=true"), None).await.0, 204, "erased after");
}

#[tokio::test]
async fn no_endpoint_that_takes_an_id_crosses_tenants() {
    let s = common::Directory::start().await;
    let a = create(&s.operator, json!({"identities": [{"kind": "email", "value": "a@novak.cz"}]})).await;
    let b = create(&s.operator, json!({})).await;
    let c = create(&s.operator, json!({})).await;
    let (a_id, b_id) = (a["contact_id"].as_str().expect("id"), b["contact_id"].as_str().expect("id"));
    let c_id = c["contact_id"].as_str().expect("id");
    let identity_id = a["identities"][0]["identity_id"].as_str().expect("identity id");
    let (_, merged) =
        s.operator.call("POST", &format!("/v1/contacts/{a_id}/merge"), Some(json!({"merged_contact_id": b_id}))).await;
    let merge_id = merged["merge_id"].as_str().expect("merge id");
    let foreign = &s.other_tenant;
    for (method, path, body) in [
        ("GET", format!("/v1/contacts/{a_id}"), None),
        ("PATCH", format!("/v1/contacts/{a_id}"), Some(json!({"name": "x"}))),
        ("DELETE", format!("/v1/contacts/{a_id}"), None),
        ("POST", format!("/v1/contacts/{a_id}/identities"), Some(json!({"kind": "email", "value": "x@novak.cz"}))),
        ("PATCH", format!("/v1/contacts/{a_id}/identities/{identity_id}"), Some(json!({"value": "y@novak.cz"}))),
        ("DELETE", format!("/v1/contacts/{a_id}/identities/{identity_id}"), None),
        ("POST", format!("/v1/contacts/{a_id}/merge"), Some(json!({"merged_contact_id": b_id}))),
        ("POST", format!("/v1/merges/{merge_id}/unmerge"), None),
        ("POST", "/v1/conversations/c1/link".to_owned(), Some(json!({"contact_id": a_id}))),
        ("GET", format!("/v1/contacts/{a_id}/merge-preview?with={c_id}"), None),
        ("GET", format!("/v1/contacts/{c_id}/merge-preview?with={a_id}"), None),
        ("POST", "/v1/duplicates/accept".to_owned(), Some(json!({"contact_a": a_id, "contact_b": c_id}))),
    ] {
        let (status, body) = foreign.call(method, &path, body).await;
        assert_eq!(status, 404, "{method} {path}: {body}");
    }
    let (_, list) = foreign.call("GET", "/v1/contacts", None).await;
    assert_eq!(list["items"], json!([]));
    let (_, duplicates) = foreign.call("GET", "/v1/duplicates", None).await;
    assert_eq!(duplicates["items"], json!([]));
    assert_eq!(s.operator.call("GET", &format!("/v1/contacts/{a_id}"), None).await.0, 200, "the owner still sees it");
}

#[tokio::test]
async fn the_contact_list_filters_by_text_without_diacritics_email_phone_and_identifier() {
    let s = common::Directory::start().await;
    let jiri =
        create(&s.operator, json!({"name": "Jiří Novák", "identities": [{"kind": "phone", "value": "+420 602 123 456"}]})).await;
    create(&s.operator, json!({"name": "Eva Svobodová", "identities": [{"kind": "email", "value": "eva@svoboda.cz"}]})).await;
    let names = |page: &Value| -> Vec<String> {
        page["items"].as_array().expect("items").iter().map(|c| c["name"].as_str().unwrap_or("").to_owned()).collect()
    };
    assert_eq!(names(&s.operator.call("GET", "/v1/contacts?q=jiri%20novak", None).await.1), ["Jiří Novák"]);
    assert_eq!(names(&s.operator.call("GET", "/v1/contacts?email=EVA@svoboda.cz", None).await.1), ["Eva Svobodová"]);
    assert_eq!(names(&s.operator.call("GET", "/v1/contacts?phone=00420602123456", None).await.1), ["Jiří Novák"]);
    assert_eq!(names(&s.operator.call("GET", "/v1/contacts?identifier=phone:%2B420602123456", None).await.1), ["Jiří Novák"]);
    let (_, first) = s.operator.call("GET", "/v1/contacts?limit=1", None).await;
    let cursor = first["next_cursor"].as_str().expect("a second page");
    let (_, second) = s.operator.call("GET", &format!("/v1/contacts?limit=1&cursor={cursor}"), None).await;
    assert_eq!(second["items"][0]["contact_id"], jiri["contact_id"], "newest first, then older");
    assert_eq!(s.operator.call("GET", "/v1/contacts?phone=hello", None).await.0, 400);
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
    let (a_id, b_id) = (a["contact_id"].as_str().expect("id"), b["contact_id"].as_str().expect("id"));
    s.operator.call("POST", "/v1/conversations/conv-b/link", Some(json!({"contact_id": b_id}))).await;
    let changes = s.kafka.reader(topics::CONTACTS_CHANGES);
    changes.take(3, WAIT).await;

    let (status, preview) = s.operator.call("GET", &format!("/v1/contacts/{a_id}/merge-preview?with={b_id}"), None).await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!((&preview["survivor"]["contact_id"], &preview["merged"]["contact_id"]), (&json!(a_id), &json!(b_id)));
    assert_eq!(preview["survivor"]["identities"].as_array().map(Vec::len), Some(2), "the survivor's full card");
    assert_eq!(
        preview["conflicts"],
        json!([{"field": "name", "survivor": {"value": "Jan Novák", "source": "operator"},
                "merged": {"value": "Honza Novák", "source": "operator"}, "choose_with": "name: survivor | merged"}])
    );
    assert_eq!(
        preview["combined"],
        json!([{"kind": "email", "scope": null, "survivor": ["jan@novak.cz"], "merged": ["honza@novak.cz"]}]),
        "two e-mails are combined, not a conflict; kinds only one side holds are neither"
    );
    assert_eq!(preview["moves"], json!({"identities": 2, "conversation_links": 1}));

    let (_, a_after) = s.operator.call("GET", &format!("/v1/contacts/{a_id}"), None).await;
    let (_, b_after) = s.operator.call("GET", &format!("/v1/contacts/{b_id}"), None).await;
    assert_eq!((a_after, b_after), (a.clone(), b.clone()), "a preview changes nothing");
    assert!(s.published(&changes).await.is_empty(), "a preview emits no events");

    let same_name = create(&s.operator, json!({"name": "Jan Novák"})).await;
    let path = format!("/v1/contacts/{a_id}/merge-preview?with={}", same_name["contact_id"].as_str().expect("id"));
    assert_eq!(s.operator.call("GET", &path, None).await.1["conflicts"], json!([]), "equal names do not conflict");

    let unknown = uuid::Uuid::new_v4();
    for (query, expected) in [
        (format!("with={a_id}"), 422),
        (format!("with={unknown}"), 404),
        ("with=not-a-uuid".to_owned(), 400),
        (String::new(), 400),
    ] {
        let (status, body) = s.operator.call("GET", &format!("/v1/contacts/{a_id}/merge-preview?{query}"), None).await;
        assert_eq!(status, expected, "?{query}: {body}");
        assert!(body["detail"].is_string(), "a problem+json answer: {body}");
    }
    let merged_away =
        s.operator.call("POST", &format!("/v1/contacts/{a_id}/merge"), Some(json!({"merged_contact_id": b_id}))).await;
    assert_eq!(merged_away.0, 200);
    assert_eq!(
        s.operator.call("GET", &format!("/v1/contacts/{a_id}/merge-preview?with={b_id}"), None).await.0,
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
    let (older_id, newer_id) = (older["contact_id"].as_str().expect("id"), newer["contact_id"].as_str().expect("id"));
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
    let (_, duplicates) = s.operator.call("GET", "/v1/duplicates", None).await;
    assert_eq!(duplicates["items"].as_array().map(Vec::len), Some(1), "{duplicates}");

    let pair = json!({"contact_a": newer_id, "contact_b": older_id});
    assert_eq!(s.other_tenant.call("POST", "/v1/duplicates/accept", Some(pair.clone())).await.0, 404, "another tenant's pair");
    let stranger = uuid::Uuid::new_v4();
    let (status, _) = s
        .operator
        .call("POST", "/v1/duplicates/accept", Some(json!({"contact_a": newer_id, "contact_b": older_id, "survivor": stranger})))
        .await;
    assert_eq!(status, 422, "the survivor must be one of the pair");
    let (status, _) =
        s.operator.call("POST", "/v1/duplicates/accept", Some(json!({"contact_a": older_id, "contact_b": stranger}))).await;
    assert_eq!(status, 404, "no such suggestion");

    let (status, accepted) = s.operator.call("POST", "/v1/duplicates/accept", Some(pair.clone())).await;
    assert_eq!(status, 200, "{accepted}");
    assert_eq!(accepted["survivor"]["contact_id"], older_id, "the older contact survives by default");
    assert_eq!(accepted["survivor"]["name"], "Jana Dvořáková");
    assert_eq!(
        identities(&accepted["survivor"]),
        [("email".to_owned(), "jana@dvorak.cz".to_owned()), ("phone".to_owned(), "+420603222333".to_owned())]
    );
    assert_eq!(s.operator.call("GET", &format!("/v1/contacts/{newer_id}"), None).await.1["merged_into"], older_id);
    assert_eq!(s.operator.call("GET", "/v1/duplicates", None).await.1["items"], json!([]), "the suggestion is merged");
    assert_eq!(s.operator.call("POST", "/v1/duplicates/accept", Some(pair)).await.0, 404, "accepted once");

    let changes: Vec<Value> = s
        .kafka
        .reader(topics::CONTACTS_CHANGES)
        .until(WAIT, |m| m.iter().any(|m| testkit::json(m)["kind"] == "merged"))
        .await
        .iter()
        .map(testkit::json)
        .collect();
    let merged = changes.iter().find(|c| c["kind"] == "merged").expect("a merged event");
    assert_eq!((&merged["contact_id"], &merged["related_contact_id"]), (&json!(older_id), &json!(newer_id)));
    assert_eq!(merged["reason"], "duplicate suggestion accepted");

    // The merge is journaled like any other: it can be undone.
    let merge_id = accepted["merge_id"].as_str().expect("merge id");
    assert_eq!(s.operator.call("POST", &format!("/v1/merges/{merge_id}/unmerge"), None).await.0, 200);
}

/// What the console reads besides the cards: a card's merge history (to unmerge from it), a
/// conversation's link (the session panel) and the blocked values (settings, admins only).
#[tokio::test]
async fn merge_history_conversation_links_and_blocked_values_can_be_read_back() {
    let s = common::Directory::start().await;
    let a = create(&s.operator, json!({"name": "Eva Malá", "identities": [{"kind": "email", "value": "eva@mala.cz"}]})).await;
    let b = create(&s.operator, json!({"name": "Eva M.", "identities": [{"kind": "phone", "value": "604 111 222"}]})).await;
    let (a_id, b_id) = (a["contact_id"].as_str().expect("id"), b["contact_id"].as_str().expect("id"));
    assert_eq!(s.operator.call("GET", &format!("/v1/contacts/{a_id}/merges"), None).await.1, json!({"items": []}));

    let (_, merged) =
        s.operator.call("POST", &format!("/v1/contacts/{a_id}/merge"), Some(json!({"merged_contact_id": b_id}))).await;
    let merge_id = merged["merge_id"].as_str().expect("merge id");
    for contact in [a_id, b_id] {
        let (status, history) = s.operator.call("GET", &format!("/v1/contacts/{contact}/merges"), None).await;
        assert_eq!(status, 200, "{history}");
        let items = history["items"].as_array().expect("items");
        assert_eq!(items.len(), 1, "both sides see the merge: {history}");
        assert_eq!(
            (&items[0]["merge_id"], &items[0]["survivor_id"], &items[0]["merged_id"]),
            (&json!(merge_id), &json!(a_id), &json!(b_id))
        );
        assert_eq!(items[0]["merged_by"], "test-operator");
        assert_eq!(items[0]["unmerged_at"], Value::Null);
    }
    assert_eq!(s.operator.call("POST", &format!("/v1/merges/{merge_id}/unmerge"), None).await.0, 200);
    let (_, history) = s.operator.call("GET", &format!("/v1/contacts/{a_id}/merges"), None).await;
    assert!(history["items"][0]["unmerged_at"].is_string(), "an unmerged merge says when: {history}");
    assert_eq!(s.other_tenant.call("GET", &format!("/v1/contacts/{a_id}/merges"), None).await.1, json!({"items": []}));

    let conversation = "218374651:512093847";
    let link = format!("/v1/conversations/{}/link", conversation.replace(':', "%3A"));
    assert_eq!(s.operator.call("GET", &link, None).await.0, 404, "not linked yet");
    assert_eq!(s.operator.call("POST", &link, Some(json!({"contact_id": b_id}))).await.0, 200);
    let (status, found) = s.operator.call("GET", &link, None).await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(
        (&found["conversation_ref"], &found["contact_id"], &found["linked_by"]),
        (&json!(conversation), &json!(b_id), &json!("test-operator"))
    );
    assert_eq!(s.other_tenant.call("GET", &link, None).await.0, 404, "another tenant's link does not exist");

    assert_eq!(s.operator.call("GET", "/v1/blocked-values", None).await.0, 403, "admins only");
    let block = json!({"kind": "email", "pattern": "*@acme.cz", "reason": "own"});
    assert_eq!(s.admin.call("POST", "/v1/blocked-values", Some(block)).await.0, 201);
    assert_eq!(s.admin.call("POST", "/v1/blocked-values", Some(json!({"pattern": "0000*"}))).await.0, 201);
    let (status, blocked) = s.admin.call("GET", "/v1/blocked-values", None).await;
    assert_eq!(status, 200, "{blocked}");
    assert_eq!(
        blocked["items"],
        json!([{"kind": null, "pattern": "0000*", "reason": "blocked"}, {"kind": "email", "pattern": "*@acme.cz", "reason": "own"}])
    );
    assert_eq!(s.other_tenant.call("GET", "/v1/blocked-values", None).await.1, json!({"items": []}));
}
