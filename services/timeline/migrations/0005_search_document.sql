-- The search document of an interaction or a contact event, in one place: statements call
-- `search_document($n, $n+1, $n+2)` with their parameters in order instead of repeating the
-- expression. Subjects weigh most (A), texts next (B), address parts least (D), which `ts_rank`
-- honours. The body is parsed when the function is created, so the configuration is this
-- schema's `timeline_unaccent` whatever the caller's search_path.
CREATE FUNCTION search_document(subject text, body text, aliases text) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN setweight(to_tsvector('timeline_unaccent', coalesce(subject, '')), 'A')
        || setweight(to_tsvector('timeline_unaccent', coalesce(body, '')), 'B')
        || setweight(to_tsvector('timeline_unaccent', coalesce(aliases, '')), 'D');
