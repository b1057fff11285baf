-- Tenant-wide search ranks the newest matches (see store::read::search): for a frequent term the
-- newest matches are found by walking the tenant's interactions newest first, which needs this
-- index; for a rare one the GIN index finds them all. The planner picks per query.
CREATE INDEX interactions_by_tenant ON interactions (tenant_id, occurred_at DESC, interaction_id DESC);
