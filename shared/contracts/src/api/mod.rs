//! Request and response bodies of the HTTP APIs, shared by the services that serve them, their
//! tests, the demo and any Rust client: nobody reads `json["identities"][0]["value"]`.

pub mod directory;
pub mod text;
