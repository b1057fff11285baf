//! Request and response bodies of the HTTP APIs, shared by the services that serve them, their
//! tests, the demo and any Rust client: nobody reads `json["identities"][0]["value"]`. Each
//! derives `utoipa::ToSchema`, so the OpenAPI documents describe exactly what is sent.

pub mod directory;
pub mod text;
pub mod timeline;
