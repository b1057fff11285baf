//! PostgreSQL over TLS: the local server serves a certificate from a test CA
//! ([`testkit::postgres_tls`]); a service pool made by `runtime::db::connect` with
//! `sslmode=verify-full` and `database.ssl_root_cert` is encrypted (as `pg_stat_ssl` shows), and
//! a client trusting another CA is refused.

use runtime::settings::DatabaseSettings;
use secrecy::{ExposeSecret, SecretString};
use sqlx::migrate::Migrator;
use testkit::tls::{TempDir, TestCa};

const NO_MIGRATIONS: Migrator = Migrator::DEFAULT;

/// `database` with `sslmode` and the CA file set.
fn over_tls(database: &DatabaseSettings, sslmode: &str, ca: Option<&std::path::Path>) -> DatabaseSettings {
    DatabaseSettings {
        url: SecretString::from(format!("{}?sslmode={sslmode}", database.url.expose_secret())),
        ssl_root_cert: ca.map(std::path::Path::to_path_buf),
        ..database.clone()
    }
}

#[tokio::test]
async fn a_verified_tls_connection_is_encrypted_and_another_ca_is_refused() {
    let ca = testkit::postgres_tls::ensure().await;
    let database = testkit::fresh_database();

    for sslmode in ["verify-full", "verify-ca"] {
        let pool = runtime::db::connect(&over_tls(&database, sslmode, Some(&ca)), "tls_check", &NO_MIGRATIONS)
            .await
            .unwrap_or_else(|e| panic!("{sslmode}: {e:#}"));
        let (ssl, version): (bool, Option<String>) =
            sqlx::query_as("SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
                .fetch_one(&pool)
                .await
                .expect("pg_stat_ssl");
        assert!(ssl, "{sslmode}: the session is encrypted");
        assert!(version.is_some_and(|v| v.starts_with("TLS")), "{sslmode}");
        pool.close().await;
    }

    let files = TempDir::new("pg-other-ca");
    let other = TestCa::new("another CA").write_cert(files.path(), "other-ca.pem");
    for sslmode in ["verify-full", "verify-ca"] {
        let refused = runtime::db::connect(&over_tls(&database, sslmode, Some(&other)), "tls_check", &NO_MIGRATIONS).await;
        assert!(refused.is_err(), "{sslmode}: a server certificate from a CA the client does not trust");
    }
}
