//! Directory search latency at scale: loads N contacts with Czech names (diacritics included),
//! e-mails, phones, channel and CRM identifiers into a fresh database, then times `listing::list`
//! (the query behind `GET /v1/contacts`) for free text, exact e-mail, exact phone, an identifier,
//! a channel and the sort orders, and the same queries as a baseline in the same run: with the
//! indexes of migration 0004 dropped (inside a transaction that is rolled back), plus the free-text
//! query as it was before 0004.
//!
//! ```sh
//! cargo run --release -p resolver --example search_bench -- --contacts 100000 [--queries 300]
//! ```

use std::time::{Duration, Instant};

use anyhow::Context;
use contracts::IdentityKind;
use resolver::directory::listing::{self, ListFilter, Sort};
use sqlx::PgConnection;

const TENANT: &str = "bench";
/// One page of the API (`limit` 50, plus one to know whether there is a next page).
const PAGE: i64 = 51;

const MEN: [&str; 20] = [
    "Jiří",
    "Jan",
    "Petr",
    "Josef",
    "Pavel",
    "Martin",
    "Tomáš",
    "Jaroslav",
    "Miroslav",
    "Zdeněk",
    "Václav",
    "Michal",
    "František",
    "Jakub",
    "Milan",
    "Karel",
    "Lukáš",
    "David",
    "Vladimír",
    "Ondřej",
];
const WOMEN: [&str; 20] = [
    "Jana",
    "Marie",
    "Eva",
    "Hana",
    "Anna",
    "Lenka",
    "Kateřina",
    "Lucie",
    "Věra",
    "Alena",
    "Petra",
    "Veronika",
    "Jaroslava",
    "Tereza",
    "Martina",
    "Michaela",
    "Jitka",
    "Helena",
    "Ludmila",
    "Zdeňka",
];
/// Surnames with their feminine forms, same position.
const SURNAMES: [(&str, &str); 30] = [
    ("Novák", "Nováková"),
    ("Svoboda", "Svobodová"),
    ("Novotný", "Novotná"),
    ("Dvořák", "Dvořáková"),
    ("Černý", "Černá"),
    ("Procházka", "Procházková"),
    ("Kučera", "Kučerová"),
    ("Veselý", "Veselá"),
    ("Horák", "Horáková"),
    ("Němec", "Němcová"),
    ("Marek", "Marková"),
    ("Pokorný", "Pokorná"),
    ("Pospíšil", "Pospíšilová"),
    ("Hájek", "Hájková"),
    ("Jelínek", "Jelínková"),
    ("Král", "Králová"),
    ("Růžička", "Růžičková"),
    ("Beneš", "Benešová"),
    ("Fiala", "Fialová"),
    ("Sedláček", "Sedláčková"),
    ("Doležal", "Doležalová"),
    ("Zeman", "Zemanová"),
    ("Kolář", "Kolářová"),
    ("Navrátil", "Navrátilová"),
    ("Čermák", "Čermáková"),
    ("Vaněk", "Vaňková"),
    ("Urban", "Urbanová"),
    ("Blažek", "Blažková"),
    ("Kříž", "Křížová"),
    ("Kovář", "Kovářová"),
];

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

/// Loads `n` contacts in two statements. `h(i, k)` is a deterministic pseudo-random stream per
/// contact (hashint4), so a rerun builds the same directory.
async fn load(conn: &mut PgConnection, n: i32) -> anyhow::Result<()> {
    let (masculine, feminine): (Vec<&str>, Vec<&str>) = SURNAMES.iter().copied().unzip();
    sqlx::query(
        "INSERT INTO contacts (contact_id, tenant_id, name, name_source, created_at, updated_at, last_interaction_at)
         SELECT md5('c' || i)::uuid, $6,
                CASE WHEN h1 % 40 = 0 THEN NULL
                     WHEN h2 % 2 = 0 THEN $2[1 + h3 % 20] || ' ' || $4[1 + h4 % 30]
                     ELSE $3[1 + h3 % 20] || ' ' || $5[1 + h4 % 30] END,
                (ARRAY['channel', 'form', 'operator'])[1 + h5 % 3],
                created, created,
                CASE WHEN h5 % 10 < 7 THEN created + make_interval(secs => h6 % 31536000) END
         FROM (SELECT i, hashint4(i) & 2147483647 AS h1, hashint4(i + 1000000000) & 2147483647 AS h2,
                      hashint4(i + 2000000000) & 2147483647 AS h3, hashint4(-i) & 2147483647 AS h4,
                      hashint4(-i - 1000000000) & 2147483647 AS h5, hashint4(-i - 2000000000) & 2147483647 AS h6,
                      now() - make_interval(secs => (hashint4(i + 500000000) & 2147483647) % 94608000) AS created
               FROM generate_series(1, $1) AS i) AS g",
    )
    .bind(n)
    .bind(&MEN[..])
    .bind(&WOMEN[..])
    .bind(&masculine)
    .bind(&feminine)
    .bind(TENANT)
    .execute(&mut *conn)
    .await
    .context("loading contacts")?;
    // Every contact an e-mail; 80 % a phone, 30 % a Messenger PSID, 15 % WhatsApp, 20 % a CRM number.
    sqlx::query(
        "INSERT INTO contact_identities (identity_id, tenant_id, contact_id, kind, scope, value, source)
         SELECT gen_random_uuid(), $2, md5('c' || i)::uuid, kind, scope, value, 'channel'
         FROM generate_series(1, $1) AS i
         JOIN contacts c ON c.contact_id = md5('c' || i)::uuid
         CROSS JOIN LATERAL (VALUES
             ('email', '', coalesce(replace(search_text(c.name), ' ', '.'), 'zakaznik') || '.' || i || '@'
                           || (ARRAY['seznam.cz', 'gmail.com', 'email.cz', 'centrum.cz', 'post.cz'])[1 + i % 5], true),
             ('phone', '', '+4206' || lpad(i::text, 8, '0'), i % 10 < 8),
             ('psid', 'page-1', (1000000000000000 + i)::text, i % 10 >= 7),
             ('whatsapp', '', '4207' || lpad(i::text, 8, '0'), i % 20 < 3),
             ('custom', 'crm_id', 'CRM-' || lpad(i::text, 7, '0'), i % 5 = 0)
         ) AS v(kind, scope, value, present)
         WHERE present",
    )
    .bind(n)
    .bind(TENANT)
    .execute(&mut *conn)
    .await
    .context("loading identities")?;
    // VACUUM also empties the GIN pending lists the bulk insert filled (autovacuum's steady
    // state); searching a pending list of a whole load would time the load, not the index.
    sqlx::query("VACUUM ANALYZE contacts").execute(&mut *conn).await?;
    sqlx::query("VACUUM ANALYZE contact_identities").execute(&mut *conn).await?;
    Ok(())
}

/// One kind of query with its sample filters.
struct Case {
    name: &'static str,
    filters: Vec<ListFilter>,
}

async fn samples(conn: &mut PgConnection, sql: &str, count: i64) -> anyhow::Result<Vec<String>> {
    let values: Vec<(String,)> = sqlx::query_as(sql).bind(count).fetch_all(conn).await.with_context(|| sql.to_owned())?;
    Ok(values.into_iter().map(|(v,)| v).collect())
}

async fn cases(conn: &mut PgConnection, count: i64) -> anyhow::Result<Vec<Case>> {
    let text = |q: &String| ListFilter { q: Some(q.clone()), ..ListFilter::default() };
    let exact =
        |kind: IdentityKind| move |v: &String| ListFilter { identities: vec![(kind, v.clone())], ..ListFilter::default() };
    let sample = "ORDER BY md5(value) LIMIT $1";
    let names = samples(
        conn,
        "SELECT search_text(name) FROM contacts WHERE name IS NOT NULL ORDER BY md5(contact_id::text) LIMIT $1",
        count,
    )
    .await?;
    let surnames: Vec<String> = names.iter().map(|n| n.split(' ').nth(1).unwrap_or("novak").to_owned()).collect();
    let of_kind = |kind: &str| format!("SELECT value FROM contact_identities WHERE kind = '{kind}' {sample}");
    let emails = samples(conn, &of_kind("email"), count).await?;
    let phones = samples(conn, &of_kind("phone"), count).await?;
    let crm = samples(conn, &of_kind("custom"), count).await?;
    let every = |filter: ListFilter| (0..count).map(|_| filter.clone()).collect::<Vec<_>>();
    Ok(vec![
        Case { name: "q: first + last name, no diacritics", filters: names.iter().map(text).collect() },
        Case { name: "q: surname only (many matches)", filters: surnames.iter().map(text).collect() },
        Case { name: "email= exact", filters: emails.iter().map(exact(IdentityKind::Email)).collect() },
        Case { name: "phone= exact", filters: phones.iter().map(exact(IdentityKind::Phone)).collect() },
        Case { name: "identifier=custom:CRM-…", filters: crm.iter().map(exact(IdentityKind::Custom)).collect() },
        Case {
            name: "channel=messenger",
            filters: every(ListFilter { holds_kind: Some(IdentityKind::Psid), ..ListFilter::default() }),
        },
        Case { name: "sort=name, first page", filters: every(ListFilter { sort: Sort::Name, ..ListFilter::default() }) },
        Case {
            name: "sort=last_interaction, first page",
            filters: every(ListFilter { sort: Sort::LastInteraction, ..ListFilter::default() }),
        },
    ])
}

/// p50, p95, p99 in milliseconds.
fn percentiles(mut timings: Vec<Duration>) -> [f64; 3] {
    timings.sort_unstable();
    let at = |p: f64| {
        let index = ((timings.len() as f64 * p).ceil() as usize).clamp(1, timings.len()) - 1;
        timings[index].as_secs_f64() * 1000.0
    };
    [at(0.50), at(0.95), at(0.99)]
}

async fn time_case(conn: &mut PgConnection, case: &Case) -> anyhow::Result<([f64; 3], usize)> {
    for filter in case.filters.iter().take(10) {
        listing::list(conn, TENANT, filter, PAGE).await?;
    }
    let mut timings = Vec::with_capacity(case.filters.len());
    let mut found = 0;
    for filter in &case.filters {
        let started = Instant::now();
        found += listing::list(conn, TENANT, filter, PAGE).await?.len();
        timings.push(started.elapsed());
    }
    Ok((percentiles(timings), found / case.filters.len().max(1)))
}

/// The free-text query as it was before migration 0004: unaccent on every row, identifiers by `OR EXISTS`.
async fn time_previous_query(conn: &mut PgConnection, case: &Case) -> anyhow::Result<[f64; 3]> {
    let mut timings = Vec::new();
    for filter in &case.filters {
        let q = filter.q.as_deref().unwrap_or_default();
        let pattern = format!("%{}%", q.trim().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
        let started = Instant::now();
        sqlx::query(
            "SELECT c.contact_id, c.created_at FROM contacts c
             WHERE c.tenant_id = $1 AND c.deleted_at IS NULL AND c.merged_into IS NULL
               AND (public.unaccent('public.unaccent', lower(coalesce(c.name, ''))) LIKE public.unaccent('public.unaccent', lower($2))
                    OR EXISTS (SELECT 1 FROM contact_identities i
                               WHERE i.contact_id = c.contact_id AND lower(i.value) LIKE lower($2)))
             ORDER BY c.created_at DESC, c.contact_id DESC LIMIT $3",
        )
        .bind(TENANT)
        .bind(pattern)
        .bind(PAGE)
        .fetch_all(&mut *conn)
        .await?;
        timings.push(started.elapsed());
    }
    Ok(percentiles(timings))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n: i32 = arg("--contacts").map(|v| v.parse()).transpose()?.unwrap_or(100_000);
    let count: i64 = arg("--queries").map(|v| v.parse()).transpose()?.unwrap_or(300);
    let database = testkit::fresh_database();
    let pool = runtime::db::connect(&database, resolver::SCHEMA, &resolver::MIGRATOR).await?;
    let mut conn = pool.acquire().await?;

    let started = Instant::now();
    load(&mut conn, n).await?;
    let (identities,): (i64,) = sqlx::query_as("SELECT count(*) FROM contact_identities").fetch_one(&mut *conn).await?;
    println!("loaded {n} contacts with {identities} identities in {:.1} s", started.elapsed().as_secs_f64());

    let cases = cases(&mut conn, count).await?;
    let mut indexed = Vec::new();
    for case in &cases {
        indexed.push(time_case(&mut conn, case).await?);
    }

    // Baseline: the same queries without the 0004 indexes (the scope-first lookup index back).
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    sqlx::query(
        "DROP INDEX contacts_name_trgm, contact_identities_value_trgm, contact_identities_by_value,
                    contacts_by_tenant_name, contacts_by_tenant_last_interaction",
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query("CREATE INDEX contact_identities_lookup ON contact_identities (tenant_id, kind, scope, value)")
        .execute(&mut *tx)
        .await?;
    let mut baseline = Vec::new();
    for case in &cases {
        baseline.push(time_case(&mut tx, case).await?.0);
    }
    let previous = time_previous_query(&mut tx, &cases[0]).await?;
    tx.rollback().await?;

    println!("\n{count} queries per case, listing::list with limit {PAGE}, tenant of {n} contacts; times in ms");
    println!(
        "{:<38} {:>6} | {:>7} {:>7} {:>7} | {:>9} {:>9} {:>9} | {:>9}",
        "query", "rows", "p50", "p95", "p99", "base p50", "base p95", "base p99", "p95 ratio"
    );
    for ((case, ([p50, p95, p99], rows)), [b50, b95, b99]) in cases.iter().zip(&indexed).zip(&baseline) {
        println!(
            "{:<38} {rows:>6} | {p50:>7.2} {p95:>7.2} {p99:>7.2} | {b50:>9.2} {b95:>9.2} {b99:>9.2} | {:>8.1}x",
            case.name,
            b95 / p95
        );
    }
    let ([p50, p95, p99], _) = indexed[0];
    let [b50, b95, b99] = previous;
    println!(
        "{:<38} {:>6} | {p50:>7.2} {p95:>7.2} {p99:>7.2} | {b50:>9.2} {b95:>9.2} {b99:>9.2} | {:>8.1}x",
        "q: vs the query before 0004",
        "",
        b95 / p95
    );
    println!("\nbaseline = the same listing::list without the 0004 indexes; last row = the free-text SQL of 0003 (unaccent per row, OR EXISTS)");
    drop(conn);
    pool.close().await;
    drop_database(&database).await
}

/// Removes the benchmark's database (a 100k directory is a few hundred megabytes).
async fn drop_database(database: &runtime::settings::DatabaseSettings) -> anyhow::Result<()> {
    use secrecy::ExposeSecret;
    use sqlx::{ConnectOptions, Connection};
    let options: sqlx::postgres::PgConnectOptions = database.url.expose_secret().parse()?;
    let name = options.get_database().context("the benchmark database has a name")?.to_owned();
    let mut admin = options.database("postgres").connect().await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", runtime::db::quote_ident(&name))).execute(&mut admin).await?;
    admin.close().await?;
    Ok(())
}
