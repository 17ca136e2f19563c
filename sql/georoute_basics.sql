-- georoute: the registry, region-carrying ids, route(), region_of() by
-- place, and every error path with its SQLSTATE. This cluster has no
-- georoute.local_region: minting is tested on the three region clusters
-- (test/georoute/regions.sh).
\i sql/include/try.psql
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS georoute CASCADE;
DROP ROLE IF EXISTS geo_app;
CREATE EXTENSION georoute CASCADE;
RESET client_min_messages;
SHOW georoute.local_region;

CREATE SERVER geo_eu FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host 'eu.db.internal', port '5432', dbname 'app');
CREATE SERVER geo_us FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host 'us.db.internal', port '5432', dbname 'app',
                                                                fetch_size '1000');
-- us: the Americas; eu: Europe; asia; eu and asia overlap in a border zone
-- (longitude 40 to 45).
SELECT georoute.add_region('us', 'geo_us', 'US', 'SRID=4326;POLYGON((-130 15,-60 15,-60 55,-130 55,-130 15))');
SELECT georoute.add_region('eu', 'geo_eu', 'EU', 'SRID=4326;POLYGON((-10 35,45 35,45 70,-10 70,-10 35))');
SELECT georoute.add_region('asia', NULL, 'APAC', 'SRID=4326;POLYGON((40 -10,150 -10,150 55,40 55,40 -10))');
SELECT code, number, server, jurisdiction, area IS NOT NULL AS has_area FROM georoute.regions ORDER BY number;

-- Bad input: a clear error, nothing registered.
SELECT pg_temp.try($$SELECT georoute.add_region('EU2', NULL, 'EU')$$);
SELECT pg_temp.try($$SELECT georoute.add_region('eu', NULL, 'EU')$$);
SELECT pg_temp.try($$SELECT georoute.add_region('eu2', NULL, 'EU', number => 2)$$);
SELECT pg_temp.try($$SELECT georoute.add_region('eu2', NULL, 'EU', number => 128)$$);
SELECT pg_temp.try($$SELECT georoute.add_region('eu2', NULL, 'EU', number => 0)$$);
SELECT pg_temp.try($$SELECT georoute.add_region('eu2', 'no_such_server', 'EU')$$);
SELECT pg_temp.try($$SELECT georoute.add_region('eu2', NULL, NULL)$$);
SELECT pg_temp.try($$SELECT georoute.add_region(NULL, NULL, 'EU')$$);
SELECT pg_temp.try($$SELECT georoute.add_region('eu2', NULL, 'E U')$$);
SELECT pg_temp.try($$SELECT georoute.add_region('eu2', NULL, 'EU', 'SRID=4326;POINT(2 48)')$$);
SELECT count(*) AS regions FROM georoute.regions;

-- Ids: the home region by arithmetic. 2 << 56 | 1 << 49 | 5: home eu (2),
-- minted by us (1), sequence 5.
SELECT georoute.region_of_id((2::bigint << 56) | (1::bigint << 49) | 5) AS eu,
       georoute.region_of_id((3::bigint << 56) | (127::bigint << 49) | 562949953421311) AS asia,
       georoute.region_of_id((1::bigint << 56) | (2::bigint << 49)) AS us;
SELECT pg_temp.try($$SELECT georoute.region_of_id(0)$$);
SELECT pg_temp.try($$SELECT georoute.region_of_id(-1)$$);
SELECT pg_temp.try($$SELECT georoute.region_of_id(42)$$);
SELECT pg_temp.try($$SELECT georoute.region_of_id((100::bigint << 56) | (1::bigint << 49))$$);
SELECT pg_temp.try($$SELECT georoute.region_of_id(NULL)$$);
-- A region added later is known at once (the registry cache follows).
SELECT georoute.add_region('latam', NULL, 'BR', number => 100);
SELECT georoute.region_of_id((100::bigint << 56) | (1::bigint << 49)) AS latam;

-- Minting needs this cluster's region.
SELECT pg_temp.try($$SELECT georoute.next_id('eu')$$);
SELECT pg_temp.try($$SELECT georoute.next_id('mars')$$);
SELECT pg_temp.try($$SELECT georoute.next_id(NULL)$$);
SELECT pg_temp.try($$SET georoute.local_region = 'eu'$$);

-- route(): the region and where to connect (host, port, dbname only).
SELECT * FROM georoute.route((2::bigint << 56) | (1::bigint << 49) | 5);
SELECT * FROM georoute.route('us');
SELECT * FROM georoute.route('asia');
SELECT pg_temp.try($$SELECT * FROM georoute.route(0)$$);
SELECT pg_temp.try($$SELECT * FROM georoute.route((99::bigint << 56) | (1::bigint << 49))$$);
SELECT pg_temp.try($$SELECT * FROM georoute.route(NULL::bigint)$$);
-- A server changed: route() follows (the cached targets are dropped).
ALTER SERVER geo_eu OPTIONS (SET host 'eu2.db.internal');
SELECT * FROM georoute.route((2::bigint << 56) | (1::bigint << 49) | 5);
ALTER SERVER geo_eu OPTIONS (SET host 'eu.db.internal');
SELECT pg_temp.try($$SELECT * FROM georoute.route('mars')$$);
SELECT pg_temp.try($$SELECT * FROM georoute.route(NULL::text)$$);

-- region_of(): by place, two regions in the border zone, none at sea.
SELECT p.name, array(SELECT georoute.region_of(p.place)) AS regions
  FROM (VALUES ('New York', 'SRID=4326;POINT(-74 40.7)'::geography), ('Paris', 'SRID=4326;POINT(2.35 48.86)'),
               ('Tokyo', 'SRID=4326;POINT(139.7 35.7)'), ('Tbilisi', 'SRID=4326;POINT(44.8 41.7)'),
               ('South Atlantic', 'SRID=4326;POINT(-20 -30)')) p(name, place);
EXPLAIN (COSTS OFF) SELECT code FROM georoute.regions r
 WHERE ST_Covers(r.area, 'SRID=4326;POINT(2.35 48.86)'::geography);

-- distribute(): refusals (laying out is tested on the three region
-- clusters: test/georoute/regions.sh).
CREATE TABLE geo_plain (id bigint, region text);
CREATE TABLE geo_by_id (id bigint, region text) PARTITION BY LIST (id);
CREATE TABLE geo_int (id bigint, region integer) PARTITION BY LIST (region);
CREATE TABLE geo_users (id bigint NOT NULL, region text NOT NULL, PRIMARY KEY (region, id)) PARTITION BY LIST (region);
CREATE TABLE geo_orders (id bigint PRIMARY KEY, region text, user_id bigint,
                         FOREIGN KEY (region, user_id) REFERENCES geo_users (region, id));
SELECT pg_temp.try($$SELECT * FROM georoute.distribute(NULL)$$);
SELECT pg_temp.try($$SELECT * FROM georoute.distribute('geo_plain')$$);
SELECT pg_temp.try($$SELECT * FROM georoute.distribute('geo_by_id')$$);
SELECT pg_temp.try($$SELECT * FROM georoute.distribute('geo_int')$$);
SELECT pg_temp.try($$SELECT * FROM georoute.distribute('geo_users')$$);
DROP TABLE geo_orders;
SELECT pg_temp.try($$SELECT * FROM georoute.distribute('geo_users')$$);
SELECT count(*) AS partitions, (SELECT count(*) FROM pg_constraint WHERE conrelid = 'geo_users'::regclass) AS parent_constraints
  FROM pg_inherits WHERE inhparent = 'geo_users'::regclass;
-- replicate_reference(): refusals here (replication is tested on the three
-- region clusters).
SELECT pg_temp.try($$SELECT georoute.replicate_reference(NULL)$$);
SELECT pg_temp.try($$SELECT georoute.replicate_reference('geo_plain')$$);
GRANT SELECT ON geo_users TO PUBLIC;

-- A plain role: routes and reads the registry; changes nothing.
CREATE ROLE geo_app;
SET ROLE geo_app;
SELECT georoute.region_of_id((2::bigint << 56) | (1::bigint << 49) | 5) AS eu;
SELECT * FROM georoute.route('eu');
SELECT count(*) AS regions_seen FROM georoute.regions;
SELECT pg_temp.try($$SELECT georoute.add_region('x', NULL, 'X')$$);
SELECT pg_temp.try($$INSERT INTO georoute.regions (code, number, jurisdiction) VALUES ('x', 9, 'X') RETURNING 1$$);
SELECT pg_temp.try($$UPDATE georoute.regions SET jurisdiction = 'US' WHERE code = 'eu' RETURNING 1$$);
SELECT pg_temp.try($$SELECT * FROM georoute.distribute('geo_users')$$);
SELECT pg_temp.try($$SELECT georoute.replicate_reference('geo_users')$$);
RESET ROLE;
-- A registry load that fails (here: the role may not read the targets) is
-- tried again at the next call, not left as an empty registry.
REVOKE EXECUTE ON FUNCTION georoute._target(text) FROM PUBLIC;
UPDATE georoute.regions SET area = area WHERE code = 'asia';   -- the caches reload
SET ROLE geo_app;
SELECT pg_temp.try($$SELECT georoute.region_of_id((2::bigint << 56) | (1::bigint << 49) | 5)$$);
RESET ROLE;
GRANT EXECUTE ON FUNCTION georoute._target(text) TO PUBLIC;
SET ROLE geo_app;
SELECT georoute.region_of_id((2::bigint << 56) | (1::bigint << 49) | 5) AS eu_again;
RESET ROLE;
SELECT code, jurisdiction FROM georoute.regions ORDER BY number;

-- Routed calls, moves, the guard's settings and credentials: the paths
-- that fail before any other cluster is asked (the rest runs on three
-- clusters in test/georoute/regions.sh).
SELECT pg_temp.try($$SELECT georoute.proxy(NULL, 'variant', 'dbname=router')$$);
SELECT pg_temp.try($$SELECT georoute.proxy('now()', 'variant', 'dbname=router')$$);
SELECT pg_temp.try($$SELECT georoute.proxy('abs(bigint)', 'x', 'dbname=router')$$);
SELECT pg_temp.try($$SELECT georoute.proxy('georoute.next_id(text)', 'region')$$);   -- no router set
SELECT pg_temp.try($$SELECT georoute.proxy('georoute.next_id(text)', 'region', 'dbname=router password=x')$$);
SELECT pg_temp.try($$SELECT georoute.proxy('georoute.region_of(geography)', 'place', 'dbname=router')$$);
SELECT pg_temp.try($$SELECT georoute.proxy('georoute.next_id(text)', 'region', 'host=127.0.0.1 port=1 dbname=router')$$);
SELECT pg_temp.try($$SELECT georoute.proxy_cluster()$$);   -- no PL/Proxy here
SELECT georoute._key_partition('eu') AS eu_partition, georoute._key_partition('eu:order-7') AS eu_stream,
       georoute._key_partition((2::bigint << 56) | (1::bigint << 49) | 5) AS eu_id,
       georoute._key_partition(NULL::text) AS null_key;
SELECT pg_temp.try($$SELECT georoute._key_partition('mars:order-7')$$);
SELECT pg_temp.try($$SELECT georoute._key_partition('asia')$$);   -- a region without a server
SELECT pg_temp.try($$SELECT georoute._key_partition(0::bigint)$$);
SELECT pg_temp.try($$CALL georoute.move(NULL, int8range(1, 2), 'eu')$$);
SELECT pg_temp.try($$CALL georoute.move('geo_plain', int8range(1, 2), 'eu')$$);
SELECT pg_temp.try($$CALL georoute.move('geo_plain', int8range(1, 1), 'eu')$$);
SELECT pg_temp.try($$CALL georoute.move('geo_plain', int8range(1, NULL), 'eu')$$);
SHOW search_path;   -- a refused move leaves the session's search_path as it was
SELECT georoute.region_for('geo_plain', (2::bigint << 56) | (1::bigint << 49) | 5) AS eu_by_id,
       georoute.region_for('geo_plain', 'tenant-1'::text) AS never_moved;
SELECT pg_temp.try($$SELECT georoute.region_for('geo_plain', 0::bigint)$$);
SELECT pg_temp.try($$SELECT georoute._region_change()$$);
SELECT pg_temp.try($$CREATE USER MAPPING FOR CURRENT_USER SERVER geo_eu OPTIONS (user 'app', password 'secret') $$);
SELECT pg_temp.try($$CREATE USER MAPPING FOR PUBLIC SERVER geo_us OPTIONS (sslpassword 'secret') $$);
SELECT count(*) AS mappings FROM pg_user_mappings WHERE srvname IN ('geo_eu', 'geo_us');
SET ROLE geo_app;
SELECT pg_temp.try($$SET georoute.enforce_home_region = on$$);
SELECT pg_temp.try($$SELECT georoute.proxy('georoute.next_id(text)', 'region', 'dbname=router')$$);
SELECT pg_temp.try($$CALL georoute.move('geo_plain', int8range(1, 2), 'eu')$$);
SELECT pg_temp.try($$SELECT current_setting('georoute.router')$$);
RESET ROLE;

SET client_min_messages = warning;
DROP TABLE geo_plain, geo_by_id, geo_int, geo_users;
DROP EXTENSION georoute CASCADE;
DROP SERVER IF EXISTS geo_eu, geo_us;
DROP ROLE geo_app;
