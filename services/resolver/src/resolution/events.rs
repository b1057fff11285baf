//! The change events resolution records, worded in one place for both ways of resolving (one by
//! one, [`super::apply`], and set-based, [`super::batch`]).

use contracts::ContactId;
use contracts::{Actor, ContactChangeKind, FieldChange, Identity, Profile};
use serde_json::json;

use super::matching::Candidate;
use super::Origin;
use crate::changes::{identity_added, Change};

/// A contact created with `identities` (and the profile's name, when it has one).
pub(super) fn created<'a>(
    tenant: &'a str,
    contact_id: ContactId,
    profile: Option<&Profile>,
    identities: &[Identity],
    actor: &'a Actor,
    origin: Origin,
) -> Change<'a> {
    let mut fields = vec![];
    if let Some(name) = profile.and_then(|p| p.name.as_ref()) {
        fields.push(FieldChange { field: "name".into(), before: None, after: Some(json!(name)) });
    }
    fields.extend(identities.iter().map(identity_added));
    Change::new(tenant, contact_id, ContactChangeKind::Created, actor, origin.created_reason()).with(fields)
}

/// The contact learned `identities`.
pub(super) fn learned<'a>(
    tenant: &'a str,
    contact_id: ContactId,
    identities: &[Identity],
    actor: &'a Actor,
    origin: Origin,
) -> Change<'a> {
    Change::new(tenant, contact_id, ContactChangeKind::IdentifierAdded, actor, origin.learned_reason())
        .with(identities.iter().map(identity_added).collect())
}

/// `identities` were offered to the contact for an operator to confirm.
pub(super) fn proposed<'a>(tenant: &'a str, contact_id: ContactId, identities: &[Identity], actor: &'a Actor) -> Change<'a> {
    let reason = "typed by someone who matched the contact only by typed identifiers; an operator confirms or rejects";
    Change::new(tenant, contact_id, ContactChangeKind::IdentifierProposed, actor, reason)
        .with(identities.iter().map(identity_added).collect())
}

/// The contact took a name from a higher-ranked source.
pub(super) fn renamed<'a>(
    tenant: &'a str,
    contact_id: ContactId,
    before: Option<&str>,
    after: &str,
    actor: &'a Actor,
) -> Change<'a> {
    let field = FieldChange { field: "name".into(), before: before.map(|n| json!(n)), after: Some(json!(after)) };
    Change::new(tenant, contact_id, ContactChangeKind::NameChanged, actor, "name from a higher-ranked source").with(vec![field])
}

/// `candidate` matched the same interaction as the contact: queued as a possible duplicate.
pub(super) fn duplicate_suggested<'a>(
    tenant: &'a str,
    contact_id: ContactId,
    candidate: &Candidate,
    actor: &'a Actor,
) -> Change<'a> {
    let field = FieldChange {
        field: format!("identities.{}", candidate.identity.kind),
        before: None,
        after: Some(json!(candidate.identity)),
    };
    let reason = "another contact matched the same interaction";
    Change::new(tenant, contact_id, ContactChangeKind::DuplicateSuggested, actor, reason)
        .with(vec![field])
        .related(candidate.contact_id)
}
