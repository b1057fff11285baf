use super::*;
use rdkafka::Timestamp;

fn message(partition: i32, offset: i64, payload: &str) -> OwnedMessage {
    OwnedMessage::new(Some(payload.as_bytes().to_vec()), None, "t".into(), Timestamp::NotAvailable, partition, offset, None)
}

#[test]
fn offsets_to_commit_are_one_past_the_highest_per_partition() {
    let batch = [message(0, 5, "{}"), message(1, 2, "{}"), message(0, 7, "{}"), message(0, 6, "{}")];
    let offsets = next_offsets(&batch);
    assert_eq!(offsets.get(&("t".into(), 0)), Some(&8));
    assert_eq!(offsets.get(&("t".into(), 1)), Some(&3));
}

#[test]
fn messages_of_another_schema_version_are_poison() {
    #[derive(serde::Deserialize, Debug)]
    struct E {
        #[allow(dead_code)]
        v: u16,
    }
    assert!(decode::<E>(&message(0, 0, r#"{"v":1}"#)).is_ok());
    assert!(decode::<E>(&message(0, 0, r#"{"v":2}"#)).expect_err("wrong version").contains("version"));
    assert!(decode::<E>(&message(0, 0, "not json")).expect_err("not json").contains("not JSON"));
}
