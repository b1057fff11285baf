//! Asterisk's CSV call detail records, one record per line, as the PBX writes them to disk
//! (forwarded here by a log shipper, one or many lines per request).
//!
//! **`cdr_csv`** (`/var/log/asterisk/cdr-csv/Master.csv`): every string quoted (`"` doubled inside),
//! numbers bare, an unset time empty. The column order is fixed by `build_csv_record` in
//! Asterisk's `cdr/cdr_csv.c`
//! (<https://github.com/asterisk/asterisk/blob/master/cdr/cdr_csv.c>):
//! `accountcode, src, dst, dcontext, clid, channel, dstchannel, lastapp, lastdata, start, answer,
//! end, duration, billsec, disposition, amaflags`, then `uniqueid` if `loguniqueid=yes`,
//! `userfield` if `loguserfield=yes`, and `peeraccount, linkedid, sequence` if
//! `newcdrcolumns=yes` (`cdr.conf` `[csv]`, <https://github.com/asterisk/asterisk/blob/master/configs/samples/cdr.conf.sample>).
//! Times are `%Y-%m-%d %T` in the PBX's local time, or UTC with `usegmtime=yes`.
//!
//! **`cdr_custom`** (`/var/log/asterisk/cdr-custom/Master.csv`): the columns its mapping lists.
//! The default is the `Master.csv` mapping of Asterisk's sample `cdr_custom.conf`
//! (<https://github.com/asterisk/asterisk/blob/master/configs/samples/cdr_custom.conf.sample>):
//! `clid, src, dst, dcontext, channel, dstchannel, lastapp, lastdata, start, answer, end,
//! duration, billsec, disposition, amaflags, accountcode, uniqueid, userfield, sequence`; a PBX
//! with another mapping lists its columns (any field name the JSON format knows; others are
//! ignored).
//!
//! A request may also name its columns in a header row (`Content-Type: text/csv; header=present`,
//! RFC 7111).

use channel::WebhookError;
use chrono_tz::Tz;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::cdr::Cdr;

/// `cdr.conf` `[csv]` options that add columns to `cdr_csv` lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CdrCsvColumns {
    pub loguniqueid: bool,
    pub loguserfield: bool,
    pub newcdrcolumns: bool,
}

/// Asterisk's sample `cdr.conf` turns on `loguniqueid` and `loguserfield`.
impl Default for CdrCsvColumns {
    fn default() -> Self {
        Self { loguniqueid: true, loguserfield: true, newcdrcolumns: false }
    }
}

/// `cdr_csv`'s fixed columns.
const CDR_CSV_BASE: [&str; 16] = [
    "accountcode",
    "src",
    "dst",
    "dcontext",
    "clid",
    "channel",
    "dstchannel",
    "lastapp",
    "lastdata",
    "start",
    "answer",
    "end",
    "duration",
    "billsec",
    "disposition",
    "amaflags",
];

/// The `Master.csv` mapping of Asterisk's sample `cdr_custom.conf`.
pub const CDR_CUSTOM_SAMPLE: [&str; 19] = [
    "clid",
    "src",
    "dst",
    "dcontext",
    "channel",
    "dstchannel",
    "lastapp",
    "lastdata",
    "start",
    "answer",
    "end",
    "duration",
    "billsec",
    "disposition",
    "amaflags",
    "accountcode",
    "uniqueid",
    "userfield",
    "sequence",
];

impl CdrCsvColumns {
    /// The columns of a `cdr_csv` line written with these options.
    pub fn columns(self) -> Vec<&'static str> {
        let mut columns = CDR_CSV_BASE.to_vec();
        if self.loguniqueid {
            columns.push("uniqueid");
        }
        if self.loguserfield {
            columns.push("userfield");
        }
        if self.newcdrcolumns {
            columns.extend(["peeraccount", "linkedid", "sequence"]);
        }
        columns
    }

    fn all() -> impl Iterator<Item = Self> {
        (0..8u8).map(|bits| Self { loguniqueid: bits & 1 != 0, loguserfield: bits & 2 != 0, newcdrcolumns: bits & 4 != 0 })
    }
}

/// The columns of a PBX's CSV lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CsvLayout {
    /// `cdr_csv`'s `Master.csv` with these options.
    CdrCsv(CdrCsvColumns),
    /// A `cdr_custom` mapping: the field name of each column.
    Custom(Vec<String>),
}

impl Default for CsvLayout {
    fn default() -> Self {
        CsvLayout::CdrCsv(CdrCsvColumns::default())
    }
}

impl CsvLayout {
    /// The default `cdr_custom` mapping.
    pub fn cdr_custom_sample() -> Self {
        CsvLayout::Custom(CDR_CUSTOM_SAMPLE.iter().map(|c| (*c).to_owned()).collect())
    }

    /// The column names of a line of `len` fields. `cdr_csv` lines whose count does not match the
    /// configured options but matches exactly one other combination of them (the PBX's
    /// `cdr.conf` changed) are read with that one; anything else is malformed.
    fn columns_for(&self, len: usize) -> Result<Vec<String>, String> {
        match self {
            CsvLayout::Custom(columns) if columns.len() == len => Ok(columns.clone()),
            CsvLayout::Custom(columns) => Err(format!("{len} columns, the cdr_custom mapping has {}", columns.len())),
            CsvLayout::CdrCsv(configured) => {
                if configured.columns().len() == len {
                    return Ok(owned(configured.columns()));
                }
                let fitting: Vec<CdrCsvColumns> = CdrCsvColumns::all().filter(|o| o.columns().len() == len).collect();
                match fitting.as_slice() {
                    [only] => Ok(owned(only.columns())),
                    [] => Err(format!("{len} columns; cdr_csv writes 16 to 21")),
                    _ => Err(format!(
                        "{len} columns fit several cdr_csv options (loguniqueid or loguserfield): configure the PBX's cdr_csv options"
                    )),
                }
            }
        }
    }
}

fn owned(columns: Vec<&str>) -> Vec<String> {
    columns.into_iter().map(str::to_owned).collect()
}

/// The CDRs of a CSV body, one per non-empty line.
pub fn cdrs(body: &[u8], layout: &CsvLayout, header: bool, zone: Tz) -> Result<Vec<Cdr>, WebhookError> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(body);
    let mut named: Option<Vec<String>> = None;
    let mut out = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let line = index + 1;
        let record = record.map_err(|e| WebhookError::Malformed(format!("CSV line {line}: {e}")))?;
        if record.iter().all(|field| field.trim().is_empty()) {
            continue;
        }
        if header && named.is_none() {
            named = Some(record.iter().map(|name| name.trim().to_ascii_lowercase()).collect());
            continue;
        }
        let columns = match &named {
            Some(names) if names.len() == record.len() => names.clone(),
            Some(names) => {
                return Err(WebhookError::Malformed(format!(
                    "CSV line {line}: {} columns, the header names {}",
                    record.len(),
                    names.len()
                )))
            }
            None => layout.columns_for(record.len()).map_err(|why| WebhookError::Malformed(format!("CSV line {line}: {why}")))?,
        };
        let mut fields = Map::new();
        for (name, value) in columns.iter().zip(record.iter()) {
            fields.insert(name.clone(), Value::from(value));
        }
        if !["uniqueid", "linkedid", "uuid"]
            .iter()
            .any(|id| fields.get(*id).and_then(Value::as_str).is_some_and(|v| !v.is_empty()))
        {
            // `cdr_csv` without `loguniqueid` names no call: the record itself is its identity,
            // so a re-sent line is the same call.
            let joined: Vec<&str> = record.iter().collect();
            fields.insert("uniqueid".into(), Value::from(contracts::limits::digest(&joined.join("\u{1f}"))));
        }
        out.push(Cdr::from_record(fields, zone).map_err(|e| WebhookError::Malformed(format!("CSV line {line}: {e}")))?);
    }
    if out.is_empty() {
        return Err(WebhookError::Malformed("no CDR lines in the CSV body".into()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `cdr_csv` line of an answered inbound call, as `build_csv_record` writes it with
    /// `loguniqueid` and `loguserfield` (the sample `cdr.conf`).
    const ANSWERED: &str = "\"\",\"777123456\",\"222333444\",\"from-trunk\",\"\"\"Jana Dvořáková\"\" <777123456>\",\"PJSIP/trunk-00000012\",\"PJSIP/101-00000013\",\"Dial\",\"PJSIP/101,30,tT\",\"2024-01-15 14:15:00\",\"2024-01-15 14:15:07\",\"2024-01-15 14:17:07\",127,120,\"ANSWERED\",\"DOCUMENTATION\",\"1705328100.18\",\"\"\n";

    fn read(body: &str, layout: &CsvLayout) -> Result<Vec<Cdr>, WebhookError> {
        cdrs(body.as_bytes(), layout, false, chrono_tz::Europe::Prague)
    }

    #[test]
    fn a_cdr_csv_line_reads_every_column_in_asterisks_order() {
        let got = read(ANSWERED, &CsvLayout::default()).expect("valid");
        let cdr = &got[0];
        assert_eq!(cdr.call_id, "1705328100.18");
        assert_eq!((cdr.src.as_deref(), cdr.dst.as_deref()), (Some("777123456"), Some("222333444")));
        assert_eq!(cdr.caller_name.as_deref(), Some("Jana Dvořáková"), "doubled quotes inside a quoted field");
        assert_eq!(cdr.dstchannel.as_deref(), Some("PJSIP/101-00000013"));
        assert_eq!(cdr.lastapp.as_deref(), Some("Dial"));
        assert_eq!(cdr.start.map(|t| t.to_rfc3339()).as_deref(), Some("2024-01-15T13:15:00+00:00"), "Prague local time");
        assert_eq!((cdr.duration, cdr.billsec), (Some(127), Some(120)));
        assert_eq!(cdr.disposition.as_deref(), Some("ANSWERED"));
    }

    #[test]
    fn optional_trailing_columns_follow_the_options_or_the_only_combination_that_fits() {
        let minimal = "\"ACC7\",\"101\",\"777123456\",\"internal\",\"\",\"PJSIP/101-1\",\"\",\"Dial\",\"\",\"2024-01-15 09:00:00\",,\"2024-01-15 09:00:30\",30,0,\"NO ANSWER\",\"DOCUMENTATION\"";
        let none = CsvLayout::CdrCsv(CdrCsvColumns { loguniqueid: false, loguserfield: false, newcdrcolumns: false });
        let a = read(minimal, &none).expect("16 columns");
        assert!(a[0].call_id.starts_with("sha256:"), "no uniqueid: the line is its identity");
        assert_eq!(a[0].call_id, read(minimal, &none).expect("again")[0].call_id);
        assert_eq!(a[0].answer, None, "an unanswered call's empty answer column");
        assert_eq!(read(minimal, &CsvLayout::default()).expect("only the 16-column layout fits")[0].call_id, a[0].call_id);

        let all = format!("{},\"peer\",\"1705328100.17\",42", ANSWERED.trim_end());
        let got = read(&all, &CsvLayout::default()).expect("21 columns fit only newcdrcolumns with both options");
        assert_eq!((got[0].call_id.as_str(), got[0].leg_id.as_deref()), ("1705328100.17", Some("1705328100.18")));
        assert_eq!((got[0].sequence.as_deref(), got[0].peeraccount.as_deref()), (Some("42"), Some("peer")));

        let seventeen = minimal.to_owned() + ",\"1705328100.19\"";
        let unique_only = CsvLayout::CdrCsv(CdrCsvColumns { loguniqueid: true, loguserfield: false, newcdrcolumns: false });
        assert_eq!(read(&seventeen, &unique_only).expect("configured")[0].call_id, "1705328100.19");
        let both = CsvLayout::default();
        assert!(matches!(read(&seventeen, &both), Err(WebhookError::Malformed(m)) if m.contains("several")), "ambiguous");
        assert!(matches!(read("\"a\",\"b\"", &both), Err(WebhookError::Malformed(m)) if m.contains("line 1")));
    }

    #[test]
    fn many_lines_crlf_and_blank_lines_are_read_and_an_empty_body_is_malformed() {
        let body = format!("{}\r\n\r\n{}", ANSWERED.trim_end(), ANSWERED.replace("1705328100.18", "1705328100.20"));
        let got = read(&body, &CsvLayout::default()).expect("valid");
        assert_eq!(got.iter().map(|c| c.call_id.as_str()).collect::<Vec<_>>(), ["1705328100.18", "1705328100.20"]);
        assert!(matches!(read("\n\n", &CsvLayout::default()), Err(WebhookError::Malformed(_))));
    }

    #[test]
    fn the_default_cdr_custom_mapping_and_a_header_row_name_the_columns() {
        let custom = "\"\"\"Jana\"\" <777123456>\",\"777123456\",\"222333444\",\"from-trunk\",\"PJSIP/trunk-1\",\"PJSIP/101-2\",\"Dial\",\"PJSIP/101\",\"2024-07-15 14:15:00\",\"2024-07-15 14:15:05\",\"2024-07-15 14:16:05\",\"65\",\"60\",\"ANSWERED\",\"DOCUMENTATION\",\"\",\"1721045700.5\",\"\",7\n";
        let got = read(custom, &CsvLayout::cdr_custom_sample()).expect("valid");
        assert_eq!(got[0].call_id, "1721045700.5");
        assert_eq!(got[0].sequence.as_deref(), Some("7"));
        assert_eq!(got[0].start.map(|t| t.to_rfc3339()).as_deref(), Some("2024-07-15T12:15:00+00:00"), "summer time");

        let headed = "uniqueid,src,dst,start,disposition\n1.1,777123456,222333444,2024-01-15 14:15:00,BUSY\n";
        let got = cdrs(headed.as_bytes(), &CsvLayout::default(), true, chrono_tz::UTC).expect("valid");
        assert_eq!((got[0].call_id.as_str(), got[0].disposition.as_deref()), ("1.1", Some("BUSY")));
    }
}
