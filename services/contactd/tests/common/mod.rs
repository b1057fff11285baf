//! `contactd serve` as a child process on a test's own broker and database: the fault tests
//! kill it (SIGKILL), stop it (SIGTERM) and start it again, which only a separate process allows.

#![allow(dead_code)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use runtime::settings::DatabaseSettings;
use secrecy::ExposeSecret;
use testkit::eventually;

pub const ACME_SITE: &str = "eshop-cz";
pub const ACME_SECRET: &str = "acme-webchat-secret";
pub const GLOBEX_SITE: &str = "globex-shop";
pub const GLOBEX_SECRET: &str = "globex-webchat-secret";
pub const RELAY_TOKEN: &str = "test-relay-token";
pub const MAILBOX: &str = "podpora@acme.cz";

/// A running `contactd serve` and where it answers.
pub struct Served {
    child: Child,
    pub webhooks: String,
    pub resolver: String,
    pub timeline: String,
    pub log: PathBuf,
    config: PathBuf,
    env: Vec<(String, String)>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port()
}

impl Served {
    /// Starts `contactd serve` on `brokers` and `database` with two web chat sites (tenants
    /// `acme` and `globex`) and an e-mail mailbox of `acme`; waits until every part is ready.
    pub async fn start(name: &str, brokers: &str, database: &DatabaseSettings, group_prefix: &str) -> Self {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{group_prefix}"));
        std::fs::create_dir_all(&dir).expect("test directory");
        let (webhooks, resolver, timeline, console) = (free_port(), free_port(), free_port(), free_port());
        let config = dir.join("contactd.toml");
        let toml = format!(
            r#"
[kafka]
group_prefix = "{group_prefix}"
batch_linger_ms = 5
delivery_timeout_ms = 5000
retry_backoff_ms = 50

[auth]
hs256_secret = "{jwt}"

[telemetry]
log_format = "json"
log_filter = "info,rdkafka=warn,sqlx=warn"

[service.webhooks]
bind = "127.0.0.1:{webhooks}"

[service.console]
bind = "127.0.0.1:{console}"

[service.resolver]
outbox_poll_ms = 50
[service.resolver.http]
bind = "127.0.0.1:{resolver}"

[service.timeline.http]
bind = "127.0.0.1:{timeline}"

[service.webchat.sites.{ACME_SITE}]
tenant = "acme"
secret = "{ACME_SECRET}"
[service.webchat.sites.{GLOBEX_SITE}]
tenant = "globex"
secret = "{GLOBEX_SECRET}"

[service.email]
relay_token = "{RELAY_TOKEN}"
[service.email.mailboxes]
"{MAILBOX}" = "acme"
"#,
            jwt = testkit::JWT_SECRET
        );
        std::fs::File::create(&config).and_then(|mut f| f.write_all(toml.as_bytes())).expect("config written");
        let env = vec![
            ("APP_CONFIG".to_owned(), config.display().to_string()),
            ("DATABASE_URL".to_owned(), database.url.expose_secret().to_owned()),
            ("KAFKA_BROKERS".to_owned(), brokers.to_owned()),
        ];
        let log = dir.join("contactd.log");
        let mut served = Self {
            child: spawn(&env, &log),
            webhooks: format!("http://127.0.0.1:{webhooks}"),
            resolver: format!("http://127.0.0.1:{resolver}"),
            timeline: format!("http://127.0.0.1:{timeline}"),
            log,
            config,
            env,
        };
        served.wait_ready().await;
        served
    }

    async fn wait_ready(&mut self) {
        let http = testkit::http();
        for base in [self.webhooks.clone(), self.resolver.clone(), self.timeline.clone()] {
            let url = format!("{base}/readyz");
            let child = &mut self.child;
            let log = &self.log;
            eventually(Duration::from_secs(60), &format!("{url} to be ready"), || {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!("contactd exited with {status} before it was ready; log: {}", log.display());
                }
                let http = http.clone();
                let url = url.clone();
                async move { http.get(&url).send().await.ok().filter(|r| r.status().is_success()).map(|_| ()) }
            })
            .await;
        }
    }

    /// SIGKILL, as a crash or the OOM killer would: nothing is drained or committed.
    pub fn kill(&mut self) {
        self.child.kill().expect("SIGKILL sent");
        self.child.wait().expect("contactd reaped");
    }

    /// SIGTERM, as an orchestrator stopping a pod would.
    pub fn terminate(&self) {
        let status = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().expect("kill runs");
        assert!(status.success(), "SIGTERM sent");
    }

    /// Waits for the process to exit (after [`Served::terminate`]).
    pub async fn exited(&mut self, within: Duration) -> ExitStatus {
        let child = &mut self.child;
        eventually(within, "contactd to exit", || std::future::ready(child.try_wait().expect("try_wait"))).await
    }

    /// Starts the same configuration again (same ports, database, broker and consumer groups).
    pub async fn restart(&mut self) {
        self.child = spawn(&self.env, &self.log);
        self.wait_ready().await;
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(env: &[(String, String)], log: &PathBuf) -> Child {
    let log = std::fs::OpenOptions::new().create(true).append(true).open(log).expect("log file");
    Command::new(env!("CARGO_BIN_EXE_contactd"))
        .arg("serve")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("contactd starts")
}

/// A signed web chat message of `site` from a visitor with `email`.
pub fn webchat_message(site: &str, session: &str, message_id: &str, email: &str, name: &str, text: &str) -> serde_json::Value {
    serde_json::json!({
        "v": 1,
        "site_id": site,
        "session_id": session,
        "message_id": message_id,
        "sent_at": "2026-11-25T10:15:03+01:00",
        "direction": "inbound",
        "text": text,
        "visitor": { "name": name, "email": email }
    })
}

/// Posts a web chat message signed with `secret`; the status.
pub async fn post_webchat(webhooks: &str, secret: &str, body: &serde_json::Value) -> u16 {
    let bytes = serde_json::to_vec(body).expect("serializable");
    testkit::http()
        .post(format!("{webhooks}/webhooks/webchat"))
        .header("content-type", "application/json")
        .header("x-webchat-signature", testkit::sha256_signature(secret, &bytes))
        .body(bytes)
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

/// Posts a raw RFC 5322 message through the mail relay endpoint; the status.
pub async fn post_email(webhooks: &str, message: Vec<u8>) -> u16 {
    testkit::http()
        .post(format!("{webhooks}/webhooks/email"))
        .header("content-type", "message/rfc822")
        .bearer_auth(RELAY_TOKEN)
        .body(message)
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}
