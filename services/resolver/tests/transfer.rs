//! Export (CSV and JSON lines, streamed page by page) and CSV import through the Directory API:
//! imported rows follow the resolution rules (a phone in another format matches, blocked and
//! invalid values are ignored, bad rows are reported without stopping the import), their
//! changes reach CRM consumers, and both are for admins and integrations only.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::create;
use contracts::topics;
use serde_json::{json, Value};

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
    let id = |card: &Value| card["contact_id"].as_str().expect("id").to_owned();

    assert_eq!(s.operator.get_text("/v1/contacts/export").await.0, 403, "operators do not export the directory");
    let (status, content_type, text) = s.admin.get_text("/v1/contacts/export?format=csv").await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(content_type, "text/csv; charset=utf-8");
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

    let (status, content_type, text) = s.integration.get_text("/v1/contacts/export?format=jsonl&q=dvorakova").await;
    assert_eq!((status, content_type.as_str()), (200, "application/x-ndjson"));
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).expect("one JSON card per line")).collect();
    assert_eq!(lines.len(), 1, "the list's filters apply: {text}");
    assert_eq!(lines[0]["contact_id"], id(&zofie));
    assert_eq!(lines[0]["name"], "Žofie Dvořáková");
    assert_eq!(lines[0]["identities"][0]["value"], "zofie@dvorak.cz");

    let (_, _, text) = s.admin.get_text("/v1/contacts/export?format=csv&email=nobody@novak.cz").await;
    assert_eq!(text.lines().collect::<Vec<_>>(), [HEADER.join(",")], "an empty export is its header");
    assert_eq!(s.admin.get_text("/v1/contacts/export?format=xml").await.0, 400);
    assert_eq!(s.admin.get_text("/v1/contacts/export?limit=5").await.0, 400);
}

#[tokio::test]
async fn an_import_resolves_every_row_like_an_interaction_and_reports_each_row() {
    let s = common::Directory::start().await;
    let definition = json!({"name": "crm_id", "label": "CRM", "identifies_client": true});
    assert_eq!(s.admin.call("POST", "/v1/identifier-definitions", Some(definition)).await.0, 201);
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
    assert_eq!(s.operator.post_text("/v1/contacts/import", "text/csv", file).await.0, 403, "operators do not import");
    assert_eq!(s.integration.post_text("/v1/contacts/import", "application/json", "{}").await.0, 415);
    let (status, problem) = s.integration.post_text("/v1/contacts/import", "text/csv", "name,mail\nx,y\n").await;
    assert_eq!(status, 422, "{problem}");

    let (status, report) = s.integration.post_text("/v1/contacts/import", "text/csv; charset=utf-8", file).await;
    assert_eq!(status, 200, "{report}");
    let rows = report.as_array().expect("one report per row");
    let statuses: Vec<(u64, &str)> =
        rows.iter().map(|r| (r["row"].as_u64().unwrap_or(0), r["status"].as_str().unwrap_or(""))).collect();
    assert_eq!(
        statuses,
        [
            (1, "created"),
            (2, "created"),
            (3, "matched"),
            (4, "error"),
            (5, "error"),
            (6, "error"),
            (7, "matched"),
            (8, "created"),
            (9, "created"),
            (10, "matched"),
            (11, "error"),
            (12, "created"),
        ]
    );
    assert_eq!(rows[10]["ignored"][0]["reason"], "too_long", "{}", rows[10]);
    let jiri = rows[0]["contact_id"].as_str().expect("the created contact");
    assert_eq!(rows[2]["contact_id"], jiri, "the same phone in another format is the same contact");
    assert_eq!(rows[2]["matched_by"], json!({"kind": "phone", "value": "+420777123456", "scope": null}));
    assert_eq!(rows[3]["ignored"][0]["kind"], "email");
    assert!(rows[3]["ignored"][0]["reason"].as_str().is_some_and(|r| r.starts_with("invalid")), "{}", rows[3]);
    assert!(rows[4]["error"].is_string() && rows[5]["error"].is_string());
    assert_eq!(rows[6]["contact_id"], existing["contact_id"], "matched by the e-mail, whatever its case");
    assert_eq!(rows[8]["ignored"], json!([{"kind": "email", "value": "test@test.com", "reason": "blocked"}]));
    assert_eq!(rows[9]["contact_id"], jiri, "a custom identifier matches too");
    assert_eq!(rows[9]["matched_by"]["kind"], "custom");

    let (_, card) = s.operator.call("GET", &format!("/v1/contacts/{jiri}"), None).await;
    assert_eq!((&card["name"], &card["name_source"]), (&json!("Novák, Jiří"), &json!("form")), "the first name stays");
    let values: Vec<(&str, &str, &str)> = card["identities"]
        .as_array()
        .expect("identities")
        .iter()
        .map(|i| (i["kind"].as_str().unwrap_or(""), i["value"].as_str().unwrap_or(""), i["source"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(values.len(), 3, "{values:?}");
    assert!(values.contains(&("phone", "+420777123456", "import")));
    assert!(values.contains(&("custom", "CRM-1", "import")));
    let (_, eva) = s.operator.call("GET", &format!("/v1/contacts/{}", existing["contact_id"].as_str().expect("id")), None).await;
    assert_eq!(eva["name"], "Operátorka Eva", "an import never replaces an operator's name");
    let (_, by_phone) = s.operator.call("GET", "/v1/contacts?phone=777123456", None).await;
    assert_eq!(by_phone["items"].as_array().map(Vec::len), Some(1), "no duplicate from the phone variant");

    // Every created contact is an event for CRM consumers, by the integration, from the import.
    let changes: Vec<Value> = s
        .kafka
        .reader(topics::CONTACTS_CHANGES)
        .until(WAIT, |m| {
            m.iter().filter(|m| testkit::json(m)["reason"] == "created from an imported row nobody matched").count() >= 5
        })
        .await
        .iter()
        .map(testkit::json)
        .collect();
    let imported: Vec<&Value> = changes.iter().filter(|c| c["reason"] == "created from an imported row nobody matched").collect();
    assert_eq!(imported.len(), 5);
    assert!(imported.iter().all(|c| c["actor"] == json!({"type": "integration", "id": "test-operator"})));

    // Importing the same file again creates nothing, and another tenant's import never matches here.
    let (_, again) = s.admin.post_text("/v1/contacts/import", "text/csv", file).await;
    assert!(again.as_array().expect("rows").iter().all(|r| r["status"] != "created"), "{again}");
    let (_, foreign) = s.other_tenant.post_text("/v1/contacts/import", "text/csv", "phone\n777 123 456\n").await;
    assert_eq!(foreign[0]["status"], "created", "{foreign}");
    assert_ne!(foreign[0]["contact_id"], jiri);
}

#[tokio::test]
async fn a_large_import_exports_completely_across_pages() {
    let s = common::Directory::start().await;
    let mut file = String::from("name;email;phone\n");
    for i in 0..1_203 {
        file.push_str(&format!("Kontakt Číslo {i};kontakt{i}@firma.cz;+420 601 {:06}\n", 100_000 + i));
    }
    let (status, report) = s.admin.post_text("/v1/contacts/import", "text/csv", &file).await;
    assert_eq!(status, 200);
    let rows = report.as_array().expect("rows");
    assert_eq!(rows.len(), 1_203);
    assert!(rows.iter().all(|r| r["status"] == "created"), "a `;`-separated file imports too");

    let (status, _, text) = s.admin.get_text("/v1/contacts/export").await;
    assert_eq!(status, 200);
    let (_, exported) = parse_csv(&text);
    assert_eq!(exported.len(), 1_203, "every contact once, over several pages");
    let (_, _, text) = s.admin.get_text("/v1/contacts/export?format=jsonl&sort=name").await;
    let names: Vec<String> =
        text.lines().map(|l| serde_json::from_str::<Value>(l).expect("json")["name"].as_str().unwrap_or("").to_owned()).collect();
    assert_eq!(names.len(), 1_203);
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "the export keeps the sort order across pages");
}
