//! One HTTP server's address and body limit (`[service.http]`).

use std::net::SocketAddr;

use serde::Deserialize;

/// The body limit of a service that names no other: 1 MiB, ample for JSON webhooks and API calls.
pub const DEFAULT_BODY_LIMIT_BYTES: usize = 1024 * 1024;

/// Where one HTTP server listens and how much it accepts.
///
/// `BODY_LIMIT` is the service's own default body limit (e-mail: `HttpSettings<{ 25 * 1024 * 1024 }>`).
/// It is a type parameter rather than a value in the service's `Default` because serde fills a
/// partially given `http` table (only `APP__SERVICE__HTTP__BIND`, as every image and manifest
/// sets) from *this* type's `Default`, never from the enclosing struct's: a value set there would
/// silently fall back to the generic limit as soon as any `http` key is configured.
#[derive(Debug, Clone)]
pub struct HttpSettings<const BODY_LIMIT: usize = DEFAULT_BODY_LIMIT_BYTES> {
    pub bind: SocketAddr,
    pub body_limit_bytes: usize,
    /// A client must send a request's headers within this long (also the idle limit of a
    /// kept-alive connection), so half-open and slow-header connections are closed.
    pub header_read_timeout_ms: u64,
    /// Longest time a handler may take to start its answer (a streamed body may take longer).
    pub request_timeout_ms: u64,
    /// Connections served at once; more are closed at once (the clients retry elsewhere).
    pub max_connections: usize,
}

/// The `http` table as written: every key optional, unknown keys rejected. (serde's derive does
/// not support const generics, hence this stand-in and the impl below.)
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HttpSettingsGiven {
    bind: Option<SocketAddr>,
    body_limit_bytes: Option<usize>,
    header_read_timeout_ms: Option<u64>,
    request_timeout_ms: Option<u64>,
    max_connections: Option<usize>,
}

impl<'de, const BODY_LIMIT: usize> Deserialize<'de> for HttpSettings<BODY_LIMIT> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let given = HttpSettingsGiven::deserialize(deserializer)?;
        let default = Self::default();
        Ok(Self {
            bind: given.bind.unwrap_or(default.bind),
            body_limit_bytes: given.body_limit_bytes.unwrap_or(default.body_limit_bytes),
            header_read_timeout_ms: given.header_read_timeout_ms.unwrap_or(default.header_read_timeout_ms),
            request_timeout_ms: given.request_timeout_ms.unwrap_or(default.request_timeout_ms),
            max_connections: given.max_connections.unwrap_or(default.max_connections),
        })
    }
}

impl<const BODY_LIMIT: usize> HttpSettings<BODY_LIMIT> {
    pub fn on(bind: SocketAddr) -> Self {
        Self { bind, ..Self::default() }
    }
}

impl<const BODY_LIMIT: usize> Default for HttpSettings<BODY_LIMIT> {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            body_limit_bytes: BODY_LIMIT,
            header_read_timeout_ms: 10_000,
            request_timeout_ms: 30_000,
            max_connections: 1024,
        }
    }
}

#[cfg(test)]
mod http_settings_tests {
    use super::*;

    #[test]
    fn a_partial_http_table_keeps_the_types_own_body_limit() {
        let generic: HttpSettings = serde_json::from_value(serde_json::json!({ "bind": "0.0.0.0:8080" })).expect("valid");
        assert_eq!(generic.body_limit_bytes, DEFAULT_BODY_LIMIT_BYTES);
        let mail: HttpSettings<{ 25 * 1024 * 1024 }> =
            serde_json::from_value(serde_json::json!({ "bind": "0.0.0.0:8080" })).expect("valid");
        assert_eq!(mail.bind, SocketAddr::from(([0, 0, 0, 0], 8080)));
        assert_eq!(mail.body_limit_bytes, 25 * 1024 * 1024, "a bind alone must not reset the limit");
        let explicit: HttpSettings<{ 25 * 1024 * 1024 }> =
            serde_json::from_value(serde_json::json!({ "body_limit_bytes": 1000 })).expect("valid");
        assert_eq!(explicit.body_limit_bytes, 1000, "an explicit limit wins");
        let typo = serde_json::from_value::<HttpSettings>(serde_json::json!({ "body_limit": 1000 }));
        assert!(typo.is_err(), "unknown keys are still rejected");
    }
}
