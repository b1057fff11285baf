//! How a handler's failure is classified: transient (retried within the budget) or permanent
//! (isolated and dead-lettered).

/// What a batch handler reports when it cannot apply a batch.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// The infrastructure failed or a race was lost (connection lost, serialization failure,
    /// deadlock, a concurrent insert of the same key, broker unavailable): retry, within the
    /// retry budget.
    #[error("transient: {0:#}")]
    Transient(anyhow::Error),
    /// The content can never be applied (a data exception or program limit of PostgreSQL, a
    /// message too large for the broker, a contract violation): isolate and dead-letter it.
    #[error("permanent: {0:#}")]
    Permanent(anyhow::Error),
}

impl From<sqlx::Error> for HandlerError {
    fn from(error: sqlx::Error) -> Self {
        if is_permanent_sql(&error) {
            HandlerError::Permanent(error.into())
        } else {
            HandlerError::Transient(error.into())
        }
    }
}

/// Whether the database refused the statement for what it contains, so that it would fail the
/// same way again (SQLSTATE classes: <https://www.postgresql.org/docs/current/errcodes-appendix.html>).
pub fn is_permanent_sql(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            match &code[..2.min(code.len())] {
                // Data exceptions: invalid text, NUL in jsonb, value out of range, …
                "22" => true,
                // Integrity: a unique violation is a race with a concurrent writer (retrying
                // re-reads what the other one stored); every other constraint is the data's fault.
                "23" => code != "23505",
                // Program limits: an index row or a tsvector too large.
                "54" => true,
                _ => false,
            }
        }),
        sqlx::Error::Decode(_) | sqlx::Error::ColumnDecode { .. } | sqlx::Error::TypeNotFound { .. } => true,
        _ => false,
    }
}

impl From<crate::kafka::producer::PublishError> for HandlerError {
    fn from(error: crate::kafka::producer::PublishError) -> Self {
        if error.is_permanent() {
            HandlerError::Permanent(error.into())
        } else {
            HandlerError::Transient(error.into())
        }
    }
}

/// Why a message went to the dead-letter topic (the `dlq-class` header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureClass {
    /// Not JSON, or not the v1 schema.
    Undecodable,
    /// The handler refused it for good.
    Permanent,
    /// A transient failure outlasted the retry budget while the infrastructure was healthy.
    RetryBudgetExhausted,
}

impl FailureClass {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureClass::Undecodable => "undecodable",
            FailureClass::Permanent => "permanent",
            FailureClass::RetryBudgetExhausted => "retry_budget_exhausted",
        }
    }
}

/// A batch (or message) that could not be applied.
#[derive(Debug)]
pub(super) struct Failure {
    pub(super) class: FailureClass,
    pub(super) attempts: u32,
    pub(super) reason: String,
}
