//! `bench resolution`: a labelled set of cross-channel people and hostile families
//! ([`generate`]) resolved by the real resolver ([`drive`]) under each `auto_merge` policy, and
//! scored against the labels ([`score`]): wrong attachments and wrong merges, pair recall
//! attached automatically and attached or suggested, per family.
//!
//! ```text
//! bench resolution [--people N] [--cases C] [--seed S] [--brokers host:port] [--explain]
//! ```
//! `--people`: ordinary cross-channel customers (default 2000); `--cases`: cases of each hostile
//! family (default people / 40, at least 3); `--seed` (default 1) names one set; `--explain`
//! prints the first failures (wrong attachments and merges, missed pairs) with their resolutions.

pub mod drive;
pub mod generate;
pub mod score;

use std::time::Instant;

use resolver::resolution::rules::AutoMerge;
use testkit::TestKafka;

pub use generate::{Family, LabelledSet, Shape};
pub use score::{Score, Scores};

/// The policies every set is resolved under.
pub const POLICIES: [(AutoMerge, &str); 2] = [(AutoMerge::Never, "never"), (AutoMerge::Verified, "verified")];

/// Resolves `set` under each policy (at once, each in its own database); the scores in
/// [`POLICIES`] order.
pub async fn evaluate(kafka: &TestKafka, set: &LabelledSet) -> anyhow::Result<Vec<Scores>> {
    let (never, verified) =
        tokio::try_join!(drive::resolve(kafka, set, POLICIES[0].0), drive::resolve(kafka, set, POLICIES[1].0))?;
    Ok(vec![score::score(set, &never), score::score(set, &verified)])
}

fn arg<T: std::str::FromStr>(args: &[String], name: &str) -> anyhow::Result<Option<T>> {
    match args.iter().position(|a| a == name) {
        None => Ok(None),
        Some(i) => {
            let raw = args.get(i + 1).ok_or_else(|| anyhow::anyhow!("{name} needs a value"))?;
            raw.parse().map(Some).map_err(|_| anyhow::anyhow!("{name}: not a number: {raw}"))
        }
    }
}

pub async fn run(args: &[String]) -> anyhow::Result<()> {
    let people: usize = arg(args, "--people")?.unwrap_or(2000);
    let cases: usize = arg(args, "--cases")?.unwrap_or((people / 40).max(3));
    let seed: u64 = arg(args, "--seed")?.unwrap_or(1);
    let brokers: Option<String> = arg(args, "--brokers")?;
    let kafka = match brokers {
        Some(brokers) => TestKafka::on_brokers(&brokers).await,
        None => TestKafka::start().await,
    };
    let set = generate::generate(Shape { people, cases, seed });
    let ambiguous = set.interactions.iter().filter(|l| l.ambiguous).count();
    println!(
        "labelled set: seed {seed}, {} people ({people} cross-channel, {cases} cases of each hostile family), {} interactions ({ambiguous} ambiguous)",
        set.people.len(),
        set.interactions.len()
    );
    for (policy, name) in POLICIES {
        let started = Instant::now();
        let outcome = drive::resolve(&kafka, &set, policy).await?;
        let scores = score::score(&set, &outcome);
        println!("\n{}resolved in {:.1} s", score::table(name, &scores), started.elapsed().as_secs_f64());
        // What the resolver left out and why: role mailboxes and shared values, never a number
        // merely outside the allocated ranges.
        let mut ignored: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
        for (_, resolution) in outcome.resolved.values() {
            for i in resolution.ignored.iter().filter(|i| i.kind != contracts::IdentityKind::ConversationLink) {
                *ignored.entry(format!("{} {}", i.kind, i.reason)).or_default() += 1;
            }
        }
        let ignored: Vec<String> = ignored.iter().map(|(what, n)| format!("{what}: {n}")).collect();
        println!("identifiers ignored: {}", if ignored.is_empty() { "none".to_owned() } else { ignored.join(", ") });
        println!(
            "another person's identifiers held only as typed (a visitor's claim on their own card): {}",
            scores.total().foreign_typed_identifiers
        );
        if args.iter().any(|a| a == "--explain") {
            for failure in &scores.failures {
                println!("{failure}");
            }
        }
    }
    Ok(())
}
