//! Request and response bodies of the HTTP APIs (DESIGN.md §6), shared by the services that
//! serve them and every client that reads them: tests, the demo, the console. Each derives
//! `utoipa::ToSchema`, so the OpenAPI documents describe exactly what is sent.

pub mod problem;
pub mod timeline;

pub use problem::Problem;
