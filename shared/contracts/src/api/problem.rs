//! The error body of every API: RFC 7807 problem details (`application/problem+json`), as
//! `runtime::http::problem` writes it.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An RFC 7807 problem (<https://www.rfc-editor.org/rfc/rfc7807>).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// Always `about:blank`: the status says what kind of problem it is.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// The status's reason phrase (`Bad Request`, …).
    pub title: String,
    /// The HTTP status code.
    #[schema(minimum = 400, maximum = 599)]
    pub status: u16,
    /// What was wrong, naming the field or parameter when one was.
    pub detail: String,
}
