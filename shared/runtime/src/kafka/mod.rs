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

use crate::settings::KafkaSettings;

/// Base librdkafka configuration: brokers plus the operator's extra properties.
pub fn client_config(settings: &KafkaSettings) -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", &settings.brokers);
    for (key, value) in &settings.properties {
        config.set(key, value);
    }
    config
}
