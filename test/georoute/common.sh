# georoute across the three region clusters: what the region suite
# (test/georoute/regions.sh) and the demo (extensions/georoute/demo.sh)
# share. Source it after setting REPO; honours CASEBOOK_REGION_SET and
# CASEBOOK_REGION_PORT_BASE (test/harness/regions.sh).
REGIONS_SH="$REPO/test/harness/regions.sh"
PGBIN=${CASEBOOK_PGBIN:-/usr/lib/postgresql/15/bin}

# in_region REGION [psql args...]: psql in that region's casebook database.
in_region() { local r=$1; shift; (eval "$(bash "$REGIONS_SH" env "$r")"; "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d casebook "$@"); }

# The registry, the same in every cluster: a postgres_fdw server for each
# region's cluster (its socket; trust authentication in these throwaway
# clusters: no password anywhere) and the three regions.
georoute_registry_sql() {
  local r host servers=""
  for r in us eu asia; do
    host=$(eval "$(bash "$REGIONS_SH" env "$r")"; echo "$PGHOST")
    servers="$servers
CREATE SERVER cluster_$r FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '$host', port '$(bash "$REGIONS_SH" port "$r")', dbname 'casebook');
CREATE USER MAPPING FOR CURRENT_USER SERVER cluster_$r OPTIONS (user 'postgres');"
  done
  cat <<SQL
SET client_min_messages = warning;
CREATE EXTENSION georoute CASCADE;
$servers
SELECT georoute.add_region('us', 'cluster_us', 'US', number => 1);
SELECT georoute.add_region('eu', 'cluster_eu', 'EU', number => 2);
SELECT georoute.add_region('asia', 'cluster_asia', 'APAC', number => 3);
SQL
}
