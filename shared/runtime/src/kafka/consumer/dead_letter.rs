//! Dead-lettering: the original message to `<topic>.dlq`, with why, how often it was tried and
//! where it came from in headers.

use rdkafka::message::{Header, Message, OwnedMessage};
use tokio_util::sync::CancellationToken;

use super::failure::Failure;
use super::{ConsumerOptions, Stopped, MAX_BACKOFF};
use crate::http::metrics as names;
use crate::kafka::{headers, Publisher};

/// Writes the original message to `<topic>.dlq` with the reason; retries until Kafka has it.
pub(super) async fn dead_letter(
    publisher: &Publisher,
    options: &ConsumerOptions,
    message: &OwnedMessage,
    failure: &Failure,
    shutdown: &CancellationToken,
) -> Result<(), Stopped> {
    let topic = contracts::topics::dead_letter(options.topic);
    let partition = message.partition().to_string();
    let offset = message.offset().to_string();
    let attempts = failure.attempts.to_string();
    // A header carries the reason, not the message: keep it short.
    let reason = contracts::limits::prefix(&failure.reason, 4096);
    tracing::error!(
        dlq = %topic,
        partition = message.partition(),
        offset = message.offset(),
        class = failure.class.as_str(),
        reason,
        "dead-lettering message"
    );
    let mut backoff = options.retry_backoff;
    loop {
        let headers = headers::copy(message.headers())
            .insert(Header { key: contracts::headers::DLQ_ERROR, value: Some(reason) })
            .insert(Header { key: contracts::headers::DLQ_CLASS, value: Some(failure.class.as_str()) })
            .insert(Header { key: contracts::headers::DLQ_ATTEMPTS, value: Some(&attempts) })
            .insert(Header { key: contracts::headers::DLQ_ORIGIN_TOPIC, value: Some(message.topic()) })
            .insert(Header { key: contracts::headers::DLQ_ORIGIN_PARTITION, value: Some(&partition) })
            .insert(Header { key: contracts::headers::DLQ_ORIGIN_OFFSET, value: Some(&offset) });
        match publisher.send(&topic, message.key(), message.payload(), headers).await {
            Ok(_) => {
                metrics::counter!(names::EVENTS_DEAD_LETTERED, "topic" => options.topic, "class" => failure.class.as_str())
                    .increment(1);
                return Ok(());
            }
            Err(error) => {
                tracing::warn!(%error, "dead-letter write failed, retrying");
                tokio::select! {
                    () = shutdown.cancelled() => return Err(Stopped),
                    () = tokio::time::sleep(backoff) => {},
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}
