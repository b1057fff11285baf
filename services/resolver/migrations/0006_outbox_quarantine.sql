-- The outbox relay never blocks on one event: an event Kafka refuses for good (too large,
-- invalid) is quarantined with the error and the relay goes on; an operator sees it in the log,
-- the `outbox_quarantined_total` metric and `GET /v1/outbox/quarantined`, and can re-queue it.
-- A published row keeps only its metadata (the payload, which names the person, is cleared)
-- and is pruned after the retention.
ALTER TABLE outbox
    ADD COLUMN quarantined_at timestamptz,
    ADD COLUMN error          text;
DROP INDEX outbox_pending;
CREATE INDEX outbox_pending ON outbox (id) WHERE published_at IS NULL AND quarantined_at IS NULL;
CREATE INDEX outbox_quarantined ON outbox (id) WHERE quarantined_at IS NOT NULL;
CREATE INDEX outbox_published ON outbox (published_at) WHERE published_at IS NOT NULL;
UPDATE outbox SET payload = NULL WHERE published_at IS NOT NULL;
