//! Every event type the system publishes survives serde: serialized to JSON and parsed back it is
//! equal to itself, and serializing it again gives the same bytes (which also covers what
//! equality ignores, such as an identity's provenance). Generated over every variant of every
//! enum and every optional field, with arbitrary text.

use chrono::{DateTime, Utc};
use contracts::limits::{Action, Sanitized};
use contracts::*;
use proptest::prelude::*;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

fn text() -> impl Strategy<Value = String> {
    prop_oneof![4 => "\\PC{0,24}", 1 => "[a\u{0}\u{1}\"\\\\ \n]{0,6}"]
}

fn uuid() -> impl Strategy<Value = Uuid> {
    any::<u128>().prop_map(Uuid::from_u128)
}

fn contact_id() -> impl Strategy<Value = ContactId> {
    uuid().prop_map(ContactId)
}

/// Any instant chrono can write in RFC 3339 (years 1970–2099), to the nanosecond.
fn time() -> impl Strategy<Value = DateTime<Utc>> {
    (0..4_102_444_800i64, 0..1_000_000_000u32).prop_map(|(s, n)| DateTime::from_timestamp(s, n).expect("in range"))
}

fn channel() -> impl Strategy<Value = Channel> {
    use Channel::*;
    prop::sample::select(vec![Messenger, Whatsapp, Vk, Apple, Email, Voip, Webchat])
}

fn identity_kind() -> impl Strategy<Value = IdentityKind> {
    use IdentityKind::*;
    prop::sample::select(vec![ContactId, ConversationLink, Custom, Psid, Whatsapp, WhatsappUser, Vk, Apple, Email, Phone])
}

fn identity() -> impl Strategy<Value = Identity> {
    (identity_kind(), text(), proptest::option::of(text()), any::<bool>()).prop_map(|(kind, value, scope, typed)| {
        let identity = Identity::new(kind, value, scope);
        if typed {
            identity.typed()
        } else {
            identity
        }
    })
}

fn name_source() -> impl Strategy<Value = NameSource> {
    use NameSource::*;
    prop::sample::select(vec![Channel, Form, Oauth, HeroCard, Operator])
}

fn attachment() -> impl Strategy<Value = Attachment> {
    (proptest::option::of(text()), proptest::option::of(text()), any::<Option<u64>>(), proptest::option::of(text()))
        .prop_map(|(name, mime, size, url)| Attachment { name, mime, size, url })
}

fn content() -> impl Strategy<Value = Content> {
    (proptest::option::of(text()), proptest::option::of(text()), prop::collection::vec(attachment(), 0..3))
        .prop_map(|(text, subject, attachments)| Content { text, subject, attachments })
}

fn call() -> impl Strategy<Value = Call> {
    let status = proptest::option::of(prop::sample::select(CallStatus::ALL.to_vec()));
    (proptest::option::of(text()), proptest::option::of(text()), any::<Option<u64>>(), status, proptest::option::of(text()))
        .prop_map(|(from, to, duration_s, status, recording_url)| Call { from, to, duration_s, status, recording_url })
}

fn sanitized() -> impl Strategy<Value = Sanitized> {
    use Action::*;
    (text(), prop::sample::select(vec![Truncated, Digested, Dropped, NulRemoved, LossyUtf8]), any::<Option<u64>>())
        .prop_map(|(field, action, original_size)| Sanitized { field, action, original_size })
}

fn interaction_body() -> impl Strategy<Value = InteractionBody> {
    let profile = (proptest::option::of(text()), name_source()).prop_map(|(name, name_source)| Profile { name, name_source });
    let reaction =
        (text(), proptest::option::of(text())).prop_map(|(target_provider_ref, emoji)| Reaction { target_provider_ref, emoji });
    let event = prop::sample::select(vec![
        ConversationEvent::Closed,
        ConversationEvent::MessagingAllowed,
        ConversationEvent::MessagingDenied,
    ]);
    let head = (
        channel(),
        prop::sample::select(vec![Direction::Inbound, Direction::Outbound]),
        time(),
        text(),
        proptest::option::of(text()),
        prop::collection::vec(identity(), 0..4),
    );
    let tail = (
        proptest::option::of(profile),
        proptest::option::of(content()),
        proptest::option::of(call()),
        prop::collection::btree_map(text(), text(), 0..3),
        proptest::option::of(reaction),
        proptest::option::of(event),
        prop::collection::vec(sanitized(), 0..2),
    );
    (head, tail).prop_map(
        |(
            (channel, direction, occurred_at, provider_ref, conversation_ref, identities),
            (profile, content, call, parameters, reaction, event, sanitized),
        )| InteractionBody {
            channel,
            direction,
            occurred_at,
            provider_ref,
            conversation_ref,
            identities,
            profile,
            content,
            call,
            parameters,
            reaction,
            event,
            sanitized,
        },
    )
}

fn interaction_event() -> impl Strategy<Value = InteractionEvent> {
    (text(), interaction_body()).prop_map(|(tenant, body)| InteractionEvent::new(tenant, body))
}

fn resolved() -> impl Strategy<Value = ResolvedInteraction> {
    use IgnoreReason::*;
    let reasons = vec![
        Invalid,
        TooLong,
        Blocked,
        Own,
        RoleAddress,
        Shared,
        OwnedByOther,
        LimitPerKind,
        NotIdentifying,
        NotAcceptedFromChannels,
        UnknownContact,
    ];
    let matched =
        (identity_kind(), text(), proptest::option::of(text())).prop_map(|(kind, value, scope)| MatchedBy { kind, value, scope });
    let ignored = (identity_kind(), text(), prop::sample::select(reasons), proptest::option::of(text()))
        .prop_map(|(kind, value, reason, detail)| IgnoredIdentity { kind, value, reason, detail });
    let confidence = prop::sample::select(vec![Confidence::Verified, Confidence::Typed, Confidence::Unidentified]);
    let resolution = (
        proptest::option::of(matched),
        any::<bool>(),
        confidence,
        prop::collection::vec(contact_id(), 0..3),
        prop::collection::vec(ignored, 0..3),
        prop::collection::vec(identity(), 0..2),
        prop::collection::vec(contact_id(), 0..2),
    )
        .prop_map(|(matched_by, created_contact, confidence, candidates, ignored, proposed, merged)| Resolution {
            matched_by,
            created_contact,
            confidence,
            candidates,
            ignored,
            proposed,
            merged,
        });
    (text(), proptest::option::of(contact_id()), interaction_event(), resolution).prop_map(
        |(tenant_id, contact_id, interaction, resolution)| ResolvedInteraction {
            v: SCHEMA_VERSION,
            tenant_id,
            contact_id,
            interaction,
            resolution,
        },
    )
}

/// A JSON value of a field change. `Some(null)` is left out: JSON has one null, which reads back
/// as `None` (and is written the same either way).
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![any::<bool>().prop_map(Value::from), any::<i64>().prop_map(Value::from), text().prop_map(Value::from)];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::from),
            prop::collection::btree_map(text(), inner, 0..3).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn contact_change() -> impl Strategy<Value = ContactChange> {
    use ContactChangeKind::*;
    let kinds = vec![
        Created,
        NameChanged,
        IdentifierAdded,
        IdentifierEdited,
        IdentifierRemoved,
        Merged,
        Unmerged,
        Deleted,
        Erased,
        DuplicateSuggested,
        IdentifierProposed,
        ProposalRejected,
        ConversationLinked,
        ConversationUnlinked,
        DifferentPeople,
    ];
    let actor = prop_oneof![
        (text(), uuid()).prop_map(|(channel, interaction_id)| Actor::Channel { channel, interaction_id }),
        text().prop_map(|id| Actor::Operator { id }),
        text().prop_map(|id| Actor::Integration { id }),
    ];
    let change = (text(), proptest::option::of(json_value()), proptest::option::of(json_value()))
        .prop_map(|(field, before, after)| FieldChange { field, before, after });
    (
        (uuid(), text(), contact_id(), prop::sample::select(kinds), time()),
        (actor, text(), prop::collection::vec(change, 0..3), proptest::option::of(contact_id())),
    )
        .prop_map(|((change_id, tenant_id, contact_id, kind, occurred_at), (actor, reason, changes, related_contact_id))| {
            ContactChange {
                v: SCHEMA_VERSION,
                change_id,
                tenant_id,
                contact_id,
                kind,
                occurred_at,
                actor,
                reason,
                changes,
                related_contact_id,
            }
        })
}

fn contact_snapshot() -> impl Strategy<Value = ContactSnapshot> {
    (
        text(),
        contact_id(),
        proptest::option::of(text()),
        proptest::option::of(name_source()),
        prop::collection::vec(identity(), 0..4),
        time(),
        time(),
    )
        .prop_map(|(tenant_id, contact_id, name, name_source, identities, created_at, updated_at)| ContactSnapshot {
            v: SCHEMA_VERSION,
            tenant_id,
            contact_id,
            name,
            name_source,
            identities,
            created_at,
            updated_at,
        })
}

/// Parsed back equal, and written again byte for byte the same.
fn round_trips<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(event: &T) -> Result<(), TestCaseError> {
    let json = serde_json::to_vec(event).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let back: T =
        serde_json::from_slice(&json).map_err(|e| TestCaseError::fail(format!("{e}: {}", String::from_utf8_lossy(&json))))?;
    prop_assert_eq!(&back, event);
    let again = serde_json::to_vec(&back).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(String::from_utf8_lossy(&again), String::from_utf8_lossy(&json));
    Ok(())
}

proptest! {
    #[test]
    fn interaction_events_round_trip(event in interaction_event()) {
        round_trips(&event)?;
    }

    #[test]
    fn resolved_interactions_round_trip(event in resolved()) {
        round_trips(&event)?;
    }

    #[test]
    fn contact_changes_round_trip(event in contact_change()) {
        round_trips(&event)?;
    }

    #[test]
    fn contact_snapshots_round_trip(event in contact_snapshot()) {
        round_trips(&event)?;
    }
}
