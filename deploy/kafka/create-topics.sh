#!/usr/bin/env bash
# Creates every contactd topic on the compose Kafka (run once by the `kafka-init` service with the
# broker image's kafka-topics.sh). Idempotent: existing topics are left alone. Kubernetes gets the
# same topics from the Strimzi KafkaTopic resources in k8s/base/kafka-topics.yaml.
set -euo pipefail

BOOTSTRAP="${KAFKA_BOOTSTRAP:-kafka:9092}"
PARTITIONS="${KAFKA_PARTITIONS:-3}"
REPLICATION="${KAFKA_REPLICATION_FACTOR:-1}"
DLQ_RETENTION_MS="${DLQ_RETENTION_MS:-1209600000}" # 14 days to inspect and replay dead letters
# Kafka's default, set explicitly on every topic: above the producers' 1,000,000-byte limit
# (contracts::limits::EVENT_BYTES) and equal to the broker's message.max.bytes (compose.yaml).
MAX_MESSAGE_BYTES="${TOPIC_MAX_MESSAGE_BYTES:-1048588}"
TOPICS_BIN="${KAFKA_TOPICS_BIN:-/opt/kafka/bin/kafka-topics.sh}"

create() {
  local topic="$1"
  shift
  "$TOPICS_BIN" --bootstrap-server "$BOOTSTRAP" --create --if-not-exists --topic "$topic" \
    --partitions "$PARTITIONS" --replication-factor "$REPLICATION" \
    --config max.message.bytes="$MAX_MESSAGE_BYTES" "$@"
  echo "topic ready: $topic"
}

# Source topics (names from shared/contracts/src/topics.rs), each with its dead-letter twin.
for topic in interactions.ingested interactions.resolved contacts.changes contacts.snapshot; do
  if [ "$topic" = contacts.snapshot ]; then
    # The full card per contact key: compaction keeps the latest, tombstones delete.
    create "$topic" --config cleanup.policy=compact
  else
    create "$topic"
  fi
  create "$topic.dlq" --config retention.ms="$DLQ_RETENTION_MS"
done
"$TOPICS_BIN" --bootstrap-server "$BOOTSTRAP" --describe | grep -E '^Topic:' || true
