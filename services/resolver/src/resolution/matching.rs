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
use contracts::ContactId;
use contracts::{Confidence, Identity, IdentityKind, IgnoreReason, IgnoredIdentity, MatchedBy};

use super::rules::AutoMerge;

/// One screened identity of the interaction and the contacts holding it, preferred first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    pub identity: Identity,
    pub owners: Vec<ContactId>,
    /// Why a single holder would still not be enough.
    pub weakness: Option<Weakness>,
    /// Contacts the value was proposed to (typed on a form that matched them): candidates,
    /// never owners.
    pub proposed_to: Vec<ContactId>,
    /// Its one holder holds it only because someone typed it: the match is as good as typed.
    pub held_typed: bool,
}

impl Lookup {
    pub fn new(identity: Identity, owners: Vec<ContactId>) -> Self {
        Self { identity, owners, weakness: None, proposed_to: Vec::new(), held_typed: false }
    }

    pub fn held_typed(mut self, typed: bool) -> Self {
        self.held_typed = typed;
        self
    }

    pub fn proposed_to(mut self, contacts: Vec<ContactId>) -> Self {
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
    pub contact_id: ContactId,
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
        contact_id: ContactId,
        matched_by: MatchedBy,
        confidence: Confidence,
        candidates: Vec<Candidate>,
        enrich: Vec<Identity>,
        propose: Vec<Identity>,
        merge: Vec<ContactId>,
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
fn unique(candidates: Vec<Candidate>, chosen: Option<ContactId>) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = Vec::new();
    for candidate in candidates {
        if Some(candidate.contact_id) != chosen && !out.iter().any(|c| c.contact_id == candidate.contact_id) {
            out.push(candidate);
        }
    }
    out
}

#[cfg(test)]
mod tests;
