//! VoIP adapter settings (`[service]` of the standalone binary). Each provider endpoint is served
//! only when its secret is configured; at least one must be.
//!
//! **PBXs.** A PBX posting CDRs may name itself in the `X-PBX-Id` header; its entry under
//! `pbxes.<id>` says how its CDRs are read (the zone of their times, its CSV columns) and may give
//! it its own signing secret. Requests without the header are read as `default_pbx` says and
//! signed with `cdr_secret`. The tenant is still found from the call's numbers (`numbers`), so one
//! PBX may serve several tenants.

use std::collections::BTreeMap;

use channel::AccountMap;
use runtime::settings::HttpSettings;
use secrecy::SecretString;
use serde::Deserialize;

use crate::payload::CdrCsvColumns;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub http: HttpSettings,
    /// Twilio account auth token: signs `X-Twilio-Signature` and enables
    /// `POST /webhooks/voip/twilio`.
    pub twilio_auth_token: Option<SecretString>,
    /// The public base URL Twilio calls, as entered in the Twilio console without the path
    /// (`https://hooks.acme.cz`); Twilio signs this + the path + the query string. Required with
    /// `twilio_auth_token`.
    pub public_url: Option<String>,
    /// Secret of `X-Webhook-Signature: sha256=<hex>` over CDR bodies of requests without
    /// `X-PBX-Id` and of PBXs without their own `secret`; this or a PBX secret enables
    /// `POST /webhooks/voip/cdr`.
    pub cdr_secret: Option<SecretString>,
    /// Tenant phone number → tenant id (`"+420222333444" = "acme"`). Keys are normalized to
    /// E.164 like the numbers in calls; keys that are no phone number (a PBX account code) are
    /// matched verbatim.
    pub numbers: AccountMap,
    /// ISO 3166 region of numbers written without a country code in CDRs (`"CZ"`).
    pub default_region: Option<String>,
    /// Base URL that CDR recording file names are relative to (`https://pbx.acme.cz/recordings/`).
    pub recording_base_url: Option<String>,
    /// How CDRs of requests without `X-PBX-Id` are read (its `secret` is `cdr_secret`).
    pub default_pbx: PbxConfig,
    /// PBXs by the id they send in `X-PBX-Id`.
    pub pbxes: BTreeMap<String, PbxConfig>,
}

/// How one PBX writes its CDRs.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PbxConfig {
    /// IANA zone of the PBX's clock (`"Europe/Prague"`): CDR times without an offset (Asterisk's
    /// `Master.csv` unless `usegmtime=yes`, FreeSWITCH's `*_stamp`) are read in it. Default UTC.
    pub time_zone: Option<String>,
    /// This PBX's own secret for `X-Webhook-Signature`; default `cdr_secret`. A request naming
    /// the PBX must be signed with it.
    pub secret: Option<SecretString>,
    /// Which Asterisk module wrote the CSV lines the PBX sends (`text/csv`, `text/plain`).
    pub csv_format: CsvFormat,
    /// `cdr.conf` `[csv]` options of a `cdr_csv` PBX (default as Asterisk's sample `cdr.conf`:
    /// `loguniqueid` and `loguserfield` on, `newcdrcolumns` off).
    pub cdr_csv: CdrCsvColumns,
    /// The columns of a `cdr_custom` PBX's mapping, by CDR field name (default: the `Master.csv`
    /// mapping of Asterisk's sample `cdr_custom.conf`).
    pub custom_fields: Option<Vec<String>>,
}

/// The Asterisk CDR backend that wrote a PBX's CSV lines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CsvFormat {
    /// `cdr_csv`'s `Master.csv` (fixed columns).
    #[default]
    CdrCsv,
    /// `cdr_custom` (the columns of its mapping).
    CdrCustom,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_map_to_tenants_and_unknown_keys_are_rejected() {
        let config: Config = serde_json::from_value(serde_json::json!({
            "twilio_auth_token": "t", "public_url": "https://hooks.acme.cz", "cdr_secret": "s",
            "numbers": { "+420222333444": "acme" }, "default_region": "CZ"
        }))
        .expect("valid settings");
        assert_eq!(config.numbers.tenant_of("+420222333444"), Some("acme"));
        assert!(serde_json::from_value::<Config>(serde_json::json!({ "pages": {} })).is_err());
    }

    #[test]
    fn pbxes_name_their_zone_columns_and_secret() {
        let config: Config = serde_json::from_value(serde_json::json!({
            "cdr_secret": "s",
            "pbxes": {
                "praha": { "time_zone": "Europe/Prague", "cdr_csv": { "newcdrcolumns": true } },
                "brno": { "secret": "b", "csv_format": "cdr_custom", "custom_fields": ["uniqueid", "src", "dst", "start"] }
            }
        }))
        .expect("valid settings");
        let praha = &config.pbxes["praha"];
        assert_eq!(praha.time_zone.as_deref(), Some("Europe/Prague"));
        assert_eq!(praha.cdr_csv, CdrCsvColumns { loguniqueid: true, loguserfield: true, newcdrcolumns: true });
        assert_eq!(config.pbxes["brno"].csv_format, CsvFormat::CdrCustom);
        let typo = serde_json::json!({ "pbxes": { "x": { "timezone": "Europe/Prague" } } });
        assert!(serde_json::from_value::<Config>(typo).is_err(), "unknown PBX keys are rejected");
    }
}
