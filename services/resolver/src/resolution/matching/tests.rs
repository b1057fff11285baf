use super::*;
use uuid::Uuid;

const POLICY: Policy = Policy { shared_limit: 3, auto_create: true, typed_enrichment: false, auto_merge: AutoMerge::Never };

fn id(kind: IdentityKind, value: &str) -> Identity {
    Identity::new(kind, value, None)
}

fn lookup(kind: IdentityKind, value: &str, owners: &[u128]) -> Lookup {
    Lookup::new(id(kind, value), owners.iter().map(|o| ContactId(Uuid::from_u128(*o))).collect())
}

fn typed(kind: IdentityKind, value: &str, owners: &[u128]) -> Lookup {
    Lookup::new(id(kind, value).typed(), owners.iter().map(|o| ContactId(Uuid::from_u128(*o))).collect())
}

fn decision(lookups: &[Lookup]) -> Decision {
    decide(lookups, POLICY).0
}

fn attached(decision: &Decision) -> (ContactId, Confidence) {
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
            contact_id: ContactId(Uuid::from_u128(7)),
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
    assert_eq!(contact_id, ContactId(Uuid::from_u128(3)));
    assert_eq!(matched_by.kind, IdentityKind::Custom);
    let ids: Vec<ContactId> = candidates.iter().map(|c| c.contact_id).collect();
    assert_eq!(ids, vec![ContactId(Uuid::from_u128(1)), ContactId(Uuid::from_u128(2))]);
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
    assert_eq!(attached(&got).0, ContactId(Uuid::from_u128(9)));
    let linked = decision(&[lookup(IdentityKind::Custom, "CRM-1", &[1]), lookup(IdentityKind::ConversationLink, "conv-1", &[8])]);
    assert_eq!(attached(&linked).0, ContactId(Uuid::from_u128(8)));
    let created = decision(&[lookup(IdentityKind::ConversationLink, "c", &[]), lookup(IdentityKind::Psid, "2", &[])]);
    assert_eq!(created, Decision::Create { identities: vec![id(IdentityKind::Psid, "2")], candidates: vec![] });
}

#[test]
fn a_value_held_by_too_many_contacts_is_ignored_as_shared() {
    let (got, ignored) =
        decide(&[lookup(IdentityKind::Phone, "+420222111000", &[1, 2, 3]), lookup(IdentityKind::Email, "e@x.cz", &[])], POLICY);
    assert_eq!(got, Decision::Create { identities: vec![id(IdentityKind::Email, "e@x.cz")], candidates: vec![] });
    assert_eq!(ignored[0].reason, IgnoreReason::Shared);
}

#[test]
fn a_value_a_few_contacts_share_decides_nothing_and_names_them_all() {
    let got = decision(&[lookup(IdentityKind::Phone, "+420777111000", &[5, 6])]);
    let Decision::Unidentified { candidates } = got else { panic!("expected unidentified, got {got:?}") };
    assert_eq!(
        candidates.iter().map(|c| c.contact_id).collect::<Vec<_>>(),
        [ContactId(Uuid::from_u128(5)), ContactId(Uuid::from_u128(6))]
    );
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
                contact_id: ContactId(Uuid::from_u128(4)),
                identity: landline.identity.clone(),
                weakness: Some(Weakness::Landline)
            }]
        }
    );
    // With a new e-mail of someone else in the household: a contact of her own, suggested.
    let got = decision(&[typed(IdentityKind::Email, "dcera@novak.cz", &[]), landline]);
    let Decision::Create { identities, candidates } = got else { panic!("expected create") };
    assert_eq!(identities.len(), 1);
    assert_eq!(candidates[0].contact_id, ContactId(Uuid::from_u128(4)));
}

#[test]
fn a_typed_only_match_attaches_but_teaches_the_card_nothing() {
    let got = decision(&[typed(IdentityKind::Email, "jana@novak.cz", &[1]), typed(IdentityKind::Phone, "+420777000111", &[])]);
    let Decision::Attach { confidence, enrich, propose, .. } = &got else { panic!("expected attach") };
    assert_eq!(*confidence, Confidence::Typed);
    assert!(enrich.is_empty());
    assert_eq!(propose, &vec![id(IdentityKind::Phone, "+420777000111")]);
    let relaxed = Policy { typed_enrichment: true, ..POLICY };
    let Decision::Attach { enrich, propose, .. } =
        decide(&[typed(IdentityKind::Email, "jana@novak.cz", &[1]), typed(IdentityKind::Phone, "+420777000111", &[])], relaxed).0
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
    assert_eq!((contact_id, merge.len()), (ContactId(Uuid::from_u128(2)), 0), "never merged on a typed holding");
    assert_eq!(candidates[0].weakness, Some(Weakness::Typed));
}

#[test]
fn a_value_proposed_to_a_card_makes_that_card_a_candidate_not_the_owner() {
    let email = lookup(IdentityKind::Email, "jana@novak.cz", &[]).proposed_to(vec![ContactId(Uuid::from_u128(3))]);
    let Decision::Create { identities, candidates } = decision(&[email]) else { panic!("expected create") };
    assert_eq!(identities.len(), 1);
    assert_eq!((candidates[0].contact_id, candidates[0].weakness), (ContactId(Uuid::from_u128(3)), Some(Weakness::Typed)));
}

#[test]
fn a_verified_identifier_outranks_a_stronger_typed_one() {
    let got = decision(&[typed(IdentityKind::Custom, "CRM-1", &[1]), lookup(IdentityKind::Phone, "+420777000111", &[2])]);
    let Decision::Attach { contact_id, confidence, candidates, .. } = got else { panic!("expected attach") };
    assert_eq!((contact_id, confidence), (ContactId(Uuid::from_u128(2)), Confidence::Verified));
    assert_eq!(candidates[0].weakness, Some(Weakness::Typed), "the typed evidence is marked weak");
}

#[test]
fn verified_identifiers_of_two_contacts_merge_them_only_when_the_tenant_says_so() {
    let lookups = [lookup(IdentityKind::Whatsapp, "420777000111", &[1]), lookup(IdentityKind::Phone, "+420777000111", &[2])];
    let Decision::Attach { merge, candidates, .. } = decision(&lookups) else { panic!("expected attach") };
    assert!(merge.is_empty() && candidates.len() == 1, "never: a suggestion");
    let policy = Policy { auto_merge: AutoMerge::Verified, ..POLICY };
    let Decision::Attach { contact_id, merge, candidates, .. } = decide(&lookups, policy).0 else { panic!("expected attach") };
    assert_eq!((contact_id, merge, candidates.len()), (ContactId(Uuid::from_u128(1)), vec![ContactId(Uuid::from_u128(2))], 0));
    let with_typed = [lookup(IdentityKind::Whatsapp, "420777000111", &[1]), typed(IdentityKind::Email, "x@y.cz", &[2])];
    let Decision::Attach { merge, .. } = decide(&with_typed, policy).0 else { panic!("expected attach") };
    assert!(merge.is_empty(), "a typed identifier never merges");
}
