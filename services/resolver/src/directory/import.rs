//! Contact import (`POST /v1/contacts/import`, `text/csv`): every row goes through the same
//! resolution rules as an interaction ([`resolve::match_or_create`]): identifiers screened and
//! normalized, matched by the strongest one, the contact enriched or created, other matches
//! suggested as duplicates. `777 123 456` in one row and `+420777123456` in another (or in the
//! directory) are one contact. A bad row is reported and the rest goes on.

use contracts::api::directory::{IdentitySource, RowReport, RowStatus as Status};
use contracts::api::text::PersonName;
use contracts::{Actor, Identity, IdentityKind, IgnoredIdentity, NameSource, Profile};
use sqlx::PgPool;

use crate::resolution::rules::TenantRules;
use crate::resolution::{self as resolve, store, Origin, ResolveError, Sighting};
/// Rows per transaction: a failed commit affects at most this many rows, and the locks an
/// import holds are short-lived.
const ROWS_PER_TRANSACTION: usize = 100;

/// A file that cannot be imported at all (its header); row problems are per row instead.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FileError {
    #[error("the file is empty; expected a header row such as `name,email,phone,custom:crm_id`")]
    Empty,
    #[error("unknown columns {0:?}; known are name, email, phone and custom:<parameter>")]
    UnknownColumns(Vec<String>),
    #[error("no identifying column; expected email, phone or custom:<parameter>")]
    NoIdentifiers,
    #[error("invalid header: {0}")]
    Header(String),
}

/// A column of the import file.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Column {
    Name,
    Email,
    Phone,
    /// `custom:<parameter>`.
    Custom(String),
}

impl Column {
    fn parse(header: &str) -> Option<Self> {
        let header = header.trim();
        if let Some(parameter) = header.strip_prefix("custom:").map(str::trim).filter(|p| !p.is_empty()) {
            return Some(Column::Custom(parameter.to_owned()));
        }
        match header.to_lowercase().as_str() {
            "name" => Some(Column::Name),
            "email" | "emails" | "e-mail" => Some(Column::Email),
            "phone" | "phones" => Some(Column::Phone),
            _ => None,
        }
    }
}

/// One data row as read: its number (1 = the first row after the header) and content, or why
/// it could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub row: usize,
    pub content: Result<RowContent, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowContent {
    pub name: Option<String>,
    /// Why the name cell could not be taken (the row is reported, not imported).
    pub bad_name: Option<String>,
    /// Raw values; screening and normalization happen under the tenant's rules.
    pub identities: Vec<Identity>,
}

/// Parses the CSV file: the header decides the columns, several e-mails or phones in one cell
/// are separated by `;`. A file whose header row has `;` but no `,` is read as `;`-separated
/// (what spreadsheets with a decimal comma, Czech Excel among them, save as CSV); multiple values
/// in a cell are then separated by `,` instead of `;`.
pub fn parse(file: &[u8]) -> Result<Vec<Row>, FileError> {
    let file = file.strip_prefix("\u{feff}".as_bytes()).unwrap_or(file);
    let header_line = file.split(|b| *b == b'\n').next().unwrap_or_default();
    let semicolons = header_line.contains(&b';') && !header_line.contains(&b',');
    let (delimiter, separator) = if semicolons { (b';', ',') } else { (b',', ';') };
    let mut reader = csv::ReaderBuilder::new().delimiter(delimiter).trim(csv::Trim::All).from_reader(file);
    let headers = reader.headers().map_err(|e| FileError::Header(e.to_string()))?.clone();
    if headers.iter().all(|h| h.trim().is_empty()) {
        return Err(FileError::Empty);
    }
    let columns: Vec<Option<Column>> = headers.iter().map(Column::parse).collect();
    let unknown: Vec<String> = headers.iter().zip(&columns).filter(|(_, c)| c.is_none()).map(|(h, _)| h.to_owned()).collect();
    if !unknown.is_empty() {
        return Err(FileError::UnknownColumns(unknown));
    }
    let columns: Vec<Column> = columns.into_iter().flatten().collect();
    if columns.iter().all(|c| *c == Column::Name) {
        return Err(FileError::NoIdentifiers);
    }
    let mut rows = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let content = record.map_err(|e| row_error(&e)).map(|record| {
            let mut content = RowContent { name: None, bad_name: None, identities: Vec::new() };
            for (column, cell) in columns.iter().zip(record.iter()) {
                let values = cell.split(separator).map(str::trim).filter(|v| !v.is_empty());
                match column {
                    Column::Name if cell.is_empty() => {}
                    Column::Name => match PersonName::try_from(cell) {
                        Ok(name) => content.name = Some(name.into_string()),
                        Err(error) => content.bad_name = Some(format!("name: {error}")),
                    },
                    Column::Email => content.identities.extend(values.map(|v| Identity::new(IdentityKind::Email, v, None))),
                    Column::Phone => content.identities.extend(values.map(|v| Identity::new(IdentityKind::Phone, v, None))),
                    Column::Custom(parameter) => {
                        if !cell.is_empty() {
                            content.identities.push(Identity::new(IdentityKind::Custom, cell, Some(parameter.clone())));
                        }
                    }
                }
            }
            content
        });
        rows.push(Row { row: index + 1, content });
    }
    Ok(rows)
}

fn row_error(error: &csv::Error) -> String {
    match error.kind() {
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
            format!("the row has {len} fields, the header {expected_len}")
        }
        csv::ErrorKind::Utf8 { .. } => "the row is not valid UTF-8".into(),
        _ => error.to_string(),
    }
}

/// A row that was not imported.
fn failed(row: usize, error: impl Into<String>, ignored: Vec<IgnoredIdentity>) -> RowReport {
    RowReport {
        row: row as u64,
        status: Status::Error,
        contact_id: None,
        matched_by: None,
        candidates: Vec::new(),
        ignored,
        error: Some(error.into()),
    }
}

/// Imports `rows` into `tenant`'s directory as `actor`, under the tenant's rules. The contacts'
/// changes go through the outbox like every other change. Rows commit in batches; an error
/// other than a bad row (the database gone) stops the import with the rows before it imported.
pub async fn import(
    pool: &PgPool,
    defaults: &TenantRules,
    tenant: &str,
    actor: &Actor,
    rows: Vec<Row>,
) -> Result<Vec<RowReport>, sqlx::Error> {
    let rules = {
        let mut conn = pool.acquire().await?;
        store::rules(&mut conn, tenant, defaults).await?
    };
    let mut reports = Vec::with_capacity(rows.len());
    for batch in rows.chunks(ROWS_PER_TRANSACTION) {
        let mut tx = pool.begin().await?;
        for row in batch {
            reports.push(import_row(&mut tx, &rules, tenant, actor, row).await?);
        }
        tx.commit().await?;
    }
    Ok(reports)
}

/// One row on the batch's transaction. Resolution runs in a savepoint, so a row that fails
/// leaves nothing behind and the batch goes on.
async fn import_row(
    conn: &mut sqlx::PgConnection,
    rules: &TenantRules,
    tenant: &str,
    actor: &Actor,
    row: &Row,
) -> Result<RowReport, sqlx::Error> {
    let content = match &row.content {
        Ok(content) => content,
        Err(error) => return Ok(failed(row.row, error.clone(), Vec::new())),
    };
    if let Some(error) = &content.bad_name {
        return Ok(failed(row.row, error.clone(), Vec::new()));
    }
    let (identities, ignored) = resolve::screen_identities(rules, content.identities.iter().cloned());
    if identities.is_empty() {
        let error = if content.identities.is_empty() {
            "the row has no e-mail, phone or custom identifier"
        } else {
            "none of the row's identifiers can identify a contact (see ignored)"
        };
        return Ok(failed(row.row, error, ignored));
    }
    let profile = content.name.as_ref().map(|name| Profile {
        name: Some(name.clone()),
        // An imported name ranks as a form's: it replaces a channel profile's name, never an
        // operator's, so a bulk import cannot undo what operators fixed by hand.
        name_source: NameSource::Form,
    });
    let sighting = Sighting {
        tenant,
        identities: &identities,
        profile: profile.as_ref(),
        actor,
        source: IdentitySource::Import,
        last_interaction_at: None,
        interaction_id: None,
        origin: Origin::Import,
    };
    match resolve::match_or_create(conn, rules, &sighting, ignored.clone()).await {
        Ok((Some(contact_id), resolution)) => Ok(RowReport {
            row: row.row as u64,
            status: if resolution.created_contact { Status::Created } else { Status::Matched },
            contact_id: Some(contact_id),
            matched_by: resolution.matched_by,
            candidates: resolution.candidates,
            ignored: resolution.ignored,
            error: None,
        }),
        Ok((None, resolution)) => {
            let why = if resolution.candidates.is_empty() {
                "no contact matched and this tenant does not create contacts automatically"
            } else {
                "its identifiers are shared by several contacts (see candidates); import it with one that identifies the person"
            };
            Ok(RowReport { candidates: resolution.candidates, ..failed(row.row, why, resolution.ignored) })
        }
        Err(ResolveError::Contended | ResolveError::Raced) => {
            Ok(failed(row.row, "its identifiers were being created concurrently; import the row again", ignored))
        }
        Err(ResolveError::Database(error)) => {
            let code = error.as_database_error().and_then(|db| db.code()).map(|c| c.into_owned());
            let class = |prefix: &str| code.as_deref().is_some_and(|c| c.starts_with(prefix));
            // The row's savepoint is rolled back, so the batch goes on; other errors (the
            // database gone) end the import.
            if class("40") {
                // A deadlock or serialization failure with the resolver touching the same contacts.
                Ok(failed(row.row, "the row conflicted with a concurrent change; import the row again", ignored))
            } else if class("22") || class("23") || class("54") {
                // Data exceptions, integrity violations, values too long for an index: the row's fault.
                tracing::warn!(row = row.row, error = %error, "import row refused by the database");
                Ok(failed(row.row, "the database refused the row's values", ignored))
            } else {
                Err(error)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content(row: &Row) -> &RowContent {
        row.content.as_ref().expect("a readable row")
    }

    #[test]
    fn columns_several_values_and_custom_parameters_are_read() {
        let rows = parse(
            "\u{feff}Name,E-mail,phone,custom:crm_id\n\"Novák, Jiří\",\"a@novak.cz; b@novak.cz\",777 123 456,CRM-1\n,,,\n"
                .as_bytes(),
        )
        .expect("a valid file");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].row, 1);
        assert_eq!(content(&rows[0]).name.as_deref(), Some("Novák, Jiří"));
        assert_eq!(
            content(&rows[0]).identities,
            vec![
                Identity::new(IdentityKind::Email, "a@novak.cz", None),
                Identity::new(IdentityKind::Email, "b@novak.cz", None),
                Identity::new(IdentityKind::Phone, "777 123 456", None),
                Identity::new(IdentityKind::Custom, "CRM-1", Some("crm_id".into())),
            ]
        );
        assert_eq!(content(&rows[1]), &RowContent { name: None, bad_name: None, identities: vec![] });
    }

    #[test]
    fn a_semicolon_separated_file_takes_commas_between_values() {
        let rows = parse("name;email\nJana;a@b.cz, c@d.cz\n".as_bytes()).expect("a valid file");
        assert_eq!(content(&rows[0]).identities.len(), 2);
    }

    #[test]
    fn a_short_row_is_a_row_error_and_the_next_rows_are_read() {
        let rows = parse("name,email\nJana\nEva,eva@novak.cz\n".as_bytes()).expect("a valid file");
        assert_eq!(rows[0].content, Err("the row has 1 fields, the header 2".into()));
        assert_eq!(content(&rows[1]).name.as_deref(), Some("Eva"));
    }

    #[test]
    fn a_bad_header_rejects_the_file() {
        assert_eq!(parse(b"name,mail\n"), Err(FileError::UnknownColumns(vec!["mail".into()])));
        assert_eq!(parse(b"name\nJana\n"), Err(FileError::NoIdentifiers));
        assert_eq!(parse(b""), Err(FileError::Empty));
    }
}
