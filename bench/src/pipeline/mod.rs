//! `bench pipeline --interactions N [--connections C] [--latency-seconds S] [--seed X]`
//!
//! Every service of `contactd` in this process (the launcher of `contactd serve`) on the embedded
//! mock cluster, or on the broker of `KAFKA_BROKERS`, and a fresh PostgreSQL database (dropped at
//! the end). In one run:
//!
//! 1. **HTTP baseline**: the same requests, client and connections against a trivial route;
//! 2. **throughput**: N signed webhooks of three channels (see [`workload`]) with C connections;
//!    acceptance rate, then the time until the resolver has decided and the timeline shows the
//!    last one;
//! 3. **latency**: webhooks paced at half the end-to-end rate for S seconds; request start →
//!    visible in the timeline, p50 and p99;
//! 4. **Kafka and PostgreSQL baselines**: consuming the N messages the adapters wrote, producing
//!    the same messages again, and `COPY` of the timeline's own rows into an empty table alike;
//!
//! then prints a table of every stage and, last, the end-to-end rate beside the slowest baseline.

mod baselines;
mod cpu;
mod load;
mod startup;
mod statements;
mod workload;

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use contactd::launcher;
use secrecy::{ExposeSecret, SecretString};
use sqlx::postgres::PgPoolOptions;
use sqlx::{ConnectOptions, PgPool};
use tokio::time::Instant;

use load::{quantile, Table};

/// The topic the producing baseline writes to.
const BASELINE_TOPIC: &str = "bench.baseline";

struct Options {
    interactions: usize,
    connections: usize,
    latency_seconds: f64,
    seed: u64,
}

fn options(args: &[String]) -> anyhow::Result<Options> {
    let mut options = Options { interactions: 10_000, connections: 64, latency_seconds: 10.0, seed: 14 };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--interactions" => options.interactions = value.parse().context("--interactions")?,
            "--connections" => options.connections = value.parse().context("--connections")?,
            "--latency-seconds" => options.latency_seconds = value.parse().context("--latency-seconds")?,
            "--seed" => options.seed = value.parse().context("--seed")?,
            other => bail!(
                "unknown flag {other}; usage: bench pipeline --interactions N [--connections C] [--latency-seconds S] [--seed X]"
            ),
        }
    }
    anyhow::ensure!(options.interactions > 0 && options.connections > 0, "--interactions and --connections must be positive");
    Ok(options)
}

pub async fn run(args: &[String]) -> anyhow::Result<()> {
    let options = options(args)?;
    let mut settings = launcher::load_settings(false)?;
    launcher::quiet_telemetry(&mut settings);
    let _telemetry = runtime::telemetry::init("bench", &settings.telemetry)?;
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let server_url = settings.database.url.expose_secret().to_owned();
    let database = format!("bench_pipeline_{run_id}");
    settings.database.url = SecretString::from(with_database(&server_url, &database));
    settings.kafka.group_prefix = format!("bench-{run_id}");
    // Off: the benchmark reads the tables directly and needs no console port.
    settings.service.resolver.console.enabled = false;
    let external = !settings.kafka.brokers.trim().is_empty();

    let result = measure(&options, settings.clone(), &run_id, external).await;
    let dropped = drop_database(&server_url, &database).await;
    let report = result?;
    dropped?;
    report.print(external);
    Ok(())
}

/// `url` with its database replaced by `database`.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let server = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{server}/{database}?{query}"),
        None => format!("{server}/{database}"),
    }
}

async fn drop_database(server_url: &str, database: &str) -> anyhow::Result<()> {
    let settings = runtime::settings::DatabaseSettings { url: SecretString::from(server_url.to_owned()), ..Default::default() };
    let mut admin = runtime::db::connect_options(&settings)?.database("postgres").connect().await?;
    let statement = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", runtime::db::quote_ident(database));
    sqlx::query(&statement).execute(&mut admin).await.with_context(|| format!("dropping {database}"))?;
    Ok(())
}

/// One row of the table.
struct Row {
    stage: String,
    items: usize,
    seconds: f64,
    detail: String,
    /// A raw baseline (its rate competes for the slowest).
    baseline: Option<&'static str>,
}

impl Row {
    fn rate(&self) -> f64 {
        if self.seconds > 0.0 {
            self.items as f64 / self.seconds
        } else {
            0.0
        }
    }
}

struct Report {
    rows: Vec<Row>,
    end_to_end: f64,
    notes: Vec<String>,
}

impl Report {
    fn print(&self, external: bool) {
        let broker = if external { "KAFKA_BROKERS" } else { "embedded mock cluster" };
        println!();
        println!(
            "bench pipeline ({broker}, local PostgreSQL, {} cores)",
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );
        for note in &self.notes {
            println!("  {note}");
        }
        println!();
        println!("| {:<48} | {:>7} | {:>8} | {:>10} | detail", "stage", "items", "seconds", "per second");
        println!("|{}|{}|{}|{}|{}", "-".repeat(50), "-".repeat(9), "-".repeat(10), "-".repeat(12), "-".repeat(8));
        for row in &self.rows {
            if row.seconds == 0.0 {
                println!("| {:<48} | {:>7} | {:>8} | {:>10} | {}", row.stage, "", "", "", row.detail);
                continue;
            }
            println!("| {:<48} | {:>7} | {:>8.2} | {:>10.0} | {}", row.stage, row.items, row.seconds, row.rate(), row.detail);
        }
        let slowest = self
            .rows
            .iter()
            .filter_map(|r| r.baseline.map(|name| (name, r.rate())))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap_or(("none", 0.0));
        let ratio = if slowest.1 > 0.0 { self.end_to_end / slowest.1 } else { 0.0 };
        println!();
        println!(
            "pipeline: end-to-end {:.0} interactions/s; slowest baseline {} {:.0}/s; ratio {:.3}",
            self.end_to_end, slowest.0, slowest.1, ratio
        );
    }
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

fn refused(sent: &load::Sent) -> String {
    if sent.refused.is_empty() {
        return "none refused".into();
    }
    let parts: Vec<String> = sent
        .refused
        .iter()
        .map(|(status, n)| if *status == 0 { format!("{n} failed") } else { format!("{n}× HTTP {status}") })
        .collect();
    parts.join(", ")
}

/// Peak resident memory of this process (`VmHWM`), in MB.
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Seconds from `start` to the last of `seen`; `None` if some were never seen.
fn last_seen(start: Instant, seen: &[Option<Instant>]) -> Option<f64> {
    let mut last = start;
    for at in seen {
        last = last.max((*at)?);
    }
    Some((last - start).as_secs_f64())
}

async fn measure(
    options: &Options,
    settings: runtime::Settings<launcher::Services>,
    run_id: &str,
    external: bool,
) -> anyhow::Result<Report> {
    let n = options.interactions;
    let connections = options.connections;
    let mut notes = Vec::new();
    let mut rows = Vec::new();

    let stack = launcher::start(settings.clone(), runtime::shutdown::CancellationToken::new()).await?;
    let pool: PgPool = PgPoolOptions::new()
        .max_connections(4)
        .connect_with(runtime::db::connect_options(&settings.database)?)
        .await
        .context("connecting to the benchmark's database")?;
    let mut kafka = settings.kafka.clone();
    kafka.brokers = stack.kafka_brokers.clone();
    let client = reqwest::Client::builder().pool_max_idle_per_host(connections).build()?;
    let base = format!("http://{}", stack.webhooks);

    let joined = startup::consumers_assigned(
        &client,
        &format!("http://{}/metrics", stack.resolver),
        &startup::groups(&settings.kafka.group_prefix),
    )
    .await?;
    notes.push(format!(
        "every consumer group held its partitions {:.1} s after the stack started (the broker's initial rebalance delay; not counted below)",
        joined.as_secs_f64()
    ));
    let mut population = workload::Population::new(options.seed, run_id);
    let hooks: Arc<Vec<_>> = Arc::new((0..n).map(|i| population.webhook(i)).collect());
    let mix = population.mix;
    let body_bytes = hooks.iter().map(|h| h.body.len()).sum::<usize>() / n;
    notes.push(format!(
        "{n} webhooks: {} returning / {} new customers; WhatsApp {}, Messenger {}, web chat {} ({} with phone and e-mail); \
         average body {body_bytes} B; {connections} connections",
        mix.returning, mix.new, mix.whatsapp, mix.messenger, mix.webchat, mix.two_identifiers
    ));

    // 1. HTTP baseline: the same requests and client against a route that does nothing.
    let trivial = baselines::http(&client, Arc::clone(&hooks), connections).await?;
    rows.push(Row {
        stage: "baseline: HTTP POST to a trivial axum route".into(),
        items: trivial.accepted,
        seconds: trivial.elapsed.as_secs_f64(),
        detail: format!("p50 {}, p99 {}", ms(quantile(&trivial.latencies, 0.5)), ms(quantile(&trivial.latencies, 0.99))),
        baseline: Some("http"),
    });

    // 2. Throughput: everything as fast as the adapters accept it.
    let statements_before = statements::count(&pool).await;
    let cpu_before = cpu::Sample::now();
    let ids: Vec<uuid::Uuid> = hooks.iter().map(|h| h.interaction_id).collect();
    let deadline = Instant::now() + Duration::from_secs(600);
    let start = Instant::now();
    let resolved = {
        let (pool, ids) = (pool.clone(), ids.clone());
        tokio::spawn(async move { load::watch(&pool, Table::Resolved, &ids, Duration::from_millis(200), 500, deadline).await })
    };
    let visible = {
        let (pool, ids) = (pool.clone(), ids.clone());
        tokio::spawn(async move { load::watch(&pool, Table::Timeline, &ids, Duration::from_millis(200), 500, deadline).await })
    };
    let sent = load::closed_loop(&client, &base, None, Arc::clone(&hooks), connections).await;
    rows.push(Row {
        stage: "webhooks accepted (signed, verified, in Kafka)".into(),
        items: sent.accepted,
        seconds: sent.elapsed.as_secs_f64(),
        detail: format!(
            "p50 {}, p99 {}; {}",
            ms(quantile(&sent.latencies, 0.5)),
            ms(quantile(&sent.latencies, 0.99)),
            refused(&sent)
        ),
        baseline: None,
    });
    if sent.accepted < n {
        notes.push(format!(
            "{} of {n} webhooks were refused ({}); waiting for the rest anyway",
            n - sent.accepted,
            refused(&sent)
        ));
    }
    let resolved = resolved.await??;
    let visible = visible.await??;
    let (Some(resolver_seconds), Some(timeline_seconds)) = (last_seen(start, &resolved), last_seen(start, &visible)) else {
        let missing = visible.iter().filter(|v| v.is_none()).count();
        bail!("{missing} of {n} interactions were not in the timeline within 600 s");
    };
    rows.push(Row {
        stage: "resolved (resolver.processed_interactions)".into(),
        items: n,
        seconds: resolver_seconds,
        detail: "from the first request to the last decision".into(),
        baseline: None,
    });
    let cpu_after = cpu::Sample::now();
    let end_to_end = n as f64 / timeline_seconds;
    rows.push(Row {
        stage: "end to end: visible in the timeline".into(),
        items: n,
        seconds: timeline_seconds,
        detail: "from the first request to the last interaction's timeline row".into(),
        baseline: None,
    });
    rows.push(Row {
        stage: "SQL statements per interaction".into(),
        items: 0,
        seconds: 0.0,
        detail: match (statements_before, statements::count(&pool).await) {
            (Some(before), Some(after)) => statements::per_interaction(before, after, n),
            _ => "not counted: the server does not load pg_stat_statements".into(),
        },
        baseline: None,
    });
    rows.push(Row {
        stage: "CPU while the throughput run lasted".into(),
        items: 0,
        seconds: 0.0,
        detail: match (&cpu_before, &cpu_after) {
            (Some(before), Some(after)) => before.describe(after),
            _ => "not measured: /proc is not readable".into(),
        },
        baseline: None,
    });
    if let Some(top) = statements::heaviest(&pool, 5).await {
        notes.extend(top);
    }
    let overload = sent.accepted as f64 / sent.elapsed.as_secs_f64().max(f64::EPSILON) / end_to_end.max(f64::EPSILON);
    notes.push(format!(
        "the webhooks arrived {overload:.1}× faster than the pipeline stored them: the backlog waited in Kafka \
         (peak RSS below)"
    ));

    // 3. Latency at half the end-to-end rate.
    let rate = (end_to_end / 2.0).max(1.0);
    let count = ((rate * options.latency_seconds) as usize).clamp(20, n.max(20));
    let paced_hooks: Arc<Vec<_>> = Arc::new((n..n + count).map(|i| population.webhook(i)).collect());
    let paced_ids: Vec<uuid::Uuid> = paced_hooks.iter().map(|h| h.interaction_id).collect();
    let watcher = {
        let pool = pool.clone();
        let deadline = Instant::now() + Duration::from_secs_f64(options.latency_seconds) + Duration::from_secs(120);
        tokio::spawn(
            async move { load::watch(&pool, Table::Timeline, &paced_ids, Duration::from_millis(20), 200, deadline).await },
        )
    };
    let started = load::paced(&client, &base, paced_hooks, rate, connections).await;
    let seen = watcher.await??;
    let mut latencies: Vec<Duration> =
        started.iter().zip(&seen).filter_map(|(s, v)| Some(v.as_ref()?.saturating_duration_since(*s.as_ref()?))).collect();
    latencies.sort_unstable();
    let lost = started.iter().zip(&seen).filter(|(s, v)| s.is_some() && v.is_none()).count();
    rows.push(Row {
        stage: format!("latency: webhook → timeline at {rate:.0}/s"),
        items: latencies.len(),
        seconds: options.latency_seconds,
        detail: format!(
            "p50 {}, p99 {}, max {}{}",
            ms(quantile(&latencies, 0.5)),
            ms(quantile(&latencies, 0.99)),
            ms(latencies.last().copied().unwrap_or_default()),
            if lost > 0 { format!("; {lost} not seen within 120 s") } else { String::new() }
        ),
        baseline: None,
    });

    // 4. Kafka and PostgreSQL alone, with the pipeline's own messages and rows.
    let ingested = baselines::kafka_consume(&kafka, contracts::topics::INTERACTIONS_INGESTED, n).await?;
    let message_bytes = ingested.average_bytes();
    rows.push(Row {
        stage: format!("baseline: Kafka consume ({message_bytes} B messages)"),
        items: ingested.records.len(),
        seconds: ingested.elapsed.as_secs_f64(),
        detail: format!("{}, the consumer loop's settings", contracts::topics::INTERACTIONS_INGESTED),
        baseline: Some("kafka-consume"),
    });
    if external {
        runtime::kafka::admin::ensure_topics(&kafka, &[BASELINE_TOPIC.to_owned()], 3).await?;
    }
    let produced = ingested.records.len();
    let produce_time = baselines::kafka_produce(&kafka, BASELINE_TOPIC, ingested.records).await?;
    rows.push(Row {
        stage: format!("baseline: Kafka produce ({message_bytes} B messages)"),
        items: produced,
        seconds: produce_time.as_secs_f64(),
        detail: "the same messages, the publisher's settings (idempotent, acks=all)".into(),
        baseline: Some("kafka-produce"),
    });
    let (copied, copy_time) = baselines::postgres_copy(&pool, n).await?;
    rows.push(Row {
        stage: "baseline: PostgreSQL COPY of the timeline's rows".into(),
        items: copied as usize,
        seconds: copy_time.as_secs_f64(),
        detail: "timeline.interaction_messages rows into an empty table alike (indexes included)".into(),
        baseline: Some("postgres-copy"),
    });

    pool.close().await;
    stack.shutdown.cancel();
    stack.wait().await?;
    rows.push(Row {
        stage: "peak RSS of this process (VmHWM)".into(),
        items: 0,
        seconds: 0.0,
        detail: peak_rss_mb()
            .map_or_else(|| "unknown".into(), |mb| format!("{mb:.0} MB (services, mock broker if embedded, client)")),
        baseline: None,
    });
    Ok(Report { rows, end_to_end, notes })
}
