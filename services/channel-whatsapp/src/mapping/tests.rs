use super::*;

fn parse(json: &str) -> Vec<AccountInteraction> {
    interactions(serde_json::from_str(json).expect("valid notification")).expect("normalizes")
}

fn envelope(value: &str) -> String {
    format!(
        r#"{{"object":"whatsapp_business_account","entry":[{{"id":"WABA","changes":[{{"field":"messages","value":
                {{"messaging_product":"whatsapp","metadata":{{"display_phone_number":"420800123456","phone_number_id":"PNID"}},{value}}}}}]}}]}}"#
    )
}

fn only(json: &str) -> InteractionBody {
    let mut got = parse(&envelope(json));
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].account, "PNID");
    got.remove(0).body
}

fn param<'a>(body: &'a InteractionBody, key: &str) -> Option<&'a str> {
    body.parameters.get(key).map(String::as_str)
}

#[test]
fn a_text_message_is_inbound_from_the_wa_id_and_its_phone_with_the_profile_name() {
    let body = only(
        r#""contacts":[{"profile":{"name":"Jana Nováková"},"wa_id":"420777123456"}],
               "messages":[{"from":"420777123456","id":"wamid.A","timestamp":"1764070199","type":"text","text":{"body":"Dobrý den"}}]"#,
    );
    assert_eq!(body.direction, Direction::Inbound);
    assert_eq!(body.provider_ref, "wamid.A");
    assert_eq!(
        body.identities,
        vec![
            Identity::new(IdentityKind::Whatsapp, "420777123456", None),
            Identity::new(IdentityKind::Phone, "+420777123456", None)
        ]
    );
    assert_eq!(body.profile, Some(Profile { name: Some("Jana Nováková".into()), name_source: NameSource::Channel }));
    assert_eq!(body.conversation_ref.as_deref(), Some("PNID:420777123456"));
    assert_eq!(body.content.as_ref().and_then(|c| c.text.as_deref()), Some("Dobrý den"));
    assert_eq!(body.occurred_at.timestamp(), 1_764_070_199);
    assert_eq!(param(&body, param::MESSAGE_TYPE), Some("text"));
}

#[test]
fn a_document_becomes_an_attachment_without_url_and_keeps_its_media_id_and_caption() {
    let body = only(
        r#""messages":[{"from":"420777123456","id":"wamid.D","timestamp":"1","type":"document",
                "document":{"caption":"Faktura","filename":"faktura.pdf","mime_type":"application/pdf","sha256":"abc","id":"1234"}}]"#,
    );
    let content = body.content.as_ref().expect("content");
    assert_eq!(
        content.attachments,
        vec![Attachment { name: Some("faktura.pdf".into()), mime: Some("application/pdf".into()), size: None, url: None }]
    );
    assert_eq!(content.text.as_deref(), Some("Faktura"));
    assert_eq!(param(&body, param::MEDIA_ID), Some("1234"));
    assert!(body.profile.is_none(), "no contacts[] entry, no name");
}

#[test]
fn interactive_button_and_list_replies_and_template_buttons_keep_their_ids() {
    let got = parse(&envelope(
        r#""messages":[
                {"from":"1","id":"wamid.B","timestamp":"1","type":"interactive","context":{"from":"420800123456","id":"wamid.Q"},
                 "interactive":{"type":"button_reply","button_reply":{"id":"yes","title":"Ano"}}},
                {"from":"1","id":"wamid.L","timestamp":"1","type":"interactive",
                 "interactive":{"type":"list_reply","list_reply":{"id":"row-2","title":"Reklamace","description":"Vrácení zboží"}}},
                {"from":"1","id":"wamid.T","timestamp":"1","type":"button","button":{"payload":"STOP","text":"Odhlásit"}}]"#,
    ));
    let [button, list, template] = [&got[0].body, &got[1].body, &got[2].body];
    assert_eq!(button.content.as_ref().and_then(|c| c.text.as_deref()), Some("Ano"));
    assert_eq!(param(button, param::REPLY_ID), Some("yes"));
    assert_eq!(param(button, param::REPLY_TO_ID), Some("wamid.Q"));
    assert_eq!(param(list, param::REPLY_DESCRIPTION), Some("Vrácení zboží"));
    assert_eq!(param(template, param::BUTTON_PAYLOAD), Some("STOP"));
    assert_eq!(template.content.as_ref().and_then(|c| c.text.as_deref()), Some("Odhlásit"));
}

#[test]
fn locations_shared_contacts_and_reactions_are_text_and_parameters_not_identities() {
    let got = parse(&envelope(
        r#""messages":[
                {"from":"1","id":"wamid.G","timestamp":"1","type":"location",
                 "location":{"latitude":50.087,"longitude":14.421,"name":"Prodejna Praha","address":"Na Příkopě 1"}},
                {"from":"1","id":"wamid.C","timestamp":"1","type":"contacts",
                 "contacts":[{"name":{"formatted_name":"Petr Svoboda"},"phones":[{"phone":"+420 602 111 222"}]}]},
                {"from":"1","id":"wamid.R","timestamp":"1","type":"reaction","reaction":{"message_id":"wamid.OUT","emoji":"👍"}},
                {"from":"1","id":"wamid.R2","timestamp":"1","type":"reaction","reaction":{"message_id":"wamid.OUT"}}]"#,
    ));
    let text = |i: usize| got[i].body.content.as_ref().and_then(|c| c.text.clone());
    assert_eq!(text(0).as_deref(), Some("Prodejna Praha, Na Příkopě 1"));
    assert_eq!(param(&got[0].body, param::LOCATION_LATITUDE), Some("50.087"));
    assert_eq!(text(1).as_deref(), Some("Petr Svoboda +420 602 111 222"));
    assert!(got[1].body.identities.iter().all(|i| i.value != "+420602111222"), "shared cards are not the sender");
    assert_eq!(param(&got[2].body, param::REACTION_TO), Some("wamid.OUT"));
    assert_eq!(got[2].body.reaction, Some(Reaction { target_provider_ref: "wamid.OUT".into(), emoji: Some("👍".into()) }));
    assert_eq!(got[2].body.content, None, "a reaction is no message");
    assert_eq!(got[3].body.reaction, Some(Reaction { target_provider_ref: "wamid.OUT".into(), emoji: None }));
    assert_eq!(param(&got[3].body, param::REACTION_REMOVED), Some("true"));
}

#[test]
fn an_empty_emoji_removes_and_a_reaction_without_a_target_stays_a_message() {
    let got = parse(&envelope(
        r#""messages":[
                {"from":"1","id":"wamid.E","timestamp":"1","type":"reaction","reaction":{"message_id":"wamid.OUT","emoji":""}},
                {"from":"1","id":"wamid.X","timestamp":"1","type":"reaction","reaction":{"emoji":"😀"}}]"#,
    ));
    assert_eq!(got[0].body.reaction.as_ref().map(|r| r.emoji.clone()), Some(None));
    assert_eq!(got[1].body.reaction, None);
    assert_eq!(got[1].body.content.as_ref().and_then(|c| c.text.as_deref()), Some("😀"));
}

#[test]
fn unknown_and_unsupported_types_are_kept_with_their_type() {
    let got = parse(&envelope(
        r#""messages":[
                {"from":"1","id":"wamid.U","timestamp":"1","type":"unsupported",
                 "errors":[{"code":131051,"title":"Message type unknown","error_data":{"details":"Message type is currently not supported."}}]},
                {"from":"1","id":"wamid.N","timestamp":"1","type":"hologram","hologram":{"id":"x"}}]"#,
    ));
    assert_eq!(param(&got[0].body, param::MESSAGE_TYPE), Some("unsupported"));
    assert_eq!(param(&got[0].body, param::ERROR_CODE), Some("131051"));
    assert_eq!(param(&got[1].body, param::MESSAGE_TYPE), Some("hologram"));
    assert_eq!(got[1].body.content, Some(Content::default()));
}

#[test]
fn a_status_is_an_outbound_state_of_the_message_it_names() {
    let body = only(
        r#""statuses":[{"id":"wamid.OUT","status":"failed","timestamp":"1764070400","recipient_id":"420777123456",
                "errors":[{"code":131026,"title":"Message undeliverable","error_data":{"details":"Receiver is incapable"}}]}]"#,
    );
    assert_eq!(body.direction, Direction::Outbound);
    assert_eq!(body.provider_ref, "wamid.OUT");
    assert_eq!(body.identities[0], Identity::new(IdentityKind::Whatsapp, "420777123456", None));
    assert_eq!(body.content, None, "a status carries no content of its own");
    assert_eq!(param(&body, param::DELIVERY_STATUS), Some("failed"));
    assert_eq!(param(&body, param::DELIVERY_STATUS_AT), Some("2025-11-25T11:33:20Z"));
    assert_eq!(param(&body, param::DELIVERY_ERROR_CODE), Some("131026"));
    assert_eq!(param(&body, param::DELIVERY_ERROR_DETAILS), Some("Receiver is incapable"));
}

#[test]
fn a_user_without_a_shared_number_is_known_by_the_business_scoped_id() {
    let body = only(
        r#""contacts":[{"profile":{"name":"Eva"},"user_id":"CZ.1502576394655843"}],
               "messages":[{"from_user_id":"CZ.1502576394655843","id":"wamid.H","timestamp":"1","type":"text","text":{"body":"Ahoj"}}]"#,
    );
    assert_eq!(
        body.identities,
        vec![Identity::new(IdentityKind::WhatsappUser, "CZ.1502576394655843", Some("WABA".to_owned()))],
        "a business-scoped user id names the user only within its business account"
    );
    assert_eq!(body.conversation_ref.as_deref(), Some("PNID:CZ.1502576394655843"));
}

#[test]
fn other_change_fields_publish_nothing_and_a_broken_messages_value_is_malformed() {
    let template = r#"{"object":"whatsapp_business_account","entry":[{"id":"W","changes":[
            {"field":"message_template_status_update","value":{"event":"APPROVED","message_template_id":1}}]}]}"#;
    assert!(parse(template).is_empty());
    let broken = r#"{"object":"whatsapp_business_account","entry":[{"id":"W","changes":[
            {"field":"messages","value":{"messages":[]}}]}]}"#;
    let notification = serde_json::from_str(broken).expect("valid envelope");
    assert!(matches!(interactions(notification), Err(WebhookError::Malformed(_))));
}

#[test]
fn phones_are_only_derived_from_numeric_wa_ids() {
    assert_eq!(phone_of("420777123456").as_deref(), Some("+420777123456"));
    assert_eq!(phone_of("CZ.123"), None);
    assert_eq!(phone_of("12"), None);
}
