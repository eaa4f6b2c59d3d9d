-- The contact retention rule (0070) also reaches the outbox: once an
-- appeal's contact details are erased, the messages sent (or given up) to
-- that address go too, and any message sent or given up longer ago than
-- the retention period is deleted. Messages still waiting are kept: they
-- are needed to send.
CREATE OR REPLACE FUNCTION geoportal_erase_old_contacts(keep interval) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    erased bigint[];
    addresses text[];
BEGIN
    PERFORM set_config('geoportal.actor', 'system:retention', true);
    SELECT coalesce(array_agg(DISTINCT lower(email)) FILTER (WHERE email IS NOT NULL), '{}') INTO addresses
    FROM appeals WHERE closed_at < now() - keep AND contact_erased_at IS NULL;
    WITH e AS (
        UPDATE appeals SET author_name = '—', phone = NULL, email = NULL, contact_address = NULL,
                           account_id = NULL, contact_erased_at = now()
        WHERE closed_at < now() - keep AND contact_erased_at IS NULL
        RETURNING id)
    SELECT coalesce(array_agg(id), '{}') INTO erased FROM e;
    UPDATE history SET
        old_row = CASE WHEN old_row IS NULL THEN NULL
                       ELSE old_row - 'author_name' - 'phone' - 'email' - 'contact_address' - 'account_id' END,
        new_row = CASE WHEN new_row IS NULL THEN NULL
                       ELSE new_row - 'author_name' - 'phone' - 'email' - 'contact_address' - 'account_id' END
    WHERE table_name = 'appeals' AND feature_id = ANY (erased);
    DELETE FROM outbox
    WHERE (sent_at IS NOT NULL OR failed_at IS NOT NULL)
      AND (lower(recipient) = ANY (addresses) OR coalesce(sent_at, failed_at) < now() - keep);
    RETURN cardinality(erased);
END $$;
