//! The contact list: filters, sort orders and keyset positions, and the one statement that
//! lists (the list, the export).

use chrono::{DateTime, Utc};
use contracts::ContactId;
use contracts::IdentityKind;
use runtime::http::{cursor, ApiError};
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, Postgres, QueryBuilder, Row};
use utoipa::{IntoParams, ToSchema};

use super::export::Format;

/// Default and largest page of the list.
pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;
/// Longest free text searched (`q`).
pub const MAX_Q_CHARS: usize = 200;

/// The filters of the list and the export (DESIGN.md §6); all of them must hold.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Free text over name and identifier values; case- and diacritics-insensitive substring.
    #[param(max_length = 200)]
    pub q: Option<String>,
    /// Exact e-mail (normalized before comparing).
    #[param(max_length = 254)]
    pub email: Option<String>,
    /// Exact phone in any format (normalized to E.164 with the default region).
    #[param(max_length = 64)]
    pub phone: Option<String>,
    /// Exact identifier `kind:value`, e.g. `custom:CRM-1`, `psid:123`.
    #[param(max_length = 300)]
    pub identifier: Option<String>,
    /// Contacts holding the channel's identifier: messenger→psid, whatsapp→whatsapp, vk→vk,
    /// apple→apple, email→email, voip→phone (web chat has none of its own).
    #[param(inline)]
    pub channel: Option<ChannelFilter>,
    /// RFC 3339, exclusive.
    pub created_after: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
    pub last_interaction_after: Option<DateTime<Utc>>,
    /// Contacts never in touch are left out.
    pub last_interaction_before: Option<DateTime<Utc>>,
    /// `created`: newest first (default); `last_interaction`: most recent first, never in touch
    /// last; `name`: alphabetical ignoring case and diacritics, unnamed last.
    #[param(inline)]
    pub sort: Option<Sort>,
    /// `next_cursor` of the previous page (of the same sort).
    #[param(max_length = 1024)]
    pub cursor: Option<String>,
    /// List only.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// Export only.
    #[param(inline)]
    pub format: Option<Format>,
}

/// Channels that give contacts an identifier of their own (`channel=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChannelFilter {
    Messenger,
    Whatsapp,
    Vk,
    Apple,
    Email,
    Voip,
}

impl ChannelFilter {
    fn kind(self) -> IdentityKind {
        match self {
            ChannelFilter::Messenger => IdentityKind::Psid,
            ChannelFilter::Whatsapp => IdentityKind::Whatsapp,
            ChannelFilter::Vk => IdentityKind::Vk,
            ChannelFilter::Apple => IdentityKind::Apple,
            ChannelFilter::Email => IdentityKind::Email,
            ChannelFilter::Voip => IdentityKind::Phone,
        }
    }
}

impl ListQuery {
    /// The page size asked for; a 400 outside 1..=200.
    pub fn limit(&self) -> Result<i64, ApiError> {
        match self.limit {
            None => Ok(i64::from(DEFAULT_LIMIT)),
            Some(limit) if (1..=MAX_LIMIT).contains(&limit) => Ok(i64::from(limit)),
            Some(limit) => Err(ApiError::BadRequest(format!("`limit` must be between 1 and {MAX_LIMIT}, not {limit}"))),
        }
    }

    /// The store's filter; bad values are a 400 naming the parameter.
    pub fn filter(&self, region: Option<identity::Region>) -> Result<ListFilter, ApiError> {
        let sort = self.sort.unwrap_or_default();
        let after = self.cursor.as_deref().map(cursor::decode::<Position>).transpose()?;
        if after.as_ref().is_some_and(|position| position.sort() != sort) {
            return Err(ApiError::BadRequest("the cursor belongs to another sort order".into()));
        }
        let q = self.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
        if q.is_some_and(|q| q.chars().count() > MAX_Q_CHARS) {
            return Err(ApiError::BadRequest(format!("`q` must be at most {MAX_Q_CHARS} characters")));
        }
        let mut filter = ListFilter {
            sort,
            after,
            q: q.map(str::to_owned),
            created_after: self.created_after,
            created_before: self.created_before,
            last_interaction_after: self.last_interaction_after,
            last_interaction_before: self.last_interaction_before,
            identities: Vec::new(),
            holds_kind: self.channel.map(ChannelFilter::kind),
        };
        if let Some(email) = &self.email {
            let value =
                identity::normalize_email(bounded("email", email, 254)?).map_err(|e| ApiError::BadRequest(e.to_string()))?;
            filter.identities.push((IdentityKind::Email, value));
        }
        if let Some(phone) = &self.phone {
            let value = identity::normalize_phone(bounded("phone", phone, 64)?, region)
                .map_err(|e| ApiError::BadRequest(e.to_string()))?;
            filter.identities.push((IdentityKind::Phone, value));
        }
        if let Some(identifier) = &self.identifier {
            let (kind, value) = bounded("identifier", identifier, 300)?
                .split_once(':')
                .ok_or_else(|| ApiError::BadRequest("identifier must be `kind:value`".into()))?;
            let kind =
                IdentityKind::parse(kind).ok_or_else(|| ApiError::BadRequest(format!("unknown identifier kind `{kind}`")))?;
            filter.identities.push((kind, value.trim().to_owned()));
        }
        Ok(filter)
    }
}

fn bounded<'a>(name: &str, value: &'a str, max: usize) -> Result<&'a str, ApiError> {
    if value.chars().count() > max {
        return Err(ApiError::BadRequest(format!("`{name}` must be at most {max} characters")));
    }
    Ok(value)
}

/// Orders of the contact list. Each has its own keyset index (migration 0004), so every page
/// costs the same however deep it is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    /// Newest first.
    #[default]
    Created,
    /// Most recently in touch first; contacts never in touch last.
    LastInteraction,
    /// Alphabetical, case- and diacritics-insensitive; contacts without a name last.
    Name,
}

/// Where a contact stands in one sort order: its sort key and, to break ties, its id. A page
/// continues strictly after the position of the previous page's last contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "sort", rename_all = "snake_case")]
pub enum Position {
    Created {
        at: DateTime<Utc>,
        id: ContactId,
    },
    /// `at: None` = never in touch (sorted as `-infinity`).
    LastInteraction {
        at: Option<DateTime<Utc>>,
        id: ContactId,
    },
    /// `key` is the name as compared: lowercased, unaccented (`search_text`), its first 200
    /// characters (the index's key).
    Name {
        unnamed: bool,
        key: String,
        id: ContactId,
    },
}

impl Position {
    pub fn sort(&self) -> Sort {
        match self {
            Position::Created { .. } => Sort::Created,
            Position::LastInteraction { .. } => Sort::LastInteraction,
            Position::Name { .. } => Sort::Name,
        }
    }

    pub fn contact_id(&self) -> ContactId {
        match self {
            Position::Created { id, .. } | Position::LastInteraction { id, .. } | Position::Name { id, .. } => *id,
        }
    }
}

/// Filters of the contact list (and of the export); all of them must hold.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub sort: Sort,
    /// Keyset cursor: only contacts after this position (of the same sort).
    pub after: Option<Position>,
    /// Free text over name and identifier values (diacritics- and case-insensitive substring).
    pub q: Option<String>,
    pub created_after: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
    pub last_interaction_after: Option<DateTime<Utc>>,
    pub last_interaction_before: Option<DateTime<Utc>>,
    /// Exact identifiers (already normalized), any scope: the contact holds every one.
    pub identities: Vec<(IdentityKind, String)>,
    /// The contact holds an identifier of this kind (`channel=`).
    pub holds_kind: Option<IdentityKind>,
}

/// `%…%` LIKE pattern of free text, with LIKE's own wildcards taken literally.
fn like_pattern(q: &str) -> String {
    format!("%{}%", q.trim().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"))
}

/// Positions of the contacts of `tenant` matching `filter`, in the filter's sort order. Only the
/// conditions in use are part of the statement, so the planner sees (and indexes) exactly them.
pub async fn list(conn: &mut PgConnection, tenant: &str, filter: &ListFilter, limit: i64) -> sqlx::Result<Vec<Position>> {
    // Dynamic, so not checked at build time (`query!` needs one literal): filters and sort vary.
    let mut sql = QueryBuilder::<Postgres>::new(
        "SELECT c.contact_id, c.created_at, c.last_interaction_at, c.name IS NULL AS unnamed,
                left(coalesce(search_text(c.name), ''), 200) AS name_key
         FROM contacts c WHERE c.tenant_id = ",
    );
    sql.push_bind(tenant).push(" AND c.deleted_at IS NULL AND c.merged_into IS NULL");
    match &filter.after {
        None => {}
        Some(Position::Created { at, id }) => {
            sql.push(" AND (c.created_at, c.contact_id) < (").push_bind(*at).push(", ").push_bind(*id).push(")");
        }
        Some(Position::LastInteraction { at, id }) => {
            sql.push(" AND (coalesce(c.last_interaction_at, '-infinity'::timestamptz), c.contact_id) < (coalesce(")
                .push_bind(*at)
                .push("::timestamptz, '-infinity'::timestamptz), ")
                .push_bind(*id)
                .push(")");
        }
        Some(Position::Name { unnamed, key, id }) => {
            sql.push(" AND (c.name IS NULL, left(coalesce(search_text(c.name), ''), 200), c.contact_id) > (")
                .push_bind(*unnamed)
                .push(", ")
                .push_bind(key.clone())
                .push(", ")
                .push_bind(*id)
                .push(")");
        }
    }
    // Column and operator are constants of this list (identifiers cannot be bound); the values are bound.
    for (column, op, value) in [
        ("c.created_at", ">", filter.created_after),
        ("c.created_at", "<", filter.created_before),
        ("c.last_interaction_at", ">", filter.last_interaction_after),
        ("c.last_interaction_at", "<", filter.last_interaction_before),
    ] {
        if let Some(value) = value {
            sql.push(format_args!(" AND {column} {op} ")).push_bind(value);
        }
    }
    for (kind, value) in &filter.identities {
        sql.push(" AND c.contact_id IN (SELECT i.contact_id FROM contact_identities i WHERE i.tenant_id = ")
            .push_bind(tenant)
            .push(" AND i.kind = ")
            .push_bind(*kind)
            .push(" AND i.value = ")
            .push_bind(value.clone())
            .push(")");
    }
    if let Some(kind) = filter.holds_kind {
        sql.push(" AND c.contact_id IN (SELECT i.contact_id FROM contact_identities i WHERE i.tenant_id = ")
            .push_bind(tenant)
            .push(" AND i.kind = ")
            .push_bind(kind)
            .push(")");
    }
    if let Some(q) = filter.q.as_deref() {
        // A union of two trigram-indexed lookups, so neither side forces a scan of the other table.
        let pattern = like_pattern(q);
        sql.push(" AND c.contact_id IN (SELECT n.contact_id FROM contacts n WHERE n.tenant_id = ")
            .push_bind(tenant)
            .push(" AND search_text(n.name) LIKE search_text(")
            .push_bind(pattern.clone())
            .push(") UNION SELECT i.contact_id FROM contact_identities i WHERE i.tenant_id = ")
            .push_bind(tenant)
            .push(" AND lower(i.value) LIKE lower(")
            .push_bind(pattern)
            .push("))");
    }
    sql.push(match filter.sort {
        Sort::Created => " ORDER BY c.created_at DESC, c.contact_id DESC",
        Sort::LastInteraction => " ORDER BY coalesce(c.last_interaction_at, '-infinity'::timestamptz) DESC, c.contact_id DESC",
        Sort::Name => " ORDER BY c.name IS NULL, left(coalesce(search_text(c.name), ''), 200), c.contact_id",
    });
    sql.push(" LIMIT ").push_bind(limit);
    let rows = sql.build().fetch_all(conn).await?;
    rows.iter()
        .map(|row| {
            let id = row.try_get("contact_id")?;
            Ok(match filter.sort {
                Sort::Created => Position::Created { at: row.try_get("created_at")?, id },
                Sort::LastInteraction => Position::LastInteraction { at: row.try_get("last_interaction_at")?, id },
                Sort::Name => Position::Name { unnamed: row.try_get("unnamed")?, key: row.try_get("name_key")?, id },
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards_in_free_text_are_literal() {
        assert_eq!(like_pattern(" 50%_off\\ "), "%50\\%\\_off\\\\%");
    }
}
