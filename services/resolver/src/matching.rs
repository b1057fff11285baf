//! The resolution rules (DESIGN.md §4) as a pure function: given every identity of an
//! interaction and who owns it, decide which contact the interaction belongs to. No I/O here.

use contracts::{Identity, IdentityKind, MatchedBy};
use uuid::Uuid;

/// One normalized identity of the interaction and the contact that holds it, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    pub identity: Identity,
    pub owner: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Attach to an existing contact, found by `matched_by`; `enrich` are identities nobody holds yet.
    Attach { contact_id: Uuid, matched_by: MatchedBy, candidates: Vec<Uuid>, enrich: Vec<Identity> },
    /// Nothing matched: create a contact holding `identities`.
    Create { identities: Vec<Identity> },
    /// Nothing matched and the tenant does not create contacts automatically.
    Unmatched,
}

/// Picks the contact found by the strongest identifier (contact id > custom > channel ids >
/// e-mail > phone; the first of equals). Other matched contacts become candidates, never merged.
pub fn decide(lookups: &[Lookup], auto_create: bool) -> Decision {
    let strongest = lookups
        .iter()
        .filter_map(|l| l.owner.map(|owner| (l, owner)))
        .min_by_key(|(l, _)| l.identity.kind.strength());
    let storable = |l: &&Lookup| l.owner.is_none() && l.identity.kind != IdentityKind::ContactId;
    match strongest {
        Some((lookup, contact_id)) => {
            let mut candidates: Vec<Uuid> = Vec::new();
            for owner in lookups.iter().filter_map(|l| l.owner) {
                if owner != contact_id && !candidates.contains(&owner) {
                    candidates.push(owner);
                }
            }
            Decision::Attach {
                contact_id,
                matched_by: MatchedBy {
                    kind: lookup.identity.kind,
                    value: lookup.identity.value.clone(),
                    scope: lookup.identity.scope.clone(),
                },
                candidates,
                enrich: unique(lookups.iter().filter(storable).map(|l| l.identity.clone())),
            }
        }
        None if auto_create => Decision::Create {
            identities: unique(lookups.iter().filter(storable).map(|l| l.identity.clone())),
        },
        None => Decision::Unmatched,
    }
}

fn unique(identities: impl Iterator<Item = Identity>) -> Vec<Identity> {
    let mut out: Vec<Identity> = Vec::new();
    for identity in identities {
        if !out.contains(&identity) {
            out.push(identity);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(kind: IdentityKind, value: &str) -> Identity {
        Identity::new(kind, value, None)
    }

    fn lookup(kind: IdentityKind, value: &str, owner: Option<u128>) -> Lookup {
        Lookup { identity: id(kind, value), owner: owner.map(Uuid::from_u128) }
    }

    #[test]
    fn an_unknown_identity_creates_a_contact_holding_it() {
        let decision = decide(&[lookup(IdentityKind::Psid, "1", None)], true);
        assert_eq!(decision, Decision::Create { identities: vec![id(IdentityKind::Psid, "1")] });
    }

    #[test]
    fn without_auto_create_nothing_is_created() {
        assert_eq!(decide(&[lookup(IdentityKind::Psid, "1", None)], false), Decision::Unmatched);
    }

    #[test]
    fn a_known_identity_attaches_and_enriches_with_the_unowned_ones() {
        let decision = decide(&[lookup(IdentityKind::Psid, "1", Some(7)), lookup(IdentityKind::Email, "a@b.cz", None)], true);
        assert_eq!(
            decision,
            Decision::Attach {
                contact_id: Uuid::from_u128(7),
                matched_by: MatchedBy { kind: IdentityKind::Psid, value: "1".into(), scope: None },
                candidates: vec![],
                enrich: vec![id(IdentityKind::Email, "a@b.cz")],
            }
        );
    }

    #[test]
    fn the_strongest_identifier_wins_and_the_others_are_only_candidates() {
        let decision = decide(
            &[
                lookup(IdentityKind::Phone, "+420777123456", Some(1)),
                lookup(IdentityKind::Email, "a@b.cz", Some(2)),
                lookup(IdentityKind::Custom, "CRM-1", Some(3)),
            ],
            true,
        );
        let Decision::Attach { contact_id, matched_by, candidates, enrich } = decision else {
            panic!("expected attach, got {decision:?}");
        };
        assert_eq!(contact_id, Uuid::from_u128(3));
        assert_eq!(matched_by.kind, IdentityKind::Custom);
        assert_eq!(candidates, vec![Uuid::from_u128(1), Uuid::from_u128(2)]);
        assert!(enrich.is_empty(), "an identity held by another contact is never taken");
    }

    #[test]
    fn an_explicit_contact_id_beats_everything_and_is_never_stored_as_an_identity() {
        let decision = decide(&[lookup(IdentityKind::Psid, "1", Some(1)), lookup(IdentityKind::ContactId, "x", Some(9))], true);
        let Decision::Attach { contact_id, enrich, .. } = decision else { panic!("expected attach") };
        assert_eq!(contact_id, Uuid::from_u128(9));
        assert!(enrich.is_empty());
        let created = decide(&[lookup(IdentityKind::ContactId, "x", None), lookup(IdentityKind::Psid, "2", None)], true);
        assert_eq!(created, Decision::Create { identities: vec![id(IdentityKind::Psid, "2")] });
    }
}
