-- Tiles are planned without parallel workers: the prepared (generic) plan of
-- a tile query cannot see how few rows the bound tile box selects, plans a
-- parallel scan, and starting the workers costs more than the tile
-- (bench/RESULTS.md). A call to a PARALLEL UNSAFE function anywhere in a
-- query rules parallel plans out for that query alone, so the tile query
-- carries one as a one-time filter instead of a transaction that sets
-- max_parallel_workers_per_gather: one round trip per tile instead of three.
-- plpgsql, so the planner cannot inline it away.
CREATE FUNCTION geoportal_serial_plan() RETURNS boolean
    LANGUAGE plpgsql STABLE PARALLEL UNSAFE
    AS $$ BEGIN RETURN true; END $$;
