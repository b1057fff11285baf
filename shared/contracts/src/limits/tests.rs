use super::*;

use crate::{Channel, Content, Direction, IdentityKind, Profile};
use proptest::prelude::*;

fn body(text: String) -> InteractionBody {
    InteractionBody {
        channel: Channel::Webchat,
        direction: Direction::Inbound,
        occurred_at: chrono::DateTime::from_timestamp(1_700_000_000, 0).expect("valid timestamp"),
        provider_ref: "m-1".into(),
        conversation_ref: Some("s-1".into()),
        identities: vec![Identity::new(IdentityKind::Email, "jana@novak.cz", None)],
        profile: Some(Profile { name: Some("Jana".into()), name_source: crate::NameSource::Form }),
        content: Some(Content { text: Some(text), ..Content::default() }),
        call: None,
        parameters: Default::default(),
        reaction: None,
        event: None,
        sanitized: Vec::new(),
    }
}

#[test]
fn a_long_text_is_kept_up_to_the_limit_with_its_original_size() {
    let mut b = body("ž".repeat(1_000_000));
    enforce(&mut b);
    let text = b.content.as_ref().and_then(|c| c.text.as_deref()).expect("text kept");
    assert!(text.len() <= TEXT_BYTES && text.len() > TEXT_BYTES - 4);
    assert_eq!(
        b.sanitized,
        vec![Sanitized { field: "content.text".into(), action: Action::Truncated, original_size: Some(2_000_000) }]
    );
}

#[test]
fn a_long_reference_becomes_its_stable_digest() {
    let mut a = body("hi".into());
    a.conversation_ref = Some("<x@y>".repeat(2000));
    let mut b = a.clone();
    enforce(&mut a);
    enforce(&mut b);
    assert_eq!(a.conversation_ref, b.conversation_ref);
    assert!(a.conversation_ref.as_deref().is_some_and(|r| r.starts_with("sha256:") && r.len() <= REF_BYTES));
}

#[test]
fn nul_characters_are_removed_and_recorded() {
    let mut b = body("a\0b".into());
    b.profile = Some(Profile { name: Some("J\0ana".into()), name_source: crate::NameSource::Form });
    enforce(&mut b);
    assert_eq!(b.content.as_ref().and_then(|c| c.text.as_deref()), Some("ab"));
    assert_eq!(b.profile.as_ref().and_then(|p| p.name.as_deref()), Some("Jana"));
    assert!(b.sanitized.iter().any(|s| s.field == "content.text" && s.action == Action::NulRemoved));
}

#[test]
fn a_long_reaction_target_is_digested_like_the_reference_it_names() {
    let long = "wamid.".repeat(100);
    let mut target = body("hi".into());
    target.provider_ref = long.clone();
    let mut reaction = body(String::new());
    reaction.reaction = Some(crate::Reaction { target_provider_ref: long, emoji: Some("👍".repeat(40)) });
    enforce(&mut target);
    enforce(&mut reaction);
    let got = reaction.reaction.as_ref().expect("reaction kept");
    assert_eq!(got.target_provider_ref, target.provider_ref);
    assert!(got.emoji.as_deref().is_some_and(|e| e.len() <= EMOJI_BYTES));
}

#[test]
fn identities_over_the_count_are_dropped_and_long_values_cut() {
    let mut b = body("hi".into());
    b.identities = (0..100).map(|i| Identity::new(IdentityKind::Custom, format!("{i}{}", "x".repeat(5000)), None)).collect();
    enforce(&mut b);
    assert_eq!(b.identities.len(), IDENTITIES);
    assert!(b.identities.iter().all(|i| i.value.len() <= IDENTITY_VALUE_BYTES));
}

fn arbitrary_body() -> impl Strategy<Value = InteractionBody> {
    let text = prop_oneof![".{0,64}", Just("\"\\".repeat(200_000)), Just("\u{1}".repeat(120_000)), "[a-z\0]{0,32}"];
    let long = prop_oneof![".{0,16}", "[a-z]{300,400}", Just("r".repeat(5000))];
    (text, long.clone(), long.clone(), prop::collection::vec((long.clone(), long), 0..60)).prop_map(
        |(text, reference, name, parameters)| {
            let mut b = body(text);
            b.provider_ref = reference.clone();
            b.conversation_ref = Some(reference);
            b.profile = Some(Profile { name: Some(name), name_source: crate::NameSource::Channel });
            b.parameters = parameters.into_iter().collect();
            b
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn an_enforced_body_fits_every_limit_and_enforcing_again_changes_nothing(mut b in arbitrary_body()) {
        enforce(&mut b);
        let size = serde_json::to_vec(&b).expect("serializable").len();
        prop_assert!(size < INGESTED_EVENT_BYTES, "{size} bytes");
        prop_assert!(b.provider_ref.len() <= REF_BYTES);
        prop_assert!(b.parameters.len() <= PARAMETERS);
        prop_assert!(!serde_json::to_string(&b).expect("serializable").contains("\\u0000"));
        let once = b.clone();
        enforce(&mut b);
        prop_assert_eq!(b, once);
    }
}

#[test]
fn tenant_ids_are_short_plain_ascii_words() {
    for ok in ["acme", "globex-cz", "t_1.eu", "3c9e7a51-2b4d-4f68-9a0c-1e3b5d7f9a24", &"x".repeat(TENANT_ID_BYTES)] {
        assert!(is_tenant_id(ok), "{ok}");
    }
    let long = "x".repeat(TENANT_ID_BYTES + 1);
    for bad in ["", " ", "acme|vk", "a b", "a\u{0}b", "tab\t", "ačme", "<script>", "a/b", "a:b", &long] {
        assert!(!is_tenant_id(bad), "{bad:?}");
    }
}
