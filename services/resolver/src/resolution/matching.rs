//! The resolution rules (DESIGN.md §4) as a pure function: given every screened identity of an
//! interaction and the contacts that hold it, decide which contact the interaction belongs to.
//! No I/O here.

use contracts::{Identity, IdentityKind, IgnoredIdentity, MatchedBy};
use uuid::Uuid;

/// One screened identity of the interaction and the contacts holding it, preferred first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    pub identity: Identity,
    pub owners: Vec<Uuid>,
}

impl Lookup {
    pub fn new(identity: Identity, owners: Vec<Uuid>) -> Self {
        Self { identity, owners }
    }
}

/// Another contact that matched a weaker (or equally strong, less preferred) identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub contact_id: Uuid,
    pub identity: Identity,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Attach to an existing contact found by `matched_by`; `enrich` are identities nobody holds.
    Attach { contact_id: Uuid, matched_by: MatchedBy, candidates: Vec<Candidate>, enrich: Vec<Identity> },
    /// Nothing matched: create a contact holding `identities`.
    Create { identities: Vec<Identity> },
    /// Nothing matched and the tenant does not create contacts automatically.
    Unmatched,
}

/// Picks the contact found by the strongest identifier (contact id > linked conversation >
/// custom > channel ids > e-mail > phone; the first of equals). Other matched contacts become
/// candidates, never merged. A value held by `shared_limit` contacts or more is ignored.
pub fn decide(lookups: &[Lookup], shared_limit: usize, auto_create: bool) -> (Decision, Vec<IgnoredIdentity>) {
    let mut ignored = Vec::new();
    let mut usable: Vec<&Lookup> = Vec::new();
    for lookup in lookups {
        if lookup.owners.len() >= shared_limit {
            ignored.push(IgnoredIdentity {
                kind: lookup.identity.kind,
                value: lookup.identity.value.clone(),
                reason: "shared".into(),
            });
        } else {
            usable.push(lookup);
        }
    }
    let storable = |l: &&&Lookup| {
        l.owners.is_empty() && !matches!(l.identity.kind, IdentityKind::ContactId | IdentityKind::ConversationLink)
    };
    let fresh = || unique(usable.iter().filter(storable).map(|l| l.identity.clone()));
    let strongest = usable.iter().filter(|l| !l.owners.is_empty()).min_by_key(|l| l.identity.kind.strength());
    let decision = match strongest {
        Some(lookup) => {
            let contact_id = lookup.owners[0];
            let mut candidates: Vec<Candidate> = Vec::new();
            for other in &usable {
                for owner in &other.owners {
                    if *owner != contact_id && !candidates.iter().any(|c| c.contact_id == *owner) {
                        candidates.push(Candidate { contact_id: *owner, identity: other.identity.clone() });
                    }
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
                enrich: fresh(),
            }
        }
        None if auto_create => Decision::Create { identities: fresh() },
        None => Decision::Unmatched,
    };
    (decision, ignored)
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

    fn lookup(kind: IdentityKind, value: &str, owners: &[u128]) -> Lookup {
        Lookup::new(id(kind, value), owners.iter().map(|o| Uuid::from_u128(*o)).collect())
    }

    fn decision(lookups: &[Lookup]) -> Decision {
        decide(lookups, 3, true).0
    }

    #[test]
    fn an_unknown_identity_creates_a_contact_holding_it() {
        assert_eq!(
            decision(&[lookup(IdentityKind::Psid, "1", &[])]),
            Decision::Create { identities: vec![id(IdentityKind::Psid, "1")] }
        );
    }

    #[test]
    fn without_auto_create_nothing_is_created() {
        assert_eq!(decide(&[lookup(IdentityKind::Psid, "1", &[])], 3, false).0, Decision::Unmatched);
    }

    #[test]
    fn a_known_identity_attaches_and_enriches_with_the_unowned_ones() {
        let got = decision(&[lookup(IdentityKind::Psid, "1", &[7]), lookup(IdentityKind::Email, "a@b.cz", &[])]);
        assert_eq!(
            got,
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
        let got = decision(&[
            lookup(IdentityKind::Phone, "+420777123456", &[1]),
            lookup(IdentityKind::Email, "a@b.cz", &[2]),
            lookup(IdentityKind::Custom, "CRM-1", &[3]),
        ]);
        let Decision::Attach { contact_id, matched_by, candidates, enrich } = got else { panic!("expected attach, got {got:?}") };
        assert_eq!(contact_id, Uuid::from_u128(3));
        assert_eq!(matched_by.kind, IdentityKind::Custom);
        let ids: Vec<Uuid> = candidates.iter().map(|c| c.contact_id).collect();
        assert_eq!(ids, vec![Uuid::from_u128(1), Uuid::from_u128(2)]);
        assert_eq!(candidates[0].identity.kind, IdentityKind::Phone, "a candidate says which identifier it shares");
        assert!(enrich.is_empty(), "an identity held by another contact is never taken");
    }

    #[test]
    fn an_explicit_contact_id_and_a_linked_conversation_outrank_identifiers_and_are_never_stored() {
        let got = decision(&[
            lookup(IdentityKind::Custom, "CRM-1", &[1]),
            lookup(IdentityKind::ConversationLink, "conv-1", &[8]),
            lookup(IdentityKind::ContactId, "x", &[9]),
        ]);
        let Decision::Attach { contact_id, .. } = got else { panic!("expected attach") };
        assert_eq!(contact_id, Uuid::from_u128(9));
        let linked =
            decision(&[lookup(IdentityKind::Custom, "CRM-1", &[1]), lookup(IdentityKind::ConversationLink, "conv-1", &[8])]);
        let Decision::Attach { contact_id, .. } = linked else { panic!("expected attach") };
        assert_eq!(contact_id, Uuid::from_u128(8));
        let created = decision(&[lookup(IdentityKind::ContactId, "x", &[]), lookup(IdentityKind::Psid, "2", &[])]);
        assert_eq!(created, Decision::Create { identities: vec![id(IdentityKind::Psid, "2")] });
    }

    #[test]
    fn a_value_held_by_too_many_contacts_is_ignored_as_shared() {
        let (got, ignored) = decide(
            &[lookup(IdentityKind::Phone, "+420222111000", &[1, 2, 3]), lookup(IdentityKind::Email, "e@x.cz", &[])],
            3,
            true,
        );
        assert_eq!(got, Decision::Create { identities: vec![id(IdentityKind::Email, "e@x.cz")] });
        assert_eq!(ignored[0].reason, "shared");
    }

    #[test]
    fn a_value_held_by_a_few_contacts_attaches_to_the_preferred_one_and_lists_the_rest() {
        let (got, ignored) = decide(&[lookup(IdentityKind::Phone, "+420222111000", &[5, 6])], 3, true);
        assert!(ignored.is_empty());
        let Decision::Attach { contact_id, candidates, .. } = got else { panic!("expected attach") };
        assert_eq!(contact_id, Uuid::from_u128(5));
        assert_eq!(candidates.len(), 1);
    }
}
