//! `contactd`: every service in one process.
//!
//! ```text
//! contactd demo [--exit]             embedded Kafka + local PostgreSQL, feeds sample webhooks, prints the result,
//!                                    then serves the console on it (or stops, with --exit)
//! contactd serve                     the same services with fixed dev ports, until Ctrl-C
//! contactd token --tenant T --role R a bearer token for the APIs (uses auth.hs256_secret)
//! contactd dlq list <topic>          the dead letters of <topic> (`interactions.ingested`, …) with their reasons
//! contactd dlq replay <topic> [--class C]  sends them back to <topic> (those of class C only)
//! ```

use anyhow::bail;
use contactd::{demo, launcher};
use runtime::http::auth::{issue_hs256, Role};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("demo") => demo::run(!args.iter().any(|a| a == "--exit")).await,
        Some("serve") => launcher::serve().await,
        Some("token") => token(&args[1..]),
        Some("dlq") => dlq(&args[1..]).await,
        _ => {
            eprintln!(
                "usage: contactd demo [--exit] | serve | token --tenant <id> [--role operator|admin|integration] [--ttl <seconds>]\n       \
                 contactd dlq list <topic> | dlq replay <topic> [--class undecodable|permanent|retry_budget_exhausted]"
            );
            std::process::exit(2);
        }
    }
}

fn token(args: &[String]) -> anyhow::Result<()> {
    let mut tenant = None;
    let mut role = Role::Operator;
    let mut ttl = 3600;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| anyhow::anyhow!("{flag} needs a value"))?;
        match flag.as_str() {
            "--tenant" => tenant = Some(value.clone()),
            "--role" => role = serde_json::from_value(serde_json::Value::String(value.clone()))?,
            "--ttl" => ttl = value.parse()?,
            other => bail!("unknown flag {other}"),
        }
    }
    let tenant = tenant.ok_or_else(|| anyhow::anyhow!("--tenant is required"))?;
    let settings = launcher::load_settings(false)?;
    println!("{}", issue_hs256(&settings.auth, "dev-cli", &tenant, role, ttl)?);
    Ok(())
}

/// `dlq list|replay <topic>` against the configured Kafka (`KAFKA_BROKERS`).
async fn dlq(args: &[String]) -> anyhow::Result<()> {
    use runtime::kafka::dead_letters;
    let (Some(action), Some(topic)) = (args.first(), args.get(1)) else {
        bail!("usage: contactd dlq list|replay <topic> [--class C]");
    };
    let dlq_topic = if topic.ends_with(".dlq") { topic.clone() } else { contracts::topics::dead_letter(topic) };
    let settings = launcher::load_settings(false)?;
    anyhow::ensure!(
        !settings.kafka.brokers.is_empty(),
        "set KAFKA_BROKERS (the embedded Kafka lives only inside `contactd serve`)"
    );
    let class = match args.get(2).map(String::as_str) {
        Some("--class") => Some(args.get(3).ok_or_else(|| anyhow::anyhow!("--class needs a value"))?.as_str()),
        Some(other) => bail!("unknown flag {other}"),
        None => None,
    };
    let letters = match action.as_str() {
        "list" => dead_letters::list(&settings.kafka, &dlq_topic)?,
        "replay" => dead_letters::replay(&settings.kafka, &dlq_topic, class).await?,
        other => bail!("unknown dlq action {other}: list or replay"),
    };
    for letter in &letters {
        println!("{}", serde_json::to_string(letter)?);
    }
    let done = if action == "replay" { "replayed".to_owned() } else { format!("in {dlq_topic}") };
    eprintln!("{} dead letter(s) {done}", letters.len());
    Ok(())
}
