//! The consumer loop applies the partitions of a batch in parallel, each partition in offset
//! order, and commits what it applied: a handler that waits for the other partition's handler
//! proves the overlap (applied one after the other, it would wait in vain).

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use runtime::kafka::consumer::{self, BatchHandler, ConsumerOptions, Delivery, HandlerError};
use runtime::kafka::{admin, EmbeddedKafka, Publisher};
use runtime::settings::KafkaSettings;
use runtime::shutdown::CancellationToken;
use tokio::sync::Notify;

const TOPIC: &str = contracts::topics::INTERACTIONS_INGESTED;
const PER_PARTITION: usize = 30;

#[derive(Debug, serde::Deserialize)]
struct Event {
    #[allow(dead_code)]
    v: u16,
    id: usize,
}

#[derive(Default)]
struct Recorder {
    in_flight: Mutex<HashSet<i32>>,
    /// Batches that saw the other partition in flight while they were.
    overlapped: Mutex<usize>,
    applied: Mutex<BTreeMap<i32, Vec<usize>>>,
    changed: Notify,
}

impl BatchHandler for Recorder {
    type Event = Event;

    async fn handle(&self, batch: &[Delivery<Event>]) -> Result<(), HandlerError> {
        let partitions: HashSet<i32> = batch.iter().map(|d| d.message.partition()).collect();
        assert_eq!(partitions.len(), 1, "a handler call gets one partition");
        let partition = batch[0].message.partition();
        self.in_flight.lock().expect("lock").insert(partition);
        self.changed.notify_waiters();
        // Wait (bounded) for the other partition to be in flight too.
        let both = async {
            loop {
                let notified = self.changed.notified();
                if self.in_flight.lock().expect("lock").len() == 2 {
                    return;
                }
                notified.await;
            }
        };
        if tokio::time::timeout(Duration::from_millis(500), both).await.is_ok() {
            *self.overlapped.lock().expect("lock") += 1;
        }
        self.applied.lock().expect("lock").entry(partition).or_default().extend(batch.iter().map(|d| d.event.id));
        self.in_flight.lock().expect("lock").remove(&partition);
        self.changed.notify_waiters();
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_partitions_of_a_batch_are_applied_in_parallel_each_in_order() {
    let kafka = EmbeddedKafka::start(&admin::all_topics(), 2).expect("embedded Kafka");
    let settings = KafkaSettings { brokers: kafka.bootstrap_servers().to_owned(), batch_size: 16, ..KafkaSettings::default() };
    let producer: FutureProducer = runtime::kafka::client_config(&settings).create().expect("producer");
    for id in 0..PER_PARTITION * 2 {
        let payload = format!(r#"{{"v":1,"id":{id}}}"#);
        let partition = (id % 2) as i32;
        let record = FutureRecord::<(), _>::to(TOPIC).payload(&payload).partition(partition);
        producer.send(record, Duration::from_secs(10)).await.expect("produced");
    }

    let recorder = Arc::new(Recorder::default());
    let shutdown = CancellationToken::new();
    let options = ConsumerOptions::new(&settings, TOPIC, "partitions-test");
    let publisher = Publisher::new(&settings).expect("publisher");
    let (handler, stop) = (Arc::clone(&recorder), shutdown.clone());
    let loop_ = tokio::spawn(async move { consumer::run(&settings, options, handler, publisher, stop).await });
    let everything = async {
        loop {
            let notified = recorder.changed.notified();
            if recorder.applied.lock().expect("lock").values().map(Vec::len).sum::<usize>() == PER_PARTITION * 2 {
                return;
            }
            notified.await;
        }
    };
    tokio::time::timeout(Duration::from_secs(60), everything).await.expect("every message applied");
    shutdown.cancel();
    loop_.await.expect("loop task").expect("loop ends cleanly");

    let applied = recorder.applied.lock().expect("lock").clone();
    for (partition, ids) in &applied {
        let expected: Vec<usize> = (0..PER_PARTITION * 2).filter(|id| (id % 2) as i32 == *partition).collect();
        assert_eq!(ids, &expected, "partition {partition}: every message once, in offset order");
    }
    let overlapped = *recorder.overlapped.lock().expect("lock");
    assert!(overlapped >= 2, "the two partitions' batches overlapped {overlapped} times");
}
