//! SQL of resolution. Every function takes the connection (usually the batch's transaction) it
//! runs on, so the decision, its change events and the processed marker commit together.
//!
//! - [`lookup`]: what resolution reads (processed interactions, holders, proposals, contacts);
//! - [`write`]: what it writes, each write also in a multi-row form for a whole batch;
//! - [`tenant`]: the tenant's rules.

mod lookup;
mod tenant;
mod write;

pub use lookup::*;
pub use tenant::rules;
pub use write::*;
