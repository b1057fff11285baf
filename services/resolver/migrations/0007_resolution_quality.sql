-- Resolution quality (issue 12): provenance and last sighting of every identifier, identifiers
-- proposed by typed-only matches, pairs recorded as different people, the weakness of a
-- duplicate suggestion's evidence, the tenant's policies, and when each interaction happened.

-- verified: asserted by a provider or a logged-in session; typed: someone typed it.
ALTER TABLE contact_identities
    ADD COLUMN provenance   text NOT NULL DEFAULT 'verified' CHECK (provenance IN ('verified', 'typed')),
    -- The newest interaction that carried it: a phone not seen for a long time may have a new owner.
    ADD COLUMN last_seen_at timestamptz;
UPDATE contact_identities SET last_seen_at = created_at;

ALTER TABLE processed_interactions ADD COLUMN occurred_at timestamptz;

-- Identifiers a match made only through typed identifiers offered to a card; an operator
-- confirms (the identifier becomes the contact's) or rejects (never proposed to it again).
CREATE TABLE proposed_identities (
    proposal_id    uuid PRIMARY KEY,
    tenant_id      text NOT NULL,
    contact_id     uuid NOT NULL REFERENCES contacts (contact_id) ON DELETE CASCADE,
    kind           text NOT NULL,
    scope          text NOT NULL DEFAULT '',
    value          text NOT NULL,
    source         text NOT NULL,
    interaction_id uuid,
    status         text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'confirmed', 'rejected')),
    proposed_at    timestamptz NOT NULL DEFAULT now(),
    decided_by     text,
    decided_at     timestamptz,
    UNIQUE (tenant_id, contact_id, kind, scope, value)
);
CREATE INDEX proposed_identities_open ON proposed_identities (contact_id) WHERE status = 'open';

-- A suggestion's evidence may be weak (shared, landline, stale, typed); a pair may be recorded
-- as different people (an unmerge): never suggested or merged automatically again.
ALTER TABLE duplicate_suggestions DROP CONSTRAINT duplicate_suggestions_status_check;
ALTER TABLE duplicate_suggestions
    ADD CONSTRAINT duplicate_suggestions_status_check CHECK (status IN ('open', 'dismissed', 'merged', 'different_people')),
    ADD COLUMN weakness text CHECK (weakness IN ('shared', 'landline', 'stale', 'typed'));

ALTER TABLE tenant_settings
    -- never: suggest; verified: merge two contacts when one interaction carries verified identifiers of both.
    ADD COLUMN auto_merge             text NOT NULL DEFAULT 'never' CHECK (auto_merge IN ('never', 'verified')),
    -- Let typed-only matches add identifiers and names directly (no proposals).
    ADD COLUMN typed_enrichment       boolean NOT NULL DEFAULT false,
    -- Fixed lines identify nobody by themselves (households and offices share them).
    ADD COLUMN weak_landlines         boolean NOT NULL DEFAULT true,
    -- A phone not seen on its card for this many days identifies nobody by itself.
    ADD COLUMN phone_recycle_after_days integer NOT NULL DEFAULT 365 CHECK (phone_recycle_after_days > 0),
    -- The tenant's own role mailboxes' local parts or addresses, besides the built-in list.
    ADD COLUMN role_addresses         text[] NOT NULL DEFAULT '{}';
