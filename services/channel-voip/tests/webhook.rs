//! The VoIP webhooks through real HTTP and Kafka: every state of a Twilio call is published as
//! the same interaction, PBX CDRs in Asterisk (JSON, `cdr_csv`, `cdr_custom`) and FreeSWITCH
//! (JSON, XML, form-encoded) shape are normalized in their PBX's time zone, and what is forged,
//! malformed, unowned or oversized is refused and publishes nothing.

use channel::AccountMap;
use channel_voip::config::{CsvFormat, PbxConfig};
use channel_voip::{verify, Config, CDR_PATH, PBX_ID_HEADER, TWILIO_PATH};
use chrono::{DateTime, Utc};
use contracts::{Call, CallStatus, Channel, Direction, IdentityKind, InteractionEvent, NameSource, Profile, Provenance};
use runtime::settings::HttpSettings;
use secrecy::SecretString;
use serde_json::json;
use testkit::{fixture, identity_facts, parameter, sha256_signature, spawn_adapter, Reply, SpawnedService};

const AUTH_TOKEN: &str = "twilio-auth-token";
const CDR_SECRET: &str = "pbx-secret";
/// The Brno PBX signs with its own secret.
const BRNO_SECRET: &str = "brno-secret";
/// What Twilio is configured to call; the test server itself listens elsewhere.
const PUBLIC_URL: &str = "https://voip.acme.cz";

async fn spawn(body_limit: usize) -> SpawnedService {
    let config = Config {
        http: HttpSettings { body_limit_bytes: body_limit, ..HttpSettings::default() },
        twilio_auth_token: Some(SecretString::from(AUTH_TOKEN)),
        public_url: Some(format!("{PUBLIC_URL}/")),
        cdr_secret: Some(SecretString::from(CDR_SECRET)),
        numbers: AccountMap([("+420 222 333 444".to_owned(), "acme".to_owned()), ("ACC7".to_owned(), "acme".to_owned())].into()),
        default_region: Some("CZ".to_owned()),
        recording_base_url: Some("https://pbx.acme.cz/recordings".to_owned()),
        default_pbx: PbxConfig::default(),
        pbxes: [
            (
                "praha".to_owned(),
                PbxConfig {
                    time_zone: Some("Europe/Prague".to_owned()),
                    cdr_csv: channel_voip::payload::CdrCsvColumns { newcdrcolumns: false, ..Default::default() },
                    ..PbxConfig::default()
                },
            ),
            (
                "brno".to_owned(),
                PbxConfig {
                    time_zone: Some("Europe/Prague".to_owned()),
                    secret: Some(SecretString::from(BRNO_SECRET)),
                    csv_format: CsvFormat::CdrCustom,
                    ..PbxConfig::default()
                },
            ),
        ]
        .into(),
    };
    spawn_adapter(move |publisher, shutdown| async move { channel_voip::start(&config, publisher, shutdown).await }).await
}

/// A form body's `X-Twilio-Signature` for `path_and_query` under the public URL.
fn twilio_signature(token: &str, path_and_query: &str, body: &str) -> String {
    let params = channel_voip::payload::form_pairs(body.as_bytes());
    verify::twilio_signature(token.as_bytes(), &format!("{PUBLIC_URL}{path_and_query}"), &params)
}

async fn post_twilio(adapter: &SpawnedService, path_and_query: &str, body: &str, signature: Option<String>) -> Reply {
    let signature = signature.map(|s| ("x-twilio-signature", s));
    testkit::post(&adapter.url(path_and_query), "application/x-www-form-urlencoded", body, signature).await
}

async fn post_cdr(adapter: &SpawnedService, body: &str, signature: Option<String>) -> Reply {
    let signature = signature.map(|s| ("x-webhook-signature", s));
    testkit::post(&adapter.url(CDR_PATH), "application/json", body, signature).await
}

/// Posts a CDR body as `content_type`, naming `pbx`, signed with `secret`.
async fn post_pbx(adapter: &SpawnedService, pbx: Option<&str>, content_type: &str, body: &str, secret: Option<&str>) -> Reply {
    let pbx = pbx.map(|pbx| (PBX_ID_HEADER, pbx.to_owned()));
    let signature = secret.map(|secret| ("x-webhook-signature", sha256_signature(secret, body.as_bytes())));
    testkit::post(&adapter.url(CDR_PATH), content_type, body, pbx.into_iter().chain(signature)).await
}

fn time(rfc3339: &str) -> DateTime<Utc> {
    rfc3339.parse().expect("an RFC 3339 time")
}

/// The call of a call event.
fn call(event: &InteractionEvent) -> &Call {
    event.body.call.as_ref().expect("a call event has a call")
}

fn call_status(event: &InteractionEvent) -> Option<CallStatus> {
    call(event).status
}

fn caller_name(event: &InteractionEvent) -> Option<&str> {
    event.body.profile.as_ref().and_then(|p| p.name.as_deref())
}

fn by_ref<'a>(events: &'a [InteractionEvent], id: &str) -> &'a InteractionEvent {
    events.iter().find(|e| e.body.provider_ref == id).unwrap_or_else(|| panic!("no event for {id}"))
}

fn form(name: &str) -> String {
    fixture(&format!("voip/{name}")).trim_end().to_owned()
}

/// Signs and posts Twilio fixtures in order, expecting each to publish `published`.
async fn twilio_fixtures(adapter: &SpawnedService, names: &[&str]) {
    for name in names {
        let body = form(name);
        let Reply { status, body: answer, .. } =
            post_twilio(adapter, TWILIO_PATH, &body, Some(twilio_signature(AUTH_TOKEN, TWILIO_PATH, &body))).await;
        assert_eq!(status, 200, "{name}: {answer}");
        assert_eq!(answer["published"], 1, "{name}");
    }
}

#[tokio::test]
async fn every_state_of_a_twilio_call_updates_one_interaction() {
    let adapter = spawn(1 << 20).await;
    twilio_fixtures(&adapter, &["twilio_1_ringing.form", "twilio_2_in_progress.form", "twilio_3_completed.form"]).await;
    let messages = adapter.take_ingested(3).await;
    // One call, one key: the states stay in order on one partition.
    let events: Vec<InteractionEvent> = messages.iter().map(testkit::decode).collect();
    assert!(messages.iter().all(|m| testkit::key(m) == "acme|voip|+420777123456"));
    assert_eq!(testkit::distinct(&messages, "interaction_id").len(), 1, "all states share the interaction id");

    let statuses: Vec<CallStatus> = events.iter().filter_map(call_status).collect();
    assert_eq!(statuses, [CallStatus::Ringing, CallStatus::InProgress, CallStatus::Completed]);
    let sequence: Vec<&str> = events.iter().filter_map(|e| parameter(e, "sequence_number")).collect();
    assert_eq!(sequence, ["0", "1", "2"]);

    let completed = &events[2];
    // The wire format itself: the schema version is written out, not left to a default.
    assert_eq!(testkit::json(&messages[2])["v"], 1);
    assert_eq!(completed.tenant_id, "acme");
    assert_eq!(completed.body.channel, Channel::Voip);
    assert_eq!(completed.body.direction, Direction::Inbound);
    assert_eq!(completed.body.provider_ref, "CA5b7c9d1e3f5a7b9c1d3e5f7a9b1c3d5e");
    assert_eq!(completed.body.conversation_ref.as_deref(), Some("CA5b7c9d1e3f5a7b9c1d3e5f7a9b1c3d5e"));
    assert_eq!(
        completed.body.identities.iter().map(identity_facts).collect::<Vec<_>>(),
        [(IdentityKind::Phone, "+420777123456", None, Provenance::Verified)]
    );
    assert_eq!(completed.body.profile, Some(Profile { name: Some("Jan Novák".into()), name_source: NameSource::Channel }));
    assert_eq!(
        call(completed),
        &Call {
            from: Some("+420777123456".into()),
            to: Some("+420222333444".into()),
            duration_s: Some(95),
            status: Some(CallStatus::Completed),
            recording_url: Some("https://api.twilio.com/2010-04-01/Accounts/AC3f2a9c1d5e7b4a6c8d0e2f4a6b8c0d2e/Recordings/RE1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d".into()),
        }
    );
    assert_eq!(parameter(completed, "provider_status"), Some("completed"));
    assert_eq!(parameter(completed, "recording_sid"), Some("RE1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d"));
    assert_eq!(completed.body.occurred_at, time("2024-03-14T09:15:07Z"), "the hang-up event less the conversation");
}

#[tokio::test]
async fn missed_and_withheld_twilio_calls_are_published() {
    let adapter = spawn(1 << 20).await;
    twilio_fixtures(&adapter, &["twilio_missed_no_answer.form", "twilio_anonymous_ringing.form"]).await;
    let messages = adapter.take_ingested(2).await;
    let events: Vec<InteractionEvent> = messages.iter().map(testkit::decode).collect();
    let missed = by_ref(&events, "CA0e1d2c3b4a5f6e7d8c9b0a1f2e3d4c5b");
    assert_eq!(call_status(missed), Some(CallStatus::Missed));
    assert_eq!(parameter(missed, "provider_status"), Some("no-answer"));
    assert_eq!(missed.body.identities[0].value, "+420603987654");

    let anonymous = by_ref(&events, "CA9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c");
    assert!(anonymous.body.identities.is_empty(), "a withheld number identifies nobody");
    assert_eq!(anonymous.body.profile, None);
    assert_eq!(call(anonymous).from, None);
    assert_eq!(parameter(anonymous, "caller_withheld"), Some("true"));
    assert_eq!(anonymous.tenant_id, "acme");
}

#[tokio::test]
async fn the_signed_url_includes_the_query_string() {
    let adapter = spawn(1 << 20).await;
    let body = form("twilio_1_ringing.form");
    let path = format!("{TWILIO_PATH}?source=pstn");
    let signed_without_query = twilio_signature(AUTH_TOKEN, TWILIO_PATH, &body);
    assert_eq!(post_twilio(&adapter, &path, &body, Some(signed_without_query)).await.status, 403);
    let Reply { status, body: answer, .. } =
        post_twilio(&adapter, &path, &body, Some(twilio_signature(AUTH_TOKEN, &path, &body))).await;
    assert_eq!(status, 200, "{answer}");
}

#[tokio::test]
async fn pbx_cdrs_in_asterisk_and_freeswitch_shape_are_normalized() {
    let adapter = spawn(1 << 20).await;
    for name in ["asterisk_answered.json", "asterisk_missed.json", "freeswitch_outbound.json"] {
        let body = fixture(&format!("voip/{name}"));
        let Reply { status, body: answer, .. } =
            post_cdr(&adapter, &body, Some(sha256_signature(CDR_SECRET, body.as_bytes()))).await;
        assert_eq!(status, 200, "{name}: {answer}");
    }
    let messages = adapter.take_ingested(3).await;
    let events: Vec<InteractionEvent> = messages.iter().map(testkit::decode).collect();

    let answered = by_ref(&events, "1710408000.18");
    assert_eq!(answered.body.direction, Direction::Inbound);
    assert_eq!(answered.body.identities[0].value, "+420777123456", "national format with default region CZ");
    assert_eq!(caller_name(answered), Some("Jana Dvořáková"));
    assert_eq!(answered.body.occurred_at, time("2024-03-14T09:20:00Z"));
    assert_eq!(
        call(answered),
        &Call {
            from: Some("+420777123456".into()),
            to: Some("+420222333444".into()),
            duration_s: Some(120),
            status: Some(CallStatus::Completed),
            recording_url: Some(
                "https://pbx.acme.cz/recordings/2024/03/14/in-222333444-777123456-20240314-092000-1710408000.18.wav".into()
            ),
        }
    );
    assert_eq!(parameter(answered, "provider_status"), Some("ANSWERED"));
    assert_eq!(parameter(answered, "sequence_number"), Some("42"));

    let missed = by_ref(&events, "1710408600.31");
    assert_eq!(call_status(missed), Some(CallStatus::Missed));
    assert_eq!(call(missed).duration_s, Some(0));
    assert_eq!(missed.body.identities[0].value, "+420608555111");
    assert_eq!(missed.body.profile, None, "a caller id that is only the number is no name");

    let outbound = by_ref(&events, "7c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f");
    assert_eq!(outbound.body.direction, Direction::Outbound);
    assert_eq!(outbound.tenant_id, "acme");
    assert_eq!(outbound.body.identities[0].value, "+420777123456");
    assert_eq!(call(outbound).from.as_deref(), Some("+420222333444"));
    assert_eq!(call_status(outbound), Some(CallStatus::Completed));
    assert_eq!(call(outbound).duration_s, Some(72));
    assert_eq!(call(outbound).recording_url.as_deref(), Some("https://pbx.acme.cz/recordings/7c1d2e3f.mp3"));
    assert_eq!(outbound.body.occurred_at, time("2024-03-14T10:05:00Z"));
}

#[tokio::test]
async fn forged_malformed_unknown_and_oversized_requests_are_refused_and_publish_nothing() {
    let adapter = spawn(4096).await;
    let body = form("twilio_1_ringing.form");

    let tampered = body.replace("ringing", "completed");
    let signed_original = twilio_signature(AUTH_TOKEN, TWILIO_PATH, &body);
    let unknown = form("twilio_unknown_number.form");
    testkit::assert_indistinguishable(&[
        (
            "an unknown number",
            &post_twilio(&adapter, TWILIO_PATH, &unknown, Some(twilio_signature(AUTH_TOKEN, TWILIO_PATH, &unknown))).await,
        ),
        (
            "a wrong token",
            &post_twilio(&adapter, TWILIO_PATH, &body, Some(twilio_signature("wrong-token", TWILIO_PATH, &body))).await,
        ),
        ("no signature", &post_twilio(&adapter, TWILIO_PATH, &body, None).await),
        ("a tampered body", &post_twilio(&adapter, TWILIO_PATH, &tampered, Some(signed_original)).await),
    ]);

    let no_call_sid = "CallStatus=ringing&From=%2B420777123456&To=%2B420222333444";
    let Reply { status, content_type, .. } =
        post_twilio(&adapter, TWILIO_PATH, no_call_sid, Some(twilio_signature(AUTH_TOKEN, TWILIO_PATH, no_call_sid))).await;
    assert_eq!((status, content_type.as_deref()), (400, Some("application/problem+json")));

    let cdr = fixture("voip/asterisk_answered.json");
    let unowned = r#"{"linkedid":"X1","src":"777123456","dst":"599111222","disposition":"ANSWERED"}"#;
    testkit::assert_indistinguishable(&[
        ("a CDR no tenant owns", &post_cdr(&adapter, unowned, Some(sha256_signature(CDR_SECRET, unowned.as_bytes()))).await),
        ("a CDR with a wrong signature", &post_cdr(&adapter, &cdr, Some(sha256_signature("wrong", cdr.as_bytes()))).await),
        ("an unsigned CDR", &post_cdr(&adapter, &cdr, None).await),
    ]);
    for garbage in ["{\"linkedid\": ", "{\"src\":\"777123456\"}", "42"] {
        let Reply { status, content_type, .. } =
            post_cdr(&adapter, garbage, Some(sha256_signature(CDR_SECRET, garbage.as_bytes()))).await;
        assert_eq!((status, content_type.as_deref()), (400, Some("application/problem+json")), "{garbage}");
    }
    let huge = format!("[{}]", [cdr.as_str(); 8].join(","));
    assert_eq!(post_cdr(&adapter, &huge, Some(sha256_signature(CDR_SECRET, huge.as_bytes()))).await.status, 413);

    let published = adapter.ingested().await;
    assert!(published.is_empty(), "refused requests published {} messages", published.len());
}

#[tokio::test]
async fn asterisk_cdr_csv_lines_are_read_in_the_pbx_time_zone() {
    let adapter = spawn(1 << 20).await;
    let body = fixture("voip/asterisk_cdr_csv_master.csv");
    let Reply { status, body: answer, .. } = post_pbx(&adapter, Some("praha"), "text/csv", &body, Some(CDR_SECRET)).await;
    assert_eq!((status, &answer["published"]), (200, &json!(2)), "{answer}");
    let newer = fixture("voip/asterisk_cdr_csv_newcdrcolumns.csv");
    let Reply { status, body: answer, .. } = post_pbx(&adapter, Some("praha"), "text/plain", &newer, Some(CDR_SECRET)).await;
    assert_eq!((status, &answer["published"]), (200, &json!(1)), "{answer}");
    let events = adapter.take_events(3).await;

    let answered = by_ref(&events, "1705324500.31");
    assert_eq!(answered.body.occurred_at, time("2024-01-15T13:15:00Z"), "14:15 in Prague is 13:15 UTC in winter");
    assert_eq!(answered.body.direction, Direction::Inbound);
    assert_eq!(answered.body.identities[0].value, "+420777123456");
    assert_eq!(caller_name(answered), Some("Jana Dvořáková"));
    assert_eq!(call_status(answered), Some(CallStatus::Completed));
    assert_eq!(call(answered).duration_s, Some(120));
    assert_eq!(parameter(answered, "dstchannel"), Some("PJSIP/101-00000032"), "the agent's channel");
    assert_eq!(parameter(answered, "pbx"), Some("praha"));

    let missed = by_ref(&events, "1705326000.33");
    assert_eq!((call_status(missed), missed.body.occurred_at), (Some(CallStatus::Missed), time("2024-01-15T13:40:00Z")));
    assert_eq!(parameter(missed, "lastapp"), Some("Queue"));

    let outbound = by_ref(&events, "1721030700.40");
    assert_eq!(outbound.body.occurred_at, time("2024-07-15T08:05:00Z"), "10:05 in Prague is 08:05 UTC in summer");
    assert_eq!((outbound.body.direction, outbound.tenant_id.as_str()), (Direction::Outbound, "acme"), "by the account code");
    assert_eq!(parameter(outbound, "uniqueid"), Some("1721030700.41"), "newcdrcolumns: linkedid names the call");
    assert_eq!(parameter(outbound, "sequence_number"), Some("7"));
}

#[tokio::test]
async fn cdr_custom_lines_use_the_sample_mapping_and_their_pbx_secret() {
    let adapter = spawn(1 << 20).await;
    let body = fixture("voip/asterisk_cdr_custom_master.csv");
    assert_eq!(
        post_pbx(&adapter, Some("brno"), "text/csv", &body, Some(CDR_SECRET)).await.status,
        403,
        "brno signs with its own"
    );
    let Reply { status, body: answer, .. } = post_pbx(&adapter, Some("brno"), "text/csv", &body, Some(BRNO_SECRET)).await;
    assert_eq!((status, &answer["published"]), (200, &json!(2)), "{answer}");
    let events = adapter.take_events(2).await;
    let answered = by_ref(&events, "1705330800.50");
    assert_eq!(answered.body.occurred_at, time("2024-01-15T15:00:00Z"));
    assert_eq!(caller_name(answered), Some("Petr Svoboda"));
    assert_eq!((call_status(answered), call(answered).duration_s), (Some(CallStatus::Completed), Some(180)));
    assert_eq!(parameter(answered, "sequence_number"), Some("12"));
    let busy = by_ref(&events, "1705331400.52");
    assert_eq!((call_status(busy), parameter(busy, "provider_status")), (Some(CallStatus::Missed), Some("BUSY")));
}

#[tokio::test]
async fn freeswitch_xml_cdrs_are_read_raw_and_form_encoded() {
    let adapter = spawn(1 << 20).await;
    let xml = fixture("voip/freeswitch_xml_cdr.xml");
    let Reply { status, body: answer, .. } = post_pbx(&adapter, Some("praha"), "text/xml", &xml, Some(CDR_SECRET)).await;
    assert_eq!(status, 200, "{answer}");
    // mod_xml_cdr's default `encode=true`: `cdr=` and the URL-encoded document.
    let encoded: String =
        xml.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect();
    let form = format!("cdr={encoded}");
    let Reply { status, body: answer, .. } =
        post_pbx(&adapter, Some("praha"), "application/x-www-form-urlencoded", &form, Some(CDR_SECRET)).await;
    assert_eq!(status, 200, "{answer}");
    let messages = adapter.take_ingested(2).await;
    assert_eq!(testkit::distinct(&messages, "interaction_id").len(), 1, "the same call both ways");
    let event: InteractionEvent = testkit::decode(&messages[0]);
    assert_eq!(event.body.provider_ref, "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b");
    assert_eq!(event.body.occurred_at, time("2024-01-15T16:00:00Z"), "start_stamp is Prague local time");
    assert_eq!(event.body.direction, Direction::Inbound);
    assert_eq!(event.body.identities[0].value, "+420777123456");
    assert_eq!(caller_name(&event), Some("Jana Dvořáková"));
    assert_eq!((call_status(&event), call(&event).duration_s), (Some(CallStatus::Completed), Some(120)));
}

#[tokio::test]
async fn pbx_requests_are_authenticated_before_their_pbx_and_body_are_judged() {
    let adapter = spawn(1 << 20).await;
    let csv = fixture("voip/asterisk_cdr_csv_master.csv");
    testkit::assert_indistinguishable(&[
        ("an unknown PBX", &post_pbx(&adapter, Some("ostrava"), "text/csv", &csv, Some(CDR_SECRET)).await),
        ("an unknown PBX, forged", &post_pbx(&adapter, Some("ostrava"), "text/csv", &csv, Some("forged")).await),
        ("a known PBX, forged", &post_pbx(&adapter, Some("praha"), "text/csv", &csv, Some("forged")).await),
        ("a known PBX, unsigned", &post_pbx(&adapter, Some("praha"), "text/csv", &csv, None).await),
    ]);
    for (content_type, body) in [
        ("text/csv", "\"only\",\"two\"\n"),
        ("text/csv", "\n\n"),
        ("application/xml", "<cdr><variables>"),
        ("application/x-www-form-urlencoded", "uuid=1"),
        ("image/png", "{}"),
    ] {
        let Reply { status, content_type: answer_type, body: problem, .. } =
            post_pbx(&adapter, None, content_type, body, Some(CDR_SECRET)).await;
        assert_eq!(
            (status, answer_type.as_deref()),
            (400, Some("application/problem+json")),
            "{content_type} {body:?}: {problem}"
        );
    }
    let published = adapter.ingested().await;
    assert!(published.is_empty(), "refused requests published {} messages", published.len());
}

#[tokio::test]
async fn a_callback_without_a_timestamp_is_published_with_its_lifecycle_status() {
    let adapter = spawn(1 << 20).await;
    twilio_fixtures(&adapter, &["twilio_ringing_without_timestamp.form", "twilio_3_completed.form"]).await;
    let events = adapter.take_events(2).await;
    assert_eq!(events[0].interaction_id, events[1].interaction_id);
    let statuses: Vec<(Option<CallStatus>, Option<&str>)> =
        events.iter().map(|e| (call_status(e), parameter(e, "provider_status"))).collect();
    assert_eq!(statuses, [(Some(CallStatus::Ringing), Some("ringing")), (Some(CallStatus::Completed), Some("completed"))]);
    // Without a usable time the ringing state is dated when it arrived, after the completed
    // state's own time: consumers order the two by the call's lifecycle (the timeline's fold).
    assert!(events[0].body.occurred_at > events[1].body.occurred_at);
}
