//! Convergence: the same interactions, loaded in two different orders, end in the same outcome
//! wherever the rules promise it (README, "Resolution"):
//! - under `auto_merge = never`, which interactions an operator sees as one person — on one card,
//!   or on cards the duplicates queue pairs — is independent of order;
//! - under `auto_merge = verified`, with verified identifiers, the cards themselves are: the same
//!   interactions on one card, with the same identifiers.
//!
//! Each ordering runs as its own tenant on one resolver, so both see the same rules and code.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::{count, interaction, publish, start};
use contracts::{Identity, IdentityKind, InteractionEvent};
use runtime::kafka::Publisher;
use testkit::{eventually, fresh_database, TestKafka};
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(90);
const PEOPLE: usize = 12;

/// One person's identifiers (all verified: asserted by the channel).
fn psid(p: usize) -> Identity {
    Identity::new(IdentityKind::Psid, format!("6254{p:012}"), Some("104729361234567".into()))
}
fn email(p: usize) -> Identity {
    Identity::new(IdentityKind::Email, format!("zakaznik.{p}@posta-klient.cz"), None)
}
fn phone(p: usize) -> Identity {
    Identity::new(IdentityKind::Phone, format!("+420606{p:06}"), None)
}

/// Every person writes from each identifier alone and once from two at a time, so which card
/// an interaction finds depends on what came before it.
fn story(tenant: &str) -> Vec<(usize, InteractionEvent)> {
    let mut events = Vec::new();
    for p in 0..PEOPLE {
        let shapes = [vec![psid(p)], vec![email(p)], vec![phone(p)], vec![psid(p), email(p)], vec![email(p), phone(p)]];
        for (n, identities) in shapes.into_iter().enumerate() {
            events.push((p, interaction(tenant, &format!("p{p}-i{n}"), identities, None)));
        }
    }
    events
}

/// A shuffle that is the same on every run (a fixed linear congruential sequence).
fn shuffled<T>(mut items: Vec<T>) -> Vec<T> {
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    for i in (1..items.len()).rev() {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        items.swap(i, (state >> 33) as usize % (i + 1));
    }
    items
}

/// Where each interaction ended (the card it is on now, following merges) and which cards
/// the duplicates queue pairs.
struct Outcome {
    card_of: BTreeMap<Uuid, Uuid>,
    suggested: Vec<(Uuid, Uuid)>,
    identities_of: BTreeMap<Uuid, BTreeSet<String>>,
}

async fn outcome(pool: &sqlx::PgPool, tenant: &str) -> Outcome {
    let rows: Vec<(Uuid, Uuid)> = sqlx::query_as(
        "WITH RECURSIVE root (contact_id, card) AS (
             SELECT contact_id, contact_id FROM contacts WHERE tenant_id = $1 AND merged_into IS NULL
             UNION ALL
             SELECT c.contact_id, root.card FROM contacts c JOIN root ON c.merged_into = root.contact_id
         )
         SELECT p.interaction_id, root.card FROM processed_interactions p JOIN root USING (contact_id) WHERE p.tenant_id = $1",
    )
    .bind(tenant)
    .fetch_all(pool)
    .await
    .expect("cards");
    let suggested =
        sqlx::query_as("SELECT contact_a, contact_b FROM duplicate_suggestions WHERE tenant_id = $1 AND status = 'open'")
            .bind(tenant)
            .fetch_all(pool)
            .await
            .expect("suggestions");
    let identities: Vec<(Uuid, String)> = sqlx::query_as(
        "SELECT i.contact_id, i.kind || ':' || i.value FROM contact_identities i JOIN contacts c USING (contact_id)
         WHERE c.tenant_id = $1 AND c.merged_into IS NULL",
    )
    .bind(tenant)
    .fetch_all(pool)
    .await
    .expect("identities");
    let mut identities_of = BTreeMap::<Uuid, BTreeSet<String>>::new();
    for (card, identity) in identities {
        identities_of.entry(card).or_default().insert(identity);
    }
    Outcome { card_of: rows.into_iter().collect(), suggested, identities_of }
}

/// Groups of the story's interactions (by their index in `story`) that `linked` puts together.
fn groups(
    story: &[(usize, InteractionEvent)],
    card_of: &BTreeMap<Uuid, Uuid>,
    linked: &[(Uuid, Uuid)],
) -> BTreeSet<BTreeSet<usize>> {
    // Union-find over cards: a suggestion joins its two cards.
    let mut parent: BTreeMap<Uuid, Uuid> = card_of.values().map(|card| (*card, *card)).collect();
    fn find(parent: &mut BTreeMap<Uuid, Uuid>, x: Uuid) -> Uuid {
        let up = *parent.get(&x).unwrap_or(&x);
        if up == x {
            return x;
        }
        let root = find(parent, up);
        parent.insert(x, root);
        root
    }
    for (a, b) in linked {
        let (ra, rb) = (find(&mut parent, *a), find(&mut parent, *b));
        parent.insert(ra, rb);
    }
    let mut by_group = BTreeMap::<Uuid, BTreeSet<usize>>::new();
    for (index, (_, event)) in story.iter().enumerate() {
        let card = card_of.get(&event.interaction_id).unwrap_or_else(|| panic!("interaction {index} has no card"));
        by_group.entry(find(&mut parent, *card)).or_default().insert(index);
    }
    by_group.into_values().collect()
}

/// The people of the story as groups of interaction indexes: what a perfect outcome shows.
fn people(story: &[(usize, InteractionEvent)]) -> BTreeSet<BTreeSet<usize>> {
    let mut by_person = BTreeMap::<usize, BTreeSet<usize>>::new();
    for (index, (person, _)) in story.iter().enumerate() {
        by_person.entry(*person).or_default().insert(index);
    }
    by_person.into_values().collect()
}

#[tokio::test]
async fn one_set_loaded_in_two_orders_ends_the_same_under_both_merge_policies() {
    let (kafka, db) = (TestKafka::start().await, fresh_database());
    let _resolver = start(&kafka, &db, 20).await;
    let pool = testkit::pool(&db, resolver::SCHEMA).await;
    let publisher = Publisher::new(&kafka.settings).expect("publisher");

    let tenants = [
        ("never-in-order", "never"),
        ("never-shuffled", "never"),
        ("verified-in-order", "verified"),
        ("verified-shuffled", "verified"),
    ];
    for (tenant, policy) in tenants {
        sqlx::query("INSERT INTO tenant_settings (tenant_id, auto_merge) VALUES ($1, $2)")
            .bind(tenant)
            .bind(policy)
            .execute(&pool)
            .await
            .expect("tenant policy");
        let events: Vec<InteractionEvent> = story(tenant).into_iter().map(|(_, event)| event).collect();
        let events = if tenant.ends_with("shuffled") { shuffled(events) } else { events };
        publish(&publisher, &events).await;
    }
    let total = (tenants.len() * PEOPLE * 5) as i64;
    eventually(WAIT, "every interaction resolved", || async {
        (count(&pool, "SELECT count(*) FROM processed_interactions").await == total).then_some(())
    })
    .await;

    let mut seen = BTreeMap::new();
    for (tenant, _) in tenants {
        let story = story(tenant);
        let outcome = outcome(&pool, tenant).await;
        let as_one_person = groups(&story, &outcome.card_of, &outcome.suggested);
        let on_one_card = groups(&story, &outcome.card_of, &[]);
        let identities: BTreeSet<BTreeSet<String>> = outcome.identities_of.into_values().collect();
        seen.insert(tenant, (as_one_person, on_one_card, identities));
    }
    let expected = people(&story("any"));
    for (tenant, (as_one_person, _, _)) in &seen {
        assert_eq!(
            as_one_person, &expected,
            "{tenant}: every person is one card or cards the duplicates queue pairs, nobody else"
        );
    }
    let (in_order, shuffled) = (&seen["verified-in-order"], &seen["verified-shuffled"]);
    assert_eq!(in_order.1, expected, "auto_merge = verified: one card per person");
    assert_eq!(
        (&in_order.1, &in_order.2),
        (&shuffled.1, &shuffled.2),
        "auto_merge = verified: the same cards with the same identifiers in either order"
    );
    assert_eq!(in_order.2.len(), PEOPLE);
    assert!(in_order.2.iter().all(|card| card.len() == 3), "each card holds the person's three identifiers: {:?}", in_order.2);
}
