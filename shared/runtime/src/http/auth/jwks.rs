//! An OIDC issuer's signing keys: the JWKS (RFC 7517) named by the `jwks_uri` of its discovery
//! document (OpenID Connect Discovery 1.0 §4, <https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderConfig>),
//! fetched on first use and cached.
//!
//! Issuers rotate keys: a new key appears in the JWKS before tokens are signed with it. So the
//! keys are fetched again every `auth.jwks_refresh_s`, and at once when a token names a key id
//! (`kid`) not in the cache — but such a fetch happens at most once per
//! `auth.jwks_min_refetch_s`, since anyone can send tokens with made-up `kid`s. Only one fetch
//! runs at a time; concurrent requests wait for it. When a fetch fails the cached keys stay.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;
use serde_json::Value;

use super::error::{AuthError, Refusal};

/// Largest discovery document or JWKS read.
const DOCUMENT_BYTES: usize = 512 * 1024;
/// How long one fetch may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the keys come from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// `<issuer>/.well-known/openid-configuration` → `jwks_uri`.
    Discovery { issuer: String },
    /// A JWKS URL given directly.
    Jwks { url: String },
}

/// One verification key of the set.
#[derive(Clone)]
struct Key {
    kid: Option<String>,
    /// The key's own `alg`, when it names one: then only that algorithm may use it.
    alg: Option<Algorithm>,
    kind: KeyKind,
    key: DecodingKey,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    Rsa,
    P256,
    P384,
}

impl Key {
    fn fits(&self, alg: Algorithm) -> bool {
        let kind_fits = match self.kind {
            KeyKind::Rsa => matches!(
                alg,
                Algorithm::RS256 | Algorithm::RS384 | Algorithm::RS512 | Algorithm::PS256 | Algorithm::PS384 | Algorithm::PS512
            ),
            KeyKind::P256 => alg == Algorithm::ES256,
            KeyKind::P384 => alg == Algorithm::ES384,
        };
        kind_fits && self.alg.is_none_or(|own| own == alg)
    }
}

#[derive(Default)]
struct Cached {
    keys: Vec<Key>,
    fetched_at: Option<Instant>,
}

/// When fetches happened, guarded by the one-fetch-at-a-time lock.
#[derive(Default)]
struct FetchLog {
    /// The last scheduled (first or periodic) fetch, successful or not: while the issuer is
    /// down, requests do not each wait for another attempt.
    last_scheduled: Option<Instant>,
    /// The last fetch caused by an unknown `kid`.
    last_unknown_kid: Option<Instant>,
}

/// The cached key set of one issuer; shared by every request of a service.
pub struct KeyCache {
    source: KeySource,
    http: reqwest::Client,
    cached: RwLock<Arc<Cached>>,
    fetching: tokio::sync::Mutex<FetchLog>,
    refresh_every: Duration,
    min_refetch: Duration,
}

impl KeyCache {
    pub fn new(
        source: KeySource,
        ca_cert: Option<&std::path::Path>,
        refresh_every: Duration,
        min_refetch: Duration,
    ) -> anyhow::Result<Self> {
        let (KeySource::Discovery { issuer: url } | KeySource::Jwks { url }) = &source;
        check_url(url)?;
        // A redirect may not leave TLS (nor go round in circles).
        let redirects = reqwest::redirect::Policy::custom(|attempt| {
            if attempt.previous().len() >= 3 {
                attempt.error("more than 3 redirects")
            } else if check_url(attempt.url().as_str()).is_err() {
                attempt.error("a redirect to a URL without TLS")
            } else {
                attempt.follow()
            }
        });
        let mut http = reqwest::Client::builder().timeout(FETCH_TIMEOUT).redirect(redirects);
        if let Some(path) = ca_cert {
            let pem = std::fs::read(path).with_context(|| format!("auth.ca_cert: reading {}", path.display()))?;
            http =
                http.add_root_certificate(reqwest::Certificate::from_pem(&pem).context("auth.ca_cert is not a PEM certificate")?);
        }
        Ok(Self {
            source,
            http: http.build().context("building the OIDC HTTP client")?,
            cached: RwLock::new(Arc::new(Cached::default())),
            fetching: tokio::sync::Mutex::new(FetchLog::default()),
            refresh_every,
            min_refetch,
        })
    }

    /// The key that verifies a token with header `kid` and `alg`.
    pub async fn key(&self, kid: Option<&str>, alg: Algorithm) -> Result<DecodingKey, AuthError> {
        let mut cached = self.current();
        let stale = cached.fetched_at.is_none_or(|at| at.elapsed() >= self.refresh_every);
        if stale {
            if cached.fetched_at.is_none() {
                // Nothing to verify with yet: wait for the fetch in progress or make one.
                self.scheduled_refresh(self.fetching.lock().await, &cached).await;
            } else if let Ok(log) = self.fetching.try_lock() {
                // Old keys still serve while another request refreshes them.
                self.scheduled_refresh(log, &cached).await;
            }
            cached = self.current();
            if cached.fetched_at.is_none() {
                return Err(AuthError::KeysUnavailable);
            }
        }
        if let Some(key) = find(&cached.keys, kid, alg) {
            return Ok(key);
        }
        // A key id we do not know: perhaps the issuer rotated. Fetch again, within the limit.
        if self.refresh_for_unknown_kid(&cached).await {
            if let Some(key) = find(&self.current().keys, kid, alg) {
                return Ok(key);
            }
        }
        tracing::debug!(kid, ?alg, "bearer token names no known key");
        Err(AuthError::Invalid(Refusal::UnknownKey))
    }

    fn current(&self) -> Arc<Cached> {
        Arc::clone(&self.cached.read().unwrap_or_else(|poisoned| poisoned.into_inner()))
    }

    /// The first or a periodic fetch, unless another request fetched while we waited for the
    /// lock or an attempt failed within `min_refetch`.
    async fn scheduled_refresh(&self, mut log: tokio::sync::MutexGuard<'_, FetchLog>, seen: &Arc<Cached>) {
        if !Arc::ptr_eq(seen, &self.current()) || log.last_scheduled.is_some_and(|at| at.elapsed() < self.min_refetch) {
            return;
        }
        log.last_scheduled = Some(Instant::now());
        self.fetch_and_store().await;
    }

    /// Fetches for an unknown `kid` unless one such fetch happened within `min_refetch`.
    /// Whether the key set may have changed since `seen`.
    async fn refresh_for_unknown_kid(&self, seen: &Arc<Cached>) -> bool {
        let mut log = self.fetching.lock().await;
        if !Arc::ptr_eq(seen, &self.current()) {
            return true;
        }
        if log.last_unknown_kid.is_some_and(|at| at.elapsed() < self.min_refetch) {
            return false;
        }
        log.last_unknown_kid = Some(Instant::now());
        self.fetch_and_store().await;
        true
    }

    async fn fetch_and_store(&self) {
        match self.fetch().await {
            Ok(keys) => {
                tracing::info!(source = ?self.source, keys = keys.len(), "fetched the token issuer's keys");
                let fresh = Arc::new(Cached { keys, fetched_at: Some(Instant::now()) });
                *self.cached.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = fresh;
            }
            Err(error) => {
                tracing::warn!(source = ?self.source, error = format!("{error:#}"), "fetching the token issuer's keys failed")
            }
        }
    }

    async fn fetch(&self) -> anyhow::Result<Vec<Key>> {
        let jwks_uri = match &self.source {
            KeySource::Jwks { url } => url.clone(),
            KeySource::Discovery { issuer } => {
                let url = format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'));
                let document: Discovery = serde_json::from_slice(&self.get(&url).await?)
                    .with_context(|| format!("{url} is not an OpenID provider configuration"))?;
                if document.issuer != *issuer {
                    bail!("{url} names issuer {:?}, not {issuer:?}", document.issuer);
                }
                check_url(&document.jwks_uri)?;
                document.jwks_uri
            }
        };
        let set: JwkSet =
            serde_json::from_slice(&self.get(&jwks_uri).await?).with_context(|| format!("{jwks_uri} is not a JWK set"))?;
        Ok(set.keys.into_iter().filter_map(parse_key).collect())
    }

    /// The body of a successful GET, at most [`DOCUMENT_BYTES`].
    async fn get(&self, url: &str) -> anyhow::Result<Vec<u8>> {
        let mut response =
            self.http.get(url).send().await.and_then(|r| r.error_for_status()).with_context(|| format!("GET {url}"))?;
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.with_context(|| format!("reading {url}"))? {
            if body.len() + chunk.len() > DOCUMENT_BYTES {
                bail!("{url} is larger than {DOCUMENT_BYTES} bytes");
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

/// The key for `kid` fitting `alg`; without a `kid`, the only key fitting `alg`.
fn find(keys: &[Key], kid: Option<&str>, alg: Algorithm) -> Option<DecodingKey> {
    let mut fitting = keys.iter().filter(|key| key.fits(alg));
    match kid {
        Some(kid) => fitting.find(|key| key.kid.as_deref() == Some(kid)).map(|key| key.key.clone()),
        None => match (fitting.next(), fitting.next()) {
            (Some(only), None) => Some(only.key.clone()),
            _ => None,
        },
    }
}

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: String,
}

#[derive(Deserialize)]
struct JwkSet {
    keys: Vec<Value>,
}

/// A signature key of the set; encryption keys, symmetric keys (a published HMAC secret would
/// let anyone sign) and kinds we cannot verify with are skipped, not fatal.
fn parse_key(raw: Value) -> Option<Key> {
    if raw.get("use").and_then(Value::as_str).is_some_and(|u| u != "sig") {
        return None;
    }
    let jwk: Jwk = match serde_json::from_value(raw) {
        Ok(jwk) => jwk,
        Err(error) => {
            tracing::debug!(%error, "skipping a JWK that does not parse");
            return None;
        }
    };
    let kind = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => KeyKind::Rsa,
        AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => KeyKind::P256,
        AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P384 => KeyKind::P384,
        _ => return None,
    };
    let alg = match jwk.common.key_algorithm {
        None => None,
        Some(own) => Some(algorithm(own)?),
    };
    let key = DecodingKey::from_jwk(&jwk).ok()?;
    Some(Key { kid: jwk.common.key_id.clone(), alg, kind, key })
}

/// The signature algorithm a JWK's `alg` names (`None` for encryption algorithms).
fn algorithm(alg: KeyAlgorithm) -> Option<Algorithm> {
    Some(match alg {
        KeyAlgorithm::RS256 => Algorithm::RS256,
        KeyAlgorithm::RS384 => Algorithm::RS384,
        KeyAlgorithm::RS512 => Algorithm::RS512,
        KeyAlgorithm::PS256 => Algorithm::PS256,
        KeyAlgorithm::PS384 => Algorithm::PS384,
        KeyAlgorithm::PS512 => Algorithm::PS512,
        KeyAlgorithm::ES256 => Algorithm::ES256,
        KeyAlgorithm::ES384 => Algorithm::ES384,
        _ => return None,
    })
}

/// Keys must come over TLS; plain HTTP only from this machine (tests, a local issuer).
fn check_url(url: &str) -> anyhow::Result<()> {
    let parsed = reqwest::Url::parse(url).with_context(|| format!("{url:?} is not a URL"))?;
    let host = parsed.host_str().unwrap_or_default().trim_start_matches('[').trim_end_matches(']');
    let loopback = host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => bail!("{url} must be an https:// URL (plain http:// only on loopback)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_must_come_over_tls_except_from_loopback() {
        assert!(check_url("https://login.example.com/realms/x").is_ok());
        assert!(check_url("http://127.0.0.1:8080/").is_ok());
        assert!(check_url("http://[::1]:8080/").is_ok());
        assert!(check_url("http://localhost:8080/").is_ok());
        assert!(check_url("http://login.example.com/").is_err());
        assert!(check_url("ftp://127.0.0.1/").is_err());
        assert!(check_url("not a url").is_err());
    }

    #[test]
    fn symmetric_encryption_and_unknown_keys_are_skipped() {
        let oct = json!({"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"});
        let enc = json!({"kty": "RSA", "use": "enc", "n": "AQAB", "e": "AQAB", "kid": "enc"});
        let okp = json!({"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"});
        let odd = json!({"kty": "nonsense"});
        for raw in [oct, enc, okp, odd] {
            assert!(parse_key(raw.clone()).is_none(), "{raw}");
        }
    }
}
