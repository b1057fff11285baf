//! Kafka client settings (`[kafka]`), with librdkafka's own properties passed through.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaSettings {
    /// Comma-separated bootstrap servers. Empty means the embedded mock cluster (`contactd` only).
    pub brokers: String,
    /// Consumer group prefix; each consumer appends its own name.
    pub group_prefix: String,
    /// Most messages handled in one database transaction.
    pub batch_size: usize,
    /// How long a batch waits for more messages after the first one.
    pub batch_linger_ms: u64,
    /// How long a publish may wait for the broker's acknowledgement.
    pub delivery_timeout_ms: u64,
    /// Attempts a transient failure of one message gets while the database and the broker
    /// answer, before the message is dead-lettered (see `runtime::kafka::consumer`).
    pub retry_budget: u32,
    /// First delay between attempts; doubles up to 30 s.
    pub retry_backoff_ms: u64,
    /// Extra librdkafka properties applied to every client, e.g. `security.protocol = "SASL_SSL"`,
    /// `sasl.mechanism`, `sasl.username`, `sasl.password`, `ssl.ca.location`
    /// (<https://github.com/confluentinc/librdkafka/blob/master/CONFIGURATION.md>). From the
    /// environment, `_` in a name stands for `.` (`APP__KAFKA__PROPERTIES__SASL_MECHANISM`), as
    /// no librdkafka property has an underscore. Values of properties that hold secrets
    /// (passwords, keys) are redacted in `Debug`.
    pub properties: KafkaProperties,
}

/// librdkafka properties by name; `Debug` shows secret values as `[REDACTED]`.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct KafkaProperties(pub BTreeMap<String, String>);

impl KafkaProperties {
    /// A property name as librdkafka spells it: environment variables cannot carry `.`, so
    /// `sasl_mechanism` stands for `sasl.mechanism` (no librdkafka property has an underscore).
    pub fn librdkafka_name(key: &str) -> String {
        key.replace('_', ".")
    }

    /// Whether a property holds a secret (its value is never printed).
    pub fn is_secret(key: &str) -> bool {
        let name = Self::librdkafka_name(key).to_ascii_lowercase();
        ["password", "secret", "key.pem", "keystore", "jaas", "token"].iter().any(|part| name.contains(part))
    }
}

impl std::ops::Deref for KafkaProperties {
    type Target = BTreeMap<String, String>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for KafkaProperties {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl FromIterator<(String, String)> for KafkaProperties {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

impl fmt::Debug for KafkaProperties {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(k, v)| (k, if Self::is_secret(k) { "[REDACTED]" } else { v.as_str() })))
            .finish()
    }
}

impl Default for KafkaSettings {
    fn default() -> Self {
        Self {
            brokers: String::new(),
            group_prefix: "contactd".into(),
            batch_size: 256,
            batch_linger_ms: 20,
            delivery_timeout_ms: 30_000,
            retry_budget: 5,
            retry_backoff_ms: 200,
            properties: KafkaProperties::default(),
        }
    }
}
