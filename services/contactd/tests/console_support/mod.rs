//! What the browser tests share: the tools they need (each missing one fails the test with its
//! remedy: they never skip) and running a scenario script.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The scenario scripts and their `node_modules`.
pub fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// Debian's Chromium (`CHROMIUM`, default `/usr/bin/chromium`), Node.js and `npm ci` done.
pub fn chromium() -> PathBuf {
    let chromium = PathBuf::from(std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()));
    assert!(chromium.exists(), "no Chromium at {}: run ./scripts/test, which installs Debian's chromium", chromium.display());
    let node = Command::new("node").arg("--version").output();
    assert!(node.is_ok_and(|out| out.status.success()), "Node.js is missing: install Node 20 (./scripts/test needs it)");
    let playwright = browser_dir().join("node_modules/playwright-core");
    assert!(playwright.exists(), "{} is missing: run ./scripts/test (it runs `npm ci` there)", playwright.display());
    chromium
}

/// Runs `node <script>` with `env` (plus `SCREENSHOTS` and `CHROMIUM`), shows its output, and
/// fails the test when it fails.
pub async fn run_scenario(script: &'static str, env: Vec<(&'static str, String)>) {
    let chromium = chromium();
    let screenshots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/console-screenshots");
    let run = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(script)
            .current_dir(browser_dir())
            .envs(env)
            .env("SCREENSHOTS", screenshots)
            .env("CHROMIUM", chromium)
            .output()
            .expect("node runs")
    })
    .await
    .expect("the browser run finishes");
    print!("{}", String::from_utf8_lossy(&run.stdout));
    eprint!("{}", String::from_utf8_lossy(&run.stderr));
    assert!(run.status.success(), "{script} failed ({})", run.status);
}
