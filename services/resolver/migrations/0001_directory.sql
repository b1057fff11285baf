-- The directory: contacts, their identities, resolution bookkeeping and the outbox.

CREATE TABLE contacts (
    contact_id          uuid PRIMARY KEY,
    tenant_id           text NOT NULL,
    name                text,
    name_source         text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    last_interaction_at timestamptz,
    merged_into         uuid REFERENCES contacts (contact_id),
    deleted_at          timestamptz
);
CREATE INDEX contacts_by_tenant_created ON contacts (tenant_id, created_at DESC, contact_id DESC);

CREATE TABLE contact_identities (
    identity_id uuid PRIMARY KEY,
    tenant_id   text NOT NULL,
    contact_id  uuid NOT NULL REFERENCES contacts (contact_id) ON DELETE CASCADE,
    kind        text NOT NULL,
    scope       text NOT NULL DEFAULT '',
    value       text NOT NULL,
    source      text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
-- One owner per identifier: concurrent creations converge on it (insert, conflict, re-read).
CREATE UNIQUE INDEX contact_identities_identifier ON contact_identities (tenant_id, kind, scope, value);
CREATE INDEX contact_identities_by_contact ON contact_identities (contact_id);

-- A conversation an operator linked to a contact; later interactions of it resolve there.
CREATE TABLE conversation_links (
    tenant_id        text NOT NULL,
    conversation_ref text NOT NULL,
    contact_id       uuid NOT NULL REFERENCES contacts (contact_id) ON DELETE CASCADE,
    linked_by        text NOT NULL,
    linked_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, conversation_ref)
);

-- Every interaction resolved, with the event published for it (replayed on redelivery).
-- contact_id and resolved are null when nothing matched and auto-creation is off.
CREATE TABLE processed_interactions (
    tenant_id      text NOT NULL,
    interaction_id uuid NOT NULL,
    contact_id     uuid,
    resolved       jsonb,
    processed_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, interaction_id)
);

-- Transactional outbox: written with the change, relayed to Kafka afterwards.
CREATE TABLE outbox (
    id           bigserial PRIMARY KEY,
    topic        text NOT NULL,
    key          text NOT NULL,
    event_type   text NOT NULL,
    payload      jsonb,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX outbox_pending ON outbox (id) WHERE published_at IS NULL;
