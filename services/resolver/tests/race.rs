//! Two resolvers (two partitions) creating the same identity at the same moment: the one whose
//! flush loses the race decides only that flush again, on a view that sees the winner's
//! contact, and attaches to it — set-based, without resolving the batch one by one.

mod common;

use std::time::Duration;

use common::{count, id, interaction};
use contracts::{IdentityKind, MatchedBy};
use resolver::resolution::batch;
use resolver::resolution::rules::TenantRules;
use testkit::{eventually, fresh_database};

#[tokio::test(flavor = "multi_thread")]
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
