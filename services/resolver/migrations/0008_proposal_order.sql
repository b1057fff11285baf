-- Proposals made by one transaction (one consumer batch) were stamped with the same time, so
-- "the contacts a value was proposed to, oldest first" had no defined order among them. The
-- statement's clock orders them as they were made.
ALTER TABLE proposed_identities ALTER COLUMN proposed_at SET DEFAULT clock_timestamp();
