//! The timeline's behaviour through its real interfaces: events handed to the consumer's batch
//! handlers as the Kafka loop hands them over, the API through its router (and, where the server
//! around it is what is tested, through a real socket), SQL rows where the rows are the point.
//! One database per test; [`kafka`] runs both consumer loops on the embedded broker.

mod bad_input;
mod batches;
mod contact_events;
mod erasure;
mod kafka;
mod openapi;
mod pages;
mod replay;
mod search;
mod support;
mod transcripts;
