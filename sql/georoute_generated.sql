-- georoute: every function and procedure called with generated arguments
-- (NULLs, boundaries, huge and hostile values), a fixed seed. Each call
-- runs in a subtransaction that is rolled back; it must end either well or
-- with a documented SQLSTATE: never an internal error (XX000), a crash, or
-- anything left behind. The summary lists, per function, the SQLSTATEs the
-- calls ended with ('ok' for success).
\i sql/include/try.psql
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS georoute CASCADE;
CREATE EXTENSION georoute CASCADE;
CREATE SERVER gen_us FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '127.0.0.1', port '1', dbname 'app');
SELECT georoute.add_region('us', 'gen_us', 'US', 'SRID=4326;POLYGON((-130 15,-60 15,-60 55,-130 55,-130 15))', number => 1);
SELECT georoute.add_region('eu', NULL, 'EU', number => 2);
CREATE TABLE gen_plain (id bigint PRIMARY KEY, region text);
CREATE TABLE gen_parted (id bigint, region text, PRIMARY KEY (region, id)) PARTITION BY LIST (region);
RESET client_min_messages;
SELECT setseed(0.1606);

-- The values each argument type is drawn from.
CREATE TEMP TABLE pool (t regtype, v text);   -- v: an SQL expression
INSERT INTO pool VALUES
  ('bigint', 'NULL'), ('bigint', '0'), ('bigint', '-1'), ('bigint', '1'), ('bigint', '9223372036854775807'),
  ('bigint', '(-9223372036854775807 - 1)'), ('bigint', '((2::bigint << 56) | (1::bigint << 49) | 5)'),
  ('bigint', '((127::bigint << 56) | (127::bigint << 49) | 562949953421311)'), ('bigint', '(1::bigint << 62)'),
  ('integer', 'NULL'), ('integer', '0'), ('integer', '-1'), ('integer', '127'), ('integer', '128'), ('integer', '2147483647'),
  ('text', 'NULL'), ('text', ''''''), ('text', '''eu'''), ('text', '''EU'''), ('text', '''eu:'''), ('text', ''':eu'''),
  ('text', '''mars:x'''), ('text', 'repeat(''x'', 100000)'), ('text', 'E''\\x01\\x02'''), ('text', '''a''''b'''),
  ('text', '''us; DROP TABLE gen_plain'''), ('text', '''dbname=nowhere host=127.0.0.1 port=1'''), ('text', '''host=/nonexistent'''),
  ('text', 'repeat(''eu:'', 5000)'), ('text', '''1=1 OR true'''),
  ('name', 'NULL'), ('name', ''''''), ('name', '''id'''), ('name', '''region'''), ('name', 'repeat(''n'', 63)'), ('name', '''"; x'''),
  ('regclass', 'NULL'), ('regclass', '''gen_plain'''), ('regclass', '''gen_parted'''), ('regclass', '''pg_class'''),
  ('regclass', '''georoute.regions'''), ('regclass', '0'),
  ('regprocedure', 'NULL'), ('regprocedure', '''now()'''), ('regprocedure', '''abs(bigint)'''),
  ('regprocedure', '''georoute.next_id(text)'''), ('regprocedure', '''pg_sleep(double precision)'''),
  ('geography', 'NULL'), ('geography', '''SRID=4326;POINT(-100 40)'''), ('geography', '''SRID=4326;POINT(180 90)'''),
  ('geography', '''SRID=4326;LINESTRING(0 0,1 1)'''), ('geography', '''SRID=4326;POLYGON EMPTY'''),
  ('geography', '''SRID=4326;POLYGON((-10 35,45 35,45 70,-10 70,-10 35))'''),
  ('geography', '(SELECT ST_Buffer(''SRID=4326;POINT(0 0)''::geography, 100000, 5000))'),
  ('int8range', 'NULL'), ('int8range', '''empty'''), ('int8range', '''[1,)'''), ('int8range', '''(,)'''), ('int8range', '''[1,2)'''),
  ('int8range', 'int8range(-9223372036854775807, 9223372036854775807)'),
  ('boolean', 'NULL'), ('boolean', 'true'), ('boolean', 'false'),
  ('interval', 'NULL'), ('interval', '''0'''), ('interval', '''-1 second'''), ('interval', '''1 millisecond''');

-- Every function and procedure of georoute but the trigger functions.
CREATE TEMP TABLE targets AS
SELECT p.oid::regprocedure AS fn, p.prokind, ARRAY(SELECT unnest(p.proargtypes::regtype[])) AS types   -- 1-based
  FROM pg_proc p
 WHERE p.pronamespace = 'georoute'::regnamespace
   AND p.prorettype NOT IN ('trigger'::regtype, 'event_trigger'::regtype)
 ORDER BY p.oid::regprocedure::text;
SELECT count(*) AS functions, count(*) FILTER (WHERE prokind = 'p') AS procedures FROM targets;
SELECT fn, t FROM targets, unnest(types) t WHERE t NOT IN (SELECT DISTINCT pool.t FROM pool);   -- none: every type has a pool

CREATE TEMP TABLE outcomes (fn regprocedure, call text, sqlstate text);
DO $gen$
DECLARE
    f record;
    args text[];
    stmt text;
    st text;
    i integer;
    k integer;
BEGIN
    FOR f IN SELECT * FROM targets ORDER BY fn::text LOOP
        FOR i IN 1 .. 25 LOOP
            args := '{}';
            FOR k IN 1 .. coalesce(array_length(f.types, 1), 0) LOOP
                args := args || (SELECT format('%s::%s', v, t) FROM pool WHERE pool.t = f.types[k]
                                  ORDER BY random() LIMIT 1);
            END LOOP;
            stmt := format('%s %s(%s)', CASE WHEN f.prokind = 'p' THEN 'CALL' ELSE 'SELECT' END,
                           (SELECT format('%I.%I', n.nspname, p.proname) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                             WHERE p.oid = f.fn),
                           array_to_string(args, ', '));
            BEGIN
                EXECUTE stmt;
                RAISE EXCEPTION USING ERRCODE = 'ZZ000', MESSAGE = 'ended well';   -- roll it back
            EXCEPTION WHEN OTHERS THEN
                st := CASE WHEN SQLSTATE = 'ZZ000' THEN 'ok' ELSE SQLSTATE END;
            END;
            INSERT INTO outcomes VALUES (f.fn, left(stmt, 300), st);
        END LOOP;
    END LOOP;
END
$gen$;

-- Per function, how the calls ended.
SELECT fn, count(*) AS calls, string_agg(DISTINCT sqlstate, ' ' ORDER BY sqlstate) AS ended_with
  FROM outcomes GROUP BY fn ORDER BY fn::text;
-- Never an internal error, and every SQLSTATE is a documented one.
SELECT fn, call, sqlstate FROM outcomes
 WHERE sqlstate LIKE 'XX%' OR sqlstate NOT IN ('ok', '22004', '22023', '22P02', '22003', '22001', '22021', '42501', '42883',
     '42P01', '42704', '42602', '42601', '2D000', '0A000', '23505', '54000',
     'KB000', 'KB001', 'KB601', 'KB602', 'KB603', 'KB604', 'KB605', 'KB606', 'KB607', 'KB608', 'KB609', 'KB610',
     'KB611', 'KB612', 'KB613', 'KB614', 'KB615', 'KB616', 'KB617')
 ORDER BY 1, 2;
-- Nothing left behind.
SELECT (SELECT count(*) FROM georoute.regions) AS regions, (SELECT count(*) FROM georoute.distributed) AS distributed,
       (SELECT count(*) FROM georoute.moves) AS moves, (SELECT count(*) FROM pg_publication) AS publications,
       (SELECT count(*) FROM gen_plain) AS plain_rows, current_setting('search_path') AS search_path;

SET client_min_messages = warning;
DROP TABLE gen_plain, gen_parted;
DROP EXTENSION georoute CASCADE;
DROP SERVER IF EXISTS gen_us CASCADE;
