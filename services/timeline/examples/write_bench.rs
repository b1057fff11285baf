//! Write-path benchmark of the timeline: the `interactions.resolved` batch handler alone.
//!
//! ```sh
//! cargo run -p timeline --example write_bench -- --interactions 5000
//! ```
//!
//! Creates a fresh database (dropped at the end), generates a deterministic stream of resolved
//! interactions — WhatsApp conversations of many contacts interleaved in time (texts both ways,
//! an idle pause now and then that opens a new group), delivery statuses of earlier outbound
//! messages, calls with two states, and exact redeliveries — and hands it to
//! [`InteractionsHandler::handle`] in batches of `--batch` (256, the consumer's default), as the
//! consumer loop would. Prints the SQL statements the handler sent (every statement sqlx
//! executes, `BEGIN` and `COMMIT` included, counted from its `sqlx::query` events), the time the
//! handler took and a digest of the stored rows, so two versions of the write path can be
//! compared on the same workload: same digest, fewer statements, less time.
//!
//! Options: `--interactions N` (5000), `--contacts N` (N/10), `--batch N` (256), `--seed X` (14),
//! `--keep true` (keep the database, to look at its rows and plans).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use chrono::{DateTime, Utc};
use contracts::{
    topics, Call, CallStatus, Channel, Content, Direction, Identity, IdentityKind, InteractionBody, InteractionEvent, MatchedBy,
    Resolution, ResolvedInteraction,
};
use rdkafka::message::OwnedMessage;
use rdkafka::Timestamp;
use runtime::kafka::{BatchHandler, Delivery};
use timeline::consumer::InteractionsHandler;
use timeline::store::interactions::Grouping;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::{Context, SubscriberExt as _};
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::Layer;
use uuid::Uuid;

/// Counts the statements sqlx executes (one `sqlx::query` event each).
struct StatementCounter(Arc<AtomicU64>);

impl<S: Subscriber> Layer<S> for StatementCounter {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        if event.metadata().target() == "sqlx::query" {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
}

struct Args {
    interactions: usize,
    contacts: usize,
    batch: usize,
    seed: u64,
    keep: bool,
}

fn args() -> anyhow::Result<Args> {
    let mut args = Args { interactions: 5000, contacts: 0, batch: 256, seed: 14, keep: false };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--interactions" => args.interactions = value.parse().context("--interactions")?,
            "--contacts" => args.contacts = value.parse().context("--contacts")?,
            "--batch" => args.batch = value.parse().context("--batch")?,
            "--seed" => args.seed = value.parse().context("--seed")?,
            "--keep" => args.keep = value.parse().context("--keep")?,
            other => bail!("unknown flag {other}"),
        }
    }
    if args.contacts == 0 {
        args.contacts = (args.interactions / 10).max(1);
    }
    anyhow::ensure!(args.interactions > 0 && args.batch > 0, "--interactions and --batch must be positive");
    Ok(args)
}

/// A small deterministic generator (xorshift64*), so every run sees the same workload.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n.max(1)
    }
}

fn at(secs: u64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp(1_764_000_000 + i64::try_from(secs).unwrap_or(0), 0).unwrap_or_default()
}

/// Where one contact's conversation stands while the stream is generated.
struct ContactState {
    id: Uuid,
    phone: String,
    sent: u64,
    last_outbound: Option<String>,
}

fn body(contact: &ContactState, channel: Channel, direction: Direction, secs: u64, provider_ref: String) -> InteractionBody {
    InteractionBody {
        channel,
        direction,
        occurred_at: at(secs),
        provider_ref,
        conversation_ref: (channel == Channel::Whatsapp).then(|| format!("conv-{}", contact.phone)),
        identities: vec![Identity::new(IdentityKind::Whatsapp, contact.phone.clone(), None)],
        profile: None,
        content: None,
        call: None,
        parameters: BTreeMap::new(),
        reaction: None,
        event: None,
        sanitized: Vec::new(),
    }
}

/// The stream: per event a random contact, the clock advancing a few seconds per event.
fn workload(args: &Args) -> Vec<ResolvedInteraction> {
    let mut rng = Rng(args.seed.max(1));
    let mut contacts: Vec<ContactState> = (0..args.contacts)
        .map(|i| ContactState {
            id: Uuid::from_u128(0x7e57_0000_0000_0000_0000_0000_0000_0000 + i as u128),
            phone: format!("420777{i:06}"),
            sent: 0,
            last_outbound: None,
        })
        .collect();
    let mut clock = 0u64;
    let mut out: Vec<ResolvedInteraction> = Vec::with_capacity(args.interactions);
    while out.len() < args.interactions {
        clock += rng.below(3);
        let roll = rng.below(100);
        if roll < 5 && !out.is_empty() {
            let again = out[usize::try_from(rng.below(out.len() as u64)).unwrap_or(0)].clone();
            out.push(again);
            continue;
        }
        let contact = &mut contacts[usize::try_from(rng.below(args.contacts as u64)).unwrap_or(0)];
        // Now and then a contact comes back after a pause longer than the idle gap.
        if rng.below(40) == 0 {
            clock += 3600;
        }
        contact.sent += 1;
        let body = match roll {
            5..=19 if contact.last_outbound.is_some() => {
                let target = contact.last_outbound.clone().unwrap_or_default();
                let mut b = body(contact, Channel::Whatsapp, Direction::Outbound, clock, target);
                b.parameters.insert("delivery_status".into(), if roll < 12 { "delivered" } else { "read" }.into());
                b.parameters.insert("delivery_status_at".into(), at(clock + 1).to_rfc3339());
                b
            }
            20..=29 => {
                let reference = format!("CA-{}-{}", contact.phone, contact.sent);
                let mut b = body(contact, Channel::Voip, Direction::Inbound, clock, reference);
                let call = |status: &str, duration_s| Call {
                    from: Some(format!("+{}", contact.phone)),
                    to: Some("+420222000111".into()),
                    duration_s,
                    status: Some(CallStatus::parse(status)),
                    recording_url: None,
                };
                b.call = Some(call("ringing", None));
                let mut completed = b.clone();
                completed.call = Some(call("completed", Some(rng.below(600))));
                out.push(resolved(contact, b));
                completed
            }
            _ => {
                let outbound = rng.below(2) == 0;
                let direction = if outbound { Direction::Outbound } else { Direction::Inbound };
                let reference = format!("wamid.{}.{}", contact.phone, contact.sent);
                if outbound {
                    contact.last_outbound = Some(reference.clone());
                }
                let mut b = body(contact, Channel::Whatsapp, direction, clock, reference);
                let text =
                    format!("Zpráva číslo {} od {}: objednávka {} dorazí zítra", contact.sent, contact.phone, rng.below(10_000));
                b.content = Some(Content { text: Some(text), ..Content::default() });
                b
            }
        };
        out.push(resolved(contact, body));
    }
    out.truncate(args.interactions);
    out
}

fn resolved(contact: &ContactState, body: InteractionBody) -> ResolvedInteraction {
    ResolvedInteraction {
        v: 1,
        tenant_id: "acme".into(),
        contact_id: Some(contact.id.into()),
        interaction: InteractionEvent::new("acme", body),
        resolution: Resolution {
            matched_by: Some(MatchedBy { kind: IdentityKind::Whatsapp, value: contact.phone.clone(), scope: None }),
            ..Resolution::default()
        },
    }
}

fn delivery(event: &ResolvedInteraction, offset: i64) -> anyhow::Result<Delivery<ResolvedInteraction>> {
    let payload = serde_json::to_vec(event)?;
    let message = OwnedMessage::new(
        Some(payload),
        Some(event.key().into_bytes()),
        topics::INTERACTIONS_RESOLVED.to_owned(),
        Timestamp::NotAvailable,
        0,
        offset,
        None,
    );
    Ok(Delivery { event: event.clone(), message, span: tracing::Span::none() })
}

/// A digest of what the timeline stores (no timestamps of the run itself): equal digests mean
/// two versions of the write path stored the same interactions and messages.
const DIGEST: &str = "SELECT count(*) FILTER (WHERE true), md5(string_agg(row, E'\\n' ORDER BY row)) FROM (
        SELECT concat_ws('|', interaction_id, contact_id, merged_from, channel, direction, occurred_at, last_message_at,
                         message_count, conversation_ref, provider_ref, subject, body_text, transcript_text, details,
                         parameters, attachments, event, resolution, search) AS row
        FROM interactions
        UNION ALL
        SELECT concat_ws('|', message_id, interaction_id, direction, occurred_at, as_of, text, subject, event, resolution,
                         edited_at)
        FROM interaction_messages) rows";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = args()?;
    let statements = Arc::new(AtomicU64::new(0));
    tracing_subscriber::registry()
        .with(StatementCounter(statements.clone()).with_filter(Targets::new().with_target("sqlx::query", Level::DEBUG)))
        .init();

    let database = testkit::fresh_database();
    let pool = runtime::db::connect(&database, timeline::SCHEMA, &timeline::MIGRATOR).await?;
    let handler = InteractionsHandler { pool: pool.clone(), grouping: Grouping::from_config(&timeline::Config::default()) };
    let events = workload(&args);
    let deliveries = events
        .iter()
        .enumerate()
        .map(|(offset, event)| delivery(event, i64::try_from(offset).unwrap_or(i64::MAX)))
        .collect::<anyhow::Result<Vec<_>>>()?;

    let before = statements.load(Ordering::Relaxed);
    let mut spent = Duration::ZERO;
    for batch in deliveries.chunks(args.batch) {
        let start = Instant::now();
        handler.handle(batch).await.map_err(|e| anyhow::anyhow!("batch failed: {e:?}"))?;
        spent += start.elapsed();
    }
    let sent = statements.load(Ordering::Relaxed) - before;

    let (rows, digest): (i64, Option<String>) = sqlx::query_as(DIGEST).fetch_one(&pool).await?;
    let n = events.len() as f64;
    println!("events {} in batches of {} ({} contacts)", events.len(), args.batch, args.contacts);
    println!("statements {sent} = {:.2} per event", sent as f64 / n);
    println!("handler time {:.3} s = {:.0} events/s", spent.as_secs_f64(), n / spent.as_secs_f64());
    println!("stored rows {rows}, digest {}", digest.unwrap_or_default());
    pool.close().await;
    if args.keep {
        println!("kept database {}", database.name());
        std::mem::forget(database);
    }
    Ok(())
}
