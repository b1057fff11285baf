-- Directory search at scale: trigram indexes for free text (`q`), one keyset index per sort
-- order of the contact list, and identifier lookups by value.

CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;

-- unaccent() is only STABLE (its dictionary could be changed), so it cannot appear in an index
-- expression. This wrapper names the dictionary schema-qualified and is declared IMMUTABLE, the
-- usual way to index unaccented text; queries call it (not unaccent) so the indexes apply.
CREATE FUNCTION search_text(value text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    AS $$ SELECT public.unaccent('public.unaccent'::regdictionary, lower(value)) $$;

-- `q` is a substring match ("jiri novak" finds "Jiří Novák"): trigrams serve LIKE '%…%'.
CREATE INDEX contacts_name_trgm ON contacts USING gin (search_text(name) public.gin_trgm_ops);
CREATE INDEX contact_identities_value_trgm ON contact_identities USING gin (lower(value) public.gin_trgm_ops);

-- Keyset pagination per sort order (DESIGN.md §6): the index order is the page order.
CREATE INDEX contacts_by_tenant_last_interaction
    ON contacts (tenant_id, coalesce(last_interaction_at, '-infinity'::timestamptz) DESC, contact_id DESC)
    WHERE deleted_at IS NULL AND merged_into IS NULL;
-- The name key is cut to 200 characters: a btree entry must stay under ~2.7 kB, and a longer
-- name (from a channel profile) must not make its contact impossible to store.
CREATE INDEX contacts_by_tenant_name
    ON contacts (tenant_id, (name IS NULL), left(coalesce(search_text(name), ''), 200), contact_id)
    WHERE deleted_at IS NULL AND merged_into IS NULL;

-- Exact filters (`email=`, `phone=`, `identifier=`, `channel=`) know kind and value but not
-- the scope: value before scope serves them and the resolver's (kind, scope, value) lookups alike,
-- so it replaces the scope-first index.
CREATE INDEX contact_identities_by_value ON contact_identities (tenant_id, kind, value, scope) INCLUDE (contact_id);
DROP INDEX contact_identities_lookup;
