//! Export (CSV and JSON lines, streamed page by page) and CSV import through the Directory API:
//! imported rows follow the resolution rules (a phone in another format matches, blocked and
//! invalid values are ignored, bad rows are reported without stopping the import), their
//! changes reach CRM consumers, and both are for admins and integrations only.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use axum::http::StatusCode;

use common::create;
use contracts::api::directory::{Card, ContactPage, IdentitySource, RowReport, RowStatus};
use contracts::{topics, Actor, ContactChange, IdentityKind, IgnoreReason, IgnoredIdentity, MatchedBy, NameSource};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(60);

const HEADER: [&str; 8] =
    ["contact_id", "name", "name_source", "emails", "phones", "other_identifiers", "created_at", "last_interaction_at"];

/// The CSV export parsed: its header and the rows by contact id.
fn parse_csv(text: &str) -> (Vec<String>, HashMap<String, Vec<String>>) {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader.headers().expect("a header row").iter().map(str::to_owned).collect();
    let rows = reader
        .records()
        .map(|r| r.expect("a well-formed row").iter().map(str::to_owned).collect::<Vec<_>>())
        .map(|r| (r[0].clone(), r))
        .collect();
    (header, rows)
}

#[tokio::test]
async fn the_export_streams_csv_and_json_lines_with_the_list_filters() {
    let s = common::Directory::start().await;
    let jiri = create(
        &s.operator,
        json!({"name": "Novák, Jiří \"Jirka\"", "identities": [
            {"kind": "email", "value": "jiri@novak.cz"}, {"kind": "email", "value": "jiri@firma.cz"},
            {"kind": "phone", "value": "777 123 456"}, {"kind": "psid", "value": "P1", "scope": "page-1"}]}),
    )
    .await;
    let zofie =
        create(&s.operator, json!({"name": "Žofie Dvořáková", "identities": [{"kind": "email", "value": "zofie@dvorak.cz"}]}))
            .await;
    let formula = create(&s.operator, json!({"name": "=HYPERLINK(\"http://x\")"})).await;
    create(&s.other_tenant, json!({"name": "Globex Person"})).await;
    let id = |card: &Card| card.contact_id.to_string();

    assert_eq!(s.operator.get("/v1/contacts/export").await.status, 403, "operators do not export the directory");
    let reply = s.admin.get("/v1/contacts/export?format=csv").await;
    assert_eq!(reply.status, 200, "{reply}");
    assert_eq!(reply.content_type(), "text/csv; charset=utf-8");
    let text = reply.text();
    assert!(text.contains("\"Novák, Jiří \"\"Jirka\"\"\""), "a name with a comma and quotes is quoted: {text}");
    let (header, rows) = parse_csv(&text);
    assert_eq!(header, HEADER);
    assert_eq!(rows.len(), 3, "this tenant's contacts only: {text}");
    let row = &rows[&id(&jiri)];
    assert_eq!(row[1], "Novák, Jiří \"Jirka\"", "diacritics and quoting survive the round trip");
    assert_eq!(row[2], "operator");
    let mut emails: Vec<&str> = row[3].split(';').collect();
    emails.sort_unstable();
    assert_eq!(emails, ["jiri@firma.cz", "jiri@novak.cz"]);
    assert_eq!((row[4].as_str(), row[5].as_str()), ("+420777123456", "psid:page-1:P1"));
    assert!(row[6].starts_with("20") && row[6].ends_with('Z'), "RFC 3339 in UTC: {}", row[6]);
    assert_eq!(row[7], "", "never in touch");
    assert_eq!(rows[&id(&zofie)][1], "Žofie Dvořáková");
    assert_eq!(rows[&id(&formula)][1], "'=HYPERLINK(\"http://x\")", "a formula is defused for spreadsheets");

    let reply = s.integration.get("/v1/contacts/export?format=jsonl&q=dvorakova").await;
    assert_eq!((reply.status, reply.content_type()), (StatusCode::OK, "application/x-ndjson"));
    let text = reply.text();
    let lines: Vec<Card> = text.lines().map(|l| serde_json::from_str(l).expect("one card per line")).collect();
    assert_eq!(lines.len(), 1, "the list's filters apply: {text}");
    assert_eq!(lines[0].contact_id, zofie.contact_id);
    assert_eq!(lines[0].name.as_deref(), Some("Žofie Dvořáková"));
    assert_eq!(lines[0].identities[0].value, "zofie@dvorak.cz");

    let text = s.admin.get("/v1/contacts/export?format=csv&email=nobody@novak.cz").await.text();
    assert_eq!(text.lines().collect::<Vec<_>>(), [HEADER.join(",")], "an empty export is its header");
    assert_eq!(s.admin.get("/v1/contacts/export?format=xml").await.status, 400);
    assert_eq!(s.admin.get("/v1/contacts/export?limit=5").await.status, 400);
}

#[tokio::test]
async fn an_import_resolves_every_row_like_an_interaction_and_reports_each_row() {
    let s = common::Directory::start().await;
    let definition = json!({"name": "crm_id", "label": "CRM", "identifies_client": true});
    assert_eq!(s.admin.post("/v1/identifier-definitions", &definition).await.status, 201);
    let existing =
        create(&s.operator, json!({"name": "Operátorka Eva", "identities": [{"kind": "email", "value": "eva@novak.cz"}]})).await;
    let file = "\
name,email,phone,custom:crm_id
\"Novák, Jiří\",jiri@novak.cz,777 123 456,CRM-1
Jana Dvořáková,jana@dvorak.cz;jana.d@firma.cz,,
Jiří N.,,+420 777 123 456,
Bad Email,not-an-address,,
Only Name,,,
Short,row
Eva Import,EVA@novak.cz,,
,,603 999 888,
Tester,test@test.com,604 111 222,
,,,CRM-1
";
    // A value longer than any identifier is screened out (it would not fit the identifier index);
    // the rows after it still import.
    let too_long: String = (0..200).map(|_| uuid::Uuid::new_v4().simple().to_string()).collect();
    let file = format!("{file},,,{too_long}\nPo Chybě,po.chybe@novak.cz,,\n");
    let file = file.as_str();
    assert_eq!(s.operator.post_text("/v1/contacts/import", "text/csv", file).await.status, 403, "operators do not import");
    assert_eq!(s.integration.post_text("/v1/contacts/import", "application/json", "{}").await.status, 415);
    let reply = s.integration.post_text("/v1/contacts/import", "text/csv", "name,mail\nx,y\n").await;
    assert_eq!(reply.status, 422, "{reply}");

    let reply = s.integration.post_text("/v1/contacts/import", "text/csv; charset=utf-8", file).await;
    assert_eq!(reply.status, 200, "{reply}");
    let rows: Vec<RowReport> = reply.json();
    let statuses: Vec<(u64, RowStatus)> = rows.iter().map(|r| (r.row, r.status)).collect();
    use RowStatus::{Created, Error, Matched};
    assert_eq!(
        statuses,
        [
            (1, Created),
            (2, Created),
            (3, Matched),
            (4, Error),
            (5, Error),
            (6, Error),
            (7, Matched),
            (8, Created),
            (9, Created),
            (10, Matched),
            (11, Error),
            (12, Created),
        ]
    );
    assert_eq!(rows[10].ignored.first().map(|i| i.reason), Some(IgnoreReason::TooLong), "{:?}", rows[10]);
    let jiri = rows[0].contact_id.expect("the created contact");
    assert_eq!(rows[2].contact_id, Some(jiri), "the same phone in another format is the same contact");
    assert_eq!(rows[2].matched_by, Some(MatchedBy { kind: IdentityKind::Phone, value: "+420777123456".into(), scope: None }));
    assert_eq!(rows[3].ignored.first().map(|i| i.kind), Some(IdentityKind::Email));
    assert_eq!(rows[3].ignored.first().map(|i| i.reason), Some(IgnoreReason::Invalid), "{:?}", rows[3]);
    assert!(rows[4].error.is_some() && rows[5].error.is_some());
    assert_eq!(rows[6].contact_id, Some(existing.contact_id), "matched by the e-mail, whatever its case");
    assert_eq!(
        rows[8].ignored,
        [IgnoredIdentity {
            kind: IdentityKind::Email,
            value: "test@test.com".into(),
            reason: IgnoreReason::Blocked,
            detail: None
        }]
    );
    assert_eq!(rows[9].contact_id, Some(jiri), "a custom identifier matches too");
    assert_eq!(rows[9].matched_by.as_ref().map(|m| m.kind), Some(IdentityKind::Custom));

    let card = s.operator.card(jiri).await;
    assert_eq!((card.name.as_deref(), card.name_source), (Some("Novák, Jiří"), Some(NameSource::Form)), "the first name stays");
    let values: Vec<(IdentityKind, &str, IdentitySource)> =
        card.identities.iter().map(|i| (i.kind, i.value.as_str(), i.source)).collect();
    assert_eq!(values.len(), 3, "{values:?}");
    assert!(values.contains(&(IdentityKind::Phone, "+420777123456", IdentitySource::Import)));
    assert!(values.contains(&(IdentityKind::Custom, "CRM-1", IdentitySource::Import)));
    let eva = s.operator.card(existing.contact_id).await;
    assert_eq!(eva.name.as_deref(), Some("Operátorka Eva"), "an import never replaces an operator's name");
    let by_phone: ContactPage = s.operator.get("/v1/contacts?phone=777123456").await.json();
    assert_eq!(by_phone.items.len(), 1, "no duplicate from the phone variant");

    // Every created contact is an event for CRM consumers, by the integration, from the import.
    let from_import = |c: &ContactChange| c.reason == "created from an imported row nobody matched";
    let changes: Vec<ContactChange> = s
        .kafka
        .reader(topics::CONTACTS_CHANGES)
        .until(WAIT, |m| m.iter().map(testkit::decode::<ContactChange>).filter(from_import).count() >= 5)
        .await
        .iter()
        .map(testkit::decode)
        .collect();
    let imported: Vec<&ContactChange> = changes.iter().filter(|c| from_import(c)).collect();
    assert_eq!(imported.len(), 5);
    assert!(imported.iter().all(|c| c.actor == Actor::Integration { id: "test-operator".into() }));

    // Importing the same file again creates nothing, and another tenant's import never matches here.
    let again: Vec<RowReport> = s.admin.post_text("/v1/contacts/import", "text/csv", file).await.json();
    assert!(again.iter().all(|r| r.status != Created), "{again:?}");
    let foreign: Vec<RowReport> =
        s.other_tenant.post_text("/v1/contacts/import", "text/csv", "phone\n777 123 456\n").await.json();
    assert_eq!(foreign[0].status, Created, "{foreign:?}");
    assert_ne!(foreign[0].contact_id, Some(jiri));
}

#[tokio::test]
async fn a_large_import_exports_completely_across_pages() {
    let s = common::Directory::start().await;
    let mut file = String::from("name;email;phone\n");
    for i in 0..1_203 {
        file.push_str(&format!("Kontakt Číslo {i};kontakt{i}@firma.cz;+420 601 {:06}\n", 100_000 + i));
    }
    let reply = s.admin.post_text("/v1/contacts/import", "text/csv", &file).await;
    assert_eq!(reply.status, 200);
    let rows: Vec<RowReport> = reply.json();
    assert_eq!(rows.len(), 1_203);
    assert!(rows.iter().all(|r| r.status == RowStatus::Created), "a `;`-separated file imports too");

    let reply = s.admin.get("/v1/contacts/export").await;
    assert_eq!(reply.status, 200);
    let (_, exported) = parse_csv(&reply.text());
    assert_eq!(exported.len(), 1_203, "every contact once, over several pages");
    let text = s.admin.get("/v1/contacts/export?format=jsonl&sort=name").await.text();
    let names: Vec<String> =
        text.lines().map(|l| serde_json::from_str::<Card>(l).expect("a card").name.unwrap_or_default()).collect();
    assert_eq!(names.len(), 1_203);
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "the export keeps the sort order across pages");
}
