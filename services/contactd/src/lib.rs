//! Every service of contactd in one process: the launcher (`serve`), the console port that
//! serves the operator console beside both APIs, and the demo with its sample data.

pub mod console_port;
pub mod demo;
pub mod launcher;
