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
