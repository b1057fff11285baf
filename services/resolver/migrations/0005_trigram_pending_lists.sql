-- A GIN index collects new entries in a pending list that every search scans linearly until
-- (auto)vacuum or the inserting backend merges it; at the default 4 MB limit, a busy hour of new
-- contacts and identifiers would slow every `q` search by milliseconds (measured: one name
-- search took 3.8 ms instead of 0.16 ms with 10 000 new names pending). 256 kB keeps the scan
-- short while inserts still merge in batches.
ALTER INDEX contacts_name_trgm SET (gin_pending_list_limit = 256);
ALTER INDEX contact_identities_value_trgm SET (gin_pending_list_limit = 256);
