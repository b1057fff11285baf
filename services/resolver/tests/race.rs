//! Two resolvers (two partitions) racing: the one whose flush loses decides only that flush
//! again, on a view that sees what the winner committed — set-based, without resolving the batch
//! one by one. Each test holds the winner's transaction open until the loser waits on its lock.

mod common;

use std::time::Duration;

use common::{count, id, interaction};
use contracts::{IdentityKind, MatchedBy};
use resolver::resolution::batch;
use resolver::resolution::rules::{AutoMerge, TenantRules};
use testkit::{eventually, fresh_database};

#[tokio::test(flavor = "multi_thread")]
/// Creating the same identity at the same moment: the loser attaches to the winner's contact.
async fn a_flush_raced_by_another_resolver_is_decided_again_and_attaches_to_the_winner() {
    let database = fresh_database();
    let pool = runtime::db::connect(&database, resolver::SCHEMA, &resolver::MIGRATOR).await.expect("database");
    let defaults = TenantRules::default();
    let phone = id(IdentityKind::Phone, "+420606123456");
    let first = interaction("acme", "first", vec![phone.clone()], None);
    let second = interaction("acme", "second", vec![phone.clone(), id(IdentityKind::Email, "jana@example.cz")], None);

    // The first resolver creates the contact and holds its transaction open.
    let span = tracing::Span::none();
    let mut first_tx = pool.begin().await.expect("begin");
    let won = batch::resolve(&mut first_tx, &defaults, &[(&first, &span)]).await.expect("first batch");
    let winner = won.decisions[0].as_ref().and_then(|d| d.contact_id).expect("a contact created");

    // The second one does not see it yet, decides to create one too, and its insert of the
    // phone waits for the first transaction.
    let racer = {
        let (pool, defaults, second) = (pool.clone(), defaults.clone(), second.clone());
        tokio::spawn(async move {
            let span = tracing::Span::none();
            let mut tx = pool.begin().await.expect("begin");
            let resolved = batch::resolve(&mut tx, &defaults, &[(&second, &span)]).await.expect("second batch");
            tx.commit().await.expect("commit");
            resolved
        })
    };
    let waiting = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'";
    eventually(Duration::from_secs(30), "the second resolver waiting for the phone", || async {
        (count(&pool, waiting).await > 0).then_some(())
    })
    .await;
    first_tx.commit().await.expect("commit");

    let resolved = racer.await.expect("racer task");
    assert_eq!(resolved.raced, 1, "the raced flush (one interaction) was decided again");
    let decision = resolved.decisions[0].as_ref().expect("a decision");
    assert_eq!(decision.contact_id, Some(winner), "attached to the contact the first resolver created");
    assert_eq!(decision.resolution.matched_by.as_ref().map(|m: &MatchedBy| m.kind), Some(IdentityKind::Phone));
    assert!(!decision.resolution.created_contact);
    assert_eq!(count(&pool, "SELECT count(*) FROM contacts").await, 1, "one contact");
    assert_eq!(count(&pool, "SELECT count(*) FROM contact_identities").await, 2, "the phone and the learned e-mail");
    assert_eq!(count(&pool, "SELECT count(*) FROM processed_interactions").await, 2);
    pool.close().await;
}

/// A flush onto a contact another resolver merges meanwhile: the loser's view still saw the
/// merged contact live, so it is decided again once the merge is committed and attaches to the
/// survivor, instead of giving identifiers to a contact that no longer exists on its own.
#[tokio::test(flavor = "multi_thread")]
async fn a_flush_onto_a_contact_merged_meanwhile_is_decided_again_and_attaches_to_the_survivor() {
    let database = fresh_database();
    let pool = runtime::db::connect(&database, resolver::SCHEMA, &resolver::MIGRATOR).await.expect("database");
    let rules = TenantRules { auto_merge: AutoMerge::Verified, ..TenantRules::default() };
    let (psid, email) = (id(IdentityKind::Psid, "6254000000000001"), id(IdentityKind::Email, "jana@example.cz"));
    let span = tracing::Span::none();
    for (reference, identity) in [("from-messenger", &psid), ("from-mail", &email)] {
        let mut tx = pool.begin().await.expect("begin");
        batch::resolve(&mut tx, &rules, &[(&interaction("acme", reference, vec![identity.clone()], None), &span)])
            .await
            .expect("a contact per identifier");
        tx.commit().await.expect("commit");
    }

    // The first resolver sees both verified identifiers together and merges the two contacts,
    // holding its transaction open.
    let both = interaction("acme", "both", vec![psid.clone(), email.clone()], None);
    let mut first_tx = pool.begin().await.expect("begin");
    let merged = batch::resolve(&mut first_tx, &rules, &[(&both, &span)]).await.expect("merging batch");
    let survivor = merged.decisions[0].as_ref().and_then(|d| d.contact_id).expect("the survivor");
    assert_eq!(merged.decisions[0].as_ref().map(|d| d.resolution.merged.len()), Some(1), "one contact merged");

    // The second one still sees the e-mail on its own contact and adds a new phone to it; its
    // flush waits for the contact's lock.
    let phone = id(IdentityKind::Phone, "+420606123456");
    let racer = {
        let (pool, rules, later) = (pool.clone(), rules.clone(), interaction("acme", "later", vec![email.clone(), phone], None));
        tokio::spawn(async move {
            let span = tracing::Span::none();
            let mut tx = pool.begin().await.expect("begin");
            let resolved = batch::resolve(&mut tx, &rules, &[(&later, &span)]).await.expect("second batch");
            tx.commit().await.expect("commit");
            resolved
        })
    };
    let waiting = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'";
    eventually(Duration::from_secs(30), "the second resolver waiting for the contact", || async {
        (count(&pool, waiting).await > 0).then_some(())
    })
    .await;
    first_tx.commit().await.expect("commit");

    let resolved = racer.await.expect("racer task");
    assert_eq!(resolved.raced, 1, "the flush onto the merged contact was decided again");
    let decision = resolved.decisions[0].as_ref().expect("a decision");
    assert_eq!(decision.contact_id, Some(survivor), "attached to the survivor of the merge");
    let on_merged =
        "SELECT count(*) FROM contact_identities i JOIN contacts c USING (contact_id) WHERE c.merged_into IS NOT NULL";
    assert_eq!(count(&pool, on_merged).await, 0, "no identifier on a merged contact");
    assert_eq!(count(&pool, "SELECT count(*) FROM contact_identities").await, 3, "psid, e-mail and phone, all on the survivor");
    pool.close().await;
}
