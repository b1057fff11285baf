//! Resolution through Kafka and PostgreSQL: events in `interactions.ingested`, decisions read
//! back from `interactions.resolved`, `contacts.changes` and the directory tables.

mod common;

use std::time::Duration;

use common::{count, id, interaction, publish, start, Api};
use contracts::api::directory::{Card, ContactPage};
use contracts::{
    topics, Actor, Confidence, ContactChange, ContactChangeKind, ContactSnapshot, IdentityKind, IgnoreReason, MatchedBy,
    NameSource, ResolvedInteraction,
};
use runtime::http::auth::Role;
use runtime::kafka::Publisher;
use testkit::{decode, fresh_database, TestKafka};

const WAIT: Duration = Duration::from_secs(60);

#[tokio::test]
async fn a_new_identity_creates_a_contact_and_the_next_interaction_attaches_to_it() {
    let (kafka, db) = (TestKafka::start().await, fresh_database());
    let _resolver = start(&kafka, &db, 50).await;
    let publisher = Publisher::new(&kafka.settings).expect("publisher");
    let psid = || contracts::Identity::new(IdentityKind::Psid, "6254981234567890", Some("104729361234567".into()));
    publish(&publisher, &[interaction("acme", "m1", vec![psid()], None), interaction("acme", "m2", vec![psid()], None)]).await;

    let resolved: Vec<ResolvedInteraction> =
        kafka.reader(topics::INTERACTIONS_RESOLVED).take(2, WAIT).await.iter().map(decode).collect();
    assert_eq!(resolved[0].contact_id, resolved[1].contact_id);
    assert!(resolved[0].resolution.created_contact);
    assert_eq!(resolved[0].resolution.matched_by, None);
    assert!(!resolved[1].resolution.created_contact);
    assert_eq!(
        resolved[1].resolution.matched_by,
        Some(MatchedBy { kind: IdentityKind::Psid, value: "6254981234567890".into(), scope: Some("104729361234567".into()) })
    );

    let pool = testkit::pool(&db, resolver::SCHEMA).await;
    assert_eq!(count(&pool, "SELECT count(*) FROM contacts").await, 1);
    assert_eq!(
        count(&pool, "SELECT count(*) FROM contact_identities WHERE kind = 'psid' AND scope = '104729361234567'").await,
        1
    );
    assert_eq!(count(&pool, "SELECT count(*) FROM processed_interactions").await, 2);

    let change: ContactChange = decode(&kafka.reader(topics::CONTACTS_CHANGES).take(1, WAIT).await[0]);
    assert_eq!(change.kind, ContactChangeKind::Created);
    assert_eq!(Some(change.contact_id), resolved[0].contact_id);
    assert!(matches!(change.actor, Actor::Channel { .. }), "{:?}", change.actor);
    assert_eq!(change.changes[0].field, "identities.psid");
    let snapshot: ContactSnapshot = decode(&kafka.reader(topics::CONTACTS_SNAPSHOT).take(1, WAIT).await[0]);
    assert_eq!(snapshot.identities[0].value, "6254981234567890");
}

#[tokio::test]
async fn redelivered_interactions_change_nothing() {
    let (kafka, db) = (TestKafka::start().await, fresh_database());
    let _resolver = start(&kafka, &db, 50).await;
    let publisher = Publisher::new(&kafka.settings).expect("publisher");
    let event = interaction(
        "acme",
        "dup-1",
        vec![id(IdentityKind::Email, "jan.novak@example.cz")],
        Some(("Jan Novák", NameSource::Form)),
    );
    publish(&publisher, &[event.clone(), event.clone(), event]).await;

    let resolved: Vec<ResolvedInteraction> =
        kafka.reader(topics::INTERACTIONS_RESOLVED).take(3, WAIT).await.iter().map(decode).collect();
    assert!(resolved.iter().all(|r| r.contact_id == resolved[0].contact_id));
    assert!(resolved.iter().all(|r| r.resolution == resolved[0].resolution), "the stored decision is replayed");
    let pool = testkit::pool(&db, resolver::SCHEMA).await;
    assert_eq!(count(&pool, "SELECT count(*) FROM contacts").await, 1);
    assert_eq!(count(&pool, "SELECT count(*) FROM contact_identities").await, 1);
    assert_eq!(count(&pool, "SELECT count(*) FROM processed_interactions").await, 1);
    assert_eq!(count(&pool, "SELECT count(*) FROM outbox WHERE topic = 'contacts.changes'").await, 1, "one change event only");
}

#[tokio::test]
async fn phone_and_email_format_variants_resolve_to_one_contact_which_learns_new_identities() {
    let (kafka, db) = (TestKafka::start().await, fresh_database());
    let _resolver = start(&kafka, &db, 50).await;
    let publisher = Publisher::new(&kafka.settings).expect("publisher");
    // One after the other: different keys land on different partitions, whose order is free.
    let reader = kafka.reader(topics::INTERACTIONS_RESOLVED);
    let mut resolved: Vec<ResolvedInteraction> = Vec::new();
    for event in [
        interaction("acme", "a", vec![id(IdentityKind::Email, "  Jan.Novak@Example.CZ ")], Some(("Jan Novák", NameSource::Form))),
        interaction(
            "acme",
            "b",
            vec![id(IdentityKind::Phone, "+420 777 123 456"), id(IdentityKind::Email, "jan.novak@example.cz")],
            None,
        ),
        interaction("acme", "c", vec![id(IdentityKind::Phone, "00420777123456")], Some(("jnovak", NameSource::Channel))),
        interaction("acme", "d", vec![id(IdentityKind::Phone, "777123456")], None),
    ] {
        publish(&publisher, &[event]).await;
        resolved.push(decode(&reader.take(1, WAIT).await[0]));
    }
    assert!(resolved.iter().all(|r| r.contact_id == resolved[0].contact_id), "{resolved:#?}");
    let matched_by = |r: &ResolvedInteraction| r.resolution.matched_by.clone().expect("matched");
    assert_eq!(matched_by(&resolved[1]).kind, IdentityKind::Email, "e-mail outranks phone");
    assert_eq!(matched_by(&resolved[2]).value, "+420777123456");
    assert_eq!(matched_by(&resolved[3]).value, "+420777123456", "a national number in the default region");

    let pool = testkit::pool(&db, resolver::SCHEMA).await;
    let identities: Vec<(String, String)> =
        sqlx::query_as("SELECT kind, value FROM contact_identities ORDER BY kind").fetch_all(&pool).await.expect("identities");
    assert_eq!(identities, vec![("email".into(), "jan.novak@example.cz".into()), ("phone".into(), "+420777123456".into())]);
    let name: (String, String) =
        sqlx::query_as("SELECT name, name_source FROM contacts").fetch_one(&pool).await.expect("contact");
    assert_eq!(name, ("Jan Novák".into(), "form".into()), "a channel profile name never replaces a form name");
}

#[tokio::test]
async fn conflicting_identities_attach_to_the_strongest_and_never_merge() {
    let (kafka, db) = (TestKafka::start().await, fresh_database());
    let _resolver = start(&kafka, &db, 1).await;
    let publisher = Publisher::new(&kafka.settings).expect("publisher");
    let reader = kafka.reader(topics::INTERACTIONS_RESOLVED);
    let mut resolved: Vec<ResolvedInteraction> = Vec::new();
    for event in [
        interaction("acme", "p", vec![id(IdentityKind::Phone, "+420777000111")], None),
        interaction("acme", "e", vec![id(IdentityKind::Email, "eva@example.cz")], None),
        interaction(
            "acme",
            "both",
            vec![id(IdentityKind::Phone, "+420777000111"), id(IdentityKind::Email, "eva@example.cz")],
            None,
        ),
    ] {
        publish(&publisher, &[event]).await;
        resolved.push(decode(&reader.take(1, WAIT).await[0]));
    }
    let by_ref = |r: &str| resolved.iter().find(|v| v.interaction.body.provider_ref == r).expect("resolved").clone();
    let (phone_owner, email_owner, both) = (by_ref("p"), by_ref("e"), by_ref("both"));
    assert_ne!(phone_owner.contact_id, email_owner.contact_id);
    assert_eq!(both.contact_id, email_owner.contact_id, "e-mail is stronger than phone");
    assert_eq!(both.resolution.candidates.into_iter().map(Some).collect::<Vec<_>>(), [phone_owner.contact_id]);
    let pool = testkit::pool(&db, resolver::SCHEMA).await;
    assert_eq!(count(&pool, "SELECT count(*) FROM contacts").await, 2);
    assert_eq!(count(&pool, "SELECT count(DISTINCT contact_id) FROM contact_identities").await, 2, "no identity moved");
}

#[tokio::test]
async fn poison_messages_are_dead_lettered_and_the_rest_still_resolves() {
    let (kafka, db) = (TestKafka::start().await, fresh_database());
    let _resolver = start(&kafka, &db, 50).await;
    let publisher = Publisher::new(&kafka.settings).expect("publisher");
    let empty = rdkafka::message::OwnedHeaders::new();
    publisher.send(topics::INTERACTIONS_INGESTED, Some(b"k"), Some(b"{not json"), empty.clone()).await.expect("sent");
    publisher.send(topics::INTERACTIONS_INGESTED, Some(b"k"), Some(br#"{"v":2,"whatever":true}"#), empty).await.expect("sent");
    publish(&publisher, &[interaction("acme", "ok", vec![id(IdentityKind::Vk, "42")], None)]).await;

    let dead = kafka.reader(&topics::dead_letter(topics::INTERACTIONS_INGESTED)).take(2, WAIT).await;
    let payloads: Vec<&[u8]> = dead.iter().map(|m| rdkafka::Message::payload(m).expect("payload kept")).collect();
    assert!(payloads.contains(&&b"{not json"[..]), "the original payload is kept");
    for message in &dead {
        let headers = rdkafka::Message::headers(message).expect("error headers");
        let keys: Vec<&str> = rdkafka::message::Headers::iter(headers).map(|h| h.key).collect();
        assert!(
            keys.contains(&contracts::headers::DLQ_ERROR) && keys.contains(&contracts::headers::DLQ_ORIGIN_OFFSET),
            "{keys:?}"
        );
    }
    let resolved: ResolvedInteraction = decode(&kafka.reader(topics::INTERACTIONS_RESOLVED).take(1, WAIT).await[0]);
    assert_eq!(resolved.interaction.body.provider_ref, "ok");
}

#[tokio::test]
async fn tenants_never_share_contacts_and_the_directory_hides_other_tenants() {
    let (kafka, db) = (TestKafka::start().await, fresh_database());
    let resolver = start(&kafka, &db, 50).await;
    let publisher = Publisher::new(&kafka.settings).expect("publisher");
    let same = || id(IdentityKind::Email, "shared@example.cz");
    publish(&publisher, &[interaction("acme", "x", vec![same()], None), interaction("globex", "x", vec![same()], None)]).await;
    let resolved: Vec<ResolvedInteraction> =
        kafka.reader(topics::INTERACTIONS_RESOLVED).take(2, WAIT).await.iter().map(decode).collect();
    assert_ne!(resolved[0].contact_id, resolved[1].contact_id);
    let acme = resolved.iter().find(|r| r.tenant_id == "acme").expect("acme resolved");
    let contact = acme.contact_id.expect("a contact");

    let (acme_operator, globex_operator) =
        (Api::new(&resolver, "acme", Role::Operator), Api::new(&resolver, "globex", Role::Operator));
    let own = acme_operator.get(&format!("/v1/contacts/{contact}")).await;
    assert_eq!(own.status, 200);
    assert_eq!(own.json::<Card>().identities[0].value, "shared@example.cz");
    assert_eq!(
        globex_operator.get(&format!("/v1/contacts/{contact}")).await.status,
        404,
        "another tenant's contact does not exist"
    );
    let anonymous = axum::http::Request::get(format!("/v1/contacts/{contact}")).body(axum::body::Body::empty()).expect("request");
    assert_eq!(acme_operator.send(anonymous).await.status, 401);
    let list: ContactPage = globex_operator.get("/v1/contacts").await.json();
    assert_eq!(list.items.len(), 1);
    assert_ne!(Some(list.items[0].contact_id), acme.contact_id);
}

/// Everything the resolver owns, as text, to compare before and after a replay.
async fn directory_state(pool: &sqlx::PgPool) -> Vec<String> {
    let mut state = Vec::new();
    for sql in [
        "SELECT contact_id::text || coalesce(name, '') || coalesce(name_source, '') || coalesce(merged_into::text, '') FROM contacts ORDER BY 1",
        "SELECT contact_id::text || kind || scope || value FROM contact_identities ORDER BY 1",
        "SELECT interaction_id::text || coalesce(contact_id::text, '') || coalesce(resolved::text, '') FROM processed_interactions ORDER BY 1",
        "SELECT count(*)::text FROM outbox",
        "SELECT contact_a::text || contact_b::text || status FROM duplicate_suggestions ORDER BY 1",
    ] {
        let rows: Vec<String> = sqlx::query_scalar(sql).fetch_all(pool).await.expect("state query");
        state.extend(rows);
    }
    state
}

#[tokio::test]
async fn replaying_the_whole_ingested_topic_changes_nothing() {
    let (kafka, db) = (TestKafka::start().await, fresh_database());
    let first = start(&kafka, &db, 7).await;
    let publisher = Publisher::new(&kafka.settings).expect("publisher");
    let mut events = Vec::new();
    for i in 0..60 {
        let person = i % 15;
        events.push(interaction(
            "acme",
            &format!("r{i}"),
            vec![
                id(IdentityKind::Email, &format!("p{person}@novak.cz")),
                id(IdentityKind::Phone, &format!("+42060{:07}", person % 10)),
            ],
            Some((&format!("Person {person}"), NameSource::Form)),
        ));
    }
    publish(&publisher, &events).await;
    let pool = testkit::pool(&db, resolver::SCHEMA).await;
    let reader = kafka.reader(topics::INTERACTIONS_RESOLVED);
    let distinct = |m: &[rdkafka::message::OwnedMessage]| testkit::distinct_nested(m, "interaction", "interaction_id").len();
    let resolved = reader.until(WAIT, |m| distinct(m) == events.len()).await;
    let before = directory_state(&pool).await;
    assert!(before.len() > events.len(), "the run produced state to compare");
    first.shutdown.cancel();

    // A new consumer group reads the topic from the beginning into the same database.
    let _replay = common::start_in_group(&kafka, &db, 13, "replay").await;
    let replayed = reader.until(WAIT, |m| m.len() >= events.len()).await;
    assert!(replayed.len() >= events.len());
    let by_id =
        |messages: &[rdkafka::message::OwnedMessage]| -> std::collections::BTreeMap<uuid::Uuid, Option<contracts::ContactId>> {
            messages.iter().map(decode::<ResolvedInteraction>).map(|r| (r.interaction.interaction_id, r.contact_id)).collect()
        };
    assert_eq!(by_id(&replayed), by_id(&resolved), "every replayed interaction resolves to the same contact");
    assert_eq!(directory_state(&pool).await, before, "the replay changed the directory");
}

#[tokio::test]
async fn every_identifier_kind_matches_within_its_scope() {
    let (kafka, db) = (TestKafka::start().await, fresh_database());
    let _resolver = start(&kafka, &db, 50).await;
    let publisher = Publisher::new(&kafka.settings).expect("publisher");
    let reader = kafka.reader(topics::INTERACTIONS_RESOLVED);
    let scoped = |kind, value: &str, scope: &str| contracts::Identity::new(kind, value, Some(scope.to_owned()));
    let mut n = 0;
    let mut resolve = |identities: Vec<contracts::Identity>| {
        n += 1;
        let event = interaction("acme", &format!("k{n}"), identities, None);
        let (publisher, reader) = (&publisher, &reader);
        async move {
            publish(publisher, &[event]).await;
            decode::<ResolvedInteraction>(&reader.take(1, WAIT).await[0])
        }
    };

    // A PSID is per page, a VK id per community, an Apple id per business: the same value in
    // another scope is another person.
    for (kind, value) in
        [(IdentityKind::Psid, "100200300"), (IdentityKind::Vk, "512093847"), (IdentityKind::Apple, "urn:mbid:AQAAY2p7")]
    {
        let first = resolve(vec![scoped(kind, value, "scope-1")]).await;
        let again = resolve(vec![scoped(kind, value, "scope-1")]).await;
        let elsewhere = resolve(vec![scoped(kind, value, "scope-2")]).await;
        assert_eq!(again.contact_id, first.contact_id, "{kind}");
        assert_eq!(again.resolution.matched_by.map(|m| m.kind), Some(kind));
        assert_ne!(elsewhere.contact_id, first.contact_id, "{kind} in another scope");
    }

    // A WhatsApp id is a phone number too: the wa_id and the phone in any format meet.
    let whatsapp = resolve(vec![id(IdentityKind::Whatsapp, "420603111222"), id(IdentityKind::Phone, "420603111222")]).await;
    let by_phone = resolve(vec![id(IdentityKind::Phone, "603 111 222")]).await;
    assert_eq!(by_phone.contact_id, whatsapp.contact_id);
    let by_wa_id = resolve(vec![id(IdentityKind::Whatsapp, "+420 603 111 222")]).await;
    assert_eq!(
        by_wa_id.resolution.matched_by,
        Some(MatchedBy { kind: IdentityKind::Whatsapp, value: "420603111222".into(), scope: None })
    );

    // An explicit contact id (a logged-in visitor) beats every other identifier.
    let other = resolve(vec![id(IdentityKind::Email, "someone@else.cz")]).await;
    let explicit = resolve(vec![
        id(IdentityKind::Email, "someone@else.cz"),
        // The identifier's value is the id as text, as a channel sends it.
        id(IdentityKind::ContactId, &whatsapp.contact_id.expect("a contact").to_string()),
    ])
    .await;
    assert_eq!(explicit.contact_id, whatsapp.contact_id);
    assert_eq!(explicit.resolution.matched_by.map(|m| m.kind), Some(IdentityKind::ContactId));
    assert_eq!(explicit.resolution.candidates.into_iter().map(Some).collect::<Vec<_>>(), [other.contact_id]);
    let unknown = resolve(vec![id(IdentityKind::ContactId, "7f0c0a52-0000-4000-8000-000000000000")]).await;
    assert_eq!(unknown.contact_id, None, "an unknown contact id matches nobody, and creates nobody");
    assert_eq!(unknown.resolution.confidence, Confidence::Unidentified);
    assert_eq!(unknown.resolution.ignored.first().map(|i| i.reason), Some(IgnoreReason::UnknownContact), "{unknown:?}");

    let pool = testkit::pool(&db, resolver::SCHEMA).await;
    assert_eq!(
        count(&pool, "SELECT count(*) FROM contact_identities WHERE kind = 'contact_id'").await,
        0,
        "contact ids are never stored as identities"
    );
}
