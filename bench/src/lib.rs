//! Benchmarks that print figures beside a baseline of the same run; `main.rs` dispatches.

pub mod resolution;
