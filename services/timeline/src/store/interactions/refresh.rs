//! Recomputes timeline interactions from their messages — preview, transcript, details,
//! parameters, attachments and the search document — for a whole batch at once: one statement
//! reads the messages of every touched interaction, [`transcript::summarize`] runs per
//! interaction, and one statement writes every summary with its search vector built in place.

use chrono::{DateTime, Utc};
use contracts::api::timeline::{AttachmentRef, Details};
use contracts::{Direction, InteractionEvent, Resolution};
use sqlx::types::Json;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::transcript::{self, Message, Summary};

struct MessageRow {
    interaction_id: Uuid,
    message_id: Uuid,
    event: Json<InteractionEvent>,
    resolution: Json<Resolution>,
}

/// Recomputes the interactions `ids` (sorted: their rows are updated in that order). An id
/// without messages is left alone.
#[tracing::instrument(skip_all, fields(interactions = ids.len()), err)]
pub async fn refresh(conn: &mut PgConnection, ids: &[Uuid]) -> sqlx::Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let rows = sqlx::query_as!(
        MessageRow,
        r#"SELECT interaction_id, message_id, event AS "event: Json<InteractionEvent>",
                  resolution AS "resolution: Json<Resolution>"
           FROM interaction_messages WHERE interaction_id = ANY($1) ORDER BY interaction_id, occurred_at, message_id"#,
        ids,
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut interactions: Vec<(Uuid, Vec<Message>)> = Vec::new();
    for row in rows {
        let message = Message { message_id: row.message_id, event: row.event.0, resolution: row.resolution.0 };
        match interactions.last_mut() {
            Some((id, messages)) if *id == row.interaction_id => messages.push(message),
            _ => interactions.push((row.interaction_id, vec![message])),
        }
    }
    let summaries: Vec<(Uuid, Summary)> = interactions
        .into_iter()
        .filter_map(|(id, messages)| transcript::summarize(&messages).map(|summary| (id, summary)))
        .collect();
    if summaries.is_empty() {
        return Ok(());
    }
    write(conn, &summaries).await
}

/// Writes `summaries` in one statement.
async fn write(conn: &mut PgConnection, summaries: &[(Uuid, Summary)]) -> sqlx::Result<()> {
    let column = |f: fn(&Summary) -> Option<&str>| summaries.iter().map(|(_, s)| f(s)).collect::<Vec<Option<&str>>>();
    let ids: Vec<Uuid> = summaries.iter().map(|(id, _)| *id).collect();
    let occurred: Vec<DateTime<Utc>> = summaries.iter().map(|(_, s)| s.occurred_at).collect();
    let last: Vec<DateTime<Utc>> = summaries.iter().map(|(_, s)| s.last_message_at).collect();
    let counts: Vec<i32> = summaries.iter().map(|(_, s)| i32::try_from(s.message_count).unwrap_or(i32::MAX)).collect();
    let directions: Vec<Direction> = summaries.iter().map(|(_, s)| s.direction).collect();
    let provider_refs = column(|s| Some(s.provider_ref.as_str()));
    let conversations = column(|s| s.conversation_ref.as_deref());
    let subject = column(|s| s.subject.as_deref());
    let text = column(|s| s.text.as_deref());
    let transcript = column(|s| s.transcript_text.as_deref());
    let details: Vec<Json<&Details>> = summaries.iter().map(|(_, s)| Json(&s.details)).collect();
    let parameters: Vec<Json<&std::collections::BTreeMap<String, String>>> =
        summaries.iter().map(|(_, s)| Json(&s.parameters)).collect();
    let attachments: Vec<Json<&Vec<AttachmentRef>>> = summaries.iter().map(|(_, s)| Json(&s.attachments)).collect();
    let events: Vec<Json<&InteractionEvent>> = summaries.iter().map(|(_, s)| Json(&s.event)).collect();
    let resolutions: Vec<Json<&Resolution>> = summaries.iter().map(|(_, s)| Json(&s.resolution)).collect();
    let subjects = column(|s| Some(s.subjects.as_str()));
    let indexed = column(|s| Some(s.indexed_text.as_str()));
    let aliases = column(|s| Some(s.aliases.as_str()));
    sqlx::query!(
        "UPDATE interactions i SET
             occurred_at = s.occurred_at, last_message_at = s.last_message_at, message_count = s.message_count,
             direction = s.direction, provider_ref = s.provider_ref, conversation_ref = s.conversation_ref,
             subject = s.subject, body_text = s.body_text, transcript_text = s.transcript_text, details = s.details,
             parameters = s.parameters, attachments = s.attachments, event = s.event, resolution = s.resolution,
             search = search_document(s.subjects, s.indexed_text, s.aliases), updated_at = now()
         FROM unnest($1::uuid[], $2::timestamptz[], $3::timestamptz[], $4::int[], $5::text[], $6::text[], $7::text[],
                     $8::text[], $9::text[], $10::text[], $11::jsonb[], $12::jsonb[], $13::jsonb[], $14::jsonb[],
                     $15::jsonb[], $16::text[], $17::text[], $18::text[])
              AS s(interaction_id, occurred_at, last_message_at, message_count, direction, provider_ref, conversation_ref,
                   subject, body_text, transcript_text, details, parameters, attachments, event, resolution, subjects,
                   indexed_text, aliases)
         WHERE i.interaction_id = s.interaction_id",
        &ids,
        &occurred,
        &last,
        &counts,
        &directions as _,
        &provider_refs as _,
        &conversations as _,
        &subject as _,
        &text as _,
        &transcript as _,
        &details as _,
        &parameters as _,
        &attachments as _,
        &events as _,
        &resolutions as _,
        &subjects as _,
        &indexed as _,
        &aliases as _,
    )
    .execute(conn)
    .await?;
    Ok(())
}
