//! Topic creation for brokers we run ourselves (tests, `contactd serve`); production clusters
//! get their topics from the deployment (compose job, Strimzi `KafkaTopic`).

use std::time::Duration;

use anyhow::Context;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::types::RDKafkaErrorCode;

use super::client_config;
use crate::settings::KafkaSettings;

/// Every topic with its dead-letter twin.
pub fn all_topics() -> Vec<String> {
    contracts::topics::ALL.iter().flat_map(|t| [t.to_string(), contracts::topics::dead_letter(t)]).collect()
}

/// Creates those of `topics` that do not exist yet, with `partitions` each. Existing topics are
/// left alone, and when every topic exists no CreateTopics request is made at all (a cluster may
/// forbid it by ACL, and librdkafka's mock cluster does not implement it).
pub async fn ensure_topics(settings: &KafkaSettings, topics: &[String], partitions: i32) -> anyhow::Result<()> {
    let admin: AdminClient<DefaultClientContext> = client_config(settings).create().context("creating Kafka admin client")?;
    let existing: std::collections::HashSet<String> = {
        let metadata = admin.inner().fetch_metadata(None, Duration::from_secs(10)).context("reading the cluster's topics")?;
        metadata.topics().iter().filter(|t| t.error().is_none()).map(|t| t.name().to_owned()).collect()
    };
    let new: Vec<NewTopic<'_>> = topics
        .iter()
        .filter(|name| !existing.contains(name.as_str()))
        .map(|name| {
            let topic = NewTopic::new(name, partitions, TopicReplication::Fixed(1));
            if name == contracts::topics::CONTACTS_SNAPSHOT {
                topic.set("cleanup.policy", "compact")
            } else {
                topic
            }
        })
        .collect();
    if new.is_empty() {
        return Ok(());
    }
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    for result in admin.create_topics(&new, &options).await.context("creating topics")? {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => anyhow::bail!("creating topic {topic}: {code}"),
        }
    }
    Ok(())
}
