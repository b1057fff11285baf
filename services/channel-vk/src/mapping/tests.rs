use super::*;

fn map(json: &str) -> Option<AccountInteraction> {
    let event: Event = serde_json::from_str(json).expect("valid event");
    interaction(&event).expect("normalizes")
}

fn param<'a>(body: &'a InteractionBody, key: &str) -> Option<&'a str> {
    body.parameters.get(key).map(String::as_str)
}

#[test]
fn a_new_message_is_inbound_from_its_author_scoped_to_the_community() {
    let got = map(r#"{"type":"message_new","group_id":218374651,"event_id":"e1","v":"5.199","object":{"message":
                {"date":1764070199,"from_id":512093847,"id":841,"out":0,"peer_id":512093847,"text":"Dobrý den",
                 "conversation_message_id":17,"attachments":[],"fwd_messages":[]},"client_info":{"lang_id":0}}}"#)
    .expect("an interaction");
    assert_eq!(got.account, "218374651");
    let body = got.body;
    assert_eq!(body.direction, Direction::Inbound);
    assert_eq!(body.identities, vec![Identity::new(IdentityKind::Vk, "512093847", Some("218374651".into()))]);
    assert_eq!(body.provider_ref, "218374651:512093847:17");
    assert_eq!(body.conversation_ref.as_deref(), Some("218374651:512093847"));
    assert_eq!(body.occurred_at.timestamp(), 1_764_070_199);
    assert_eq!(body.content.as_ref().and_then(|c| c.text.as_deref()), Some("Dobrý den"));
    assert_eq!(param(&body, param::VK_EVENT_ID), Some("e1"));
}

#[test]
fn a_reply_is_outbound_to_the_peer_and_an_edit_keeps_the_provider_ref() {
    let reply = map(
            r#"{"type":"message_reply","group_id":218374651,"object":{"date":1764070300,"from_id":-218374651,"id":842,"out":1,
                "peer_id":512093847,"text":"Dobrý den, podíváme se na to.","conversation_message_id":18,"admin_author_id":7734521}}"#,
        )
        .expect("an interaction")
        .body;
    assert_eq!(reply.direction, Direction::Outbound);
    assert_eq!(reply.identities[0].value, "512093847");
    assert_eq!(param(&reply, param::ADMIN_AUTHOR_ID), Some("7734521"));
    let edit = map(
        r#"{"type":"message_edit","group_id":218374651,"object":{"date":1764070300,"update_time":1764070360,"from_id":-218374651,
                "id":842,"out":1,"peer_id":512093847,"text":"Dobrý den, už se na to díváme.","conversation_message_id":18}}"#,
    )
    .expect("an interaction")
    .body;
    assert_eq!(edit.provider_ref, reply.provider_ref);
    assert_eq!(edit.direction, Direction::Outbound);
    assert_eq!(param(&edit, param::EDITED_AT), Some("2025-11-25T11:32:40Z"));
}

#[test]
fn a_legacy_message_new_object_is_the_message_itself() {
    let body = map(r#"{"type":"message_new","group_id":1,"object":{"date":1,"from_id":5,"peer_id":5,"id":9,"text":"Ahoj"}}"#)
        .expect("an interaction")
        .body;
    assert_eq!(body.provider_ref, "1:5:m9");
}

#[test]
fn attachments_carry_name_mime_size_and_url() {
    let body = map(
            r#"{"type":"message_new","group_id":1,"object":{"message":{"date":1,"from_id":5,"peer_id":5,"conversation_message_id":3,"text":"",
                "attachments":[
                  {"type":"photo","photo":{"id":457239017,"owner_id":5,"sizes":[
                    {"type":"s","url":"https://sun9-1.userapi.com/s.jpg","width":75,"height":56},
                    {"type":"w","url":"https://sun9-1.userapi.com/w.jpg","width":1280,"height":960}]}},
                  {"type":"doc","doc":{"id":1,"owner_id":5,"title":"reklamace.pdf","size":48213,"ext":"pdf","url":"https://vk.com/doc5_1"}},
                  {"type":"audio_message","audio_message":{"id":2,"owner_id":5,"duration":4,"link_ogg":"https://psv4.userapi.com/a.ogg","transcript":"Zavolejte mi prosím"}},
                  {"type":"wall","wall":{"id":3,"to_id":-1}}]}}}"#,
        )
        .expect("an interaction")
        .body;
    let content = body.content.as_ref().expect("content");
    assert_eq!(content.attachments[0].url.as_deref(), Some("https://sun9-1.userapi.com/w.jpg"));
    assert_eq!(content.attachments[0].name.as_deref(), Some("photo5_457239017"));
    assert_eq!(
        content.attachments[1],
        Attachment {
            name: Some("reklamace.pdf".into()),
            mime: Some("application/pdf".into()),
            size: Some(48213),
            url: Some("https://vk.com/doc5_1".into())
        }
    );
    assert_eq!(content.attachments[2].mime.as_deref(), Some("audio/ogg"));
    assert_eq!(content.attachments[3].name.as_deref(), Some("wall"));
    assert_eq!(content.text.as_deref(), Some("Zavolejte mi prosím"), "a voice note's transcript is its text");
    assert_eq!(param(&body, param::ATTACHMENT_TYPES), Some("photo,doc,audio_message,wall"));
}

#[test]
fn in_group_chats_the_author_is_the_customer_and_outbound_messages_are_skipped() {
    let inbound = map(
            r#"{"type":"message_new","group_id":1,"object":{"message":{"date":1,"from_id":5,"peer_id":2000000003,"conversation_message_id":40,"text":"Ahoj"}}}"#,
        )
        .expect("an interaction")
        .body;
    assert_eq!(inbound.identities[0].value, "5");
    assert_eq!(param(&inbound, param::PEER_TYPE), Some("chat"));
    let outbound = map(
        r#"{"type":"message_reply","group_id":1,"object":{"date":1,"from_id":-1,"peer_id":2000000003,"conversation_message_id":41,"text":"Ahoj"}}"#,
    );
    assert!(outbound.is_none());
}

#[test]
fn other_events_are_not_interactions_and_messages_without_ids_are_malformed() {
    assert!(map(r#"{"type":"group_join","group_id":1,"object":{"user_id":5,"join_type":"join"}}"#).is_none());
    let event: Event =
        serde_json::from_str(r#"{"type":"message_new","group_id":1,"object":{"message":{"text":"x"}}}"#).expect("event");
    assert!(matches!(interaction(&event), Err(WebhookError::Malformed(_))));
    let event: Event = serde_json::from_str(r#"{"type":"message_reply","group_id":1,"object":{"peer_id":5}}"#).expect("event");
    assert!(matches!(interaction(&event), Err(WebhookError::Malformed(_))));
}
