//! The resolution rules (DESIGN.md §4) as a pure function: given every screened identity of an
//! interaction, the contacts that hold it and how weak it is, decide which contact the
//! interaction belongs to — or that it belongs to none yet. No I/O here.
//!
//! 1. A value held by `shared_limit` contacts or more is ignored as shared. One held by a few
//!    (two or more) is *ambiguous*: it decides nothing, its holders are candidates.
//! 2. A value held by one contact decides, unless it is *weak* ([`Weakness`]: a fixed line, a
//!    number not seen for a long time) — then its holder is only a candidate.
//! 3. The strongest deciding identifier wins (contact id > linked conversation > custom >
//!    channel ids > e-mail > phone), verified ones before typed ones. A match made only by
//!    *typed* identifiers attaches with [`Confidence::Typed`]: the card learns nothing from it
//!    (its new identifiers are proposed, not added) unless the tenant allows typed enrichment.
//!    A verified identifier that its card holds only because someone typed it there counts as
//!    typed too: a visitor who typed a customer's e-mail before the customer ever wrote would
//!    otherwise be handed the customer's mail and phone.
//! 4. Other contacts found become candidates (the duplicates queue), never merged silently —
//!    except, under `auto_merge = verified`, contacts found by *verified* identifiers of the
//!    same interaction, which are merged into the winner.
//! 5. Nothing decides: the fresh identifiers create a contact (when `auto_create`), else the
//!    interaction stays unidentified with its candidates until an operator links it.

use contracts::api::directory::Weakness;
use contracts::{Confidence, Identity, IdentityKind, IgnoreReason, IgnoredIdentity, MatchedBy};
use uuid::Uuid;

use super::rules::AutoMerge;

/// One screened identity of the interaction and the contacts holding it, preferred first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    pub identity: Identity,
    pub owners: Vec<Uuid>,
    /// Why a single holder would still not be enough.
    pub weakness: Option<Weakness>,
    /// Contacts the value was proposed to (typed on a form that matched them): candidates,
    /// never owners.
    pub proposed_to: Vec<Uuid>,
    /// Its one holder holds it only because someone typed it: the match is as good as typed.
    pub held_typed: bool,
}

impl Lookup {
    pub fn new(identity: Identity, owners: Vec<Uuid>) -> Self {
        Self { identity, owners, weakness: None, proposed_to: Vec::new(), held_typed: false }
    }

    pub fn held_typed(mut self, typed: bool) -> Self {
        self.held_typed = typed;
        self
    }

    pub fn proposed_to(mut self, contacts: Vec<Uuid>) -> Self {
        self.proposed_to = contacts;
        self
    }

    pub fn weak(mut self, weakness: Option<Weakness>) -> Self {
        self.weakness = weakness;
        self
    }

    /// Identities a contact holds: never an explicit contact id or a conversation link.
    fn storable(&self) -> bool {
        !matches!(self.identity.kind, IdentityKind::ContactId | IdentityKind::ConversationLink)
    }

    /// A contact id, a linked conversation or a provider-asserted identifier its holder does
    /// not hold only as typed.
    fn verified(&self) -> bool {
        !self.storable() || (self.identity.is_verified() && !self.held_typed)
    }
}

/// Another contact the interaction pointed at, and the evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub contact_id: Uuid,
    pub identity: Identity,
    pub weakness: Option<Weakness>,
}

/// How the tenant resolves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub shared_limit: usize,
    pub auto_create: bool,
    pub typed_enrichment: bool,
    pub auto_merge: AutoMerge,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Attach to `contact_id`: add `enrich` (identities nobody holds), offer `propose` for an
    /// operator to confirm, merge `merge` into it, suggest `candidates`.
    Attach {
        contact_id: Uuid,
        matched_by: MatchedBy,
        confidence: Confidence,
        candidates: Vec<Candidate>,
        enrich: Vec<Identity>,
        propose: Vec<Identity>,
        merge: Vec<Uuid>,
    },
    /// Nothing decided: create a contact holding `identities`, suggest `candidates`.
    Create { identities: Vec<Identity>, candidates: Vec<Candidate> },
    /// No contact: nothing usable, only shared or weak identifiers, or no automatic creation.
    Unidentified { candidates: Vec<Candidate> },
}

/// Applies the rules of the module documentation.
pub fn decide(lookups: &[Lookup], policy: Policy) -> (Decision, Vec<IgnoredIdentity>) {
    let mut ignored = Vec::new();
    let mut deciding: Vec<&Lookup> = Vec::new();
    let mut pointers: Vec<Candidate> = Vec::new();
    let mut fresh: Vec<Identity> = Vec::new();
    for lookup in lookups {
        let id = &lookup.identity;
        for contact in &lookup.proposed_to {
            pointers.push(Candidate { contact_id: *contact, identity: id.clone(), weakness: Some(Weakness::Typed) });
        }
        match lookup.owners.len() {
            0 if id.kind == IdentityKind::ContactId => {
                ignored.push(IgnoredIdentity::new(id.kind, id.value.clone(), IgnoreReason::UnknownContact));
            }
            0 => {
                if lookup.storable() && !fresh.contains(id) {
                    fresh.push(id.clone());
                }
            }
            n if n >= policy.shared_limit => {
                let detail = format!("held by {n} contacts");
                ignored.push(IgnoredIdentity::new(id.kind, id.value.clone(), IgnoreReason::Shared).detail(detail));
            }
            1 if lookup.weakness.is_none() => deciding.push(lookup),
            n => {
                let weakness = if n > 1 { Some(Weakness::Shared) } else { lookup.weakness };
                for owner in &lookup.owners {
                    pointers.push(Candidate { contact_id: *owner, identity: id.clone(), weakness });
                }
            }
        }
    }
    let strongest =
        |verified: bool| deciding.iter().filter(|l| l.verified() == verified).min_by_key(|l| l.identity.kind.strength()).copied();
    let Some((winner, confidence)) =
        strongest(true).map(|l| (l, Confidence::Verified)).or_else(|| strongest(false).map(|l| (l, Confidence::Typed)))
    else {
        let candidates = unique(pointers, None);
        let decision = if !fresh.is_empty() && policy.auto_create {
            Decision::Create { identities: fresh, candidates }
        } else {
            Decision::Unidentified { candidates }
        };
        return (decision, ignored);
    };
    let contact_id = winner.owners[0];
    let mut merge = Vec::new();
    let mut candidates = Vec::new();
    for lookup in &deciding {
        let other = lookup.owners[0];
        if other == contact_id {
            continue;
        }
        let both_verified = confidence == Confidence::Verified && lookup.verified() && lookup.storable();
        if both_verified && policy.auto_merge == AutoMerge::Verified {
            if !merge.contains(&other) {
                merge.push(other);
            }
        } else {
            let weakness = (!lookup.verified()).then_some(Weakness::Typed);
            candidates.push(Candidate { contact_id: other, identity: lookup.identity.clone(), weakness });
        }
    }
    candidates.extend(pointers);
    let candidates = unique(candidates, Some(contact_id)).into_iter().filter(|c| !merge.contains(&c.contact_id)).collect();
    let learns = confidence == Confidence::Verified || policy.typed_enrichment;
    let (enrich, propose) = if learns { (fresh, Vec::new()) } else { (Vec::new(), fresh) };
    let matched_by =
        MatchedBy { kind: winner.identity.kind, value: winner.identity.value.clone(), scope: winner.identity.scope.clone() };
    (Decision::Attach { contact_id, matched_by, confidence, candidates, enrich, propose, merge }, ignored)
}

/// One candidate per contact (the first evidence found), never the chosen contact itself.
fn unique(candidates: Vec<Candidate>, chosen: Option<Uuid>) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = Vec::new();
    for candidate in candidates {
        if Some(candidate.contact_id) != chosen && !out.iter().any(|c| c.contact_id == candidate.contact_id) {
            out.push(candidate);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: Policy = Policy { shared_limit: 3, auto_create: true, typed_enrichment: false, auto_merge: AutoMerge::Never };

    fn id(kind: IdentityKind, value: &str) -> Identity {
        Identity::new(kind, value, None)
    }

    fn lookup(kind: IdentityKind, value: &str, owners: &[u128]) -> Lookup {
        Lookup::new(id(kind, value), owners.iter().map(|o| Uuid::from_u128(*o)).collect())
    }

    fn typed(kind: IdentityKind, value: &str, owners: &[u128]) -> Lookup {
        Lookup::new(id(kind, value).typed(), owners.iter().map(|o| Uuid::from_u128(*o)).collect())
    }

    fn decision(lookups: &[Lookup]) -> Decision {
        decide(lookups, POLICY).0
    }

    fn attached(decision: &Decision) -> (Uuid, Confidence) {
        match decision {
            Decision::Attach { contact_id, confidence, .. } => (*contact_id, *confidence),
            other => panic!("expected attach, got {other:?}"),
        }
    }

    #[test]
    fn an_unknown_identity_creates_a_contact_holding_it() {
        assert_eq!(
            decision(&[lookup(IdentityKind::Psid, "1", &[])]),
            Decision::Create { identities: vec![id(IdentityKind::Psid, "1")], candidates: vec![] }
        );
    }

    #[test]
    fn without_auto_create_the_interaction_stays_unidentified() {
        let policy = Policy { auto_create: false, ..POLICY };
        assert_eq!(decide(&[lookup(IdentityKind::Psid, "1", &[])], policy).0, Decision::Unidentified { candidates: vec![] });
    }

    #[test]
    fn nothing_usable_is_an_unidentified_interaction_not_a_blank_contact() {
        assert_eq!(decision(&[]), Decision::Unidentified { candidates: vec![] });
        let (got, ignored) = decide(&[lookup(IdentityKind::ContactId, "someone-elses", &[])], POLICY);
        assert_eq!(got, Decision::Unidentified { candidates: vec![] });
        assert_eq!(ignored[0].reason, IgnoreReason::UnknownContact, "a contact id of another tenant says so");
    }

    #[test]
    fn a_known_identity_attaches_and_enriches_with_the_unowned_ones() {
        let got = decision(&[lookup(IdentityKind::Psid, "1", &[7]), lookup(IdentityKind::Email, "a@b.cz", &[])]);
        assert_eq!(
            got,
            Decision::Attach {
                contact_id: Uuid::from_u128(7),
                matched_by: MatchedBy { kind: IdentityKind::Psid, value: "1".into(), scope: None },
                confidence: Confidence::Verified,
                candidates: vec![],
                enrich: vec![id(IdentityKind::Email, "a@b.cz")],
                propose: vec![],
                merge: vec![],
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
        let Decision::Attach { contact_id, matched_by, candidates, enrich, .. } = got else { panic!("expected attach") };
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
        assert_eq!(attached(&got).0, Uuid::from_u128(9));
        let linked =
            decision(&[lookup(IdentityKind::Custom, "CRM-1", &[1]), lookup(IdentityKind::ConversationLink, "conv-1", &[8])]);
        assert_eq!(attached(&linked).0, Uuid::from_u128(8));
        let created = decision(&[lookup(IdentityKind::ConversationLink, "c", &[]), lookup(IdentityKind::Psid, "2", &[])]);
        assert_eq!(created, Decision::Create { identities: vec![id(IdentityKind::Psid, "2")], candidates: vec![] });
    }

    #[test]
    fn a_value_held_by_too_many_contacts_is_ignored_as_shared() {
        let (got, ignored) = decide(
            &[lookup(IdentityKind::Phone, "+420222111000", &[1, 2, 3]), lookup(IdentityKind::Email, "e@x.cz", &[])],
            POLICY,
        );
        assert_eq!(got, Decision::Create { identities: vec![id(IdentityKind::Email, "e@x.cz")], candidates: vec![] });
        assert_eq!(ignored[0].reason, IgnoreReason::Shared);
    }

    #[test]
    fn a_value_a_few_contacts_share_decides_nothing_and_names_them_all() {
        let got = decision(&[lookup(IdentityKind::Phone, "+420777111000", &[5, 6])]);
        let Decision::Unidentified { candidates } = got else { panic!("expected unidentified, got {got:?}") };
        assert_eq!(candidates.iter().map(|c| c.contact_id).collect::<Vec<_>>(), [Uuid::from_u128(5), Uuid::from_u128(6)]);
        assert!(candidates.iter().all(|c| c.weakness == Some(Weakness::Shared)));
    }

    #[test]
    fn a_weak_identifier_alone_decides_nothing_but_points_at_its_holder() {
        let landline = lookup(IdentityKind::Phone, "+420222333444", &[4]).weak(Some(Weakness::Landline));
        let got = decision(std::slice::from_ref(&landline));
        assert_eq!(
            got,
            Decision::Unidentified {
                candidates: vec![Candidate {
                    contact_id: Uuid::from_u128(4),
                    identity: landline.identity.clone(),
                    weakness: Some(Weakness::Landline)
                }]
            }
        );
        // With a new e-mail of someone else in the household: a contact of her own, suggested.
        let got = decision(&[typed(IdentityKind::Email, "dcera@novak.cz", &[]), landline]);
        let Decision::Create { identities, candidates } = got else { panic!("expected create") };
        assert_eq!(identities.len(), 1);
        assert_eq!(candidates[0].contact_id, Uuid::from_u128(4));
    }

    #[test]
    fn a_typed_only_match_attaches_but_teaches_the_card_nothing() {
        let got =
            decision(&[typed(IdentityKind::Email, "jana@novak.cz", &[1]), typed(IdentityKind::Phone, "+420777000111", &[])]);
        let Decision::Attach { confidence, enrich, propose, .. } = &got else { panic!("expected attach") };
        assert_eq!(*confidence, Confidence::Typed);
        assert!(enrich.is_empty());
        assert_eq!(propose, &vec![id(IdentityKind::Phone, "+420777000111")]);
        let relaxed = Policy { typed_enrichment: true, ..POLICY };
        let Decision::Attach { enrich, propose, .. } = decide(
            &[typed(IdentityKind::Email, "jana@novak.cz", &[1]), typed(IdentityKind::Phone, "+420777000111", &[])],
            relaxed,
        )
        .0
        else {
            panic!("expected attach")
        };
        assert_eq!((enrich.len(), propose.len()), (1, 0), "the tenant setting relaxes it");
    }

    #[test]
    fn a_verified_identifier_its_card_holds_only_as_typed_matches_as_typed_and_merges_nothing() {
        // A visitor typed the customer's e-mail before the customer ever wrote; the customer's
        // own mail (verified) arrives with a phone nobody holds.
        let email = lookup(IdentityKind::Email, "jana@novak.cz", &[1]).held_typed(true);
        let phone = lookup(IdentityKind::Phone, "+420777000111", &[]);
        let got = decision(&[email.clone(), phone]);
        let Decision::Attach { confidence, enrich, propose, .. } = &got else { panic!("expected attach") };
        assert_eq!(*confidence, Confidence::Typed, "the card's side of the match is only typed");
        assert!(enrich.is_empty());
        assert_eq!(propose, &vec![id(IdentityKind::Phone, "+420777000111")]);

        let policy = Policy { auto_merge: AutoMerge::Verified, ..POLICY };
        let whatsapp = lookup(IdentityKind::Whatsapp, "420777000111", &[2]);
        let Decision::Attach { contact_id, merge, candidates, .. } = decide(&[whatsapp, email], policy).0 else {
            panic!("expected attach")
        };
        assert_eq!((contact_id, merge.len()), (Uuid::from_u128(2), 0), "never merged on a typed holding");
        assert_eq!(candidates[0].weakness, Some(Weakness::Typed));
    }

    #[test]
    fn a_value_proposed_to_a_card_makes_that_card_a_candidate_not_the_owner() {
        let email = lookup(IdentityKind::Email, "jana@novak.cz", &[]).proposed_to(vec![Uuid::from_u128(3)]);
        let Decision::Create { identities, candidates } = decision(&[email]) else { panic!("expected create") };
        assert_eq!(identities.len(), 1);
        assert_eq!((candidates[0].contact_id, candidates[0].weakness), (Uuid::from_u128(3), Some(Weakness::Typed)));
    }

    #[test]
    fn a_verified_identifier_outranks_a_stronger_typed_one() {
        let got = decision(&[typed(IdentityKind::Custom, "CRM-1", &[1]), lookup(IdentityKind::Phone, "+420777000111", &[2])]);
        let Decision::Attach { contact_id, confidence, candidates, .. } = got else { panic!("expected attach") };
        assert_eq!((contact_id, confidence), (Uuid::from_u128(2), Confidence::Verified));
        assert_eq!(candidates[0].weakness, Some(Weakness::Typed), "the typed evidence is marked weak");
    }

    #[test]
    fn verified_identifiers_of_two_contacts_merge_them_only_when_the_tenant_says_so() {
        let lookups = [lookup(IdentityKind::Whatsapp, "420777000111", &[1]), lookup(IdentityKind::Phone, "+420777000111", &[2])];
        let Decision::Attach { merge, candidates, .. } = decision(&lookups) else { panic!("expected attach") };
        assert!(merge.is_empty() && candidates.len() == 1, "never: a suggestion");
        let policy = Policy { auto_merge: AutoMerge::Verified, ..POLICY };
        let Decision::Attach { contact_id, merge, candidates, .. } = decide(&lookups, policy).0 else {
            panic!("expected attach")
        };
        assert_eq!((contact_id, merge, candidates.len()), (Uuid::from_u128(1), vec![Uuid::from_u128(2)], 0));
        let with_typed = [lookup(IdentityKind::Whatsapp, "420777000111", &[1]), typed(IdentityKind::Email, "x@y.cz", &[2])];
        let Decision::Attach { merge, .. } = decide(&with_typed, policy).0 else { panic!("expected attach") };
        assert!(merge.is_empty(), "a typed identifier never merges");
    }
}
