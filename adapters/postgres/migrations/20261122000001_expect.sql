-- A guard for single-statement transactions, which commit as they return: fails the statement
-- unless `ok`, with SQLSTATE 40001 (serialization_failure), which the service retries.
CREATE FUNCTION tally_expect(ok boolean, why text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    IF ok IS NOT TRUE THEN
        RAISE EXCEPTION 'tally: %', why USING ERRCODE = 'serialization_failure';
    END IF;
    RETURN true;
END
$$;
