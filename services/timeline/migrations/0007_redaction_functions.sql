-- The redactions of an erased contact's interactions and messages, in one place: both erasure
-- statements call them instead of repeating the expressions (and so stay static SQL that the
-- checked query macros can verify).

-- The `event` of an erased interaction or message: still a valid v1 event (channel, direction,
-- time, call status and duration, conversation state change), without identities, content,
-- numbers, recording or parameters.
CREATE FUNCTION redacted_event(event jsonb) RETURNS jsonb
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN jsonb_build_object(
        'v', event -> 'v', 'interaction_id', event -> 'interaction_id', 'tenant_id', event -> 'tenant_id',
        'channel', event -> 'channel', 'direction', event -> 'direction', 'occurred_at', event -> 'occurred_at',
        'provider_ref', '', 'conversation_ref', NULL, 'identities', '[]'::jsonb, 'profile', NULL, 'content', NULL,
        'call', CASE WHEN jsonb_typeof(event -> 'call') = 'object'
                     THEN jsonb_build_object('from', NULL, 'to', NULL, 'status', event -> 'call' -> 'status',
                                             'duration_s', event -> 'call' -> 'duration_s', 'recording_url', NULL)
                END,
        'parameters', '{}'::jsonb, 'event', event -> 'event');

-- The resolver's decision (`resolution`) without the identifier values it names.
CREATE FUNCTION redacted_resolution(resolution jsonb) RETURNS jsonb
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN jsonb_build_object(
        'matched_by', CASE WHEN jsonb_typeof(resolution -> 'matched_by') = 'object'
                           THEN jsonb_build_object('kind', resolution -> 'matched_by' -> 'kind', 'value', '', 'scope', NULL)
                      END,
        'created_contact', resolution -> 'created_contact', 'candidates', '[]'::jsonb, 'ignored', '[]'::jsonb);
