//! What the console is configured with (`[service.console]` of the resolver) and what its front
//! end is told at `/console/config.json`: how operators sign in and the UI defaults.

use serde::{Deserialize, Serialize};

/// The console's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Serve the console under `/console/`.
    pub enabled: bool,
    /// OpenID Connect sign-in (authorization code + PKCE); without it operators paste a token.
    pub oidc: Option<Oidc>,
    /// The language the console opens in until an operator picks another.
    pub language: Language,
    /// Contacts per directory page and items per history page (the APIs allow 1–200).
    pub page_size: u16,
}

impl Default for Settings {
    fn default() -> Self {
        Self { enabled: true, oidc: None, language: Language::Cs, page_size: 50 }
    }
}

/// The identity provider the console signs operators in with. Its access tokens must carry the
/// `tenant_id` and `role` claims and the audience the APIs check (`auth.audience`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Oidc {
    /// Issuer URL; the discovery document is `<issuer>/.well-known/openid-configuration`.
    pub issuer: String,
    /// The console's public client id (no secret: a browser cannot keep one; PKCE instead).
    pub client_id: String,
    #[serde(default = "default_scopes")]
    pub scopes: String,
    /// Sent as `audience` in the authorization request, for providers that need it to issue a
    /// JWT access token for the APIs (Auth0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// Origins besides the issuer's the browser must reach (a token endpoint on another host);
    /// they join the Content-Security-Policy's `connect-src`.
    #[serde(default, skip_serializing)]
    pub connect_origins: Vec<String>,
}

fn default_scopes() -> String {
    "openid profile email".into()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Cs,
    En,
}

/// How operators sign in, as the front end is told.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum SignIn {
    /// `contactd` with its development secret: the front end asks `token_path` for a token of
    /// the chosen tenant and role. Never offered by the production binaries.
    Development { token_path: String, tenants: Vec<String>, roles: Vec<String> },
    /// Authorization code + PKCE against the issuer.
    Oidc(Oidc),
    /// No identity provider configured: the operator pastes a bearer token.
    Token,
}

impl SignIn {
    /// OpenID Connect when configured, else a pasted token.
    pub fn from_settings(settings: &Settings) -> Self {
        settings.oidc.clone().map_or(Self::Token, Self::Oidc)
    }
}

/// `/console/config.json`.
#[derive(Debug, Clone, Serialize)]
pub struct ClientConfig {
    pub sign_in: SignIn,
    pub language: Language,
    pub page_size: u16,
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("console.oidc.{field}: `{value}` is not an https origin (http only for localhost)")]
    NotAnOrigin { field: &'static str, value: String },
    #[error("console.page_size must be 1–200, not {0}")]
    PageSize(u16),
}

/// The `scheme://host[:port]` of an http(s) URL, refusing anything that could break out of a
/// Content-Security-Policy source list (spaces, `;`, `,`, quotes) or reach a plain-http host
/// other than this machine.
pub(crate) fn origin(field: &'static str, url: &str) -> Result<String, SettingsError> {
    let bad = || SettingsError::NotAnOrigin { field, value: url.to_owned() };
    let (scheme, rest) = url.split_once("://").ok_or_else(bad)?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit_once(':').map_or(authority, |(host, _port)| host);
    let local = matches!(host, "localhost" | "127.0.0.1" | "[::1]");
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']');
    if authority.is_empty() || !authority.chars().all(allowed) || !(scheme == "https" || (scheme == "http" && local)) {
        return Err(bad());
    }
    Ok(format!("{scheme}://{authority}"))
}

impl ClientConfig {
    pub fn new(settings: &Settings, sign_in: SignIn) -> Result<Self, SettingsError> {
        if !(1..=200).contains(&settings.page_size) {
            return Err(SettingsError::PageSize(settings.page_size));
        }
        let config = Self { sign_in, language: settings.language, page_size: settings.page_size };
        config.connect_sources()?;
        Ok(config)
    }

    /// Origins besides the console's own that the browser fetches from: the identity provider.
    pub(crate) fn connect_sources(&self) -> Result<Vec<String>, SettingsError> {
        let SignIn::Oidc(oidc) = &self.sign_in else {
            return Ok(Vec::new());
        };
        let mut sources = vec![origin("issuer", &oidc.issuer)?];
        for extra in &oidc.connect_origins {
            sources.push(origin("connect_origins", extra)?);
        }
        Ok(sources)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_origin_is_scheme_and_authority_and_nothing_that_could_break_a_policy() {
        assert_eq!(origin("issuer", "https://login.example.com/realms/acme").expect("valid"), "https://login.example.com");
        assert_eq!(origin("issuer", "http://127.0.0.1:8180/realms/x").expect("valid"), "http://127.0.0.1:8180");
        for bad in [
            "http://login.example.com",
            "https://a.example.com; script-src *",
            "https://a b",
            "javascript:alert(1)",
            "https://",
            "https://'self'",
        ] {
            assert!(origin("issuer", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_front_end_is_told_the_sign_in_mode_and_never_the_extra_origins() {
        let oidc = Oidc {
            issuer: "https://id.example.com/realms/acme".into(),
            client_id: "console".into(),
            scopes: default_scopes(),
            audience: None,
            connect_origins: vec!["https://tokens.example.com".into()],
        };
        let settings = Settings { oidc: Some(oidc), ..Settings::default() };
        let config = ClientConfig::new(&settings, SignIn::from_settings(&settings)).expect("valid");
        let json = serde_json::to_value(&config).expect("serializes");
        assert_eq!(json["sign_in"]["mode"], "oidc");
        assert_eq!(json["sign_in"]["client_id"], "console");
        assert!(json["sign_in"].get("connect_origins").is_none());
        assert_eq!(config.connect_sources().expect("valid"), ["https://id.example.com", "https://tokens.example.com"]);
        let token = ClientConfig::new(&Settings::default(), SignIn::from_settings(&Settings::default())).expect("valid");
        assert_eq!(serde_json::to_value(&token).expect("serializes")["sign_in"], serde_json::json!({"mode": "token"}));
        assert!(ClientConfig::new(&Settings { page_size: 0, ..Settings::default() }, SignIn::Token).is_err());
    }
}
