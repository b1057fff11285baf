//! HTTP scaffolding shared by every service: problem+json errors, JWT auth extractors, the JSON
//! extractor with our error shape, metrics, and a server with `/healthz`, `/readyz`, `/metrics`.

pub mod auth;
pub mod cursor;
pub mod extract;
pub mod metrics;
pub mod problem;
pub mod server;

pub use auth::{AdminAuth, AdminOrIntegrationAuth, AuthError, Claims, JwtVerifier, RequireRole, Role, TenantAuth};
pub use extract::{Json, Path, Query};
pub use problem::ApiError;
pub use server::{serve, Readiness};
