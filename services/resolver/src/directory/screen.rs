//! Identifiers an operator types are held to the same rules as the channels' (normalized, not
//! blocked), and custom ones to the tenant's definitions.

use contracts::ContactId;
use contracts::{Identity, IdentityKind};
use sqlx::PgConnection;

use super::{DirectoryError, Result};
use crate::resolution::{rules::TenantRules, store};

/// `raw` normalized under the tenant's rules; a custom identifier needs a definition (one that
/// does not identify the client may still be stored: it just never matches).
pub async fn screen(conn: &mut PgConnection, tenant: &str, defaults: &TenantRules, raw: &Identity) -> Result<Identity> {
    if matches!(raw.kind, IdentityKind::ContactId | IdentityKind::ConversationLink) {
        return Err(DirectoryError::Invalid(format!("{} is not an identifier a contact holds", raw.kind)));
    }
    let mut rules = store::rules(conn, tenant, defaults).await?;
    if raw.kind == IdentityKind::Custom {
        let name = raw
            .scope
            .as_deref()
            .ok_or_else(|| DirectoryError::Invalid("a custom identifier needs `scope` = its parameter name".into()))?;
        let defined = sqlx::query_scalar!(
            "SELECT name FROM custom_identifier_definitions WHERE tenant_id = $1 AND name = $2",
            tenant,
            name
        )
        .fetch_optional(&mut *conn)
        .await?;
        if defined.is_none() {
            return Err(DirectoryError::Invalid(format!("no custom identifier definition `{name}`")));
        }
        rules.identifying_custom.insert(name.to_owned());
    }
    rules
        .screen(raw)
        .map_err(|ignored| DirectoryError::Invalid(format!("{} `{}` refused: {}", ignored.kind, ignored.value, ignored.reason)))
}

/// A holder of `identity` other than `contact_id`.
pub async fn other_holder(
    conn: &mut PgConnection,
    tenant: &str,
    contact_id: ContactId,
    identity: &Identity,
) -> Result<Option<ContactId>> {
    Ok(sqlx::query_scalar!(
        r#"SELECT contact_id AS "contact_id: ContactId" FROM contact_identities
         WHERE tenant_id = $1 AND kind = $2 AND scope = $3 AND value = $4 AND contact_id <> $5 LIMIT 1"#,
        tenant,
        identity.kind.as_str(),
        identity.scope.as_deref().unwrap_or_default(),
        identity.value,
        contact_id.0,
    )
    .fetch_optional(conn)
    .await?)
}
