//! Where the CPU went during a stage: this process (every service of the pipeline, the load
//! generator and the broker when it is the embedded one) against the PostgreSQL server, read
//! from `/proc` (Linux; elsewhere the row says it was not measured).
//!
//! The server's share sums every process named `postgres` (all backends, the checkpointer and
//! WAL writer): backends that exit during the stage are missed, but the services' pools keep
//! their connections for the whole run. Other work on the machine (another cluster, a build)
//! is in neither figure, which is why the row also gives both as a share of the machine.

use std::time::Instant;

/// `/proc` reports CPU time in USER_HZ, which the kernel ABI fixes at 100 on Linux.
const TICKS_PER_SECOND: f64 = 100.0;

/// CPU seconds used so far by this process and by the PostgreSQL server, at one instant.
pub struct Sample {
    at: Instant,
    own: f64,
    postgres: f64,
}

impl Sample {
    /// `None` where `/proc` cannot be read.
    pub fn now() -> Option<Self> {
        let own = cpu_seconds(&std::fs::read_to_string("/proc/self/stat").ok()?)?.1;
        let mut postgres = 0.0;
        for entry in std::fs::read_dir("/proc").ok()?.flatten() {
            let is_pid = entry.file_name().to_str().is_some_and(|name| name.bytes().all(|b| b.is_ascii_digit()));
            if !is_pid {
                continue;
            }
            // A process can exit between listing and reading: skip it.
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
            if let Some(("postgres", seconds)) = cpu_seconds(&stat) {
                postgres += seconds;
            }
        }
        Some(Self { at: Instant::now(), own, postgres })
    }

    /// The table cell for the stage from `self` to `later`.
    pub fn describe(&self, later: &Sample) -> String {
        let wall = later.at.duration_since(self.at).as_secs_f64().max(f64::EPSILON);
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        let own = later.own - self.own;
        let postgres = later.postgres - self.postgres;
        format!(
            "pipeline process {own:.1} s ({:.2} cores), PostgreSQL server {postgres:.1} s ({:.2} cores) over {wall:.1} s: \
             {:.0}% of the machine's {cores:.0} cores",
            own / wall,
            postgres / wall,
            100.0 * (own + postgres) / (wall * cores)
        )
    }
}

/// The command name and user + system CPU seconds of one `/proc/<pid>/stat` line. The name is
/// in parentheses and may itself contain spaces and parentheses: fields are counted after the
/// last `)`.
fn cpu_seconds(stat: &str) -> Option<(&str, f64)> {
    let (open, close) = (stat.find('(')?, stat.rfind(')')?);
    let name = stat.get(open + 1..close)?;
    // After the name: state (field 3) … utime (14), stime (15).
    let fields: Vec<&str> = stat.get(close + 1..)?.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((name, (utime + stime) / TICKS_PER_SECOND))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_counted_after_the_last_parenthesis_of_the_name() {
        let stat = "4242 (post gres (x)) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 100 0 0";
        assert_eq!(cpu_seconds(stat), Some(("post gres (x)", 3.0)));
        assert_eq!(cpu_seconds("4242 (broken"), None);
    }

    /// Work done by this process shows in its figure; the tests' PostgreSQL server has run.
    #[test]
    fn work_shows_in_this_process_and_the_server_is_found() {
        let first = Sample::now().expect("/proc is readable on Linux");
        assert!(first.postgres > 0.0, "no `postgres` process found (the tests need the server running)");
        let deadline = Instant::now() + std::time::Duration::from_secs(10);
        let mut spin = 0u64;
        while Sample::now().expect("readable").own <= first.own {
            assert!(Instant::now() < deadline, "10 s of spinning did not show in /proc/self/stat");
            spin = std::hint::black_box(spin.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
    }
}
