//! One operator change of the directory: a transaction that locks the contacts it changes and
//! writes its change events to the outbox in the same commit, so CRM consumers and the timeline
//! see every change that happened, and nothing when nothing did.

use contracts::ContactId;
use contracts::{Actor, ContactChangeKind, FieldChange, NameSource};
use sqlx::{PgConnection, PgPool, Postgres, Transaction};

use super::{DirectoryError, Result};
use crate::changes::{self, Change};

pub struct Edit<'a> {
    tx: Transaction<'static, Postgres>,
    pub tenant: &'a str,
    pub actor: &'a Actor,
}

/// A live contact's name as locked by [`Edit::lock_live`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    pub name: Option<String>,
    pub name_source: Option<NameSource>,
}

/// Locks a live (not deleted, not merged away) contact of `tenant` on `conn`; 404 otherwise.
pub async fn lock_live(conn: &mut PgConnection, tenant: &str, contact_id: ContactId) -> Result<Named> {
    let row = sqlx::query_as!(
        Named,
        r#"SELECT name, name_source AS "name_source: NameSource" FROM contacts
         WHERE tenant_id = $1 AND contact_id = $2 AND deleted_at IS NULL AND merged_into IS NULL FOR UPDATE"#,
        tenant,
        contact_id.0,
    )
    .fetch_optional(conn)
    .await?;
    row.ok_or_else(|| DirectoryError::NotFound(format!("contact {contact_id}")))
}

impl<'a> Edit<'a> {
    pub async fn begin(pool: &PgPool, tenant: &'a str, actor: &'a Actor) -> Result<Self> {
        Ok(Self { tx: pool.begin().await?, tenant, actor })
    }

    /// The transaction, for the resource's own statements.
    pub fn conn(&mut self) -> &mut PgConnection {
        &mut self.tx
    }

    /// Locks a live (not deleted, not merged away) contact of the tenant; 404 otherwise.
    pub async fn lock_live(&mut self, contact_id: ContactId) -> Result<Named> {
        lock_live(&mut self.tx, self.tenant, contact_id).await
    }

    /// Marks the contact changed now.
    pub async fn touch(&mut self, contact_id: ContactId) -> Result<()> {
        sqlx::query!("UPDATE contacts SET updated_at = now() WHERE contact_id = $1", contact_id.0).execute(&mut *self.tx).await?;
        Ok(())
    }

    /// Records a change of `contact_id` (its event and its new card).
    pub async fn record(
        &mut self,
        contact_id: ContactId,
        kind: ContactChangeKind,
        reason: &str,
        fields: Vec<FieldChange>,
        related: Option<ContactId>,
    ) -> Result<()> {
        let mut change = Change::new(self.tenant, contact_id, kind, self.actor, reason).with(fields);
        if let Some(related) = related {
            change = change.related(related);
        }
        changes::record(&mut self.tx, change).await?;
        Ok(())
    }

    /// Publishes `contact_id`'s current card (or its tombstone) without a change event.
    pub async fn snapshot(&mut self, contact_id: ContactId) -> Result<()> {
        changes::snapshot(&mut self.tx, self.tenant, contact_id).await?;
        Ok(())
    }

    pub async fn commit(self) -> Result<()> {
        self.tx.commit().await?;
        Ok(())
    }
}
