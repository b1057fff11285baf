//! The webhooks the benchmark sends: realistic, signed requests of three channels from a
//! population in which about 70% of the interactions come from returning customers and 30% from
//! new ones. WhatsApp carries the phone, Messenger a page-scoped id, and the web chat form the
//! e-mail and (half of the time) the phone as well, so returning customers are found across
//! channels and some interactions carry two identifiers.

use chrono::{SecondsFormat, Utc};
use contactd::launcher::dev;
use contracts::interaction::{Channel, InteractionEvent};
use serde_json::json;
use uuid::Uuid;

/// One signed request and the interaction it yields.
pub struct Webhook {
    pub path: &'static str,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
    /// The deterministic id the interaction gets (`InteractionEvent::id_for`): the row to look
    /// for in the resolver and the timeline.
    pub interaction_id: Uuid,
}

/// What one customer uses to reach the tenant.
struct Person {
    index: u64,
    /// Digits without `+`, as WhatsApp's `wa_id` has them.
    phone: String,
    psid: String,
    email: String,
    session: Uuid,
}

impl Person {
    fn new(index: u64) -> Self {
        Self {
            index,
            phone: format!("4206{:08}", index),
            psid: format!("{}", 7_100_000_000_000_000u64 + index),
            email: format!("zakaznik.{index}@example-mail.cz"),
            session: Uuid::new_v5(&Uuid::NAMESPACE_OID, format!("bench-session-{index}").as_bytes()),
        }
    }

    fn name(&self) -> String {
        const FIRST: [&str; 6] = ["Jana", "Petr", "Marie", "Tomáš", "Eva", "Lukáš"];
        const LAST: [&str; 6] = ["Nováková", "Dvořák", "Černá", "Svoboda", "Králová", "Novotný"];
        format!("{} {} {}", FIRST[(self.index % 6) as usize], LAST[(self.index / 6 % 6) as usize], self.index)
    }
}

/// SplitMix64: reproducible choices without a dependency.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

const TEXTS: [&str; 5] = [
    "Dobrý den, objednávka mi stále nedorazila. Můžete mi prosím sdělit, kde je?",
    "Chtěla bych vrátit zboží, jak mám postupovat?",
    "Děkuji za rychlé vyřízení, vše dorazilo v pořádku.",
    "Lednice z poslední objednávky je poškozená, posílám fotky a prosím o reklamaci.",
    "Můžete mi prosím změnit adresu doručení na Vinohradská 12, Praha 2?",
];

/// Counts of what a workload holds.
#[derive(Debug, Default, Clone, Copy)]
pub struct Mix {
    pub returning: usize,
    pub new: usize,
    pub two_identifiers: usize,
    pub whatsapp: usize,
    pub messenger: usize,
    pub webchat: usize,
}

/// The customers seen so far; interactions are drawn from it (returning) or add to it (new).
pub struct Population {
    rng: Rng,
    people: u64,
    /// Tells this run's message ids from another run's on the same broker.
    run: String,
    pub mix: Mix,
}

impl Population {
    pub fn new(seed: u64, run: &str) -> Self {
        Self { rng: Rng::new(seed), people: 0, run: run.to_owned(), mix: Mix::default() }
    }

    /// The webhook of interaction number `n` (unique within the run).
    pub fn webhook(&mut self, n: usize) -> Webhook {
        let returning = self.people > 0 && self.rng.below(100) < 70;
        let person = if returning {
            self.mix.returning += 1;
            Person::new(self.rng.below(self.people))
        } else {
            self.mix.new += 1;
            self.people += 1;
            Person::new(self.people - 1)
        };
        let text = format!("{} (#{n})", TEXTS[self.rng.below(TEXTS.len() as u64) as usize]);
        let message_id = format!("{}-{n:08}", self.run);
        match self.rng.below(100) {
            0..45 => {
                self.mix.whatsapp += 1;
                whatsapp(&person, &message_id, &text)
            }
            45..70 => {
                self.mix.messenger += 1;
                messenger(&person, &message_id, &text)
            }
            _ => {
                self.mix.webchat += 1;
                let with_phone = self.rng.below(2) == 0;
                if with_phone {
                    self.mix.two_identifiers += 1;
                }
                webchat(&person, &message_id, &text, with_phone)
            }
        }
    }
}

fn hub_signature(body: &[u8]) -> String {
    format!("sha256={}", channel::signature::hmac_sha256_hex(dev::META_APP_SECRET.as_bytes(), body))
}

fn whatsapp(person: &Person, message_id: &str, text: &str) -> Webhook {
    let wamid = format!("wamid.bench.{message_id}");
    let body = json!({
        "object": "whatsapp_business_account",
        "entry": [{
            "id": "102290129340398",
            "changes": [{
                "field": "messages",
                "value": {
                    "messaging_product": "whatsapp",
                    "metadata": { "display_phone_number": "420800555123", "phone_number_id": dev::WHATSAPP_NUMBER_ID },
                    "contacts": [{ "profile": { "name": person.name() }, "wa_id": person.phone }],
                    "messages": [{
                        "from": person.phone,
                        "id": wamid,
                        "timestamp": Utc::now().timestamp().to_string(),
                        "type": "text",
                        "text": { "body": text }
                    }]
                }
            }]
        }]
    });
    let body = body.to_string().into_bytes();
    Webhook {
        path: channel_whatsapp::WEBHOOK_PATH,
        headers: vec![("content-type", "application/json".into()), ("x-hub-signature-256", hub_signature(&body))],
        interaction_id: InteractionEvent::id_for(dev::TENANT, Channel::Whatsapp, &wamid),
        body,
    }
}

fn messenger(person: &Person, message_id: &str, text: &str) -> Webhook {
    let mid = format!("m_bench_{message_id}");
    let now = Utc::now().timestamp_millis();
    let body = json!({
        "object": "page",
        "entry": [{
            "id": dev::PAGE_ID,
            "time": now,
            "messaging": [{
                "sender": { "id": person.psid },
                "recipient": { "id": dev::PAGE_ID },
                "timestamp": now,
                "message": { "mid": mid, "text": text }
            }]
        }]
    });
    let body = body.to_string().into_bytes();
    Webhook {
        path: channel_messenger::WEBHOOK_PATH,
        headers: vec![("content-type", "application/json".into()), ("x-hub-signature-256", hub_signature(&body))],
        interaction_id: InteractionEvent::id_for(dev::TENANT, Channel::Messenger, &mid),
        body,
    }
}

fn webchat(person: &Person, message_id: &str, text: &str, with_phone: bool) -> Webhook {
    let mut visitor = json!({ "name": person.name(), "email": person.email });
    if with_phone {
        visitor["phone"] = json!(format!("+{}", person.phone));
    }
    let body = json!({
        "v": 1,
        "site_id": dev::WEBCHAT_SITE,
        "session_id": person.session.to_string(),
        "message_id": message_id,
        "sent_at": Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
        "direction": "inbound",
        "text": text,
        "operator_invitation": false,
        "page_url": "https://eshop.acme.cz/objednavky",
        "visitor": visitor
    });
    let body = body.to_string().into_bytes();
    let signature = format!("sha256={}", channel::signature::hmac_sha256_hex(dev::WEBCHAT_SECRET.as_bytes(), &body));
    Webhook {
        path: channel_webchat::WEBHOOK_PATH,
        headers: vec![("content-type", "application/json".into()), ("x-webchat-signature", signature)],
        interaction_id: InteractionEvent::id_for(dev::TENANT, Channel::Webchat, &format!("{}:{message_id}", dev::WEBCHAT_SITE)),
        body,
    }
}
