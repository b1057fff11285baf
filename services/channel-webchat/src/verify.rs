//! Web chat request authentication: `X-Webchat-Signature: sha256=<hex>`, the HMAC-SHA256 of the
//! raw body under the site's secret (the same scheme as Meta's `X-Hub-Signature-256`, so the kit's
//! constant-time check is reused). The site is named by the `X-Webchat-Site` header or, without
//! it, by the body's `site_id`. Site ids are public (they sit in every page that embeds the
//! widget), so a site we do not know is answered exactly like a wrong signature
//! (`channel::kit::NOT_ACCEPTED`): which sites are configured cannot be learned by probing.

use std::collections::BTreeMap;

use channel::{signature, RawRequest, WebhookError};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

pub const SIGNATURE_HEADER: &str = "x-webchat-signature";
pub const SITE_HEADER: &str = "x-webchat-site";

/// Only the site id, to pick the secret before the body is trusted.
#[derive(Deserialize)]
struct SiteOnly {
    #[serde(default)]
    site_id: Option<String>,
}

/// The site a request claims to come from: the header, else the body's `site_id`.
pub fn claimed_site(request: &RawRequest) -> Result<String, WebhookError> {
    let header = request.headers.get(SITE_HEADER).and_then(|v| v.to_str().ok()).map(str::trim).filter(|s| !s.is_empty());
    if let Some(site) = header {
        return Ok(site.to_owned());
    }
    let peek: SiteOnly = serde_json::from_slice(&request.body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
    peek.site_id
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| WebhookError::Malformed("no site: send `site_id` in the body or the X-Webchat-Site header".into()))
}

pub fn verify(secrets: &BTreeMap<String, SecretString>, request: &RawRequest) -> Result<(), WebhookError> {
    let header = request.headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
    if header.is_none() {
        return Err(WebhookError::Unauthenticated("missing X-Webchat-Signature header".into()));
    }
    let site = claimed_site(request)?;
    let secret = secrets.get(&site).ok_or(WebhookError::UnknownAccount(site))?;
    signature::verify_sha256_header(secret.expose_secret().as_bytes(), &request.body, header)
}
