-- Unidentified interactions (issue 12): the resolver found no contact for them (nothing usable
-- identified the person, or only identifiers several people share). They are stored without a
-- contact, grouped by conversation, listed per tenant, and move to a contact when an operator
-- links their conversation (`conversation_linked` on contacts.changes).
ALTER TABLE interactions ALTER COLUMN contact_id DROP NOT NULL;
ALTER TABLE message_reactions ALTER COLUMN contact_id DROP NOT NULL;
CREATE INDEX interactions_unidentified ON interactions (tenant_id, last_message_at DESC, interaction_id DESC)
    WHERE contact_id IS NULL;
CREATE INDEX interactions_unidentified_conversation ON interactions (tenant_id, conversation_ref)
    WHERE contact_id IS NULL;
