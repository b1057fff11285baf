//! The service runtime (DESIGN.md §2 `runtime`): everything a service needs that is not its own
//! logic. Settings, telemetry, Kafka publishing and the one consumer loop, the HTTP scaffold with
//! health/readiness/metrics, problem+json errors, JWT auth and the PostgreSQL pool.

pub mod db;
pub mod http;
pub mod kafka;
pub mod service;
pub mod settings;
pub mod shutdown;
pub mod telemetry;

pub use service::Running;
pub use settings::Settings;
