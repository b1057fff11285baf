//! Which PBX a CDR request comes from (`X-PBX-Id`), the secret it signs with and how its CDRs
//! are read (see [`crate::config`]).

use std::collections::BTreeMap;
use std::str::FromStr;

use anyhow::Context;
use axum::http::HeaderMap;
use channel::WebhookError;
use chrono_tz::Tz;
use secrecy::SecretString;

use crate::config::{Config, CsvFormat, PbxConfig};
use crate::payload::{CsvLayout, Reading};

/// The header a PBX names itself in.
pub const PBX_ID_HEADER: &str = "x-pbx-id";

/// A configured PBX.
#[derive(Debug, Clone)]
pub struct Pbx {
    pub secret: SecretString,
    pub reading: Reading,
}

/// Every PBX the CDR endpoint knows.
#[derive(Debug, Clone)]
pub struct Pbxes {
    shared_secret: Option<SecretString>,
    default: Reading,
    named: BTreeMap<String, Pbx>,
}

impl Pbxes {
    /// The PBXs of the settings; `None` when no CDR secret is configured (the endpoint is off).
    pub fn from_config(config: &Config) -> anyhow::Result<Option<Self>> {
        anyhow::ensure!(config.default_pbx.secret.is_none(), "voip: default_pbx.secret is cdr_secret");
        let default = reading(&config.default_pbx).context("voip: default_pbx")?;
        let mut named = BTreeMap::new();
        for (id, pbx) in &config.pbxes {
            anyhow::ensure!(
                !id.trim().is_empty() && id.is_ascii(),
                "voip: PBX id {id:?} must be non-empty ASCII (it is a header)"
            );
            let secret = pbx
                .secret
                .clone()
                .or_else(|| config.cdr_secret.clone())
                .with_context(|| format!("voip: PBX {id} needs a secret or cdr_secret"))?;
            named.insert(id.clone(), Pbx { secret, reading: reading(pbx).with_context(|| format!("voip: PBX {id}"))? });
        }
        if config.cdr_secret.is_none() && named.is_empty() {
            return Ok(None);
        }
        Ok(Some(Self { shared_secret: config.cdr_secret.clone(), default, named }))
    }

    /// The PBX id the request names, if any.
    pub fn id_of(headers: &HeaderMap) -> Option<&str> {
        headers.get(PBX_ID_HEADER).and_then(|v| v.to_str().ok()).map(str::trim).filter(|id| !id.is_empty())
    }

    /// The secret the request must be signed with: its PBX's, else the shared one (also for a PBX
    /// id nobody configured, so such a request is authenticated before it is refused as unknown).
    pub fn secret_for(&self, headers: &HeaderMap) -> Result<&SecretString, WebhookError> {
        let own = Self::id_of(headers).and_then(|id| self.named.get(id)).map(|pbx| &pbx.secret);
        own.or(self.shared_secret.as_ref()).ok_or_else(|| {
            WebhookError::Unauthenticated(format!("name a configured PBX in {PBX_ID_HEADER}: there is no shared cdr_secret"))
        })
    }

    /// How the request's CDRs are read; an unknown PBX id is an unknown account.
    pub fn reading_for(&self, headers: &HeaderMap) -> Result<&Reading, WebhookError> {
        match Self::id_of(headers) {
            None => Ok(&self.default),
            Some(id) => {
                self.named.get(id).map(|pbx| &pbx.reading).ok_or_else(|| WebhookError::UnknownAccount(format!("PBX {id}")))
            }
        }
    }
}

fn reading(pbx: &PbxConfig) -> anyhow::Result<Reading> {
    let zone = match pbx.time_zone.as_deref() {
        None => Tz::UTC,
        Some(name) => Tz::from_str(name.trim()).map_err(|_| anyhow::anyhow!("time_zone {name:?} is no IANA zone name"))?,
    };
    let csv = match (pbx.csv_format, &pbx.custom_fields) {
        (CsvFormat::CdrCsv, None) => CsvLayout::CdrCsv(pbx.cdr_csv),
        (CsvFormat::CdrCsv, Some(_)) => anyhow::bail!("custom_fields need csv_format = \"cdr_custom\""),
        (CsvFormat::CdrCustom, None) => CsvLayout::cdr_custom_sample(),
        (CsvFormat::CdrCustom, Some(fields)) => {
            anyhow::ensure!(!fields.is_empty(), "custom_fields must name the columns");
            CsvLayout::Custom(fields.iter().map(|f| f.trim().to_ascii_lowercase()).collect())
        }
    };
    Ok(Reading { zone, csv })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use secrecy::ExposeSecret;

    fn config(json: serde_json::Value) -> Config {
        serde_json::from_value(json).expect("valid settings")
    }

    fn headers(pbx: Option<&'static str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(pbx) = pbx {
            headers.insert(PBX_ID_HEADER, HeaderValue::from_static(pbx));
        }
        headers
    }

    #[test]
    fn a_named_pbx_has_its_zone_and_secret_and_the_rest_fall_back_to_the_shared_ones() {
        let pbxes = Pbxes::from_config(&config(serde_json::json!({
            "cdr_secret": "shared",
            "pbxes": { "praha": { "time_zone": "Europe/Prague", "secret": "own" }, "brno": {} }
        })))
        .expect("valid")
        .expect("enabled");
        assert_eq!(pbxes.secret_for(&headers(Some("praha"))).expect("secret").expose_secret(), "own");
        assert_eq!(pbxes.secret_for(&headers(Some("brno"))).expect("secret").expose_secret(), "shared");
        assert_eq!(pbxes.secret_for(&headers(Some("nobody"))).expect("secret").expose_secret(), "shared");
        assert_eq!(pbxes.reading_for(&headers(Some("praha"))).expect("known").zone, chrono_tz::Europe::Prague);
        assert_eq!(pbxes.reading_for(&headers(None)).expect("default").zone, Tz::UTC);
        assert!(matches!(pbxes.reading_for(&headers(Some("nobody"))), Err(WebhookError::UnknownAccount(_))));
    }

    #[test]
    fn without_a_shared_secret_only_named_pbxs_are_authenticated() {
        let pbxes = Pbxes::from_config(&config(serde_json::json!({ "pbxes": { "praha": { "secret": "own" } } })))
            .expect("valid")
            .expect("enabled");
        assert!(pbxes.secret_for(&headers(Some("praha"))).is_ok());
        assert!(matches!(pbxes.secret_for(&headers(None)), Err(WebhookError::Unauthenticated(_))));
    }

    #[test]
    fn broken_pbx_settings_are_refused_at_startup() {
        for broken in [
            serde_json::json!({ "cdr_secret": "s", "pbxes": { "x": { "time_zone": "Europe/Praha" } } }),
            serde_json::json!({ "cdr_secret": "s", "pbxes": { "x": { "custom_fields": ["src"] } } }),
            serde_json::json!({ "cdr_secret": "s", "pbxes": { "x": { "csv_format": "cdr_custom", "custom_fields": [] } } }),
            serde_json::json!({ "pbxes": { "x": {} } }),
            serde_json::json!({ "cdr_secret": "s", "default_pbx": { "secret": "t" } }),
        ] {
            assert!(Pbxes::from_config(&config(broken.clone())).is_err(), "{broken}");
        }
        assert!(Pbxes::from_config(&Config::default()).expect("valid").is_none(), "no secret, no endpoint");
    }
}
