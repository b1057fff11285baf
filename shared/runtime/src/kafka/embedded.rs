//! The embedded Kafka: librdkafka's in-process mock cluster (`rdkafka::mocking`), used by the
//! demo and by tests when no broker is configured. The cluster handle is not `Send`, so it lives
//! on its own thread until [`EmbeddedKafka`] is dropped.

use std::sync::mpsc;
use std::thread::JoinHandle;

use anyhow::Context;
use rdkafka::mocking::MockCluster;

/// A running mock cluster with every project topic created.
pub struct EmbeddedKafka {
    bootstrap_servers: String,
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl EmbeddedKafka {
    /// Starts a three-broker mock cluster and creates `topics` with `partitions` each.
    pub fn start(topics: &[String], partitions: i32) -> anyhow::Result<Self> {
        let (ready_tx, ready_rx) = mpsc::channel::<anyhow::Result<String>>();
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let topics = topics.to_vec();
        let thread = std::thread::Builder::new()
            .name("mock-kafka".into())
            .spawn(move || {
                let started = MockCluster::new(3).context("starting the mock Kafka cluster").and_then(|cluster| {
                    for topic in &topics {
                        cluster.create_topic(topic, partitions, 1).with_context(|| format!("creating {topic}"))?;
                    }
                    Ok(cluster)
                });
                match started {
                    Ok(cluster) => {
                        let _ = ready_tx.send(Ok(cluster.bootstrap_servers()));
                        // Blocks until the handle is dropped (the sender goes away).
                        let _ = stop_rx.recv();
                        drop(cluster);
                    }
                    Err(error) => {
                        let _ = ready_tx.send(Err(error));
                    }
                }
            })
            .context("spawning the mock Kafka thread")?;
        let bootstrap_servers = ready_rx.recv().context("mock Kafka thread died")??;
        Ok(Self { bootstrap_servers, stop: Some(stop_tx), thread: Some(thread) })
    }

    pub fn bootstrap_servers(&self) -> &str {
        &self.bootstrap_servers
    }
}

impl Drop for EmbeddedKafka {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
