//! TLS on the local test PostgreSQL server with a certificate the tests can verify.
//!
//! [`ensure`] gives the server a certificate for `localhost`/`127.0.0.1` signed by a test CA
//! (kept in `<data_directory>/contactd-test-tls/`, made once and reused — several checkouts share
//! the server, and it must find its certificate after a restart) and turns `ssl` on through `ALTER SYSTEM` plus a configuration reload. Other
//! tests are unaffected: they connect with `sslmode=prefer` (encrypted, not verified) or plain.
//! The test process must be able to write the data directory (it runs beside the server as root
//! or as `postgres`); the server must be able to read the key (owned by it, mode 0600).

use std::os::unix::fs::{chown, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgSslMode};
use sqlx::{ConnectOptions, Connection, PgConnection};

const DIR: &str = "contactd-test-tls";

/// Makes the server serve TLS with the test certificate; returns the CA certificate's path.
pub async fn ensure() -> PathBuf {
    let url = format!("{}/postgres", super::server_url().trim_end_matches('/'));
    let mut admin = PgConnection::connect(&url).await.expect("the test PostgreSQL server is reachable");
    let data_directory: String =
        sqlx::query_scalar("SHOW data_directory").fetch_one(&mut admin).await.expect("a superuser may read data_directory");
    let dir = Path::new(&data_directory).join(DIR);
    let created = !dir.join("ca.crt").is_file();
    if created {
        create(Path::new(&data_directory), &dir);
    }
    let (ca, cert, key) = (dir.join("ca.crt"), dir.join("server.crt"), dir.join("server.key"));
    let configured: String = sqlx::query_scalar("SHOW ssl_cert_file").fetch_one(&mut admin).await.expect("ssl_cert_file");
    let ssl: String = sqlx::query_scalar("SHOW ssl").fetch_one(&mut admin).await.expect("ssl");
    let verified = PgConnectOptions::from_str(&url).expect("a valid URL").ssl_mode(PgSslMode::VerifyFull).ssl_root_cert(&ca);
    // The server may still hold an older certificate in memory (files replaced, no reload).
    if created || ssl != "on" || Path::new(&configured) != cert || verified.connect().await.is_err() {
        for (setting, value) in [("ssl_cert_file", path_str(&cert)), ("ssl_key_file", path_str(&key)), ("ssl", "on")] {
            // ALTER SYSTEM takes no bound parameters: the value is a quoted literal.
            let sql = format!("ALTER SYSTEM SET {setting} = '{}'", value.replace('\'', "''"));
            sqlx::query(&sql).execute(&mut admin).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
        sqlx::query("SELECT pg_reload_conf()").execute(&mut admin).await.expect("reloading the configuration");
        // New sessions get the reloaded configuration once the postmaster has processed it.
        let deadline = Instant::now() + Duration::from_secs(20);
        while let Err(error) = verified.connect().await {
            assert!(Instant::now() < deadline, "no verified TLS connection with the test CA after the reload: {error}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    ca
}

/// Writes CA, certificate and key into a fresh directory beside `dir` and renames it into
/// place, so a concurrent test run sees either nothing or all three files.
fn create(data_directory: &Path, dir: &Path) {
    let owner = std::fs::metadata(data_directory).expect("data directory metadata");
    let staging = data_directory.join(format!("{DIR}.{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir(&staging).unwrap_or_else(|e| panic!("creating {}: {e}", staging.display()));
    // Kept for later runs and server restarts, so valid for long; its CA key is not kept.
    let ca = super::tls::TestCa::valid_for("contactd test PostgreSQL CA", 3650);
    let server = ca.server_cert();
    let files = [("ca.crt", ca.cert_pem(), 0o644), ("server.crt", server.cert_pem, 0o644), ("server.key", server.key_pem, 0o600)];
    for (name, content, mode) in files {
        let path = staging.join(name);
        std::fs::write(&path, content).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("permissions");
        chown(&path, Some(owner.uid()), Some(owner.gid())).expect("handing the file to the server's user");
    }
    std::fs::set_permissions(&staging, std::fs::Permissions::from_mode(0o755)).expect("permissions");
    chown(&staging, Some(owner.uid()), Some(owner.gid())).expect("handing the directory to the server's user");
    if std::fs::rename(&staging, dir).is_err() {
        // Another run was first; its files are as good.
        let _ = std::fs::remove_dir_all(&staging);
        assert!(dir.join("ca.crt").is_file(), "no test certificate in {}", dir.display());
    }
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("the data directory path is UTF-8")
}
