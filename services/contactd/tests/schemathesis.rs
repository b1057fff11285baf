//! The OpenAPI contract held against the running code (issue 11): Schemathesis, a schema-driven
//! fuzzer from PyPI, runs against the Directory API and the Timeline API of a `contactd` stack
//! (embedded Kafka, its own database) with an operator's and an admin's token. Any 5xx, any
//! response that does not match its documented schema and any status code the document does not
//! list fails the test. Bounded in examples per operation and phase, not in time: under
//! `--max-time` the fuzzing phase keeps drawing new cases until the budget is spent (Schemathesis'
//! benchmarking guide), so every run took the whole budget. The four runs (two APIs, two roles)
//! go one after another: at once they were slower on two cores (Schemathesis and the debug build
//! of the stack both want the CPU); their totals are printed.
//! The stack holds the demo's data (every channel's sample webhook, definitions, a blocked value),
//! and the reads of a contact's card and timeline are pinned to a contact that exists, so the
//! schemas of full cards and timelines are checked against real answers, not only 404s.
//!
//! Schemathesis is installed once into a virtual environment of its pinned version under
//! `$CONTACTD_CACHE` (default `~/.cache/contactd`), from PyPI.

use std::path::{Path, PathBuf};
use std::process::Command;

use contactd::launcher::{self, dev};
use runtime::http::auth::{issue_hs256, Role};
use runtime::shutdown::CancellationToken;
use testkit::fresh_database;

/// The pinned Schemathesis release (its check names and CLI are those of 4.x).
const SCHEMATHESIS_VERSION: &str = "4.32.5";
/// What a response must satisfy; every one of them fails the run.
const CHECKS: &str = "not_a_server_error,status_code_conformance,response_schema_conformance";
/// Test cases per operation and phase (examples, coverage, fuzzing), one run per API and role.
const MAX_EXAMPLES: &str = "30";
/// One worker: with two, Hypothesis' `ast.parse` failed on this machine's Python 3.11.7 ("AST
/// constructor recursion depth mismatch", a thread-safety bug of CPython).
const WORKERS: &str = "1";

/// The `st` executable of the pinned version, installed on first use.
fn schemathesis() -> PathBuf {
    let cache = std::env::var_os("CONTACTD_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".cache/contactd"));
    let venv = cache.join(format!("schemathesis-{SCHEMATHESIS_VERSION}"));
    let st = venv.join("bin/st");
    if installed(&st) {
        return st;
    }
    eprintln!("installing schemathesis {SCHEMATHESIS_VERSION} into {} (first run only)…", venv.display());
    run(Command::new("python3").arg("-m").arg("venv").arg("--clear").arg(&venv), "python3 -m venv");
    run(
        Command::new(venv.join("bin/pip")).args(["install", "--quiet", &format!("schemathesis=={SCHEMATHESIS_VERSION}")]),
        "pip install schemathesis",
    );
    assert!(installed(&st), "{} does not report version {SCHEMATHESIS_VERSION}", st.display());
    st
}

fn installed(st: &Path) -> bool {
    Command::new(st)
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success() && String::from_utf8_lossy(&out.stdout).contains(SCHEMATHESIS_VERSION))
}

fn run(command: &mut Command, what: &str) {
    let status = command.status().unwrap_or_else(|e| panic!("{what} cannot run: {e}"));
    assert!(status.success(), "{what} failed: {status}");
}

/// One run against `document`; its report (with the totals) and whether it passed.
fn fuzz(st: &Path, api: &str, document: &str, role: &str, token: &str, config: &Path, report: &Path) -> (String, bool) {
    let output = Command::new(st)
        .arg("--config-file")
        .arg(config)
        .args(["run", document, "--checks", CHECKS, "--max-examples", MAX_EXAMPLES])
        .args(["--workers", WORKERS, "--seed", "11", "--request-timeout", "10", "--no-color"])
        .args(["--phases", "examples,coverage,fuzzing"])
        .args(["--suppress-health-check", "all"])
        .arg("--header")
        .arg(format!("Authorization: Bearer {token}"))
        .arg("--report")
        .arg("junit")
        .arg("--report-junit-path")
        .arg(report)
        .args(["--generation-database", "none"])
        .current_dir(report.parent().expect("the report's directory"))
        .output()
        .expect("schemathesis runs");
    let text = format!(
        "── schemathesis: {api} API as {role} ──\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (text, output.status.success())
}

#[tokio::test(flavor = "multi_thread")]
async fn both_apis_hold_to_their_openapi_documents_for_an_operator_and_an_admin() {
    let st = tokio::task::spawn_blocking(schemathesis).await.expect("installer");

    let database = fresh_database();
    let mut settings = launcher::load_settings(false).expect("settings");
    settings.database = (*database).clone();
    settings.kafka.brokers = String::new();
    launcher::quiet_telemetry(&mut settings);
    let shutdown = CancellationToken::new();
    let stack = launcher::start(settings.clone(), shutdown.clone()).await.expect("contactd starts");
    contactd::demo::seed(&stack, &settings).await.expect("demo data");
    let token = |role| issue_hs256(&settings.auth, "schemathesis", dev::TENANT, role, 600).expect("token");
    let tokens = [("operator", token(Role::Operator)), ("admin", token(Role::Admin))];

    let reports = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("schemathesis");
    std::fs::create_dir_all(&reports).expect("report directory");
    let contact = contact_with_a_timeline(&stack, &tokens[0].1).await;
    let pinned = |path_regex: &str, id: &str| {
        format!("[[operations]]\ninclude-method = \"GET\"\ninclude-path-regex = '{path_regex}'\nparameters = {{ \"path.id\" = \"{id}\" }}\n")
    };
    let apis = [
        ("Directory", stack.resolver, pinned(r"^/v1/contacts/\{id\}", &contact)),
        (
            "Timeline",
            stack.timeline,
            // One pin per document: Schemathesis 4.32 gives every operation with an `id` the
            // parameters of the first `[[operations]]` entry (seen in its HAR report), so the
            // interaction's own read is only fuzzed with generated ids.
            pinned(r"^/v1/contacts/\{id\}/timeline$", &contact),
        ),
    ];
    let mut failed = Vec::new();
    for (api, addr, config) in apis {
        let config_file = reports.join(format!("{api}.toml"));
        std::fs::write(&config_file, config).expect("config written");
        for (role, token) in &tokens {
            let document = format!("http://{addr}/openapi.json");
            let report = reports.join(format!("{api}-{role}.xml"));
            let (st, config_file) = (st.clone(), config_file.clone());
            let (api_, role_, token) = (api.to_owned(), (*role).to_owned(), token.clone());
            let (text, passed) =
                tokio::task::spawn_blocking(move || fuzz(&st, &api_, &document, &role_, &token, &config_file, &report))
                    .await
                    .expect("run");
            println!("{text}");
            if !passed {
                failed.push(format!("{api} API as {role}"));
            }
        }
    }
    shutdown.cancel();
    assert!(failed.is_empty(), "schemathesis found failures in: {failed:?} (its reports are printed above)");
}

/// A contact of the demo data that has interactions in its timeline.
async fn contact_with_a_timeline(stack: &launcher::Stack, token: &str) -> String {
    let http = testkit::http();
    let get = |url: String| {
        let http = http.clone();
        async move {
            let response = http.get(&url).bearer_auth(token).send().await.expect("sent");
            assert!(response.status().is_success(), "{url}: {}", response.status());
            response.json::<serde_json::Value>().await.expect("json")
        }
    };
    let contacts = get(format!("http://{}/v1/contacts?sort=last_interaction", stack.resolver)).await;
    for card in contacts["items"].as_array().expect("items") {
        let contact = card["contact_id"].as_str().expect("contact_id");
        let timeline = get(format!("http://{}/v1/contacts/{contact}/timeline", stack.timeline)).await;
        if timeline["items"].as_array().expect("items").iter().any(|item| item["type"] == "interaction") {
            return contact.to_owned();
        }
    }
    panic!("no contact of the demo data has an interaction: {contacts}");
}
