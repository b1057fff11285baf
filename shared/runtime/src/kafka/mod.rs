//! Kafka plumbing shared by every service: client configuration, the publisher, the one
//! consumer loop (at-least-once, batches, dead letters), trace propagation in headers, topic
//! administration and the embedded mock cluster.

pub mod admin;
pub mod consumer;
pub mod dead_letters;
pub mod embedded;
pub mod headers;
pub mod producer;

pub use consumer::{BatchHandler, ConsumerOptions, Delivery, HandlerError, Outcome};
pub use embedded::EmbeddedKafka;
pub use producer::Publisher;

use rdkafka::ClientConfig;

use crate::settings::{KafkaProperties, KafkaSettings};

/// Base librdkafka configuration: brokers plus the operator's extra properties (TLS, SASL, …).
pub fn client_config(settings: &KafkaSettings) -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", &settings.brokers);
    apply_properties(&mut config, settings);
    config
}

/// Sets the operator's properties on `config`; called again after a client's own tuning
/// (fetch waits, batching, compression) so that the operator's values win over it.
pub(crate) fn apply_properties(config: &mut ClientConfig, settings: &KafkaSettings) {
    for (key, value) in settings.properties.iter() {
        config.set(KafkaProperties::librdkafka_name(key), value);
    }
}

#[cfg(test)]
mod tests {
    use rdkafka::producer::BaseProducer;

    use super::*;

    fn settings(properties: &[(&str, &str)]) -> KafkaSettings {
        KafkaSettings {
            brokers: "kafka-1.example.com:9093".into(),
            properties: properties.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            ..KafkaSettings::default()
        }
    }

    /// librdkafka refuses these at client creation when built without TLS ("OpenSSL not
    /// available at build time") — what a hosted Kafka needs.
    #[test]
    fn clients_accept_sasl_ssl_with_plain_and_scram_and_tls_client_settings() {
        for mechanism in ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] {
            // As given from the environment: `_` for `.` in the names.
            let config = settings(&[
                ("security_protocol", "SASL_SSL"),
                ("sasl_mechanism", mechanism),
                ("sasl_username", "contactd"),
                ("sasl_password", "00123"),
                ("ssl_endpoint_identification_algorithm", "https"),
            ]);
            let created: Result<BaseProducer, _> = client_config(&config).create();
            assert!(created.is_ok(), "{mechanism}: {:?}", created.err());
        }
        let created: Result<BaseProducer, _> = client_config(&settings(&[("security.protocol", "ssl")])).create();
        assert!(created.is_ok(), "{:?}", created.err());
    }

    #[test]
    fn the_operators_properties_win_over_the_clients_own_tuning() {
        let consumer = consumer::config(&settings(&[]), "g");
        assert_eq!(consumer.get("fetch.wait.max.ms"), Some("10"));
        assert_eq!(consumer.get("group.id"), Some("g"));
        let producer = producer::config(&settings(&[]));
        assert_eq!(producer.get("compression.type"), Some("lz4"));
        let tuned = settings(&[("fetch_wait_max_ms", "500"), ("compression.type", "zstd")]);
        assert_eq!(consumer::config(&tuned, "g").get("fetch.wait.max.ms"), Some("500"));
        assert_eq!(producer::config(&tuned).get("compression.type"), Some("zstd"));
    }

    #[test]
    fn property_names_from_the_environment_become_librdkafkas() {
        let config = client_config(&settings(&[("sasl_mechanism", "PLAIN"), ("ssl.ca.location", "/etc/ca.pem")]));
        assert_eq!(config.get("sasl.mechanism"), Some("PLAIN"));
        assert_eq!(config.get("ssl.ca.location"), Some("/etc/ca.pem"));
        assert_eq!(config.get("bootstrap.servers"), Some("kafka-1.example.com:9093"));
    }
}
