//! Read-path benchmark of the timeline at scale.
//!
//! ```sh
//! cargo run --release -p timeline --example bench -- --interactions 1000000
//! ```
//!
//! 1. Creates a fresh database (`timeline_bench_<random>` on `DATABASE_URL`'s server, default the
//!    local PostgreSQL), applies the timeline's migrations and bulk-loads N interactions with
//!    `INSERT … SELECT generate_series` (two loaders in parallel, secondary indexes dropped during
//!    the load and rebuilt from their own definitions afterwards): Czech texts with diacritics,
//!    words drawn from a skewed vocabulary (a small one, so every term matches thousands of
//!    interactions: a hard case for ranking), tenants of Zipf-distributed sizes, contacts with a
//!    heavy head (the busiest have ~10,000 entries), one contact event per ten interactions.
//! 2. Measures, over a few hundred requests each, the store functions the API calls and, for the
//!    same requests, a naive baseline in the same database:
//!    - a contact's timeline page at a random depth, for contacts picked in proportion to their
//!      interactions and for the busiest contacts: keyset cursor vs `OFFSET` over the union;
//!    - a contact's timeline with `q`: GIN vs `unaccent(text) ILIKE` on the contact's rows;
//!    - tenant-wide search in the largest tenant: GIN + `ts_rank` + `ts_headline` vs
//!      `unaccent(text) ILIKE '%term%'` (no ranking, no snippets — the baseline does less work);
//!    - optionally the same through HTTP (`--http`), JWT and JSON included.
//! 3. Prints a table of p50/p95/p99 and the baseline/ours ratios, and drops the database
//!    (`--keep` keeps it).
//!
//! Options: `--interactions N` (1,000,000), `--tenants N` (10), `--requests N` (300),
//! `--baseline-requests N` (40: searches also timed with `ts_rank` over every match, which takes
//! up to a second each), `--http`, `--keep`.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use chrono::{DateTime, Utc};
use runtime::http::{JwtVerifier, Readiness, Role};
use runtime::settings::DatabaseSettings;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, PgPool};
use timeline::search::SearchQuery;
use timeline::store::read::{self, SearchFilter, TimelineQuery};
use uuid::Uuid;

/// Page size the API uses by default for timelines; searches show 20 hits.
const PAGE: i64 = 50;
const SEARCH_PAGE: i64 = 20;
/// Rows per `INSERT … SELECT` statement of the loader.
const CHUNK: u64 = 50_000;
/// Contacts per interaction (10 interactions per contact on average, with a long tail).
const INTERACTIONS_PER_CONTACT: u64 = 10;

struct Args {
    interactions: u64,
    tenants: u32,
    requests: usize,
    baseline_requests: usize,
    http: bool,
    keep: bool,
}

impl Args {
    fn parse() -> anyhow::Result<Self> {
        let mut args =
            Self { interactions: 1_000_000, tenants: 10, requests: 300, baseline_requests: 40, http: false, keep: false };
        let mut it = std::env::args().skip(1);
        while let Some(flag) = it.next() {
            let mut value = |name: &str| it.next().with_context(|| format!("{name} needs a value"));
            match flag.as_str() {
                "--interactions" => args.interactions = value("--interactions")?.replace('_', "").parse()?,
                "--tenants" => args.tenants = value("--tenants")?.parse()?,
                "--requests" => args.requests = value("--requests")?.parse()?,
                "--baseline-requests" => args.baseline_requests = value("--baseline-requests")?.parse()?,
                "--http" => args.http = true,
                "--keep" => args.keep = true,
                other => bail!("unknown option {other}; see the module documentation"),
            }
        }
        if args.interactions < 1000 || args.tenants == 0 || args.requests == 0 {
            bail!("need at least 1000 interactions, one tenant and one request");
        }
        Ok(args)
    }
}

/// Vocabulary of the generated texts, most frequent first (words are drawn with a skew towards
/// the head, as in real conversations: greetings everywhere, product names rarely).
const WORDS: &[&str] = &[
    "dobrý",
    "den",
    "děkuji",
    "prosím",
    "je",
    "to",
    "že",
    "se",
    "na",
    "mám",
    "jsem",
    "by",
    "bylo",
    "možné",
    "objednávka",
    "zásilka",
    "kdy",
    "dorazí",
    "ještě",
    "nedorazila",
    "můžete",
    "prověřit",
    "stav",
    "platba",
    "faktura",
    "účet",
    "heslo",
    "přihlášení",
    "nefunguje",
    "chyba",
    "reklamace",
    "vrácení",
    "peněz",
    "zboží",
    "poškozené",
    "balík",
    "kurýr",
    "doprava",
    "doručení",
    "zítra",
    "dnes",
    "včera",
    "týden",
    "hodina",
    "minuta",
    "adresa",
    "změna",
    "telefon",
    "číslo",
    "email",
    "zákazník",
    "operátor",
    "pomoc",
    "podpora",
    "otázka",
    "odpověď",
    "informace",
    "sleva",
    "kupón",
    "košík",
    "cena",
    "dph",
    "splátky",
    "karta",
    "převod",
    "hotovost",
    "dobírka",
    "výdejní",
    "místo",
    "pobočka",
    "otevírací",
    "doba",
    "víkend",
    "pondělí",
    "úterý",
    "středa",
    "čtvrtek",
    "pátek",
    "sobota",
    "neděle",
    "leden",
    "únor",
    "březen",
    "duben",
    "květen",
    "červen",
    "červenec",
    "srpen",
    "září",
    "říjen",
    "listopad",
    "prosinec",
    "velikost",
    "barva",
    "modrá",
    "červená",
    "zelená",
    "žlutá",
    "černá",
    "bílá",
    "šedá",
    "hnědá",
    "růžová",
    "fialová",
    "oranžová",
    "bunda",
    "kalhoty",
    "tričko",
    "košile",
    "boty",
    "tenisky",
    "sandály",
    "čepice",
    "šála",
    "rukavice",
    "ponožky",
    "kabát",
    "sukně",
    "šaty",
    "svetr",
    "mikina",
    "vesta",
    "pyžamo",
    "plavky",
    "batoh",
    "kabelka",
    "peněženka",
    "hodinky",
    "náramek",
    "prsten",
    "náušnice",
    "řetízek",
    "brýle",
    "deštník",
    "kufr",
    "taška",
    "lednička",
    "pračka",
    "myčka",
    "trouba",
    "mikrovlnka",
    "vysavač",
    "žehlička",
    "fén",
    "konvice",
    "kávovar",
    "toustovač",
    "mixér",
    "robot",
    "televize",
    "notebook",
    "tablet",
    "mobil",
    "sluchátka",
    "reproduktor",
    "nabíječka",
    "kabel",
    "baterie",
    "tiskárna",
    "monitor",
    "klávesnice",
    "myš",
    "router",
    "anténa",
    "satelit",
    "kamera",
    "fotoaparát",
    "objektiv",
    "stativ",
    "dron",
    "koloběžka",
    "kolo",
    "helma",
    "stan",
    "spacák",
    "karimatka",
    "vařič",
    "lampa",
    "žárovka",
    "zásuvka",
    "prodlužovačka",
    "vrtačka",
    "šroubovák",
    "kladivo",
    "pila",
    "metr",
    "vodováha",
    "žebřík",
    "barvy",
    "štětec",
    "lepidlo",
    "páska",
    "hřebíky",
    "šrouby",
    "hmoždinky",
    "dlaždice",
    "parkety",
    "koberec",
    "záclona",
    "závěs",
    "polštář",
    "přikrývka",
    "povlečení",
    "ručník",
    "osuška",
    "župan",
    "mýdlo",
    "šampon",
    "kondicionér",
    "krém",
    "parfém",
    "deodorant",
    "zubní",
    "kartáček",
    "pasta",
    "holicí",
    "strojek",
    "žiletky",
    "náplast",
    "obvaz",
    "teploměr",
    "tlakoměr",
    "vitamíny",
    "čaj",
    "káva",
    "čokoláda",
    "bonbóny",
    "sušenky",
    "oříšky",
    "příliš",
    "žluťoučký",
    "kůň",
    "úpěl",
    "ďábelské",
    "ódy",
    "šťastný",
    "čtyřicet",
    "řeřicha",
    "ťuhýk",
    "ňadro",
    "úžasný",
    "Brno",
    "Praha",
    "Ostrava",
    "Plzeň",
    "Liberec",
    "Olomouc",
    "Zlín",
    "Jihlava",
    "Kladno",
    "Most",
    "Opava",
    "Třebíč",
    "Novák",
    "Svoboda",
    "Novotný",
    "Dvořák",
    "Černý",
    "Procházka",
    "Kučera",
    "Veselý",
    "Horák",
    "Němec",
    "Pokorný",
    "Marek",
];

/// Czech letters without their diacritics, for typing queries the way users do.
fn plain(word: &str) -> String {
    word.chars()
        .map(|c| {
            let (from, to) = ("áčďéěíňóřšťúůýžÁČĎÉĚÍŇÓŘŠŤÚŮÝŽ", "acdeeinorstuuyzACDEEINORSTUUYZ");
            from.chars().position(|f| f == c).and_then(|i| to.chars().nth(i)).unwrap_or(c)
        })
        .collect()
}

/// A small deterministic generator (xorshift), so runs pick the same requests.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % (n.max(1) as u64)).unwrap_or(0)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse()?;
    let server = std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let server_options = PgConnectOptions::from_str(&server).context("DATABASE_URL")?;
    let name = format!("timeline_bench_{}", Uuid::new_v4().simple());
    let mut url = url_without_database(&server);
    url.push('/');
    url.push_str(&name);
    let database: DatabaseSettings = serde_json::from_value(serde_json::json!({ "url": url, "max_connections": 4 }))?;
    println!("database {name}: {} interactions, {} tenants", args.interactions, args.tenants);

    let pool = runtime::db::connect(&database, timeline::SCHEMA, &timeline::MIGRATOR).await?;
    let result = run(&args, &pool).await;
    pool.close().await;
    if args.keep {
        println!("kept database {name}");
    } else {
        let mut admin = server_options.database("postgres").connect().await?;
        sqlx::query(&format!("DROP DATABASE {} WITH (FORCE)", runtime::db::quote_ident(&name))).execute(&mut admin).await?;
    }
    result
}

fn url_without_database(url: &str) -> String {
    // postgres://user@host:port/db?params → postgres://user@host:port
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(slash) => url[..after_scheme + slash].to_owned(),
        None => url.split('?').next().unwrap_or(url).to_owned(),
    }
}

async fn run(args: &Args, pool: &PgPool) -> anyhow::Result<()> {
    let started = Instant::now();
    load(args, pool).await?;
    let load_time = started.elapsed();
    describe(pool, load_time).await?;

    let mut rows = Vec::new();
    let mut rng = Rng(0x5eed_cafe_f00d_d00d);
    println!();
    let samples = timeline_samples(args, pool, &mut rng).await?;
    rows.extend(bench_timeline(pool, "random contacts", &samples).await?);
    let busiest = busiest_samples(args, pool, &mut rng).await?;
    rows.extend(bench_timeline(pool, "busiest contacts", &busiest).await?);
    rows.push(bench_contact_search(pool, &samples, &mut rng).await?);
    let queries = search_queries(args.requests, &mut rng);
    rows.extend(bench_search(args, pool, &queries).await?);
    if args.http {
        rows.extend(bench_http(pool, &busiest, &queries).await?);
    }
    print_table(&rows);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Loading

/// Cumulative tenant shares, Zipf-like (tenant i weighs 1/(i+1)).
fn tenant_thresholds(tenants: u32) -> Vec<f64> {
    let weights: Vec<f64> = (0..tenants).map(|i| 1.0 / f64::from(i + 1)).collect();
    let total: f64 = weights.iter().sum();
    let mut acc = 0.0;
    weights
        .iter()
        .map(|w| {
            acc += w / total;
            acc
        })
        .collect()
}

async fn load(args: &Args, pool: &PgPool) -> anyhow::Result<()> {
    // Secondary indexes are rebuilt once after the load (far faster than maintaining them row by
    // row), from their own definitions, so the measured schema is exactly the migrated one.
    let indexes: Vec<(String, String)> = sqlx::query_as(
        "SELECT indexname, indexdef FROM pg_indexes
         WHERE schemaname = current_schema() AND tablename IN ('interactions', 'interaction_messages', 'contact_events')
           AND indexname NOT LIKE '%pkey'",
    )
    .fetch_all(pool)
    .await?;
    for (index, _) in &indexes {
        sqlx::query(&format!("DROP INDEX {}", runtime::db::quote_ident(index))).execute(pool).await?;
    }

    let thresholds = tenant_thresholds(args.tenants);
    let contacts = (args.interactions / INTERACTIONS_PER_CONTACT).max(1) as f64;
    let words: Vec<String> = WORDS.iter().map(|w| (*w).to_owned()).collect();
    let started = Instant::now();
    let chunks: Vec<(u64, u64)> =
        (0..args.interactions.div_ceil(CHUNK)).map(|i| (i * CHUNK, ((i + 1) * CHUNK).min(args.interactions))).collect();
    let queue = Arc::new(tokio::sync::Mutex::new(chunks.into_iter()));
    let mut loaders = Vec::new();
    for _ in 0..2 {
        let (pool, queue, thresholds, words) = (pool.clone(), Arc::clone(&queue), thresholds.clone(), words.clone());
        let total = args.interactions;
        loaders.push(tokio::spawn(async move {
            loop {
                let next = queue.lock().await.next();
                let Some((from, to)) = next else { return anyhow::Ok(()) };
                insert_chunk(&pool, from, to, &thresholds, contacts, &words).await?;
                if to % (CHUNK * 4) == 0 || to == total {
                    println!("  loaded {to:>9} interactions ({:.0} s)", started.elapsed().as_secs_f64());
                }
            }
        }));
    }
    for loader in loaders {
        loader.await??;
    }
    let loaded = started.elapsed();
    let started = Instant::now();
    sqlx::query("SET maintenance_work_mem = '512MB'").execute(pool).await?;
    for (index, definition) in &indexes {
        let begun = Instant::now();
        sqlx::query(definition).execute(pool).await?;
        println!("  index {index}: {:.1} s", begun.elapsed().as_secs_f64());
    }
    for table in ["interactions", "interaction_messages", "contact_events"] {
        sqlx::query(&format!("VACUUM ANALYZE {table}")).execute(pool).await?;
    }
    println!("rows loaded in {:.0} s, indexes and vacuum in {:.0} s", loaded.as_secs_f64(), started.elapsed().as_secs_f64());
    Ok(())
}

/// Interactions `[from, to)` with their opening message, and one contact event per ten, in one
/// statement (data-modifying CTEs).
async fn insert_chunk(
    pool: &PgPool,
    from: u64,
    to: u64,
    thresholds: &[f64],
    contacts: f64,
    words: &[String],
) -> anyhow::Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query("SET LOCAL synchronous_commit = off").execute(&mut *tx).await?;
    let (from, to) = (i64::try_from(from)?, i64::try_from(to)?);
    // The inner SELECT draws every random choice once per row (volatile functions keep it from
    // being flattened); the outer one builds the row from them.
    sqlx::query(
        "WITH inserted AS (
         INSERT INTO interactions (interaction_id, tenant_id, contact_id, channel, direction, occurred_at, last_message_at,
                                   conversation_ref, provider_ref, subject, body_text, transcript_text, message_count,
                                   details, event, resolution, search)
         SELECT id, tenant, contact, channel, direction, at, at + (k - 1) * interval '90 seconds',
                CASE WHEN channel IN ('voip', 'email') THEN NULL ELSE 'conv-' || contact END, 'bench-' || g, subject,
                left(transcript, 160), transcript, k,
                jsonb_build_object('message_count', k, 'started_at', at, 'call_status', CASE WHEN channel = 'voip' THEN 'completed' END,
                                   'duration_s', CASE WHEN channel = 'voip' THEN (g % 600) END),
                jsonb_build_object('v', 1, 'interaction_id', id, 'tenant_id', tenant, 'channel', channel, 'direction', direction,
                                   'occurred_at', at, 'provider_ref', 'bench-' || g, 'identities', '[]'::jsonb,
                                   'content', jsonb_build_object('text', left(transcript, 160), 'subject', subject, 'attachments', '[]'::jsonb),
                                   'parameters', '{}'::jsonb),
                jsonb_build_object('matched_by', jsonb_build_object('kind', 'whatsapp', 'value', '4207' || (g % 100000000), 'scope', NULL),
                                   'created_contact', false, 'candidates', '[]'::jsonb, 'ignored', '[]'::jsonb),
                setweight(to_tsvector('timeline_unaccent', coalesce(subject, '')), 'A')
                    || setweight(to_tsvector('timeline_unaccent', transcript), 'B')
         FROM (
             SELECT g, id, tenant, md5(tenant || ':' || floor(tenant_contacts * random() ^ 3)::bigint)::uuid AS contact,
                    channel, direction, at, k,
                    CASE WHEN channel = 'email' THEN 'Re: ' || (SELECT string_agg($3[1 + floor(array_length($3, 1) * random() ^ 1.5)::int], ' ')
                                                              FROM generate_series(1, 3 + k * 0)) END AS subject,
                    (SELECT string_agg($3[1 + floor(array_length($3, 1) * random() ^ 2)::int], ' ')
                     FROM generate_series(1, k * (6 + (g % 9))))
                    || CASE WHEN g % 3 = 0 THEN ' objednávka ' || (1000 + floor(random() * 9000))::int ELSE '' END AS transcript
             FROM (
                 SELECT g, md5('interaction:' || g)::uuid AS id,
                        'tenant-' || (width_bucket(r, $4::float8[]) ) AS tenant,
                        greatest(1, $5 * (coalesce(($4::float8[])[width_bucket(r, $4::float8[]) + 1], 1) - coalesce(($4::float8[])[width_bucket(r, $4::float8[])], 0))) AS tenant_contacts,
                        (ARRAY['whatsapp', 'messenger', 'email', 'voip', 'webchat', 'vk', 'apple'])[1 + (g % 7)] AS channel,
                        CASE WHEN random() < 0.6 THEN 'inbound' ELSE 'outbound' END AS direction,
                        timestamptz '2025-11-25 00:00:00+00' - random() * interval '730 days' AS at,
                        CASE WHEN g % 7 IN (2, 3) THEN 1 ELSE 1 + floor(random() ^ 2 * 4)::int END AS k
                 FROM (SELECT g, random() AS r FROM generate_series($1, $2 - 1) g) drawn
             ) picked
         ) generated
         RETURNING interaction_id, tenant_id, contact_id, direction, occurred_at, body_text, subject, event, resolution, provider_ref
         ), messages AS (
             INSERT INTO interaction_messages (message_id, interaction_id, tenant_id, direction, occurred_at, as_of, text, subject, event, resolution)
             SELECT interaction_id, interaction_id, tenant_id, direction, occurred_at, occurred_at, body_text, subject, event, resolution
             FROM inserted
         )
         INSERT INTO contact_events (change_id, tenant_id, contact_id, kind, occurred_at, actor, reason, changes, search)
         SELECT md5('change:' || provider_ref)::uuid, tenant_id, contact_id, 'identifier_added', occurred_at - interval '1 hour',
                '{\"type\": \"operator\", \"id\": \"op-1\"}'::jsonb, 'operator edit',
                jsonb_build_array(jsonb_build_object('field', 'identities.email', 'before', NULL,
                    'after', jsonb_build_object('kind', 'email', 'value', 'zakaznik' || abs(hashtext(provider_ref)) || '@example.cz'))),
                setweight(to_tsvector('timeline_unaccent', 'identifier_added'), 'A')
                    || setweight(to_tsvector('timeline_unaccent', 'identities email zakaznik' || abs(hashtext(provider_ref)) || '@example.cz operator edit'), 'B')
         FROM inserted WHERE right(provider_ref, 1) = '0'",
    )
    .bind(from)
    .bind(to)
    .bind(words)
    .bind(thresholds_for_sql(thresholds))
    .bind(contacts)
    .execute(&mut *tx)
    .await?;

    tx.commit().await?;
    Ok(())
}

/// `width_bucket` thresholds: the lower bound of every tenant but the first.
fn thresholds_for_sql(cumulative: &[f64]) -> Vec<f64> {
    let mut lower = vec![0.0];
    lower.extend(cumulative.iter().take(cumulative.len().saturating_sub(1)));
    lower
}

async fn describe(pool: &PgPool, load_time: Duration) -> anyhow::Result<()> {
    let server: (String, String, String, String) = sqlx::query_as(
        "SELECT current_setting('server_version'), current_setting('shared_buffers'), current_setting('work_mem'),
                current_setting('jit')",
    )
    .fetch_one(pool)
    .await?;
    println!(
        "PostgreSQL {} (shared_buffers {}, work_mem {}, jit {}), {} CPUs",
        server.0,
        server.1,
        server.2,
        server.3,
        std::thread::available_parallelism().map_or(0, usize::from)
    );
    let stats: Vec<(String, i64, String, String)> = sqlx::query_as(
        "SELECT c.relname::text, c.reltuples::bigint, pg_size_pretty(pg_table_size(c.oid)), pg_size_pretty(pg_indexes_size(c.oid))
         FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace
           AND c.relname IN ('interactions', 'interaction_messages', 'contact_events') ORDER BY 1",
    )
    .fetch_all(pool)
    .await?;
    println!("\nloaded in {:.1} min", load_time.as_secs_f64() / 60.0);
    for (table, rows, size, indexes) in stats {
        println!("  {table:<22} {rows:>10} rows  table {size:>8}  indexes {indexes:>8}");
    }
    let tenants: Vec<(String, i64, i64, i64)> = sqlx::query_as(
        "SELECT tenant_id, count(*), count(DISTINCT contact_id), max(n) FROM (
             SELECT tenant_id, contact_id, count(*) OVER (PARTITION BY tenant_id, contact_id) AS n FROM interactions) x
         GROUP BY tenant_id ORDER BY 2 DESC LIMIT 3",
    )
    .fetch_all(pool)
    .await?;
    for (tenant, interactions, contacts, busiest) in tenants {
        println!("  {tenant:<10} {interactions:>8} interactions, {contacts:>7} contacts, busiest contact {busiest} interactions");
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Measuring

/// One timeline request: a contact and the cursor of a page at a random depth.
struct TimelineSample {
    tenant: String,
    contact: Uuid,
    depth: i64,
    after: Option<(DateTime<Utc>, Uuid)>,
}

/// Contacts picked in proportion to their interactions (busy contacts are opened more often and
/// have the deep timelines), each with a page at a uniformly random depth of its timeline.
async fn timeline_samples(args: &Args, pool: &PgPool, rng: &mut Rng) -> anyhow::Result<Vec<TimelineSample>> {
    let percent = (100.0 * 3.0 * args.requests as f64 / args.interactions as f64).min(100.0);
    let picked: Vec<(String, Uuid)> = sqlx::query_as(&format!(
        "SELECT tenant_id, contact_id FROM interactions TABLESAMPLE BERNOULLI({percent}) REPEATABLE (7) LIMIT $1"
    ))
    .bind(i64::try_from(args.requests)?)
    .fetch_all(pool)
    .await?;
    with_cursors(pool, picked, rng).await
}

/// The busiest contacts (the longest timelines), each opened at a random depth: where keyset and
/// `OFFSET` pagination differ most.
async fn busiest_samples(args: &Args, pool: &PgPool, rng: &mut Rng) -> anyhow::Result<Vec<TimelineSample>> {
    let busiest: Vec<(String, Uuid)> =
        sqlx::query_as("SELECT tenant_id, contact_id FROM interactions GROUP BY 1, 2 ORDER BY count(*) DESC LIMIT $1")
            .bind(i64::try_from(args.requests.min(100))?)
            .fetch_all(pool)
            .await?;
    let picked = (0..args.requests).map(|i| busiest[i % busiest.len().max(1)].clone()).collect();
    with_cursors(pool, picked, rng).await
}

async fn with_cursors(pool: &PgPool, picked: Vec<(String, Uuid)>, rng: &mut Rng) -> anyhow::Result<Vec<TimelineSample>> {
    let mut samples = Vec::new();
    for (tenant, contact) in picked {
        let total: i64 = sqlx::query_scalar(
            "SELECT (SELECT count(*) FROM interactions WHERE tenant_id = $1 AND contact_id = $2)
                  + (SELECT count(*) FROM contact_events WHERE tenant_id = $1 AND contact_id = $2)",
        )
        .bind(&tenant)
        .bind(contact)
        .fetch_one(pool)
        .await?;
        let depth = (rng.unit() * total as f64 / PAGE as f64).floor() as i64 * PAGE;
        let after = if depth == 0 {
            None
        } else {
            Some(
                sqlx::query_as::<_, (DateTime<Utc>, Uuid)>(
                    "SELECT occurred_at, id FROM (
                         SELECT occurred_at, interaction_id AS id FROM interactions WHERE tenant_id = $1 AND contact_id = $2
                         UNION ALL
                         SELECT occurred_at, change_id FROM contact_events WHERE tenant_id = $1 AND contact_id = $2) items
                     ORDER BY occurred_at DESC, id DESC OFFSET $3 LIMIT 1",
                )
                .bind(&tenant)
                .bind(contact)
                .bind(depth - 1)
                .fetch_one(pool)
                .await?,
            )
        };
        samples.push(TimelineSample { tenant, contact, depth, after });
    }
    Ok(samples)
}

/// The naive page: both kinds in one `UNION ALL`, newest first, `OFFSET depth`.
const OFFSET_PAGE: &str = "SELECT * FROM (
        SELECT 'interaction' AS type, interaction_id AS id, occurred_at, channel, body_text AS text, details, event, NULL AS kind, NULL::jsonb AS changes
        FROM interactions WHERE tenant_id = $1 AND contact_id = $2
        UNION ALL
        SELECT 'contact_event', change_id, occurred_at, NULL, NULL, NULL, NULL, kind, changes
        FROM contact_events WHERE tenant_id = $1 AND contact_id = $2) items
    ORDER BY occurred_at DESC, id DESC OFFSET $3 LIMIT $4";

struct Row {
    name: String,
    goal_ms: Option<f64>,
    ours: Vec<Duration>,
    baseline_name: Option<String>,
    baseline: Vec<Duration>,
}

async fn bench_timeline(pool: &PgPool, which: &str, samples: &[TimelineSample]) -> anyhow::Result<Vec<Row>> {
    // Warm the cache the way a running service has it warm.
    for sample in samples.iter().take(20) {
        read::timeline(pool, &sample.tenant, sample.contact.into(), &query_for(sample)).await?;
    }
    let (mut first, mut deep, mut offset, mut items) = (Vec::new(), Vec::new(), Vec::new(), 0usize);
    for sample in samples {
        let started = Instant::now();
        let first_page = TimelineQuery { limit: PAGE + 1, ..TimelineQuery::default() };
        read::timeline(pool, &sample.tenant, sample.contact.into(), &first_page).await?;
        first.push(started.elapsed());

        let started = Instant::now();
        items += read::timeline(pool, &sample.tenant, sample.contact.into(), &query_for(sample)).await?.len();
        deep.push(started.elapsed());

        let started = Instant::now();
        sqlx::query(OFFSET_PAGE)
            .bind(&sample.tenant)
            .bind(sample.contact)
            .bind(sample.depth)
            .bind(PAGE + 1)
            .fetch_all(pool)
            .await?;
        offset.push(started.elapsed());
    }
    let depths: Vec<i64> = samples.iter().map(|s| s.depth).collect();
    println!(
        "timeline, {which}: {} requests, page depth p50 {} / max {}, {:.1} items per page",
        samples.len(),
        percentile_i64(&depths, 0.5),
        depths.iter().max().copied().unwrap_or(0),
        items as f64 / samples.len().max(1) as f64
    );
    Ok(vec![
        Row {
            name: format!("timeline first page, {which} (store)"),
            goal_ms: Some(50.0),
            ours: first,
            baseline_name: None,
            baseline: vec![],
        },
        Row {
            name: format!("timeline random-depth page, {which} (store)"),
            goal_ms: Some(50.0),
            ours: deep,
            baseline_name: Some("OFFSET over UNION ALL".into()),
            baseline: offset,
        },
    ])
}

/// A search on one contact's timeline (`?q=`), against the same filter without the index.
async fn bench_contact_search(pool: &PgPool, samples: &[TimelineSample], rng: &mut Rng) -> anyhow::Result<Row> {
    let (mut ours, mut baseline) = (Vec::new(), Vec::new());
    for sample in samples {
        let q = plain(WORDS[30 + rng.below(WORDS.len() - 30)]).to_lowercase();
        let search = SearchQuery::parse(&q).context("query")?;
        let query = TimelineQuery { search: Some(search.clone()), limit: PAGE + 1, ..TimelineQuery::default() };
        let started = Instant::now();
        read::timeline(pool, &sample.tenant, sample.contact.into(), &query).await?;
        ours.push(started.elapsed());
        let started = Instant::now();
        sqlx::query(CONTACT_ILIKE)
            .bind(&sample.tenant)
            .bind(sample.contact)
            .bind(search.terms())
            .bind(PAGE + 1)
            .fetch_all(pool)
            .await?;
        baseline.push(started.elapsed());
    }
    Ok(Row {
        name: "timeline with q, random contacts (store)".into(),
        goal_ms: Some(50.0),
        ours,
        baseline_name: Some("unaccent ILIKE on the contact's rows".into()),
        baseline,
    })
}

const CONTACT_ILIKE: &str = "SELECT interaction_id, occurred_at, subject, body_text FROM interactions
    WHERE tenant_id = $1 AND contact_id = $2
      AND public.unaccent('public.unaccent', coalesce(subject, '') || ' ' || coalesce(transcript_text, ''))
          ILIKE ALL (SELECT '%' || public.unaccent('public.unaccent', t) || '%' FROM unnest($3::text[]) t)
    ORDER BY occurred_at DESC LIMIT $4";

fn query_for(sample: &TimelineSample) -> TimelineQuery {
    TimelineQuery { after: sample.after, limit: PAGE + 1, ..TimelineQuery::default() }
}

/// Search requests as operators type them (without diacritics): mostly specific words, some
/// two-word searches and prefixes, a few very common words, order numbers.
fn search_queries(n: usize, rng: &mut Rng) -> Vec<(String, String)> {
    let word = |rng: &mut Rng, from: usize, to: usize| plain(WORDS[from + rng.below(to - from)]).to_lowercase();
    let head = 12.min(WORDS.len());
    (0..n)
        .map(|i| match i % 20 {
            0..=7 => ("specific word".to_owned(), word(rng, 60, WORDS.len())),
            8..=10 => ("two words".to_owned(), format!("{} {}", word(rng, 20, 80), word(rng, 60, WORDS.len()))),
            11..=13 => {
                let w = word(rng, 30, WORDS.len());
                ("prefix (4 letters)".to_owned(), w.chars().take(4).collect())
            }
            14..=15 => ("frequent word".to_owned(), word(rng, 12, 40)),
            16 => ("very common word".to_owned(), word(rng, 0, head)),
            17 => ("order number".to_owned(), format!("objednavka {}", 1000 + rng.below(9000))),
            _ => (
                "name + city".to_owned(),
                format!("{} {}", word(rng, WORDS.len() - 12, WORDS.len()), word(rng, WORDS.len() - 24, WORDS.len() - 12)),
            ),
        })
        .collect()
}

/// The naive search: unaccented `ILIKE '%term%'` for every term, over the same text, without the
/// GIN index, newest first (it can stop at the first page of matches when walking the tenant's
/// time index, but must read the whole tenant when a term is rare; it neither ranks nor cuts
/// snippets).
const ILIKE_SEARCH: &str = "SELECT interaction_id, occurred_at, subject, body_text FROM interactions
    WHERE tenant_id = $1
      AND public.unaccent('public.unaccent', coalesce(subject, '') || ' ' || coalesce(transcript_text, ''))
          ILIKE ALL (SELECT '%' || public.unaccent('public.unaccent', t) || '%' FROM unnest($2::text[]) t)
    ORDER BY occurred_at DESC LIMIT $3";

async fn bench_search(args: &Args, pool: &PgPool, queries: &[(String, String)]) -> anyhow::Result<Vec<Row>> {
    let tenant: String = sqlx::query_scalar("SELECT tenant_id FROM interactions GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
        .fetch_one(pool)
        .await?;
    let size: i64 =
        sqlx::query_scalar("SELECT count(*) FROM interactions WHERE tenant_id = $1").bind(&tenant).fetch_one(pool).await?;
    let mut ours: BTreeMap<String, Vec<Duration>> = BTreeMap::new();
    let mut naive: BTreeMap<String, Vec<Duration>> = BTreeMap::new();
    let (mut all, mut all_naive, mut rank_all, mut hits, mut matched) = (Vec::new(), Vec::new(), Vec::new(), 0usize, Vec::new());
    for (_, q) in queries.iter().take(20) {
        search_once(pool, &tenant, q).await?;
    }
    for (i, (kind, q)) in queries.iter().enumerate() {
        let search = SearchQuery::parse(q).context("query")?;
        let started = Instant::now();
        hits += search_once(pool, &tenant, q).await?;
        let elapsed = started.elapsed();
        all.push(elapsed);
        ours.entry(kind.clone()).or_default().push(elapsed);

        let started = Instant::now();
        sqlx::query(ILIKE_SEARCH).bind(&tenant).bind(search.terms()).bind(SEARCH_PAGE + 1).fetch_all(pool).await?;
        let elapsed = started.elapsed();
        all_naive.push(elapsed);
        naive.entry(kind.clone()).or_default().push(elapsed);

        if i < args.baseline_requests {
            let started = Instant::now();
            sqlx::query(RANK_EVERY_MATCH)
                .bind(&tenant)
                .bind(search.tsquery())
                .bind(SEARCH_PAGE + 1)
                .persistent(false)
                .fetch_all(pool)
                .await?;
            rank_all.push(started.elapsed());
            let n: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM interactions WHERE tenant_id = $1 AND search @@ to_tsquery('timeline_unaccent', $2)",
            )
            .bind(&tenant)
            .bind(search.tsquery())
            .fetch_one(pool)
            .await?;
            matched.push(n);
        }
    }
    println!(
        "search: tenant {tenant} ({size} interactions), {:.1} hits per page, matches per query p50 {} / p95 {} / max {}",
        hits as f64 / queries.len().max(1) as f64,
        percentile_i64(&matched, 0.5),
        percentile_i64(&matched, 0.95),
        matched.iter().max().copied().unwrap_or(0)
    );
    let mut rows = vec![
        Row {
            name: "tenant-wide search, mix (store)".into(),
            goal_ms: Some(200.0),
            ours: all.clone(),
            baseline_name: Some("unaccent ILIKE, newest first, no GIN".into()),
            baseline: all_naive,
        },
        Row {
            name: "tenant-wide search, mix (store)".into(),
            goal_ms: Some(200.0),
            ours: all,
            baseline_name: Some(format!("ts_rank of every match, n={}", rank_all.len())),
            baseline: rank_all,
        },
    ];
    for (kind, times) in ours {
        let baseline = naive.remove(&kind).unwrap_or_default();
        rows.push(Row {
            name: format!("  search: {kind}"),
            goal_ms: None,
            ours: times,
            baseline_name: Some("  unaccent ILIKE, newest first".into()),
            baseline,
        });
    }
    Ok(rows)
}

/// Exact ranking of every match (what the window avoids).
const RANK_EVERY_MATCH: &str = "SELECT interaction_id, ts_rank(search, q) AS rank
    FROM interactions, to_tsquery('timeline_unaccent', $2) q
    WHERE tenant_id = $1 AND search @@ q ORDER BY rank DESC, occurred_at DESC LIMIT $3";

async fn search_once(pool: &PgPool, tenant: &str, q: &str) -> anyhow::Result<usize> {
    let filter = SearchFilter {
        search: SearchQuery::parse(q).context("query")?,
        channel: None,
        from: None,
        to: None,
        after: None,
        window_floor: None,
        limit: SEARCH_PAGE + 1,
    };
    Ok(read::search(pool, tenant, &filter).await?.items.len())
}

/// The same requests through the real HTTP stack (JWT, routing, JSON).
async fn bench_http(pool: &PgPool, samples: &[TimelineSample], queries: &[(String, String)]) -> anyhow::Result<Vec<Row>> {
    let verifier = Arc::new(JwtVerifier::new(&testkit::auth())?);
    let routes = timeline::http::router(timeline::http::ApiState { pool: pool.clone(), verifier });
    let shutdown = runtime::shutdown::CancellationToken::new();
    let readiness = Readiness { database: Some(pool.clone()), kafka: None };
    let http: runtime::settings::HttpSettings = runtime::settings::HttpSettings::default();
    let (addr, server) = runtime::http::serve("timeline-bench", &http, routes, readiness, shutdown.clone()).await?;
    let client = testkit::http();
    let mut tokens = BTreeMap::new();
    let mut page = Vec::new();
    for sample in samples {
        let token = tokens.entry(sample.tenant.clone()).or_insert_with(|| testkit::token(&sample.tenant, Role::Operator)).clone();
        let mut url = format!("http://{addr}/v1/contacts/{}/timeline?limit={PAGE}", sample.contact);
        if let Some((at, id)) = sample.after {
            let cursor = timeline::http::position::encode_timeline(at, id);
            url.push_str(&format!("&cursor={cursor}"));
        }
        let started = Instant::now();
        let response = client.get(&url).bearer_auth(&token).send().await?;
        let status = response.status();
        response.bytes().await?;
        page.push(started.elapsed());
        if !status.is_success() {
            bail!("{url}: {status}");
        }
    }
    let tenant: String = sqlx::query_scalar("SELECT tenant_id FROM interactions GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
        .fetch_one(pool)
        .await?;
    let token = testkit::token(&tenant, Role::Operator);
    let mut search = Vec::new();
    for (_, q) in queries {
        let started = Instant::now();
        let response = client
            .get(format!("http://{addr}/v1/search?limit={SEARCH_PAGE}&q={}", percent_encode(q)))
            .bearer_auth(&token)
            .send()
            .await?;
        let status = response.status();
        response.bytes().await?;
        search.push(started.elapsed());
        if !status.is_success() {
            bail!("search {q}: {status}");
        }
    }
    shutdown.cancel();
    server.await??;
    Ok(vec![
        Row {
            name: "timeline random-depth page, busiest contacts (HTTP)".into(),
            goal_ms: Some(50.0),
            ours: page,
            baseline_name: None,
            baseline: vec![],
        },
        Row {
            name: "tenant-wide search, mix (HTTP)".into(),
            goal_ms: Some(200.0),
            ours: search,
            baseline_name: None,
            baseline: vec![],
        },
    ])
}

/// Percent-encodes a query-string value (everything but ASCII letters and digits).
fn percent_encode(value: &str) -> String {
    value.bytes().map(|b| if b.is_ascii_alphanumeric() { char::from(b).to_string() } else { format!("%{b:02X}") }).collect()
}

// ---------------------------------------------------------------------------------------------
// Report

fn percentile(times: &[Duration], p: f64) -> f64 {
    if times.is_empty() {
        return f64::NAN;
    }
    let mut sorted: Vec<f64> = times.iter().map(|t| t.as_secs_f64() * 1000.0).collect();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn percentile_i64(values: &[i64], p: f64) -> i64 {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn print_table(rows: &[Row]) {
    println!();
    println!(
        "| {:<54} | {:>4} | {:>7} | {:>7} | {:>7} | {:>6} | {:<40} | {:>9} | {:>9} | {:>9} |",
        "measurement", "n", "p50 ms", "p95 ms", "p99 ms", "goal", "baseline (same run)", "base p50", "base p95", "p95 ratio"
    );
    println!(
        "|{:-<56}|{:->6}|{:->9}|{:->9}|{:->9}|{:->8}|{:-<42}|{:->11}|{:->11}|{:->11}|",
        "", "", "", "", "", "", "", "", "", ""
    );
    for row in rows {
        let (p50, p95, p99) = (percentile(&row.ours, 0.5), percentile(&row.ours, 0.95), percentile(&row.ours, 0.99));
        let goal = row.goal_ms.map_or(String::new(), |g| format!("{}{g:.0}", if p95 < g { "✓<" } else { "✗<" }));
        let (base50, base95) = (percentile(&row.baseline, 0.5), percentile(&row.baseline, 0.95));
        let ratio = if row.baseline.is_empty() {
            String::new()
        } else {
            {
                let ratio = base95 / p95;
                if ratio < 1.0 {
                    format!("{ratio:.2}×")
                } else {
                    format!("{ratio:.1}×")
                }
            }
        };
        let fmt = |v: f64| if v.is_nan() { String::new() } else { format!("{v:.2}") };
        println!(
            "| {:<54} | {:>4} | {:>7.2} | {:>7.2} | {:>7.2} | {:>6} | {:<40} | {:>9} | {:>9} | {:>9} |",
            row.name,
            row.ours.len(),
            p50,
            p95,
            p99,
            goal,
            row.baseline_name.clone().unwrap_or_default(),
            fmt(base50),
            fmt(base95),
            ratio
        );
    }
}
