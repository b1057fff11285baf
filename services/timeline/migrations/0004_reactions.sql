-- Reactions to messages (an emoji on a message, e.g. WhatsApp `reaction`): not messages of their
-- own but a fact about their target. One row per target message and reactor, the latest reaction
-- winning; `emoji` NULL means the reactor removed theirs (the row stays, so an older reaction
-- delivered late cannot bring it back).
--
-- Keyed by the target's message id (UUIDv5 of tenant|channel|target provider_ref, the id its own
-- event has), not by a foreign key: a reaction that arrives before its target waits here and
-- shows in the transcript as soon as the target is stored.
CREATE TABLE message_reactions (
    message_id   uuid NOT NULL,
    reactor      text NOT NULL,
    tenant_id    text NOT NULL,
    -- `inbound`: the customer reacted; `outbound`: the business did.
    direction    text NOT NULL,
    emoji        text,
    reacted_at   timestamptz NOT NULL,
    -- The reaction's own provider reference and the reactor's contact (erasure finds it by this).
    reaction_ref text NOT NULL,
    contact_id   uuid NOT NULL,
    PRIMARY KEY (message_id, reactor)
);
CREATE INDEX message_reactions_contact ON message_reactions (tenant_id, contact_id);
