//! A labelled set of cross-channel people for one tenant, seeded and deterministic: each person
//! has a ground-truth id and reaches the contact center over several channels, writing their
//! identifiers in the variants customers use — plus the hostile families, whose identifiers
//! mislead (DESIGN.md §4, issue 12).
//!
//! Every interaction is a real `contracts::InteractionEvent` shaped as the channel adapters
//! publish it (a WhatsApp `wa_id` with the phone it implies, a form's fields typed, a caller id
//! in E.164), labelled with the person who sent it, the identifiers that truly belong to that
//! person, and whether it carries nothing but identifiers other people use too (`ambiguous`).

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use contracts::{Channel, Content, Direction, Identity, IdentityKind, InteractionBody, InteractionEvent, NameSource, Profile};

/// The tenant every generated interaction belongs to.
pub const TENANT: &str = "eval";
/// The placeholder a logged-in web chat carries until the driver puts the person's contact id
/// there (the site knows its customer's contact id; the generator cannot).
pub const LOGIN_PREFIX: &str = "login:";
const PAGE: &str = "page-1";
const WABA: &str = "waba-1";
const VK_GROUP: &str = "218374651";
const APPLE_BUSINESS: &str = "b7a4e1c2";

/// Where a person comes from: ordinary customers, or one of the hostile families.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    /// Customers over 2–5 channels, identifiers in every variant.
    CrossChannel,
    /// Two people calling from one landline, each with their own e-mail or mobile.
    Household,
    /// Colleagues writing from one role mailbox (`info@`), each with their own mobile.
    SharedMailbox,
    /// Two people with the same name and nothing else in common.
    Namesakes,
    /// One person calling from two mobiles.
    TwoNumbers,
    /// A mobile used by one person, then (after more than a year) by a new owner.
    RecycledNumber,
    /// A visitor typing a customer's e-mail (and their own phone) into the web chat form.
    TypedForeignEmail,
}

impl Family {
    pub const ALL: [Family; 7] = [
        Family::CrossChannel,
        Family::Household,
        Family::SharedMailbox,
        Family::Namesakes,
        Family::TwoNumbers,
        Family::RecycledNumber,
        Family::TypedForeignEmail,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Family::CrossChannel => "cross-channel",
            Family::Household => "household landline",
            Family::SharedMailbox => "shared mailbox info@",
            Family::Namesakes => "namesakes",
            Family::TwoNumbers => "one person two numbers",
            Family::RecycledNumber => "recycled number",
            Family::TypedForeignEmail => "typed foreign e-mail",
        }
    }

    pub fn hostile(self) -> bool {
        self != Family::CrossChannel
    }
}

/// One generated interaction and its ground truth.
#[derive(Debug, Clone)]
pub struct Labelled {
    pub event: InteractionEvent,
    /// The person who sent it.
    pub person: usize,
    pub family: Family,
    /// Identifiers (kind, canonical value) in the event that the sender truly uses (a shared
    /// landline, a number they got recycled too); a value someone else's (a typed foreign
    /// e-mail) is not among them.
    pub owned: Vec<(IdentityKind, String)>,
    /// It carries nothing but identifiers other people use too (the household landline, the
    /// role mailbox, a recycled number): nobody could tell who sent it.
    pub ambiguous: bool,
}

/// A labelled set: the interactions in the order they happened.
#[derive(Debug, Clone)]
pub struct LabelledSet {
    pub interactions: Vec<Labelled>,
    /// The family of every person (indexed by person).
    pub people: Vec<Family>,
    /// The name of every person (indexed by person).
    pub names: Vec<String>,
}

/// How many people of each kind.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Ordinary cross-channel customers.
    pub people: usize,
    /// Cases of each hostile family.
    pub cases: usize,
    pub seed: u64,
}

/// SplitMix64: small, seeded and the same everywhere, so a seed names one set.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn range(&mut self, low: usize, high: usize) -> usize {
        low + self.below(high - low + 1)
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const FIRST: [&str; 16] = [
    "Jan", "Petr", "Jana", "Eva", "Tomáš", "Lucie", "Martin", "Hana", "Jiří", "Anna", "Pavel", "Tereza", "Karel", "Marie",
    "Lukáš", "Veronika",
];
const LAST: [&str; 16] = [
    "Novák",
    "Svoboda",
    "Dvořák",
    "Černý",
    "Procházka",
    "Kučera",
    "Veselý",
    "Horák",
    "Němec",
    "Marek",
    "Pokorný",
    "Král",
    "Jelínek",
    "Růžička",
    "Beneš",
    "Fiala",
];
const DOMAINS: [&str; 5] = ["seznam.cz", "gmail.com", "email.cz", "centrum.cz", "post.cz"];
/// Mobile prefixes in use, and ones libphonenumber does not know as allocated but which are
/// possible (right length and prefix): numbers get allocated faster than metadata ships.
const MOBILE_PREFIXES: [u32; 14] = [601, 602, 603, 604, 605, 606, 608, 702, 720, 724, 730, 737, 775, 777];
const UNALLOCATED_PREFIXES: [u32; 4] = [711, 712, 716, 718];

fn ascii(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'á' => 'a',
            'č' => 'c',
            'ď' => 'd',
            'é' | 'ě' => 'e',
            'í' => 'i',
            'ň' => 'n',
            'ó' => 'o',
            'ř' => 'r',
            'š' => 's',
            'ť' => 't',
            'ú' | 'ů' => 'u',
            'ý' => 'y',
            'ž' => 'z',
            c => c,
        })
        .collect::<String>()
        .to_lowercase()
}

/// A person's identifiers (canonical forms; the variants are written when used).
#[derive(Debug, Clone)]
struct Person {
    id: usize,
    family: Family,
    name: String,
    /// National significant number of their mobile (9 digits).
    mobile: String,
    email: String,
    psid: String,
    vk: String,
    apple: String,
    wa_user: String,
}

/// Builds the interactions of a labelled set.
struct Generator {
    rng: Rng,
    used: HashSet<String>,
    people: Vec<Family>,
    names: Vec<String>,
    out: Vec<Labelled>,
    counter: usize,
    epoch: DateTime<Utc>,
}

impl Generator {
    /// Nothing generated yet; time starts on 2024-01-01.
    fn new(seed: u64) -> Self {
        let epoch = DateTime::<Utc>::from_timestamp(1_704_067_200, 0).expect("2024-01-01 is a valid time");
        Self { rng: Rng(seed), used: HashSet::new(), people: Vec::new(), names: Vec::new(), out: Vec::new(), counter: 0, epoch }
    }

    fn unique(&mut self, mut make: impl FnMut(&mut Rng) -> String) -> String {
        loop {
            let value = make(&mut self.rng);
            if self.used.insert(value.clone()) {
                return value;
            }
        }
    }

    fn mobile(&mut self) -> String {
        self.unique(|rng| {
            let prefix = if rng.chance(30) { *rng.pick(&UNALLOCATED_PREFIXES) } else { *rng.pick(&MOBILE_PREFIXES) };
            format!("{prefix}{:06}", rng.below(1_000_000))
        })
    }

    /// A Prague fixed line (`2xx xxx xxx`).
    fn landline(&mut self) -> String {
        self.unique(|rng| format!("2{:02}{:06}", rng.range(10, 99), rng.below(1_000_000)))
    }

    fn person(&mut self, family: Family, name: Option<String>) -> Person {
        let id = self.people.len();
        self.people.push(family);
        let name = name.unwrap_or_else(|| format!("{} {}", self.rng.pick(&FIRST), self.rng.pick(&LAST)));
        self.names.push(name.clone());
        let (first, last) = name.split_once(' ').unwrap_or((&name, ""));
        let (first, last) = (ascii(first), ascii(last));
        let email = self.unique(|rng| {
            let n = rng.below(1000);
            let domain = rng.pick(&DOMAINS);
            format!("{first}.{last}{n}@{domain}")
        });
        let psid = self.unique(|rng| format!("{}", 2_000_000_000_000_000u64 + rng.next() % 1_000_000_000_000_000));
        let vk = self.unique(|rng| format!("{}", 100_000_000 + rng.below(800_000_000)));
        let apple = self.unique(|rng| format!("urn:mbid:AQAA{:012x}", rng.next() % 0xFFFF_FFFF_FFFF));
        let wa_user = self.unique(|rng| format!("CZ.{}", 1_000_000_000_000_000u64 + rng.next() % 9_000_000_000_000_000));
        let mobile = self.mobile();
        Person { id, family, name, mobile, email, psid, vk, apple, wa_user }
    }

    fn at(&mut self, first_day: usize, last_day: usize) -> DateTime<Utc> {
        let day = self.rng.range(first_day, last_day) as i64;
        self.epoch + Duration::days(day) + Duration::seconds(self.rng.below(86_400) as i64)
    }

    /// An e-mail as people write it: case changed, spaces around, `mailto:`.
    fn email_variant(&mut self, email: &str) -> String {
        let (local, domain) = email.split_once('@').unwrap_or((email, ""));
        match self.rng.below(5) {
            0 => format!("{}@{}", capitalize_parts(local), domain),
            1 => format!("{local}@{}", domain.to_uppercase()),
            2 => format!(" {email} "),
            3 => email.to_uppercase(),
            _ => email.to_owned(),
        }
    }

    /// A Czech number as people type it: national, spaced, dashed, `+420`, `00420`.
    fn phone_variant(&mut self, national: &str) -> String {
        let (a, b, c) = (&national[0..3], &national[3..6], &national[6..9]);
        match self.rng.below(6) {
            0 => national.to_owned(),
            1 => format!("{a} {b} {c}"),
            2 => format!("+420 {a} {b} {c}"),
            3 => format!("00420{national}"),
            4 => format!("{a}-{b}-{c}"),
            _ => format!("+420{national}"),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        person: &Person,
        channel: Channel,
        at: DateTime<Utc>,
        identities: Vec<Identity>,
        name: Option<(&str, NameSource)>,
        owned: Vec<(IdentityKind, String)>,
        ambiguous: bool,
    ) {
        self.counter += 1;
        let provider_ref = format!("{}-{}", channel.as_str(), self.counter);
        let body = InteractionBody {
            channel,
            direction: Direction::Inbound,
            occurred_at: at,
            conversation_ref: Some(format!("conversation-{provider_ref}")),
            provider_ref,
            identities,
            profile: name.map(|(n, source)| Profile { name: Some(n.to_owned()), name_source: source }),
            content: Some(Content {
                text: Some(format!("message {} from person {}", self.counter, person.id)),
                ..Content::default()
            }),
            call: None,
            parameters: BTreeMap::new(),
            reaction: None,
            event: None,
            sanitized: Vec::new(),
        };
        let event = InteractionEvent::new(TENANT, body);
        self.out.push(Labelled { event, person: person.id, family: person.family, owned, ambiguous });
    }

    fn call(&mut self, p: &Person, national: &str, at: DateTime<Utc>, ambiguous: bool) {
        let e164 = format!("+420{national}");
        let owned = vec![(IdentityKind::Phone, e164.clone())];
        self.push(p, Channel::Voip, at, vec![Identity::new(IdentityKind::Phone, e164, None)], None, owned, ambiguous);
    }

    /// `number`: the wa_id's national number; `hidden`: the user hides it (only the
    /// business-scoped user id), `both`: a message carrying the wa_id and the user id.
    fn whatsapp(&mut self, p: &Person, number: Option<&str>, at: DateTime<Utc>, ambiguous: bool) {
        let mut identities = Vec::new();
        let mut owned = Vec::new();
        if let Some(national) = number {
            let wa_id = format!("420{national}");
            identities.push(Identity::new(IdentityKind::Whatsapp, wa_id.clone(), None));
            identities.push(Identity::new(IdentityKind::Phone, format!("+{wa_id}"), None));
            owned.push((IdentityKind::Whatsapp, wa_id.clone()));
            owned.push((IdentityKind::Phone, format!("+{wa_id}")));
        }
        // WhatsApp sends the business-scoped user id beside some wa_ids, and alone when the
        // user hides their number; it is the sender's own, so it makes a message attributable.
        let mut ambiguous = ambiguous;
        if number.is_none() || self.rng.chance(50) {
            identities.push(Identity::new(IdentityKind::WhatsappUser, p.wa_user.clone(), Some(WABA.into())));
            owned.push((IdentityKind::WhatsappUser, p.wa_user.clone()));
            ambiguous = false;
        }
        let name = p.name.clone();
        self.push(p, Channel::Whatsapp, at, identities, Some((&name, NameSource::Channel)), owned, ambiguous);
    }

    fn mail(&mut self, p: &Person, from: &str, at: DateTime<Utc>, ambiguous: bool) {
        let written = self.email_variant(from);
        let owned = vec![(IdentityKind::Email, from.to_owned())];
        let name = p.name.clone();
        let identities = vec![Identity::new(IdentityKind::Email, written, None)];
        self.push(p, Channel::Email, at, identities, Some((&name, NameSource::Channel)), owned, ambiguous);
    }

    /// A web chat whose visitor typed an e-mail and/or a phone (typed provenance) and a name.
    fn form(
        &mut self,
        p: &Person,
        email: Option<&str>,
        phone: Option<&str>,
        at: DateTime<Utc>,
        owned: Vec<(IdentityKind, String)>,
    ) {
        let mut identities = Vec::new();
        if let Some(email) = email {
            identities.push(Identity::new(IdentityKind::Email, self.email_variant(email), None).typed());
        }
        if let Some(national) = phone {
            identities.push(Identity::new(IdentityKind::Phone, self.phone_variant(national), None).typed());
        }
        let name = p.name.clone();
        self.push(p, Channel::Webchat, at, identities, Some((&name, NameSource::Form)), owned, false);
    }

    fn ordinary(&mut self) {
        let p = self.person(Family::CrossChannel, None);
        let channels = self.rng.range(2, 5);
        let mut kinds: Vec<usize> = (0..8).collect();
        for i in 0..channels {
            let j = i + self.rng.below(kinds.len() - i);
            kinds.swap(i, j);
        }
        let hidden = self.rng.chance(30);
        let mobile = p.mobile.clone();
        let phone = (IdentityKind::Phone, format!("+420{mobile}"));
        let email = (IdentityKind::Email, p.email.clone());
        for &kind in &kinds[..channels] {
            let times = self.rng.range(1, 3);
            for n in 0..times {
                let at = self.at(0, 540);
                match kind {
                    0 => self.call(&p, &mobile, at, false),
                    // A user hiding their number: WhatsApp still sends the wa_id on the first
                    // message (the transition), the user id on every one.
                    1 => {
                        let number = (!hidden || n == 0).then_some(mobile.as_str());
                        self.whatsapp(&p, number, at, false);
                    }
                    2 => {
                        let from = p.email.clone();
                        self.mail(&p, &from, at, false);
                    }
                    3 => {
                        // A form with the e-mail, the phone or both; sometimes a Gmail address
                        // written without its dots (the same mailbox, another value) beside the phone.
                        let (e, ph) = match self.rng.below(3) {
                            0 => (Some(p.email.clone()), None),
                            1 => (None, Some(mobile.clone())),
                            _ => (Some(p.email.clone()), Some(mobile.clone())),
                        };
                        let dotless = ph.is_some() && e.is_some() && p.email.ends_with("@gmail.com") && self.rng.chance(50);
                        let e = if dotless { e.map(|e| undotted(&e)) } else { e };
                        let mut owned = Vec::new();
                        if let Some(e) = &e {
                            owned.push((IdentityKind::Email, e.clone()));
                        }
                        if ph.is_some() {
                            owned.push(phone.clone());
                        }
                        self.form(&p, e.as_deref(), ph.as_deref(), at, owned);
                    }
                    4 => {
                        // A logged-in visitor: the site sends its contact id and the account's e-mail.
                        let mut identities =
                            vec![Identity::new(IdentityKind::ContactId, format!("{LOGIN_PREFIX}{}", p.id), None)];
                        identities.push(Identity::new(IdentityKind::Email, p.email.clone(), None).typed());
                        let name = p.name.clone();
                        self.push(
                            &p,
                            Channel::Webchat,
                            at,
                            identities,
                            Some((&name, NameSource::Form)),
                            vec![email.clone()],
                            false,
                        );
                    }
                    5 => {
                        let ids = vec![Identity::new(IdentityKind::Psid, p.psid.clone(), Some(PAGE.into()))];
                        let name = p.name.clone();
                        let owned = vec![(IdentityKind::Psid, p.psid.clone())];
                        self.push(&p, Channel::Messenger, at, ids, Some((&name, NameSource::Channel)), owned, false);
                    }
                    6 => {
                        let ids = vec![Identity::new(IdentityKind::Vk, p.vk.clone(), Some(VK_GROUP.into()))];
                        let name = p.name.clone();
                        let owned = vec![(IdentityKind::Vk, p.vk.clone())];
                        self.push(&p, Channel::Vk, at, ids, Some((&name, NameSource::Channel)), owned, false);
                    }
                    _ => {
                        let ids = vec![Identity::new(IdentityKind::Apple, p.apple.clone(), Some(APPLE_BUSINESS.into()))];
                        let owned = vec![(IdentityKind::Apple, p.apple.clone())];
                        self.push(&p, Channel::Apple, at, ids, None, owned, false);
                    }
                }
            }
        }
    }

    /// Two people, one landline: each calls from it (nobody can tell who), each has their own
    /// e-mail or mobile, and each types the landline beside it into a form.
    fn household(&mut self) {
        let landline = self.landline();
        let line = (IdentityKind::Phone, format!("+420{landline}"));
        let a = self.person(Family::Household, None);
        let b = self.person(Family::Household, None);
        for _ in 0..2 {
            let at = self.at(0, 300);
            self.call(&a, &landline, at, true);
            let at = self.at(0, 300);
            self.mail(&a, &a.email, at, false);
        }
        let at = self.at(0, 300);
        self.form(&a, Some(&a.email), Some(&landline), at, vec![(IdentityKind::Email, a.email.clone()), line.clone()]);
        for _ in 0..2 {
            let at = self.at(0, 300);
            self.whatsapp(&b, Some(&b.mobile), at, false);
        }
        let at = self.at(0, 300);
        self.call(&b, &landline, at, true);
        let at = self.at(0, 300);
        self.call(&b, &b.mobile, at, false);
        let at = self.at(0, 300);
        self.form(&b, Some(&b.email), Some(&landline), at, vec![(IdentityKind::Email, b.email.clone()), line]);
    }

    /// Three colleagues writing from `info@` (which identifies nobody), each with their own
    /// mobile, one typing `info@` beside it into a form, one their own address.
    fn shared_mailbox(&mut self, case: usize) {
        let info = format!("info@firma{case}.cz");
        for _ in 0..3 {
            let c = self.person(Family::SharedMailbox, None);
            let phone = (IdentityKind::Phone, format!("+420{}", c.mobile));
            for _ in 0..2 {
                let at = self.at(0, 300);
                self.mail(&c, &info, at, true);
                let at = self.at(0, 300);
                self.call(&c, &c.mobile, at, false);
            }
            let at = self.at(0, 300);
            self.form(&c, Some(&info), Some(&c.mobile), at, vec![phone.clone()]);
            let at = self.at(0, 300);
            self.form(&c, Some(&c.email), Some(&c.mobile), at, vec![(IdentityKind::Email, c.email.clone()), phone]);
        }
    }

    /// Two people of one name, nothing else shared.
    fn namesakes(&mut self) {
        let name = format!("{} {}", self.rng.pick(&FIRST), self.rng.pick(&LAST));
        for _ in 0..2 {
            let p = self.person(Family::Namesakes, Some(name.clone()));
            let at = self.at(0, 300);
            self.call(&p, &p.mobile, at, false);
            let at = self.at(0, 300);
            self.mail(&p, &p.email, at, false);
            let at = self.at(0, 300);
            let owned = vec![(IdentityKind::Email, p.email.clone()), (IdentityKind::Phone, format!("+420{}", p.mobile))];
            self.form(&p, Some(&p.email), Some(&p.mobile), at, owned);
            let at = self.at(0, 300);
            self.whatsapp(&p, Some(&p.mobile), at, false);
        }
    }

    /// One person, two mobiles; a form ties the second one to the e-mail.
    fn two_numbers(&mut self) {
        let p = self.person(Family::TwoNumbers, None);
        let second = self.mobile();
        for _ in 0..2 {
            let at = self.at(0, 300);
            self.call(&p, &p.mobile, at, false);
            let at = self.at(0, 300);
            self.call(&p, &second, at, false);
            let at = self.at(0, 300);
            self.mail(&p, &p.email, at, false);
        }
        let at = self.at(0, 300);
        self.whatsapp(&p, Some(&p.mobile), at, false);
        let at = self.at(0, 300);
        let owned = vec![(IdentityKind::Email, p.email.clone()), (IdentityKind::Phone, format!("+420{second}"))];
        self.form(&p, Some(&p.email), Some(&second), at, owned);
    }

    /// A mobile used by A in the first year, by B after more than a year of silence.
    fn recycled_number(&mut self) {
        let a = self.person(Family::RecycledNumber, None);
        let mut b = self.person(Family::RecycledNumber, None);
        b.mobile = a.mobile.clone();
        let number = (IdentityKind::Phone, format!("+420{}", a.mobile));
        for _ in 0..2 {
            let at = self.at(0, 200);
            self.call(&a, &a.mobile, at, false);
        }
        let at = self.at(0, 200);
        self.whatsapp(&a, Some(&a.mobile), at, false);
        let at = self.at(0, 200);
        self.mail(&a, &a.email, at, false);
        let at = self.at(0, 200);
        self.form(&a, Some(&a.email), Some(&a.mobile), at, vec![(IdentityKind::Email, a.email.clone()), number.clone()]);
        for _ in 0..2 {
            let at = self.at(700, 900);
            self.call(&b, &b.mobile, at, true);
        }
        let at = self.at(700, 900);
        self.whatsapp(&b, Some(&b.mobile), at, true);
        let at = self.at(700, 900);
        self.mail(&b, &b.email, at, false);
        let at = self.at(700, 900);
        self.form(&b, Some(&b.email), Some(&b.mobile), at, vec![(IdentityKind::Email, b.email.clone()), number]);
    }

    /// A customer X (e-mail, calls) and a visitor V who types X's e-mail and V's own phone into
    /// the web chat form, then calls from that phone and writes from their own e-mail. In every
    /// other case the visitor comes first, before X ever wrote.
    fn typed_foreign_email(&mut self, case: usize) {
        let x = self.person(Family::TypedForeignEmail, None);
        let v = self.person(Family::TypedForeignEmail, None);
        let (form_from, x_from) = if case % 2 == 1 { (0, 60) } else { (101, 0) };
        let first = self.at(x_from, x_from + 40);
        self.mail(&x, &x.email, first, false);
        let at = self.at(x_from + 100, 300);
        self.mail(&x, &x.email, at, false);
        for _ in 0..2 {
            let at = self.at(x_from, 300);
            self.call(&x, &x.mobile, at, false);
        }
        let at = self.at(form_from, form_from + 50);
        self.form(&v, Some(&x.email), Some(&v.mobile), at, vec![(IdentityKind::Phone, format!("+420{}", v.mobile))]);
        for _ in 0..2 {
            let at = self.at(201, 300);
            self.call(&v, &v.mobile, at, false);
        }
        let at = self.at(201, 300);
        self.mail(&v, &v.email, at, false);
    }
}

fn capitalize_parts(local: &str) -> String {
    local
        .split('.')
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
        })
        .collect::<Vec<String>>()
        .join(".")
}

/// `jan.novak7@gmail.com` → `jannovak7@gmail.com`.
fn undotted(email: &str) -> String {
    let (local, domain) = email.split_once('@').unwrap_or((email, ""));
    format!("{}@{domain}", local.replace('.', ""))
}

/// Generates the labelled set of `shape`: the same shape and seed give the same set.
pub fn generate(shape: Shape) -> LabelledSet {
    let mut g = Generator::new(shape.seed);
    for _ in 0..shape.people {
        g.ordinary();
    }
    for case in 0..shape.cases {
        g.household();
        g.shared_mailbox(case);
        g.namesakes();
        g.two_numbers();
        g.recycled_number();
        g.typed_foreign_email(case);
    }
    // The order they happened in (ties by generation order, so the order is still fixed).
    g.out.sort_by_key(|l| l.event.body.occurred_at);
    LabelledSet { interactions: g.out, people: g.people, names: g.names }
}

/// A tangle for equivalence checks, not for scoring: `interactions` interactions of a few
/// `people` over years, through every channel, with forms that type
/// another person's e-mail or phone — so one batch holds the same identifiers many times, a
/// contact is renamed and enriched several times within a batch, and numbers go stale between
/// two interactions of one batch.
pub fn tangle(seed: u64, people: usize, interactions: usize) -> LabelledSet {
    let mut g = Generator::new(seed);
    let people: Vec<Person> = (0..people).map(|_| g.person(Family::CrossChannel, None)).collect();
    let landline = g.landline();
    for i in 0..interactions {
        let p = g.rng.pick(&people).clone();
        let other = g.rng.pick(&people).clone();
        // Each batch spans 500 days and starts where the last one ended: a number seen in one
        // batch may be stale at its end and fresh again after a sighting in the middle.
        let (batch, within) = ((i / super::drive::BATCH) as i64, (i % super::drive::BATCH) as i64);
        let at = g.epoch + Duration::days(batch * 500 + within * 500 / super::drive::BATCH as i64);
        match g.rng.below(40) {
            0..=9 => g.call(&p, &p.mobile, at, false),
            10 => g.call(&p, &landline, at, true),
            11..=20 => g.whatsapp(&p, Some(&p.mobile), at, false),
            21..=23 => g.whatsapp(&p, None, at, false),
            24..=31 => g.mail(&p, &p.email, at, false),
            32..=37 => g.form(&p, Some(&p.email), Some(&p.mobile), at, Vec::new()),
            38 => g.form(&p, Some(&other.email), None, at, Vec::new()),
            _ => g.form(&p, Some(&p.email), Some(&other.mobile), at, Vec::new()),
        }
    }
    LabelledSet { interactions: g.out, people: g.people, names: g.names }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_seed_gives_one_set() {
        let shape = Shape { people: 30, cases: 2, seed: 7 };
        let (a, b) = (generate(shape), generate(shape));
        let ids = |s: &LabelledSet| s.interactions.iter().map(|l| l.event.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&a), ids(&b));
        assert_ne!(ids(&a), ids(&generate(Shape { seed: 8, ..shape })));
    }

    #[test]
    fn every_hostile_family_is_present() {
        let set = generate(Shape { people: 5, cases: 1, seed: 1 });
        for family in Family::ALL {
            assert!(set.interactions.iter().any(|l| l.family == family), "{family:?}");
        }
    }
}
