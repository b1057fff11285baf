-- Transcripts, contact-detail events, merges, erasure and the search configuration.
--
-- A timeline interaction is now a *group*: one call, one e-mail, or every message of one
-- conversation within the idle gap. Its id is the id of the message that opened it, every message
-- (every event with its own interaction_id) is one row of `interaction_messages`, and the group's
-- columns are aggregates recomputed from its messages.

-- `btree_gin` lets one GIN index hold (tenant_id, search), so a tenant-wide search intersects the
-- tenant's posting list with the terms' instead of filtering every other tenant's matches.
CREATE EXTENSION IF NOT EXISTS btree_gin SCHEMA public;

-- `simple` (no stemming, no stop words: the texts are in many languages) with `unaccent` in front
-- of it for words that may carry diacritics. Indexing the *original* text through this
-- configuration, instead of indexing `unaccent(text)`, lets `ts_headline` highlight the original
-- words: "prilis" marks "Příliš".
CREATE TEXT SEARCH CONFIGURATION timeline_unaccent (COPY = pg_catalog.simple);
ALTER TEXT SEARCH CONFIGURATION timeline_unaccent
    ALTER MAPPING FOR word, hword, hword_part, numword, numhword, hword_numpart WITH public.unaccent, simple;

ALTER TABLE interactions
    ADD COLUMN last_message_at timestamptz,
    ADD COLUMN message_count   integer NOT NULL DEFAULT 1,
    -- Every message text of the group in order: the document `ts_headline` cuts snippets from.
    ADD COLUMN transcript_text text,
    ADD COLUMN details         jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN parameters      jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN attachments     jsonb NOT NULL DEFAULT '[]',
    -- The contact the interaction belonged to before a merge moved it (restored on unmerge).
    ADD COLUMN merged_from     uuid,
    ADD COLUMN redacted_at     timestamptz,
    ADD COLUMN updated_at      timestamptz NOT NULL DEFAULT now();

CREATE TABLE interaction_messages (
    message_id     uuid PRIMARY KEY,
    interaction_id uuid NOT NULL REFERENCES interactions (interaction_id) ON DELETE CASCADE,
    tenant_id      text NOT NULL,
    direction      text NOT NULL,
    occurred_at    timestamptz NOT NULL,
    -- The newest provider time the stored state reflects (edit, delivery status or event time):
    -- an older state delivered late only fills gaps, it never overwrites.
    as_of          timestamptz NOT NULL,
    text           text,
    subject        text,
    -- The merged v1 interaction event of this message (all its states folded together).
    event          jsonb NOT NULL,
    resolution     jsonb NOT NULL,
    edited_at      timestamptz,
    stored_at      timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX interaction_messages_transcript ON interaction_messages (interaction_id, occurred_at, message_id);

-- Interactions stored before transcripts existed become one-message groups.
INSERT INTO interaction_messages (message_id, interaction_id, tenant_id, direction, occurred_at, as_of, text, subject, event, resolution)
SELECT interaction_id, interaction_id, tenant_id, direction, occurred_at, occurred_at, body_text, subject, event, resolution
FROM interactions;
UPDATE interactions SET
    last_message_at = occurred_at,
    transcript_text = body_text,
    parameters = coalesce(event -> 'parameters', '{}'),
    attachments = coalesce(event -> 'content' -> 'attachments', '[]'),
    search = setweight(to_tsvector('timeline_unaccent', coalesce(subject, '')), 'A')
          || to_tsvector('timeline_unaccent', coalesce(body_text, ''));
ALTER TABLE interactions ALTER COLUMN last_message_at SET NOT NULL;

-- Finding the open group of a conversation.
CREATE INDEX interactions_conversation ON interactions (tenant_id, contact_id, conversation_ref, last_message_at DESC)
    WHERE conversation_ref IS NOT NULL;
-- Restoring on unmerge and erasing find an original contact's items.
CREATE INDEX interactions_merged_from ON interactions (tenant_id, merged_from) WHERE merged_from IS NOT NULL;
DROP INDEX interactions_search;
CREATE INDEX interactions_search ON interactions USING gin (tenant_id, search);

-- Contact-detail changes shown on the timeline (`contacts.changes`), one row per change.
CREATE TABLE contact_events (
    change_id          uuid PRIMARY KEY,
    tenant_id          text NOT NULL,
    contact_id         uuid NOT NULL,
    kind               text NOT NULL,
    occurred_at        timestamptz NOT NULL,
    actor              jsonb NOT NULL,
    reason             text,
    changes            jsonb NOT NULL,
    related_contact_id uuid,
    merged_from        uuid,
    search             tsvector NOT NULL,
    redacted_at        timestamptz,
    stored_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX contact_events_by_contact ON contact_events (tenant_id, contact_id, occurred_at DESC, change_id DESC);
CREATE INDEX contact_events_merged_from ON contact_events (tenant_id, merged_from) WHERE merged_from IS NOT NULL;
CREATE INDEX contact_events_related ON contact_events (tenant_id, related_contact_id) WHERE related_contact_id IS NOT NULL;
CREATE INDEX contact_events_search ON contact_events USING gin (tenant_id, search);

-- Every change id applied (stored or not), so a replay of `contacts.changes` is a no-op even for
-- changes whose rows were later deleted by an erasure.
CREATE TABLE processed_changes (
    change_id    uuid PRIMARY KEY,
    tenant_id    text NOT NULL,
    contact_id   uuid NOT NULL,
    kind         text NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now()
);

-- Merge journal: `merged_id` was merged into `survivor_id`; active while `unmerged_at` is null.
-- Active rows form a forest; an item's owner is the root above its original contact.
CREATE TABLE contact_merges (
    change_id   uuid PRIMARY KEY,
    tenant_id   text NOT NULL,
    merged_id   uuid NOT NULL,
    survivor_id uuid NOT NULL,
    merged_at   timestamptz NOT NULL,
    unmerged_at timestamptz
);
CREATE UNIQUE INDEX contact_merges_active ON contact_merges (tenant_id, merged_id) WHERE unmerged_at IS NULL;
CREATE INDEX contact_merges_survivor ON contact_merges (tenant_id, survivor_id) WHERE unmerged_at IS NULL;

-- Erased contacts: ids only. Anything that arrives for them later (a replay, a late delivery)
-- is dropped, so erased content never comes back.
CREATE TABLE erased_contacts (
    tenant_id  text NOT NULL,
    contact_id uuid NOT NULL,
    change_id  uuid NOT NULL,
    mode       text NOT NULL,
    erased_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, contact_id)
);
