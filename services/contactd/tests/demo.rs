//! `contactd demo --exit`, the README's first command, as a newcomer runs it: embedded Kafka, a
//! database of its own, every channel's sample through the real webhooks — and the story it
//! tells ends on one card for Jana.

use std::process::Command;

use secrecy::ExposeSecret;

#[test]
fn the_demo_runs_end_to_end_and_ends_on_one_card_for_jana() {
    let database = testkit::fresh_database();
    let output = Command::new(env!("CARGO_BIN_EXE_contactd"))
        .args(["demo", "--exit"])
        .env("DATABASE_URL", database.url.expose_secret())
        .env_remove("KAFKA_BROKERS")
        .env_remove("APP_CONFIG")
        .output()
        .expect("contactd runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "demo failed: {}\n{stdout}\n{}", output.status, String::from_utf8_lossy(&output.stderr));
    for expected in [
        "forged signature         /webhooks/messenger      -> HTTP 403",
        "confirms jana.dvorakova@klient-mail.cz (the form only proposed it)",
        "phone:+420777123456, whatsapp:420777123456, email:jana.dvorakova@klient-mail.cz",
        "(matched by email jana.dvorakova@klient-mail.cz)",
        "(matched by phone +420777123456)",
        "== Done",
    ] {
        assert!(stdout.contains(expected), "the demo's output lacks {expected:?}:\n{stdout}");
    }
    let cards = stdout.lines().filter(|l| l.contains("Jana Dvořáková")).count();
    assert!(cards >= 1, "{stdout}");
}
