//! The OpenAPI 3.1 document of the Directory API, served at `/openapi.json` (DESIGN.md §6).
//! Built by hand like the Timeline API's: the API is small, and a derive framework would be a
//! second description of types that are already the contract. A test checks that every route
//! of [`super::routes`] is documented, and nothing else is.

use serde_json::{json, Value};

pub(super) async fn serve() -> axum::Json<Value> {
    axum::Json(document())
}

/// Query parameters shared by the list and the export.
fn filters() -> Vec<Value> {
    let param = |name: &str, description: &str, schema: Value| json!({"name": name, "in": "query", "required": false, "schema": schema, "description": description});
    let text = || json!({"type": "string"});
    let time = || json!({"type": "string", "format": "date-time"});
    vec![
        param("q", "free text over name and identifier values; case- and diacritics-insensitive substring", text()),
        param("email", "exact e-mail (normalized before comparing)", text()),
        param("phone", "exact phone in any format (normalized to E.164 with the default region)", text()),
        param("identifier", "exact identifier `kind:value`, e.g. `custom:CRM-1`, `psid:123`", text()),
        param(
            "channel",
            "contacts holding the channel's identifier: messenger→psid, whatsapp→whatsapp, vk→vk, apple→apple, email→email, voip→phone",
            json!({"type": "string", "enum": ["messenger", "whatsapp", "vk", "apple", "email", "voip"]}),
        ),
        param("created_after", "RFC 3339, exclusive", time()),
        param("created_before", "RFC 3339, exclusive", time()),
        param("last_interaction_after", "RFC 3339, exclusive", time()),
        param("last_interaction_before", "RFC 3339, exclusive; contacts never in touch are left out", time()),
        param(
            "sort",
            "created: newest first (default); last_interaction: most recent first, never in touch last; name: alphabetical ignoring case and diacritics, unnamed last",
            json!({"type": "string", "enum": ["created", "last_interaction", "name"]}),
        ),
        param("cursor", "next_cursor of the previous page (of the same sort)", text()),
    ]
}

/// The OpenAPI 3.1 description of the Directory API.
pub fn document() -> Value {
    let id = |name: &str, description: &str| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}, "description": description});
    let path_text = |name: &str, description: &str| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}, "description": description});
    let schema = |name: &str| json!({"$ref": format!("#/components/schemas/{name}")});
    let problem =
        json!({"description": "RFC 7807 problem", "content": {"application/problem+json": {"schema": schema("Problem")}}});
    let ok =
        |description: &str, body: Value| json!({"description": description, "content": {"application/json": {"schema": body}}});
    let body = |body: Value| json!({"required": true, "content": {"application/json": {"schema": body}}});
    let empty = json!({"description": "done, no content"});
    let card = schema("Card");
    let merged = ok(
        "the merge and the survivor's card",
        json!({"type": "object", "properties": {"merge_id": {"type": "string", "format": "uuid"}, "survivor": card}}),
    );
    let mut list_params = filters();
    list_params.push(json!({"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}}));
    let mut export_params = filters();
    export_params.push(json!({"name": "format", "in": "query", "required": false, "schema": {"type": "string", "enum": ["csv", "jsonl"], "default": "csv"}}));

    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Directory API",
            "version": "1",
            "description": "Contacts, their identifiers, merges and duplicates of one tenant (the bearer token's `tenant_id`); another tenant's contact is a 404. Roles: operator, admin, integration; where an operation needs a role it says so."
        },
        "security": [{"bearer": []}],
        "paths": {
            "/v1/contacts": {
                "get": {
                    "summary": "List, search and filter contacts; keyset pages in the chosen sort order",
                    "parameters": list_params,
                    "responses": {"200": ok("a page", schema("Page")), "400": problem, "401": problem}
                },
                "post": {
                    "summary": "Create a contact (name and identifiers from the operator)",
                    "requestBody": body(schema("NewContact")),
                    "responses": {"201": ok("the new card", card.clone()), "400": problem, "401": problem, "409": problem, "422": problem}
                }
            },
            "/v1/contacts/export": {"get": {
                "summary": "Export the contacts matching the list's filters, streamed (admin, integration)",
                "description": "CSV columns: contact_id, name, name_source, emails, phones, other_identifiers (`kind:scope:value`), created_at, last_interaction_at; several values joined with `;`; cells a spreadsheet would run as a formula get a leading `'`. JSON lines: one card per line. A transfer cut short means the export failed.",
                "parameters": export_params,
                "responses": {
                    "200": {"description": "the contacts", "content": {
                        "text/csv": {"schema": {"type": "string"}},
                        "application/x-ndjson": {"schema": card.clone()}}},
                    "400": problem, "401": problem, "403": problem}
            }},
            "/v1/contacts/import": {"post": {
                "summary": "Import contacts from CSV through the resolution rules; a report per row (admin, integration)",
                "description": "Header row with columns name, email, phone and custom:<parameter>; several e-mails or phones in one cell separated by `;` (by `,` in a `;`-separated file). Each row is screened, matched by its strongest identifier, and enriches the contact it matched or creates one; an imported name ranks as a form's. A bad row is reported and the others are imported. `row` 1 is the first row after the header.",
                "requestBody": {"required": true, "content": {"text/csv": {"schema": {"type": "string"}}}},
                "responses": {
                    "200": ok("one report per row", json!({"type": "array", "items": schema("ImportRow")})),
                    "401": problem, "403": problem, "413": problem, "415": problem, "422": problem}
            }},
            "/v1/contacts/{id}": {
                "get": {
                    "summary": "A contact card; a merged-away id answers with merged_into = the survivor",
                    "parameters": [id("id", "contact id")],
                    "responses": {"200": ok("the card", card.clone()), "400": problem, "401": problem, "404": problem}
                },
                "patch": {
                    "summary": "Rename (the name's source becomes operator)",
                    "parameters": [id("id", "contact id")],
                    "requestBody": body(json!({"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}})),
                    "responses": {"200": ok("the card", card.clone()), "400": problem, "401": problem, "404": problem, "422": problem}
                },
                "delete": {
                    "summary": "Delete a contact; erase=true also asks every consumer to remove its personal content",
                    "parameters": [id("id", "contact id"), {"name": "erase", "in": "query", "required": false, "schema": {"type": "boolean"}}],
                    "responses": {"204": empty.clone(), "400": problem, "401": problem, "404": problem}
                }
            },
            "/v1/contacts/{id}/identities": {"post": {
                "summary": "Add an identifier (\"add another\"); 409 with owner_contact_id when another contact holds it",
                "parameters": [id("id", "contact id")],
                "requestBody": body(schema("NewIdentity")),
                "responses": {"201": ok("the card", card.clone()), "400": problem, "401": problem, "404": problem, "409": problem, "422": problem}
            }},
            "/v1/contacts/{id}/identities/{identity_id}": {
                "patch": {
                    "summary": "Replace an identifier's value (same kind and scope)",
                    "parameters": [id("id", "contact id"), id("identity_id", "identity id")],
                    "requestBody": body(json!({"type": "object", "required": ["value"], "properties": {"value": {"type": "string"}}})),
                    "responses": {"200": ok("the card", card.clone()), "400": problem, "401": problem, "404": problem, "409": problem, "422": problem}
                },
                "delete": {
                    "summary": "Remove an identifier",
                    "parameters": [id("id", "contact id"), id("identity_id", "identity id")],
                    "responses": {"204": empty.clone(), "400": problem, "401": problem, "404": problem}
                }
            },
            "/v1/contacts/{id}/merge": {"post": {
                "summary": "Merge another contact into this one (journaled; see unmerge)",
                "parameters": [id("id", "the surviving contact")],
                "requestBody": body(json!({"type": "object", "required": ["merged_contact_id"], "properties": {
                    "merged_contact_id": {"type": "string", "format": "uuid"},
                    "name": {"type": "string", "enum": ["survivor", "merged"], "default": "survivor"}}})),
                "responses": {"200": merged.clone(), "400": problem, "401": problem, "404": problem, "422": problem}
            }},
            "/v1/contacts/{id}/merge-preview": {"get": {
                "summary": "What merging `with` into this contact would do: both cards, conflicting fields, identifier kinds combined; changes nothing",
                "parameters": [id("id", "the surviving contact"),
                    {"name": "with", "in": "query", "required": true, "schema": {"type": "string", "format": "uuid"}, "description": "the contact that would be merged"}],
                "responses": {"200": ok("the preview", schema("MergePreview")), "400": problem, "401": problem, "404": problem, "422": problem}
            }},
            "/v1/contacts/{id}/merges": {"get": {
                "summary": "The contact's merge history: merges it survived or was merged away in, newest first; open ones (unmerged_at null) can be unmerged",
                "parameters": [id("id", "contact id")],
                "responses": {"200": ok("merges", json!({"type": "object", "properties": {"items": {"type": "array", "items": schema("MergeRecord")}}})),
                    "400": problem, "401": problem}
            }},
            "/v1/merges/{merge_id}/unmerge": {"post": {
                "summary": "Reverse a merge: both contacts as before",
                "parameters": [id("merge_id", "merge id")],
                "responses": {"200": ok("both cards", json!({"type": "object", "properties": {"survivor": card, "restored": card}})),
                    "400": problem, "401": problem, "404": problem}
            }},
            "/v1/duplicates": {"get": {
                "summary": "Open duplicate suggestions (contacts that matched the same interaction)",
                "responses": {"200": ok("suggestions", json!({"type": "object", "properties": {"items": {"type": "array", "items": schema("Suggestion")}}})), "401": problem}
            }},
            "/v1/duplicates/accept": {"post": {
                "summary": "Accept a suggestion: merge the pair (survivor defaults to the older contact) and mark it merged",
                "requestBody": body(json!({"type": "object", "required": ["contact_a", "contact_b"], "properties": {
                    "contact_a": {"type": "string", "format": "uuid"}, "contact_b": {"type": "string", "format": "uuid"},
                    "survivor": {"type": "string", "format": "uuid", "description": "contact_a or contact_b"},
                    "name": {"type": "string", "enum": ["survivor", "merged"], "default": "survivor"}}})),
                "responses": {"200": merged, "400": problem, "401": problem, "404": problem, "422": problem}
            }},
            "/v1/duplicates/dismiss": {"post": {
                "summary": "Dismiss a suggestion; the pair is never suggested again",
                "requestBody": body(schema("Pair")),
                "responses": {"204": empty.clone(), "400": problem, "401": problem, "404": problem}
            }},
            "/v1/conversations/{conversation_ref}/link": {"get": {
                "summary": "The conversation's link, when an operator made one",
                "parameters": [path_text("conversation_ref", "the channel's conversation reference")],
                "responses": {"200": ok("the link", schema("Link")), "401": problem, "404": problem}
            }, "post": {
                "summary": "Link a conversation to a contact (\"pick an existing contact\"); later interactions of it resolve there",
                "parameters": [path_text("conversation_ref", "the channel's conversation reference")],
                "requestBody": body(json!({"type": "object", "required": ["contact_id"], "properties": {"contact_id": {"type": "string", "format": "uuid"}}})),
                "responses": {"200": ok("the link", json!({"type": "object"})), "400": problem, "401": problem, "404": problem}
            }},
            "/v1/conversations/{conversation_ref}/unlink": {"post": {
                "summary": "Remove a conversation's link",
                "parameters": [path_text("conversation_ref", "the channel's conversation reference")],
                "responses": {"204": empty.clone(), "401": problem, "404": problem}
            }},
            "/v1/identifier-definitions": {
                "get": {
                    "summary": "Custom identifier definitions",
                    "responses": {"200": ok("definitions", json!({"type": "object", "properties": {"items": {"type": "array", "items": schema("Definition")}}})), "401": problem}
                },
                "post": {
                    "summary": "Create or replace a definition (admin)",
                    "requestBody": body(schema("Definition")),
                    "responses": {"201": ok("the definition", schema("Definition")), "400": problem, "401": problem, "403": problem, "422": problem}
                }
            },
            "/v1/identifier-definitions/{name}": {
                "patch": {
                    "summary": "Change a definition's label or identifies_client (admin)",
                    "parameters": [path_text("name", "parameter name")],
                    "requestBody": body(json!({"type": "object", "properties": {"label": {"type": "string"}, "identifies_client": {"type": "boolean"}}})),
                    "responses": {"200": ok("the definition", schema("Definition")), "400": problem, "401": problem, "403": problem, "404": problem}
                },
                "delete": {
                    "summary": "Delete a definition (admin)",
                    "parameters": [path_text("name", "parameter name")],
                    "responses": {"204": empty.clone(), "401": problem, "403": problem, "404": problem}
                }
            },
            "/v1/blocked-values": {"get": {
                "summary": "The tenant's blocked values and patterns, the first 1000 (admin)",
                "responses": {"200": ok("blocked values", json!({"type": "object", "properties": {"items": {"type": "array", "items": schema("Blocked")}}})),
                    "401": problem, "403": problem}
            }, "post": {
                "summary": "Block a value or `*` pattern from matching (admin); reason `own` for the tenant's own numbers and mailboxes",
                "requestBody": body(json!({"type": "object", "required": ["pattern"], "properties": {
                    "kind": {"type": ["string", "null"], "description": "identifier kind; null = any"},
                    "pattern": {"type": "string"}, "reason": {"type": "string", "default": "blocked"}}})),
                "responses": {"201": empty, "400": problem, "401": problem, "403": problem, "422": problem}
            }},
            "/openapi.json": {"get": {
                "summary": "This document",
                "security": [],
                "responses": {"200": ok("OpenAPI 3.1", json!({"type": "object"}))}
            }}
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "schemas": schemas()
        }
    })
}

fn schemas() -> Value {
    let uuid = || json!({"type": "string", "format": "uuid"});
    let time = || json!({"type": "string", "format": "date-time"});
    let nullable = |t: &str| json!({"type": [t, "null"]});
    let kind = json!({"type": "string", "enum": ["custom", "psid", "whatsapp", "vk", "apple", "email", "phone"]});
    json!({
        "Problem": {"type": "object", "properties": {
            "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"}, "detail": {"type": "string"},
            "owner_contact_id": {"type": "string", "format": "uuid", "description": "409 on an identifier: the contact holding it"}}},
        "CardIdentity": {"type": "object", "properties": {
            "identity_id": uuid(), "kind": {"type": "string"}, "value": {"type": "string"}, "scope": nullable("string"),
            "source": {"type": "string"}, "created_at": time()}},
        "Card": {"type": "object", "properties": {
            "contact_id": uuid(), "name": nullable("string"),
            "name_source": {"type": ["string", "null"], "enum": ["channel", "form", "oauth", "hero_card", "operator", null]},
            "created_at": time(), "updated_at": time(), "last_interaction_at": {"type": ["string", "null"], "format": "date-time"},
            "merged_into": {"type": ["string", "null"], "format": "uuid"},
            "identities": {"type": "array", "items": {"$ref": "#/components/schemas/CardIdentity"}}}},
        "Page": {"type": "object", "properties": {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/Card"}}, "next_cursor": nullable("string")}},
        "NewIdentity": {"type": "object", "required": ["kind", "value"], "properties": {
            "kind": kind, "value": {"type": "string"}, "scope": nullable("string"),
            "shared": {"type": "boolean", "default": false, "description": "knowingly shared with another contact (a family phone)"}}},
        "NewContact": {"type": "object", "properties": {
            "name": nullable("string"), "identities": {"type": "array", "items": {"$ref": "#/components/schemas/NewIdentity"}}}},
        "MergePreview": {"type": "object", "properties": {
            "survivor": {"$ref": "#/components/schemas/Card"}, "merged": {"$ref": "#/components/schemas/Card"},
            "conflicts": {"type": "array", "description": "fields only one side's value survives", "items": {"type": "object", "properties": {
                "field": {"type": "string"}, "survivor": {}, "merged": {}, "choose_with": {"type": "string"}}}},
            "combined": {"type": "array", "description": "identifier kinds both hold: the survivor gets the values of both", "items": {"type": "object", "properties": {
                "kind": {"type": "string"}, "scope": nullable("string"),
                "survivor": {"type": "array", "items": {"type": "string"}}, "merged": {"type": "array", "items": {"type": "string"}}}}},
            "moves": {"type": "object", "properties": {"identities": {"type": "integer"}, "conversation_links": {"type": "integer"}}}}},
        "ImportRow": {"type": "object", "required": ["row", "status"], "properties": {
            "row": {"type": "integer", "description": "1 = the first row after the header"},
            "status": {"type": "string", "enum": ["created", "matched", "error"]},
            "contact_id": uuid(),
            "matched_by": {"type": "object", "properties": {"kind": {"type": "string"}, "value": {"type": "string"}, "scope": nullable("string")}},
            "candidates": {"type": "array", "items": uuid(), "description": "other contacts the row matched (suggested as duplicates)"},
            "ignored": {"type": "array", "items": {"type": "object", "properties": {
                "kind": {"type": "string"}, "value": {"type": "string"}, "reason": {"type": "string"}}}},
            "error": {"type": "string"}}},
        "Suggestion": {"type": "object", "properties": {
            "contact_a": uuid(), "contact_b": uuid(), "shared_kind": {"type": "string"}, "shared_value": {"type": "string"},
            "status": {"type": "string"}, "created_at": time()}},
        "MergeRecord": {"type": "object", "properties": {
            "merge_id": uuid(), "survivor_id": uuid(), "merged_id": uuid(), "merged_by": {"type": "string"},
            "merged_at": time(), "unmerged_at": {"type": ["string", "null"], "format": "date-time"}}},
        "Link": {"type": "object", "properties": {
            "conversation_ref": {"type": "string"}, "contact_id": uuid(), "linked_by": {"type": "string"}, "linked_at": time()}},
        "Blocked": {"type": "object", "properties": {
            "kind": {"type": ["string", "null"], "description": "identifier kind; null = any"}, "pattern": {"type": "string"}, "reason": {"type": "string"}}},
        "Pair": {"type": "object", "required": ["contact_a", "contact_b"], "properties": {"contact_a": uuid(), "contact_b": uuid()}},
        "Definition": {"type": "object", "required": ["name", "label", "identifies_client"], "properties": {
            "name": {"type": "string", "pattern": "^[A-Za-z0-9_-]+$"}, "label": {"type": "string"}, "identifies_client": {"type": "boolean"}}}
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::body::Body;
    use axum::http::{Method, Request, StatusCode};
    use tower::ServiceExt as _;

    use super::*;
    use crate::http::{router, routes, ApiState};
    use crate::rules::TenantRules;

    const METHODS: [Method; 5] = [Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE];

    fn app() -> axum::Router {
        let verifier = runtime::http::JwtVerifier::new(&testkit::auth()).expect("test auth settings");
        let defaults = TenantRules {
            default_region: None,
            auto_create: true,
            shared_value_limit: 3,
            max_per_kind: 10,
            blocked: Vec::new(),
            identifying_custom: Default::default(),
        };
        // Never connects: requests without a token stop at authentication.
        let pool = sqlx::PgPool::connect_lazy("postgres://nobody@127.0.0.1:1/none").expect("a valid url");
        router(ApiState { pool, verifier: Arc::new(verifier), defaults: Arc::new(defaults) })
    }

    /// A concrete path for a route pattern: every `{parameter}` becomes an id.
    fn concrete(path: &str) -> String {
        path.split('/')
            .map(|segment| if segment.starts_with('{') { "00000000-0000-0000-0000-000000000001" } else { segment })
            .collect::<Vec<_>>()
            .join("/")
    }

    /// Whether the router serves `method` on `path` (anything but 405/404 from routing).
    async fn served(app: &axum::Router, method: &Method, path: &str) -> bool {
        let request = Request::builder().method(method.clone()).uri(concrete(path)).body(Body::empty()).expect("request");
        let status = app.clone().oneshot(request).await.expect("infallible").status();
        status != StatusCode::METHOD_NOT_ALLOWED && status != StatusCode::NOT_FOUND
    }

    #[tokio::test]
    async fn every_route_is_documented_and_every_documented_operation_is_served() {
        let (app, document) = (app(), document());
        let paths = document["paths"].as_object().expect("paths");
        for (path, _) in routes() {
            for method in &METHODS {
                let documented = paths.get(path).and_then(|p| p.get(method.as_str().to_lowercase())).is_some();
                assert_eq!(served(&app, method, path).await, documented, "{method} {path}: served vs documented");
            }
        }
        let routed: Vec<&str> = routes().iter().map(|(path, _)| *path).collect();
        for path in paths.keys() {
            assert!(routed.contains(&path.as_str()), "{path} is documented but not routed");
        }
    }

    #[test]
    fn every_reference_points_at_a_schema() {
        let document = document();
        let text = document.to_string();
        for reference in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
            let name = reference.split('"').next().unwrap_or_default();
            assert!(document["components"]["schemas"].get(name).is_some(), "missing schema {name}");
        }
    }
}
