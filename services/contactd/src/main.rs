//! `contactd`: every service in one process.
//!
//! ```text
//! contactd demo                      embedded Kafka + local PostgreSQL, feeds sample webhooks, prints the result
//! contactd serve                     the same services with fixed dev ports, until Ctrl-C
//! contactd token --tenant T --role R a bearer token for the APIs (uses auth.hs256_secret)
//! ```

use anyhow::bail;
use contactd::{demo, launcher};
use runtime::http::auth::{issue_hs256, Role};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("demo") => demo::run().await,
        Some("serve") => launcher::serve().await,
        Some("token") => token(&args[1..]),
        _ => {
            eprintln!("usage: contactd demo | serve | token --tenant <id> [--role operator|admin|integration] [--ttl <seconds>]");
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
