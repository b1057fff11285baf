//! Scores what the resolver decided against the labels, per family.
//!
//! - A contact belongs to the person whose interaction created it.
//! - **Wrong attachment**: an interaction attached to a contact that belongs to another person.
//!   Not counted: an `ambiguous` interaction (it carries nothing but identifiers other people
//!   use too) whose resolution names other candidates, and a match made only by typed
//!   identifiers (`confidence: typed`: the resolution says someone may have typed another
//!   person's identifier, and the card learned nothing from it) — those are counted apart as
//!   *typed → other*, since an operator sees them flagged.
//! - **Wrong merge**: a merge in force joining two people's contacts.
//! - **Foreign identifiers**: identifiers a contact holds as verified that belong to somebody
//!   else (a card learned another person's phone or e-mail): what makes later interactions go
//!   wrong. One held only as typed (a visitor's form created their card with the e-mail they
//!   typed) is a claim, matched as typed wherever it matches; counted apart.
//! - **Foreign names**: live contacts named after somebody other than the person they belong
//!   to (a visitor's typed name replaced the customer's).
//! - **Suggestions of two people**: pairs in the duplicates queue whose contacts belong to
//!   different people (an operator should dismiss them), and how many of those show no weakness
//!   of their evidence (shared, landline, stale, typed) to warn the operator.
//! - **Pairs**: two interactions of one person, neither ambiguous, that identifiers this person
//!   used first connect (directly or through the person's other interactions) — the pairs any resolver
//!   could put together without an operator. A Messenger user who never gave anything else is
//!   a pair of islands, not a miss.
//! - **Attached automatically**: both ended on one live contact (after merges).
//! - **Attached or suggested**: that, or the duplicates queue holds their two contacts as a
//!   pair, or one stayed unidentified naming the other's contact as a candidate.

use std::collections::{BTreeMap, HashMap, HashSet};

use contracts::{Confidence, IdentityKind};
use uuid::Uuid;

use super::drive::Outcome;
use super::generate::{Family, LabelledSet};

/// The figures of one family (or of all).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Score {
    pub people: usize,
    pub interactions: usize,
    pub unidentified: usize,
    pub wrong_attachments: usize,
    pub typed_to_other: usize,
    pub foreign_identifiers: usize,
    pub foreign_typed_identifiers: usize,
    pub foreign_names: usize,
    pub merges: usize,
    pub wrong_merges: usize,
    pub suggestions_across: usize,
    pub suggestions_unflagged: usize,
    pub pairs: usize,
    pub attached: usize,
    pub attached_or_suggested: usize,
}

impl Score {
    pub fn recall_attached(&self) -> f64 {
        ratio(self.attached, self.pairs)
    }

    pub fn recall_attached_or_suggested(&self) -> f64 {
        ratio(self.attached_or_suggested, self.pairs)
    }

    fn add(&mut self, other: &Score) {
        self.people += other.people;
        self.interactions += other.interactions;
        self.unidentified += other.unidentified;
        self.wrong_attachments += other.wrong_attachments;
        self.typed_to_other += other.typed_to_other;
        self.foreign_identifiers += other.foreign_identifiers;
        self.foreign_typed_identifiers += other.foreign_typed_identifiers;
        self.foreign_names += other.foreign_names;
        self.merges += other.merges;
        self.wrong_merges += other.wrong_merges;
        self.suggestions_across += other.suggestions_across;
        self.suggestions_unflagged += other.suggestions_unflagged;
        self.pairs += other.pairs;
        self.attached += other.attached;
        self.attached_or_suggested += other.attached_or_suggested;
    }
}

fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        1.0
    } else {
        part as f64 / whole as f64
    }
}

/// The score of every family.
#[derive(Debug, Clone, Default)]
pub struct Scores {
    pub families: BTreeMap<Family, Score>,
    /// The first failures (wrong attachments and merges, pairs neither attached nor
    /// suggested), described for `--explain`.
    pub failures: Vec<String>,
}

impl Scores {
    pub fn family(&self, family: Family) -> Score {
        self.families.get(&family).copied().unwrap_or_default()
    }

    pub fn total(&self) -> Score {
        let mut total = Score::default();
        for score in self.families.values() {
            total.add(score);
        }
        total
    }
}

pub fn score(set: &LabelledSet, outcome: &Outcome) -> Scores {
    let mut families: BTreeMap<Family, Score> = Family::ALL.iter().map(|f| (*f, Score::default())).collect();
    for family in &set.people {
        families.entry(*family).or_default().people += 1;
    }

    // Who each contact belongs to: the sender of the interaction that created it.
    let mut failures = Vec::new();
    let mut owner: HashMap<Uuid, usize> = HashMap::new();
    for labelled in &set.interactions {
        if let Some((Some(contact), resolution)) = outcome.resolved.get(&labelled.event.interaction_id) {
            if resolution.created_contact {
                owner.insert(*contact, labelled.person);
            }
        }
    }

    for labelled in &set.interactions {
        let score = families.entry(labelled.family).or_default();
        score.interactions += 1;
        let Some((contact, resolution)) = outcome.resolved.get(&labelled.event.interaction_id) else {
            panic!("interaction {} was not resolved", labelled.event.interaction_id);
        };
        let Some(contact) = contact else {
            score.unidentified += 1;
            continue;
        };
        if owner.get(contact).is_none_or(|o| *o == labelled.person) {
            continue;
        }
        if labelled.ambiguous && !resolution.candidates.is_empty() {
            continue;
        }
        if resolution.confidence == Confidence::Typed {
            score.typed_to_other += 1;
        } else {
            score.wrong_attachments += 1;
            failures.push(format!("wrong attachment of person {}: {}", labelled.person, describe(labelled, outcome)));
        }
    }

    for (survivor, merged) in &outcome.merges {
        let (Some(a), Some(b)) = (owner.get(survivor), owner.get(merged)) else { continue };
        let score = families.entry(set.people[*b]).or_default();
        score.merges += 1;
        if a != b {
            score.wrong_merges += 1;
            failures.push(format!("wrong merge of {merged} (person {b}) into {survivor} (person {a})"));
        }
    }

    for pair in &outcome.suggested {
        let (Some(a), Some(b)) = (owner.get(&pair.0), owner.get(&pair.1)) else { continue };
        if a != b {
            let score = families.entry(set.people[*a]).or_default();
            score.suggestions_across += 1;
            if !outcome.flagged.contains(pair) {
                score.suggestions_unflagged += 1;
                failures.push(format!("unflagged suggestion of person {a}'s {} and person {b}'s {}", pair.0, pair.1));
            }
        }
    }

    // Who truly uses each identifier, and who used it first (the set is in time order).
    let mut users: HashMap<(IdentityKind, &str), HashSet<usize>> = HashMap::new();
    let mut first_user: HashMap<(IdentityKind, &str), usize> = HashMap::new();
    for labelled in &set.interactions {
        for (kind, value) in &labelled.owned {
            users.entry((*kind, value.as_str())).or_default().insert(labelled.person);
            first_user.entry((*kind, value.as_str())).or_insert(labelled.person);
        }
    }
    for (contact, kind, value, typed) in &outcome.identities {
        let Some(o) = owner.get(contact) else { continue };
        if users.get(&(*kind, value.as_str())).is_some_and(|u| !u.contains(o)) {
            let score = families.entry(set.people[*o]).or_default();
            if *typed {
                score.foreign_typed_identifiers += 1;
            } else {
                score.foreign_identifiers += 1;
                failures.push(format!("person {o}'s contact {contact} holds {kind} {value} of somebody else"));
            }
        }
    }

    for (contact, name) in &outcome.names {
        let (Some(o), Some(name)) = (owner.get(contact), name) else { continue };
        if *name != set.names[*o] {
            families.entry(set.people[*o]).or_default().foreign_names += 1;
        }
    }

    // Pairs, per person: interactions their own identifiers connect.
    let mut by_person: HashMap<usize, Vec<usize>> = HashMap::new();
    for (i, labelled) in set.interactions.iter().enumerate() {
        if !labelled.ambiguous {
            by_person.entry(labelled.person).or_default().push(i);
        }
    }
    let suggested: HashSet<(Uuid, Uuid)> =
        outcome.suggested.iter().map(|(a, b)| (outcome.live(*a), outcome.live(*b))).flat_map(|(a, b)| [(a, b), (b, a)]).collect();
    let place = |i: usize| -> Place {
        let (contact, resolution) = &outcome.resolved[&set.interactions[i].event.interaction_id];
        match contact {
            Some(c) => Place::Contact(outcome.live(*c)),
            None => Place::Candidates(resolution.candidates.iter().map(|c| outcome.live(c.0)).collect()),
        }
    };
    for (person, members) in &by_person {
        let score = families.entry(set.people[*person]).or_default();
        // Linked only by identifiers the person used first: a number recycled to them from
        // someone else links nothing.
        let own: Vec<Vec<(IdentityKind, String)>> = members
            .iter()
            .map(|i| {
                let owned = set.interactions[*i].owned.iter();
                owned.filter(|(kind, value)| first_user.get(&(*kind, value.as_str())) == Some(person)).cloned().collect()
            })
            .collect();
        let component = components(own.iter().collect());
        let places: Vec<Place> = members.iter().map(|i| place(*i)).collect();
        for a in 0..members.len() {
            for b in a + 1..members.len() {
                if component[a] != component[b] {
                    continue;
                }
                score.pairs += 1;
                match (&places[a], &places[b]) {
                    (Place::Contact(x), Place::Contact(y)) if x == y => {
                        score.attached += 1;
                        score.attached_or_suggested += 1;
                    }
                    (Place::Contact(x), Place::Contact(y)) if suggested.contains(&(*x, *y)) => score.attached_or_suggested += 1,
                    (Place::Contact(x), Place::Candidates(c)) | (Place::Candidates(c), Place::Contact(x)) if c.contains(x) => {
                        score.attached_or_suggested += 1
                    }
                    _ => {
                        let (x, y) = (&set.interactions[members[a]], &set.interactions[members[b]]);
                        failures.push(format!(
                            "missed pair of person {person}:\n  {}\n  {}",
                            describe(x, outcome),
                            describe(y, outcome)
                        ));
                    }
                }
            }
        }
    }
    failures.truncate(50);
    Scores { families, failures }
}

fn describe(labelled: &super::generate::Labelled, outcome: &Outcome) -> String {
    let body = &labelled.event.body;
    let identities: Vec<String> = body
        .identities
        .iter()
        .map(|i| format!("{}{}={}", i.kind, if i.is_verified() { "" } else { "(typed)" }, i.value))
        .collect();
    let (contact, resolution) = &outcome.resolved[&labelled.event.interaction_id];
    format!(
        "{} {} [{}] -> {:?} {:?} matched_by={:?} created={} candidates={:?}",
        body.occurred_at.format("%Y-%m-%d"),
        body.channel,
        identities.join(", "),
        contact.map(|c| outcome.live(c)),
        resolution.confidence,
        resolution.matched_by.as_ref().map(|m| format!("{}={}", m.kind, m.value)),
        resolution.created_contact,
        resolution.candidates.iter().map(|c| outcome.live(c.0)).collect::<Vec<_>>(),
    )
}

enum Place {
    Contact(Uuid),
    /// Unidentified, pointing at these contacts.
    Candidates(Vec<Uuid>),
}

/// Connected components of interactions linked by a shared identifier: a component id per
/// interaction.
fn components(owned: Vec<&Vec<(IdentityKind, String)>>) -> Vec<usize> {
    let mut parent: Vec<usize> = (0..owned.len()).collect();
    fn find(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let mut first: HashMap<&(IdentityKind, String), usize> = HashMap::new();
    for (i, identifiers) in owned.iter().enumerate() {
        for identifier in identifiers.iter() {
            match first.get(identifier) {
                Some(j) => {
                    let (a, b) = (find(&mut parent, i), find(&mut parent, *j));
                    parent[a] = b;
                }
                None => {
                    first.insert(identifier, i);
                }
            }
        }
    }
    (0..owned.len()).map(|i| find(&mut parent, i)).collect()
}

/// The table of one policy.
pub fn table(policy: &str, scores: &Scores) -> String {
    const HEAD: [(&str, &str); 14] = [
        ("", "people"),
        ("", "inter."),
        ("unid-", "tified"),
        ("wrong", "attach"),
        ("typed", ">other"),
        ("foreign", "ids"),
        ("foreign", "names"),
        ("", "merges"),
        ("wrong", "merges"),
        ("sugg.", "2 pers."),
        ("unflag-", "ged"),
        ("", "pairs"),
        ("recall", "auto"),
        ("recall", "+sugg."),
    ];
    let mut out = format!("auto_merge = {policy}\n");
    for row in 0..2 {
        out.push_str(&format!("{:<24}", if row == 0 { "" } else { "family" }));
        for head in HEAD {
            out.push_str(&format!(" {:>7}", if row == 0 { head.0 } else { head.1 }));
        }
        out.push('\n');
    }
    let line = |name: &str, s: &Score| {
        let counts = [
            s.people,
            s.interactions,
            s.unidentified,
            s.wrong_attachments,
            s.typed_to_other,
            s.foreign_identifiers,
            s.foreign_names,
            s.merges,
            s.wrong_merges,
            s.suggestions_across,
            s.suggestions_unflagged,
            s.pairs,
        ];
        let mut row = format!("{name:<24}");
        for count in counts {
            row.push_str(&format!(" {count:>7}"));
        }
        row.push_str(&format!(" {:>7.3} {:>7.3}\n", s.recall_attached(), s.recall_attached_or_suggested()));
        row
    };
    for family in Family::ALL {
        out.push_str(&line(family.as_str(), &scores.family(family)));
    }
    out.push_str(&line("all", &scores.total()));
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use contracts::{Channel, Direction, Identity, InteractionBody, InteractionEvent, Resolution};

    use super::*;
    use crate::resolution::generate::Labelled;

    fn labelled(n: u8, person: usize, phone: &str, ambiguous: bool) -> Labelled {
        let body = InteractionBody {
            channel: Channel::Voip,
            direction: Direction::Inbound,
            occurred_at: chrono::DateTime::from_timestamp(1_704_067_200 + i64::from(n), 0).expect("valid"),
            provider_ref: format!("call-{n}"),
            conversation_ref: None,
            identities: vec![Identity::new(IdentityKind::Phone, phone, None)],
            profile: None,
            content: None,
            call: None,
            parameters: BTreeMap::new(),
            reaction: None,
            event: None,
            sanitized: Vec::new(),
        };
        let owned = if ambiguous { vec![] } else { vec![(IdentityKind::Phone, phone.to_owned())] };
        Labelled { event: InteractionEvent::new("t", body), person, family: Family::Household, owned, ambiguous }
    }

    fn resolution(created: bool, candidates: Vec<Uuid>) -> Resolution {
        Resolution {
            created_contact: created,
            candidates: candidates.into_iter().map(Into::into).collect(),
            ..Resolution::default()
        }
    }

    /// Person 0 calls twice from their mobile; person 1 once from it (not ambiguous: the
    /// label says it is theirs) and once from a shared line.
    fn set() -> LabelledSet {
        LabelledSet {
            interactions: vec![
                labelled(0, 0, "+420601000000", false),
                labelled(1, 0, "+420601000000", false),
                labelled(2, 1, "+420602000000", false),
                labelled(3, 1, "+420222000000", true),
            ],
            people: vec![Family::Household, Family::Household],
            names: vec!["A".into(), "B".into()],
        }
    }

    fn outcome(set: &LabelledSet, decisions: Vec<(Option<Uuid>, Resolution)>) -> Outcome {
        let resolved = set.interactions.iter().map(|l| l.event.interaction_id).zip(decisions).collect();
        Outcome { resolved, ..Outcome::default() }
    }

    #[test]
    fn another_persons_interaction_on_a_contact_is_a_wrong_attachment_unless_ambiguous_and_said_so() {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let set = set();
        let o = outcome(
            &set,
            vec![
                (Some(a), resolution(true, vec![])),
                (Some(a), resolution(false, vec![])),
                (Some(a), resolution(false, vec![])),
                (Some(a), resolution(false, vec![b])),
            ],
        );
        let s = score(&set, &o).family(Family::Household);
        assert_eq!((s.wrong_attachments, s.pairs, s.attached), (1, 1, 1), "{s:?}");

        let o = outcome(
            &set,
            vec![
                (Some(a), resolution(true, vec![])),
                (None, resolution(false, vec![a])),
                (Some(b), resolution(true, vec![])),
                (Some(a), resolution(false, vec![])),
            ],
        );
        let s = score(&set, &o).family(Family::Household);
        assert_eq!(s.wrong_attachments, 1, "an ambiguous interaction attached without candidates");
        assert_eq!((s.unidentified, s.attached, s.attached_or_suggested), (1, 0, 1), "the candidate names the contact");
    }

    #[test]
    fn a_merge_of_two_peoples_contacts_is_wrong_and_pairs_count_on_the_survivor() {
        let (a, b, c) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
        let set = set();
        let mut o = outcome(
            &set,
            vec![
                (Some(a), resolution(true, vec![])),
                (Some(c), resolution(true, vec![])),
                (Some(b), resolution(true, vec![])),
                (None, resolution(false, vec![])),
            ],
        );
        o.merges = vec![(a, b), (a, c)];
        o.merged_into = [(b, a), (c, a)].into();
        let s = score(&set, &o).family(Family::Household);
        assert_eq!((s.merges, s.wrong_merges, s.attached), (2, 1, 1), "{s:?}");
    }
}
