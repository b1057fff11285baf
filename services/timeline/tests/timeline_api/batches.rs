//! A batch is applied set-based, its grouping decided in memory: it must store exactly what
//! applying its events one batch each stores — same groups, same messages, same aggregates.

use sqlx::PgPool;
use uuid::Uuid;

use crate::support::*;

/// Every row the write path of `interactions.resolved` writes, without the run's own times.
async fn stored(pool: &PgPool) -> Vec<String> {
    let mut rows = Vec::new();
    for table in ["interactions", "interaction_messages", "message_reactions"] {
        // Table names are this list's constants.
        let sql = format!("SELECT (to_jsonb(t) - 'stored_at' - 'updated_at')::text FROM {table} t");
        let mut table_rows: Vec<String> = sqlx::query_scalar(&sql).fetch_all(pool).await.expect("rows");
        table_rows.sort();
        rows.extend(table_rows.into_iter().map(|r| format!("{table} {r}")));
    }
    rows
}

#[tokio::test]
async fn a_batch_groups_its_messages_exactly_as_applying_them_one_by_one_does() {
    let config =
        timeline::Config { conversation_idle_gap_secs: 1000, max_messages_per_interaction: 3, ..timeline::Config::default() };
    let (batched, one_by_one) = (spawn_with(config.clone()).await, spawn_with(config).await);
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    let other = |r: &str, secs| msg(a, r, secs).conversation(Some("conv-2")).text(r);
    let a_msg = |r: &str, secs| msg(a, r, secs).text(r);
    let b_msg = |r: &str, secs| msg(b, r, secs).text(r);
    // Two contacts and two conversations of one contact interleaved; a redelivery; a fourth
    // message past the cap of three; a later state; a reaction; a message that arrives late and
    // closes the gap between two groups of the batch.
    let events = [
        a_msg("a1", 0),
        b_msg("b1", 10),
        a_msg("a2", 100),
        other("x1", 50),
        a_msg("a3", 200),
        a_msg("a2", 100),
        a_msg("a4", 300).outbound(),
        b_msg("b2", 2000),
        msg(a, "a3r", 310).reaction("a3", Some("👍")),
        a_msg("a5", 4000),
        other("x2", 1200),
        a_msg("a7", 6000),
        b_msg("b3", 2500),
        msg(a, "a4", 320).outbound().param("delivery_status", "read").param("delivery_status_at", &rfc3339(320)),
        a_msg("a6", 5000),
    ];
    let events: Vec<_> = events.iter().map(Msg::resolved).collect();

    batched.apply(&events).await;
    for event in &events {
        one_by_one.apply(std::slice::from_ref(event)).await;
    }

    let items = batched.timeline(a, "", "acme").await;
    assert_eq!(texts(&items), ["a5", "x2", "a4", "x1", "a1"], "newest first: {items:#?}");
    let counts: Vec<u32> = interactions(&items).iter().map(|i| i.message_count).collect();
    assert_eq!(counts, [3, 1, 1, 1, 3], "the cap of three holds inside the batch; a6 joins a5 and a7");
    assert_eq!(interactions(&items)[2].details.delivery_status.as_deref(), Some("read"));
    let joined = batched.detail(Msg::id(&a_msg("a7", 6000)), "acme").await;
    assert_eq!(texts(&joined.transcript), ["a5", "a6", "a7"]);
    let first = batched.detail(Msg::id(&a_msg("a1", 0)), "acme").await;
    assert_eq!(texts(&first.transcript), ["a1", "a2", "a3"]);
    assert_eq!(first.transcript[2].reactions.len(), 1, "{:#?}", first.transcript[2]);
    assert_eq!(texts(&batched.timeline(b, "", "acme").await), ["b2", "b1"]);

    let rows = stored(&batched.pool).await;
    assert_eq!(rows, stored(&one_by_one.pool).await, "one batch stores what one batch per event stores");
    batched.apply(&events).await;
    assert_eq!(stored(&batched.pool).await, rows, "redelivering the whole batch changes nothing");
}
