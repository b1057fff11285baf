-- The timeline: every resolved interaction per contact, searchable without diacritics.

-- unaccent lives in `public` and is always called schema-qualified, so several schemas of one
-- database (the embedded default) can share it.
CREATE EXTENSION IF NOT EXISTS unaccent SCHEMA public;

CREATE TABLE interactions (
    interaction_id   uuid PRIMARY KEY,
    tenant_id        text NOT NULL,
    contact_id       uuid NOT NULL,
    channel          text NOT NULL,
    direction        text NOT NULL,
    occurred_at      timestamptz NOT NULL,
    conversation_ref text,
    provider_ref     text NOT NULL,
    subject          text,
    body_text        text,
    event            jsonb NOT NULL,
    resolution       jsonb NOT NULL,
    search           tsvector NOT NULL,
    stored_at        timestamptz NOT NULL DEFAULT now()
);
-- A contact's page, newest first, keyset-paginated on (occurred_at, interaction_id).
CREATE INDEX interactions_by_contact ON interactions (tenant_id, contact_id, occurred_at DESC, interaction_id DESC);
CREATE INDEX interactions_search ON interactions USING gin (search);
