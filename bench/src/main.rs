//! `bench`: measurements that print their figures beside a baseline of the same run.
//!
//! ```text
//! bench resolution [...]   labelled cross-channel people and hostile families through the resolver; precision and recall per family and policy
//! bench pipeline [...]     signed webhooks end to end into the timeline, beside raw Kafka, PostgreSQL and HTTP baselines
//! ```

mod pipeline;

use bench::resolution;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("resolution") => resolution::run(&args[1..]).await,
        Some("pipeline") => pipeline::run(&args[1..]).await,
        _ => {
            eprintln!("usage: bench resolution [options] | bench pipeline --interactions <n> [options]");
            std::process::exit(2);
        }
    }
}
