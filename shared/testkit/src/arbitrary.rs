//! Property-test input shaped like a provider's payload: JSON whose object keys come from the
//! provider's vocabulary and whose strings include its magic values, so parsers are driven deep
//! into their mapping code, not only rejected at the first field.

use proptest::prelude::*;
use serde_json::Value;

/// Arbitrary JSON (up to five levels) built from `keys` and, among other leaves, `strings`.
pub fn json_shaped_like(keys: &'static [&'static str], strings: &'static [&'static str]) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        prop::sample::select(strings).prop_map(Value::from),
        ".{0,24}".prop_map(Value::from),
    ];
    leaf.prop_recursive(5, 64, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(prop::sample::select(keys), inner, 0..8)
                .prop_map(|map| Value::Object(map.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        ]
    })
}

/// Which fields of a fixture a generated variant changes (by object key, at any depth).
#[derive(Debug, Clone, Copy)]
pub struct Variation {
    /// Ids, references and epoch timestamps: renamed consistently (one original value always
    /// becomes the same new value, so an account id, a sender or a thread still agrees across the
    /// payload), keeping their shape: digits stay digits (a leading one non-zero), hex stays hex,
    /// letters stay letters of their case, everything else stays. Strings and integers alike.
    pub ids: &'static [&'static str],
    /// Free text (messages, names, captions): replaced by [`text`].
    pub texts: &'static [&'static str],
}

/// Every JSON fixture of `tests/fixtures/<dir>` (a provider's real payloads), parsed.
pub fn json_fixtures(dir: &str) -> Vec<Value> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures").join(dir);
    let mut names: Vec<String> = std::fs::read_dir(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".json"))
        .collect();
    names.sort();
    names.iter().map(|name| serde_json::from_str(&crate::fixture(&format!("{dir}/{name}"))).expect("a JSON fixture")).collect()
}

/// Valid payloads shaped like one of `fixtures` (a provider's real payloads), with `variation`'s
/// fields generated; everything else (the provider's vocabulary, phone numbers, RFC 3339
/// dates) stays as the provider writes it, so the parser must accept every variant.
pub fn variants_of(fixtures: Vec<Value>, variation: Variation) -> impl Strategy<Value = Value> {
    let fixtures: Vec<_> = fixtures.into_iter().map(|fixture| variant_of(fixture, variation).boxed()).collect();
    proptest::strategy::Union::new(fixtures)
}

fn variant_of(fixture: Value, variation: Variation) -> impl Strategy<Value = Value> {
    let texts = count_texts(&fixture, variation.texts);
    (any::<u64>(), prop::collection::vec(text(), texts)).prop_map(move |(seed, texts)| {
        let mut variant = fixture.clone();
        vary(&mut variant, variation, seed, &mut texts.into_iter());
        variant
    })
}

/// Text as customers write it, and the cases the limits exist for: NUL, whitespace only, names
/// over their limit, messages over theirs.
pub fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        12 => "\\PC{0,60}",
        3 => "[a\u{0} \t\n]{0,8}",
        1 => "\\PC{100,300}",
        1 => (0..2usize).prop_map(|extra| "ž".repeat(contracts::limits::TEXT_BYTES / 2 + 1 + extra)),
    ]
}

fn count_texts(value: &Value, keys: &[&str]) -> usize {
    match value {
        Value::Object(map) => {
            map.iter().map(|(k, v)| if v.is_string() && keys.contains(&k.as_str()) { 1 } else { count_texts(v, keys) }).sum()
        }
        Value::Array(items) => items.iter().map(|v| count_texts(v, keys)).sum(),
        _ => 0,
    }
}

fn vary(value: &mut Value, variation: Variation, seed: u64, texts: &mut impl Iterator<Item = String>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                match value {
                    Value::String(text) if variation.texts.contains(&key.as_str()) => {
                        *text = texts.next().unwrap_or_default();
                    }
                    _ if variation.ids.contains(&key.as_str()) => rename_value(seed, value),
                    _ => vary(value, variation, seed, texts),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| vary(v, variation, seed, texts)),
        _ => {}
    }
}

/// Renames an id: a string, an integer or a list of them.
fn rename_value(seed: u64, value: &mut Value) {
    match value {
        Value::String(id) => *id = rename(seed, id),
        // The sign is kept apart, so a community's `-id` stays the negation of its `id`.
        Value::Number(number) if number.is_i64() => {
            let id = number.as_i64().unwrap_or_default();
            let renamed = rename(seed, &id.unsigned_abs().to_string()).parse::<i64>().unwrap_or_default();
            *value = Value::from(if id < 0 { -renamed } else { renamed });
        }
        Value::Array(items) => items.iter_mut().for_each(|item| rename_value(seed, item)),
        _ => {}
    }
}

/// `original` with its characters replaced by ones of the same class, the same for the same
/// `seed` and `original` (a hash of both and the position picks each character).
pub fn rename(seed: u64, original: &str) -> String {
    use std::hash::{Hash, Hasher};
    let pick = |i: usize, from: u8, count: u64| {
        let mut hasher = std::hash::DefaultHasher::new();
        (seed, original, i).hash(&mut hasher);
        char::from(from + (hasher.finish() % count) as u8)
    };
    original
        .chars()
        .enumerate()
        .map(|(i, c)| match c {
            '1'..='9' if i == 0 => pick(i, b'1', 9),
            '0'..='9' => pick(i, b'0', 10),
            'a'..='f' => pick(i, b'a', 6),
            'g'..='z' => pick(i, b'a', 26),
            'A'..='F' => pick(i, b'A', 6),
            'G'..='Z' => pick(i, b'A', 26),
            other => other,
        })
        .collect()
}
