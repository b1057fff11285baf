//! VK Callback API authentication. VK does not sign requests: the community's «Secret key» is
//! sent in the `secret` field of every request body (confirmations included), so the check is a
//! constant-time comparison against the secret configured for the request's `group_id`.
//! <https://dev.vk.com/en/api/callback/getting-started> (section «Secret key»)

use std::collections::BTreeMap;

use channel::signature::secrets_equal;
use channel::{RawRequest, WebhookError};
use secrecy::{ExposeSecret, SecretString};

use crate::payload::Credentials;

/// A missing secret, an unknown community and a wrong secret are told apart here (for the log);
/// the kit answers them all alike (`channel::kit::NOT_ACCEPTED`); a body that is not a
/// Callback API event → 400.
pub fn verify(secrets: &BTreeMap<String, SecretString>, request: &RawRequest) -> Result<(), WebhookError> {
    let credentials: Credentials =
        serde_json::from_slice(&request.body).map_err(|e| WebhookError::Malformed(format!("not a Callback API event: {e}")))?;
    let given =
        credentials.secret.filter(|s| !s.is_empty()).ok_or_else(|| WebhookError::Unauthenticated("missing secret".into()))?;
    let group = credentials.group_id.to_string();
    let expected = secrets.get(&group).ok_or_else(|| WebhookError::UnknownAccount(group.clone()))?;
    if secrets_equal(&given, expected.expose_secret()) {
        Ok(())
    } else {
        Err(WebhookError::Forbidden(format!("secret does not match community {group}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, Uri};

    fn check(body: &str) -> Result<(), WebhookError> {
        let secrets = BTreeMap::from([("218374651".to_owned(), SecretString::from("s3cr3t"))]);
        verify(&secrets, &RawRequest { headers: HeaderMap::new(), uri: Uri::from_static("/"), body: body.to_owned().into() })
    }

    #[test]
    fn the_configured_secret_of_the_community_is_accepted() {
        assert!(check(r#"{"type":"message_new","group_id":218374651,"secret":"s3cr3t"}"#).is_ok());
        assert!(check(r#"{"type":"message_new","group_id":"218374651","secret":"s3cr3t"}"#).is_ok());
    }

    #[test]
    fn a_missing_secret_is_unauthenticated_and_a_wrong_one_forbidden() {
        assert!(matches!(check(r#"{"type":"message_new","group_id":218374651}"#), Err(WebhookError::Unauthenticated(_))));
        assert!(matches!(
            check(r#"{"type":"message_new","group_id":218374651,"secret":""}"#),
            Err(WebhookError::Unauthenticated(_))
        ));
        assert!(matches!(
            check(r#"{"type":"message_new","group_id":218374651,"secret":"guess"}"#),
            Err(WebhookError::Forbidden(_))
        ));
    }

    #[test]
    fn another_community_is_unknown_and_garbage_malformed() {
        assert!(matches!(check(r#"{"group_id":1,"secret":"s3cr3t"}"#), Err(WebhookError::UnknownAccount(_))));
        assert!(matches!(check("ok"), Err(WebhookError::Malformed(_))));
        assert!(matches!(check(r#"{"secret":"s3cr3t"}"#), Err(WebhookError::Malformed(_))));
    }
}
