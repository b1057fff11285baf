//! The settings loader through its public interface, with an environment of the test's own:
//! values stay the exact strings given, numbers still parse, secrets come from files and never
//! show in `Debug`.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;

use runtime::http::Role;
use runtime::settings::SigningAlgorithm;
use runtime::Settings;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct Service {
    pages: BTreeMap<String, String>,
    token: Option<SecretString>,
    retries: u32,
    enabled: bool,
    http: runtime::settings::HttpSettings,
}

fn load(vars: &[(&str, &str)]) -> anyhow::Result<Settings<Service>> {
    Settings::load_with(None, vars.iter().map(|(k, v)| (OsString::from(k), OsString::from(v))))
}

/// A file with `content`, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(content: &str) -> Self {
        let path = std::env::temp_dir().join(format!("contactd-settings-{}", uuid::Uuid::new_v4().simple()));
        std::fs::write(&path, content).expect("writing a temp file");
        Self(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().expect("a UTF-8 temp path")
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn environment_values_stay_the_exact_strings_given() {
    for secret in ["00123", "1e3", "true", " spaced ", "0x1F", "-0", "1,2"] {
        let settings = load(&[
            ("APP__AUTH__HS256_SECRET", secret),
            ("APP__SERVICE__TOKEN", secret),
            ("APP__SERVICE__PAGES__104729361234567", secret),
            ("APP__KAFKA__PROPERTIES__SASL_PASSWORD", secret),
            ("APP__AUTH__ISSUER", secret),
        ])
        .expect("loaded");
        assert_eq!(settings.auth.hs256_secret.as_ref().map(|s| s.expose_secret()), Some(secret));
        assert_eq!(settings.service.token.as_ref().map(|s| s.expose_secret()), Some(secret));
        assert_eq!(settings.service.pages["104729361234567"], secret);
        assert_eq!(settings.kafka.properties["sasl_password"], secret);
        assert_eq!(settings.auth.issuer, secret);
    }
}

#[test]
fn numbers_booleans_enums_and_lists_still_parse_from_their_strings() {
    let settings = load(&[
        ("APP__KAFKA__BATCH_SIZE", "64"),
        ("APP__DATABASE__MAX_CONNECTIONS", "7"),
        ("APP__SERVICE__RETRIES", "3"),
        ("APP__SERVICE__ENABLED", "true"),
        ("APP__AUTH__OIDC_DISCOVERY", "true"),
        ("APP__AUTH__ALGORITHMS", "RS256, ES256,PS256"),
        ("APP__AUTH__ROLE_MAP__CONTACTD-ADMINS", "admin"),
        ("APP__TELEMETRY__LOG_FORMAT", "pretty"),
        ("APP__SERVICE__HTTP__BIND", "0.0.0.0:8080"),
        ("APP__SERVICE__HTTP__BODY_LIMIT_BYTES", "2048"),
    ])
    .expect("loaded");
    assert_eq!(settings.service.http.bind.port(), 8080);
    assert_eq!(settings.service.http.body_limit_bytes, 2048);
    assert_eq!(settings.kafka.batch_size, 64);
    assert_eq!(settings.database.max_connections, 7);
    assert_eq!(settings.service.retries, 3);
    assert!(settings.service.enabled);
    assert!(settings.auth.oidc_discovery);
    assert_eq!(settings.auth.algorithms, [SigningAlgorithm::RS256, SigningAlgorithm::ES256, SigningAlgorithm::PS256]);
    assert_eq!(settings.auth.role_map.get("contactd-admins"), Some(&Role::Admin));
    assert!(load(&[("APP__KAFKA__BATCH_SIZE", "1e3")]).is_err(), "a number setting takes an integer, not a float");
    assert!(load(&[("APP__AUTH__ALGORITHMS", "HS256")]).is_err(), "HMAC is not an issuer algorithm");
}

#[test]
fn any_setting_can_come_from_a_file_with_one_trailing_newline_trimmed() {
    let secret = TempFile::new("00123 with spaces \n");
    let url = TempFile::new("postgres://app:p%40ss@db.example.com:5432/contactd?sslmode=verify-full\n");
    let brokers = TempFile::new("kafka-1.example.com:9093,kafka-2.example.com:9093");
    let password = TempFile::new("sasl-00123\r\n");
    let settings = load(&[
        ("APP__AUTH__HS256_SECRET_FILE", secret.path()),
        ("DATABASE_URL_FILE", url.path()),
        ("KAFKA_BROKERS_FILE", brokers.path()),
        ("APP__KAFKA__PROPERTIES__SASL_PASSWORD_FILE", password.path()),
    ])
    .expect("loaded");
    assert_eq!(settings.auth.hs256_secret.as_ref().map(|s| s.expose_secret()), Some("00123 with spaces "));
    assert_eq!(settings.database.url.expose_secret(), "postgres://app:p%40ss@db.example.com:5432/contactd?sslmode=verify-full");
    assert_eq!(settings.kafka.brokers, "kafka-1.example.com:9093,kafka-2.example.com:9093");
    assert_eq!(settings.kafka.properties["sasl_password"], "sasl-00123");
}

#[test]
fn a_file_and_the_plain_variable_together_are_an_error_naming_both() {
    let file = TempFile::new("from-file");
    for (plain, indirect) in [("APP__AUTH__HS256_SECRET", "APP__AUTH__HS256_SECRET_FILE"), ("DATABASE_URL", "DATABASE_URL_FILE")]
    {
        let error = load(&[(plain, "from-env"), (indirect, file.path())]).expect_err("ambiguous");
        let message = format!("{error:#}");
        assert!(message.contains(plain) && message.contains(indirect), "{message}");
        assert!(!message.contains("from-env") && !message.contains("from-file"), "no value in errors: {message}");
    }
}

#[test]
fn debug_output_of_the_settings_shows_no_secret() {
    let settings = load(&[
        ("APP__AUTH__HS256_SECRET", "hs-secret-value"),
        ("DATABASE_URL", "postgres://app:db-password-value@db:5432/contactd"),
        ("APP__KAFKA__PROPERTIES__SASL_PASSWORD", "sasl-password-value"),
        ("APP__KAFKA__PROPERTIES__SASL_USERNAME", "contactd-user"),
        ("APP__KAFKA__PROPERTIES__SSL_KEY_PEM", "-----BEGIN PRIVATE KEY-----"),
        ("APP__SERVICE__TOKEN", "service-token-value"),
        ("KAFKA_BROKERS", "kafka-1:9093"),
    ])
    .expect("loaded");
    let debug = format!("{settings:?}");
    for secret in ["hs-secret-value", "db-password-value", "sasl-password-value", "BEGIN PRIVATE KEY", "service-token-value"] {
        assert!(!debug.contains(secret), "{secret} in {debug}");
    }
    assert!(debug.contains("contactd-user") && debug.contains("kafka-1:9093"), "non-secrets stay visible: {debug}");
}

#[test]
fn a_toml_file_takes_librdkafka_names_and_the_environment_adds_the_secrets() {
    let file = TempFile::new(
        r#"
[kafka]
brokers = "pkc-1.example.com:9092"
[kafka.properties]
"security.protocol" = "SASL_SSL"
"sasl.mechanism" = "SCRAM-SHA-512"

[auth]
oidc_discovery = true
issuer = "https://sso.example.com/realms/cc"
algorithms = ["RS256", "ES256"]
role_claim = "realm_access.roles"
role_map = { "contactd-admin" = "admin", "contactd-agent" = "operator" }
"#,
    );
    let path = format!("{}.toml", file.path());
    std::fs::rename(file.path(), &path).expect("renamed");
    let _toml = TempFile(PathBuf::from(&path));
    let password = TempFile::new("00123\n");
    let settings = Settings::<Service>::load_with(
        Some(std::path::Path::new(&path)),
        [(OsString::from("APP__KAFKA__PROPERTIES__SASL_PASSWORD_FILE"), OsString::from(password.path()))],
    )
    .expect("loaded");
    assert_eq!(settings.kafka.properties["security.protocol"], "SASL_SSL");
    assert_eq!(settings.kafka.properties["sasl.mechanism"], "SCRAM-SHA-512");
    assert_eq!(settings.kafka.properties["sasl_password"], "00123");
    assert!(settings.auth.oidc_discovery);
    assert_eq!(settings.auth.role_map.get("contactd-admin"), Some(&Role::Admin));
    let config = runtime::kafka::client_config(&settings.kafka);
    assert_eq!(config.get("sasl.password"), Some("00123"));
    assert_eq!(config.get("security.protocol"), Some("SASL_SSL"));
}
