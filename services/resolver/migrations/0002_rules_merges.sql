-- Matching rules per tenant, custom identifier definitions, merges and duplicate suggestions.

-- A value may be held by several contacts only when an operator marks it shared (a family
-- phone, a switchboard); automatic resolution only ever inserts unshared values, so concurrent
-- creations still converge on the one unshared holder.
ALTER TABLE contact_identities ADD COLUMN shared boolean NOT NULL DEFAULT false;
DROP INDEX contact_identities_identifier;
CREATE UNIQUE INDEX contact_identities_identifier ON contact_identities (tenant_id, kind, scope, value) WHERE NOT shared;
CREATE INDEX contact_identities_lookup ON contact_identities (tenant_id, kind, scope, value);

CREATE TABLE tenant_settings (
    tenant_id          text PRIMARY KEY,
    default_region     text,
    auto_create        boolean NOT NULL DEFAULT true,
    -- A value held by this many contacts stops being used for matching.
    shared_value_limit integer NOT NULL DEFAULT 3 CHECK (shared_value_limit >= 2),
    -- Most identities of one kind a contact gains automatically.
    max_per_kind       integer NOT NULL DEFAULT 10 CHECK (max_per_kind >= 1)
);

-- Values that never match or attach: `pattern` may contain `*` wildcards; `kind` null = any kind.
-- The tenant's own numbers and mailboxes belong here too (reason `own`).
CREATE TABLE blocked_values (
    tenant_id text NOT NULL,
    kind      text NOT NULL DEFAULT '',
    pattern   text NOT NULL,
    reason    text NOT NULL DEFAULT 'blocked',
    PRIMARY KEY (tenant_id, kind, pattern)
);

CREATE TABLE custom_identifier_definitions (
    tenant_id         text NOT NULL,
    name              text NOT NULL,
    label             text NOT NULL,
    identifies_client boolean NOT NULL DEFAULT false,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, name)
);

-- What a merge moved, so unmerge restores both contacts exactly.
CREATE TABLE merge_journal (
    merge_id           uuid PRIMARY KEY,
    tenant_id          text NOT NULL,
    survivor_id        uuid NOT NULL REFERENCES contacts (contact_id),
    merged_id          uuid NOT NULL REFERENCES contacts (contact_id),
    moved_identities   uuid[] NOT NULL,
    moved_links        text[] NOT NULL,
    survivor_name      text,
    survivor_name_src  text,
    merged_by          text NOT NULL,
    merged_at          timestamptz NOT NULL DEFAULT now(),
    unmerged_at        timestamptz
);
CREATE INDEX merge_journal_by_contact ON merge_journal (tenant_id, merged_id);

-- Contacts the resolver found matching the same interaction; never merged automatically.
CREATE TABLE duplicate_suggestions (
    tenant_id    text NOT NULL,
    contact_a    uuid NOT NULL,
    contact_b    uuid NOT NULL,
    shared_kind  text NOT NULL,
    shared_value text NOT NULL,
    status       text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'dismissed', 'merged')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, contact_a, contact_b),
    CHECK (contact_a < contact_b)
);
