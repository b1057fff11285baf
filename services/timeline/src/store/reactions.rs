//! Reactions (an emoji on an earlier message): stored against their target message, never as a
//! message, one per reactor and target with the latest winning and an empty emoji removing it.
//! The transcript reads them with their target ([`super::read`]); a reaction whose target has not
//! arrived yet waits in the table and shows once it has.

use contracts::{Direction, InteractionEvent, Reaction};
use sqlx::PgConnection;
use uuid::Uuid;

/// Who reacted: the business for an outbound reaction, else the customer's channel identity (or
/// their contact, when the channel named none).
fn reactor(event: &InteractionEvent, contact: Option<Uuid>) -> String {
    match event.body.direction {
        Direction::Outbound => "business".to_owned(),
        Direction::Inbound => event.body.identities.first().map_or_else(
            || contact.map_or_else(|| "unidentified".to_owned(), |contact| format!("contact:{contact}")),
            |identity| format!("{}:{}", identity.kind, identity.value),
        ),
    }
}

/// Records `reaction` (carried by `event`, resolved to `contact`) on its target message.
/// Idempotent: a redelivered or older reaction changes nothing.
#[tracing::instrument(skip_all, fields(target = %reaction.target_provider_ref), err)]
pub async fn store(
    conn: &mut PgConnection,
    contact: Option<Uuid>,
    event: &InteractionEvent,
    reaction: &Reaction,
) -> sqlx::Result<()> {
    let target = InteractionEvent::id_for(&event.tenant_id, event.body.channel, &reaction.target_provider_ref);
    let emoji = reaction.emoji.as_deref().map(str::trim).filter(|e| !e.is_empty());
    // Ties go to the later arrival: Kafka keeps one customer's events in order.
    sqlx::query!(
        "INSERT INTO message_reactions (message_id, reactor, tenant_id, direction, emoji, reacted_at, reaction_ref, contact_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (message_id, reactor) DO UPDATE
         SET direction = excluded.direction, emoji = excluded.emoji, reacted_at = excluded.reacted_at,
             reaction_ref = excluded.reaction_ref, contact_id = excluded.contact_id
         WHERE excluded.reacted_at >= message_reactions.reacted_at",
        target,
        reactor(event, contact),
        event.tenant_id,
        event.body.direction as _,
        emoji,
        event.body.occurred_at,
        event.body.provider_ref,
        contact,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Removes the reactions `contacts` made and those on the messages of `contact`'s interactions
/// (its own and those merged into it).
pub async fn erase(conn: &mut PgConnection, tenant: &str, contact: Uuid, contacts: &[Uuid]) -> sqlx::Result<()> {
    sqlx::query!(
        "DELETE FROM message_reactions
         WHERE tenant_id = $1 AND (contact_id = ANY($3)
            OR message_id IN (SELECT message_id FROM interaction_messages
                              WHERE interaction_id IN (SELECT interaction_id FROM interactions
                                                       WHERE tenant_id = $1 AND (contact_id = $2 OR merged_from = $2))))",
        tenant,
        contact,
        contacts,
    )
    .execute(conn)
    .await?;
    Ok(())
}
