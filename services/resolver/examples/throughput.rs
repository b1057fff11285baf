//! Resolver throughput: the same ingested interactions resolved once message by message (the
//! baseline: one transaction and one offset commit per message) and once in batches (one
//! transaction per batch), each into a fresh database, measured in the same run.
//!
//! ```sh
//! cargo run --release -p resolver --example throughput -- --interactions 20000 [--brokers host:port]
//! ```

use std::time::{Duration, Instant};

use contracts::{topics, Channel, Content, Direction, Identity, IdentityKind, InteractionBody, InteractionEvent};
use runtime::kafka::Publisher;
use runtime::shutdown::CancellationToken;
use testkit::TestKafka;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

/// `n` interactions by `n / 4` people, each writing from a PSID, an e-mail and a phone.
fn events(n: usize) -> Vec<InteractionEvent> {
    let people = (n / 4).max(1);
    (0..n)
        .map(|i| {
            let p = i % people;
            InteractionEvent::new(
                "bench",
                InteractionBody {
                    channel: Channel::Webchat,
                    direction: Direction::Inbound,
                    occurred_at: chrono::Utc::now(),
                    provider_ref: format!("m-{i}"),
                    conversation_ref: Some(format!("s-{p}")),
                    identities: vec![
                        Identity::new(IdentityKind::Psid, format!("psid-{p}"), Some("page".into())),
                        Identity::new(IdentityKind::Email, format!("person{p}@bench-mail.cz"), None),
                        Identity::new(IdentityKind::Phone, format!("+4207{:08}", 10_000_000 + p), None),
                    ],
                    profile: None,
                    content: Some(Content { text: Some(format!("zpráva číslo {i}")), ..Content::default() }),
                    call: None,
                    parameters: Default::default(),
                    reaction: None,
                    event: None,
                    sanitized: Vec::new(),
                },
            )
        })
        .collect()
}

/// Resolves the topic into a fresh database; returns how many interactions were timed and how long they took.
async fn run(kafka: &TestKafka, batch_size: usize, n: usize) -> anyhow::Result<(usize, Duration)> {
    let database = testkit::fresh_database();
    let mut settings = kafka.settings_for(&database, resolver::Config::default());
    settings.kafka.batch_size = batch_size;
    settings.kafka.group_prefix = format!("bench-{}", uuid::Uuid::new_v4().simple());
    let shutdown = CancellationToken::new();
    let launched = Instant::now();
    let running = resolver::start(&settings, Publisher::new(&settings.kafka)?, shutdown.clone()).await?;
    let pool = testkit::pool(&database, resolver::SCHEMA).await;
    // The clock starts at the first resolved interaction, so joining the consumer group
    // (seconds on the mock cluster) is not counted as resolution time.
    let mut started = None;
    loop {
        let done: i64 = sqlx::query_scalar("SELECT count(*) FROM processed_interactions").fetch_one(&pool).await?;
        if done > 0 && started.is_none() {
            started = Some((Instant::now(), done));
        }
        if done as usize >= n {
            break;
        }
        anyhow::ensure!(launched.elapsed() < Duration::from_secs(1800), "gave up after 30 minutes at {done} of {n}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let (first_seen, already) = started.unwrap_or((Instant::now(), 0));
    let measured = (n - already as usize, first_seen.elapsed());
    shutdown.cancel();
    running.wait().await?;
    Ok(measured)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n: usize = arg("--interactions").map(|v| v.parse()).transpose()?.unwrap_or(20_000);
    let kafka = match arg("--brokers") {
        Some(brokers) => TestKafka::on_brokers(&brokers).await,
        None => TestKafka::start().await,
    };
    let publisher = Publisher::new(&kafka.settings)?;
    let events = events(n);
    let load = Instant::now();
    for chunk in events.chunks(1000) {
        let sends = chunk.iter().map(|e| publisher.publish_event(e));
        for result in futures::future::join_all(sends).await {
            result?;
        }
    }
    println!("loaded {n} interactions into {} in {:.1} s", topics::INTERACTIONS_INGESTED, load.elapsed().as_secs_f64());

    println!("\n{:<34} {:>12} {:>10} {:>16} {:>8}", "mode", "interactions", "seconds", "interactions/s", "ratio");
    let (timed, baseline) = run(&kafka, 1, n).await?;
    let baseline_rate = timed as f64 / baseline.as_secs_f64();
    println!(
        "{:<34} {timed:>12} {:>10.2} {baseline_rate:>16.0} {:>8.2}",
        "per message (baseline, batch 1)",
        baseline.as_secs_f64(),
        1.0
    );
    for batch in [64, 256] {
        let (timed, elapsed) = run(&kafka, batch, n).await?;
        let rate = timed as f64 / elapsed.as_secs_f64();
        println!(
            "{:<34} {timed:>12} {:>10.2} {rate:>16.0} {:>8.2}",
            format!("batched (batch {batch})"),
            elapsed.as_secs_f64(),
            rate / baseline_rate
        );
    }
    Ok(())
}
