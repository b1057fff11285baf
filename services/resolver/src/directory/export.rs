//! Export of the contact list (`GET /v1/contacts/export`): the cards matching the list's filters,
//! as CSV or JSON lines, produced page by page with the list's keyset cursor so an export of the
//! whole directory never holds more than one page in memory.

use axum::body::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use contracts::api::directory::Card;
use contracts::IdentityKind;
use futures::Stream;
use serde::Deserialize;
use sqlx::PgPool;
use utoipa::ToSchema;

use super::cards;
use super::listing::{self, ListFilter, Position};

/// Contacts read per page: large enough that the two queries per page are cheap per row, small
/// enough that a page is a few hundred kilobytes.
const PAGE: i64 = 500;

/// The CSV columns, in order.
pub const CSV_HEADER: [&str; 8] =
    ["contact_id", "name", "name_source", "emails", "phones", "other_identifiers", "created_at", "last_interaction_at"];

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// RFC 4180, header row first; several values of one column joined with `;`.
    #[default]
    Csv,
    /// One contact card (as `GET /v1/contacts/{id}` shows it) per line.
    Jsonl,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Jsonl => "application/x-ndjson",
        }
    }

    pub fn file_name(self) -> &'static str {
        match self {
            Format::Csv => "contacts.csv",
            Format::Jsonl => "contacts.jsonl",
        }
    }
}

/// The export as a stream of chunks, one per page. A database error ends the stream with the
/// error, which aborts the response: the client sees a truncated transfer, never a short file
/// that looks complete.
pub fn stream(
    pool: PgPool,
    tenant: String,
    filter: ListFilter,
    format: Format,
) -> impl Stream<Item = Result<Bytes, sqlx::Error>> + Send + 'static {
    struct State {
        pool: PgPool,
        tenant: String,
        filter: ListFilter,
        first: bool,
        done: bool,
    }
    let state = State { pool, tenant, filter, first: true, done: false };
    futures::stream::try_unfold(state, move |mut state| async move {
        if state.done {
            return Ok(None);
        }
        let mut conn = state.pool.acquire().await.inspect_err(log)?;
        let positions = listing::list(&mut conn, &state.tenant, &state.filter, PAGE).await.inspect_err(log)?;
        state.done = (positions.len() as i64) < PAGE;
        let ids: Vec<_> = positions.iter().map(Position::contact_id).collect();
        let cards = cards::cards(&mut conn, &state.tenant, &ids).await.inspect_err(log)?;
        state.filter.after = positions.into_iter().last();
        let chunk = match format {
            Format::Csv => {
                let header = state.first.then(|| CSV_HEADER.map(str::to_owned));
                csv_lines(header.into_iter().chain(cards.iter().map(csv_record)))
            }
            Format::Jsonl => jsonl_lines(&cards),
        };
        state.first = false;
        Ok(Some((Bytes::from(chunk), state)))
    })
}

fn log(error: &sqlx::Error) {
    tracing::error!(error = %error, "contact export aborted");
}

/// CSV lines with RFC 4180 quoting (fields with a comma, quote or line break are quoted).
fn csv_lines(records: impl IntoIterator<Item = [String; 8]>) -> Vec<u8> {
    let mut writer = csv::WriterBuilder::new().has_headers(false).from_writer(Vec::new());
    for record in records {
        writer
            .write_record(record.iter().map(|f| defuse_formula(f)))
            .expect("writing equally long records to memory cannot fail");
    }
    writer.into_inner().expect("flushing to memory cannot fail")
}

/// One card per line.
fn jsonl_lines(cards: &[Card]) -> Vec<u8> {
    let mut lines = Vec::new();
    for card in cards {
        serde_json::to_writer(&mut lines, card).expect("a card (strings, numbers, arrays) always serializes");
        lines.push(b'\n');
    }
    lines
}

/// The CSV fields of one card, in [`CSV_HEADER`] order.
pub fn csv_record(card: &Card) -> [String; 8] {
    let values = |kind: IdentityKind| {
        card.identities.iter().filter(|i| i.kind == kind).map(|i| i.value.as_str()).collect::<Vec<_>>().join(";")
    };
    let others = card
        .identities
        .iter()
        .filter(|i| i.kind != IdentityKind::Email && i.kind != IdentityKind::Phone)
        .map(|i| format!("{}:{}:{}", i.kind, i.scope.as_deref().unwrap_or(""), i.value))
        .collect::<Vec<_>>()
        .join(";");
    [
        card.contact_id.to_string(),
        card.name.clone().unwrap_or_default(),
        card.name_source.map(|s| s.as_str().to_owned()).unwrap_or_default(),
        values(IdentityKind::Email),
        values(IdentityKind::Phone),
        others,
        timestamp(Some(card.created_at)),
        timestamp(card.last_interaction_at),
    ]
}

fn timestamp(at: Option<DateTime<Utc>>) -> String {
    at.map(|at| at.to_rfc3339_opts(SecondsFormat::Millis, true)).unwrap_or_default()
}

/// Spreadsheets run a cell starting with `=`, `+`, `-`, `@`, tab or CR as a formula, and names
/// come from strangers (channel profiles), so such a cell gets a leading `'` (OWASP "CSV
/// injection"). E.164 phone lists (`+420…;+421…`) are digits only and stay as they are.
fn defuse_formula(field: &str) -> String {
    let risky = field.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let phones =
        field.split(';').all(|p| p.strip_prefix('+').is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit())));
    if risky && !phones {
        format!("'{field}")
    } else {
        field.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use contracts::api::directory::{CardIdentity, IdentitySource};
    use contracts::ContactId;
    use contracts::NameSource;
    use uuid::Uuid;

    fn identity(kind: IdentityKind, value: &str, scope: Option<&str>) -> CardIdentity {
        CardIdentity {
            identity_id: contracts::IdentityId(Uuid::nil()),
            kind,
            value: value.into(),
            scope: scope.map(str::to_owned),
            source: IdentitySource::Operator,
            provenance: contracts::Provenance::Verified,
            created_at: DateTime::from_timestamp(0, 0).expect("epoch"),
        }
    }

    fn card(name: &str) -> Card {
        Card {
            contact_id: ContactId(Uuid::from_u128(1)),
            name: Some(name.into()),
            name_source: Some(NameSource::Operator),
            created_at: DateTime::from_timestamp(1_764_000_000, 0).expect("valid"),
            updated_at: DateTime::from_timestamp(1_764_000_000, 0).expect("valid"),
            last_interaction_at: None,
            merged_into: None,
            identities: vec![
                identity(IdentityKind::Email, "a@novak.cz", None),
                identity(IdentityKind::Phone, "+420777123456", None),
                identity(IdentityKind::Email, "b@novak.cz", None),
                identity(IdentityKind::Psid, "123", Some("page-1")),
                identity(IdentityKind::Vk, "9", None),
            ],
            proposed_identities: vec![],
        }
    }

    #[test]
    fn a_card_becomes_one_row_with_multi_values_joined() {
        let record = csv_record(&card("Jiří Novák"));
        assert_eq!(record[3], "a@novak.cz;b@novak.cz");
        assert_eq!(record[4], "+420777123456");
        assert_eq!(record[5], "psid:page-1:123;vk::9");
        assert_eq!(record[6], "2025-11-24T16:00:00.000Z");
        assert_eq!(record[7], "");
    }

    #[test]
    fn fields_with_commas_and_quotes_are_quoted() {
        let mut record = csv_record(&card("Novák, Jiří \"Jirka\""));
        record[2] = "line\nbreak".into();
        let line = String::from_utf8(csv_lines([record])).expect("utf-8");
        assert!(
            line.starts_with("00000000-0000-0000-0000-000000000001,\"Novák, Jiří \"\"Jirka\"\"\",\"line\nbreak\","),
            "{line}"
        );
    }

    #[test]
    fn formulas_are_defused_but_phone_numbers_are_not() {
        assert_eq!(defuse_formula("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(defuse_formula("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(defuse_formula("+420777123456;+421903123456"), "+420777123456;+421903123456");
        assert_eq!(defuse_formula("+1+1"), "'+1+1");
        assert_eq!(defuse_formula("Jana"), "Jana");
    }
}
