#!/usr/bin/env bash
# georoute on three real region clusters (test/harness/regions.sh): the
# same registry in each, ids minted in every cluster for every region,
# routed back by region_of_id() in every cluster; georoute.local_region is
# a property of the cluster (a session cannot take another region's
# minting). Starts the clusters and stops them; ends with
# "N passed, N failed".
set -uo pipefail
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SCRIPT_DIR/../.." && pwd)
REGIONS_SH="$REPO/test/harness/regions.sh"
PGBIN=${CASEBOOK_PGBIN:-/usr/lib/postgresql/15/bin}
IDS=${GEOROUTE_IDS:-1000}
passed=0; failed=0
check() { # check WHAT EXPECTED GOT
  if [ "$2" = "$3" ]; then passed=$((passed + 1)); echo "ok     $1"
  else failed=$((failed + 1)); echo "FAILED $1: expected [$2], got [$3]"; fi
}
trap 'bash "$REGIONS_SH" stop >/dev/null 2>&1' EXIT
bash "$REGIONS_SH" start >/dev/null || { echo "0 passed, 1 failed"; exit 1; }
WORK=$(mktemp -d)
trap 'bash "$REGIONS_SH" stop >/dev/null 2>&1; rm -rf "$WORK"' EXIT
in_region() { local r=$1; shift; (eval "$(bash "$REGIONS_SH" env "$r")"; "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d casebook "$@"); }

for r in us eu asia; do
  in_region "$r" >/dev/null <<'SQL' || { echo "FAILED set-up in $r"; failed=$((failed + 1)); }
SET client_min_messages = warning;
CREATE EXTENSION georoute CASCADE;
SELECT georoute.add_region('us', NULL, 'US', number => 1);
SELECT georoute.add_region('eu', NULL, 'EU', number => 2);
SELECT georoute.add_region('asia', NULL, 'APAC', number => 3);
SQL
done

# Every cluster mints IDS ids for every region.
for r in us eu asia; do
  in_region "$r" -F ' ' -v n="$IDS" -c "SELECT home, georoute.next_id(home) FROM unnest(ARRAY['us','eu','asia']) home, generate_series(1, $IDS)" \
    | sed "s/^/$r /" >>"$WORK/ids" || true
done
total=$((IDS * 9))
check "$total ids minted in three clusters for three regions" "$total" "$(wc -l <"$WORK/ids" | tr -d ' ')"
check "no id minted twice across the clusters" "$total" "$(cut -d' ' -f3 "$WORK/ids" | sort -u | wc -l | tr -d ' ')"
# Each cluster routes every id (its own and the others') to its home region.
awk '{ print $3 "\t" $2 }' "$WORK/ids" >"$WORK/ids.tsv"
chmod 644 "$WORK/ids.tsv"; chmod 755 "$WORK"
for r in us eu asia; do
  wrong=$(in_region "$r" <<SQL
CREATE TEMP TABLE minted (id bigint, home text);
\copy minted FROM '$WORK/ids.tsv'
SELECT count(*) FROM minted WHERE georoute.region_of_id(id) IS DISTINCT FROM home;
SQL
)
  check "$r routes all $total ids to their home region" "0" "$wrong"
done
# The minting region is in the id: bits 55-49 are the minting cluster's number.
minters=$(awk '{ print $1 }' "$WORK/ids" | sort | uniq -c | awk '{ print $2 "=" $1 }' | tr '\n' ' ')
check "each cluster minted its share" "asia=$((IDS * 3)) eu=$((IDS * 3)) us=$((IDS * 3)) " "$minters"
bad_minter=$(awk '{ split("us eu asia", names, " "); m = int($3 / 562949953421312) % 128; if (names[m] != $1) n++ } END { print n + 0 }' "$WORK/ids")
check "every id carries the number of the cluster that minted it" "0" "$bad_minter"

# local_region belongs to the cluster: a session cannot mint as another
# region, by SET after the library is loaded (refused) or before it (the
# placeholder is dropped when georoute defines the setting).
check "SET georoute.local_region in a session is refused (55P02)" \
  'ERROR:  parameter "georoute.local_region" cannot be changed now' \
  "$(in_region eu -c "SELECT georoute.next_id('eu') > 0" -c "SET georoute.local_region = 'us'" 2>&1 | grep ERROR)"
check "SET before georoute is loaded: ids still minted as eu (number 2)" "2" \
  "$(in_region eu -c "SET georoute.local_region = 'us'" -c "SELECT (georoute.next_id('us') >> 49) & 127" 2>/dev/null | tail -1)"
check "the EU cluster mints as eu (number 2)" "2" "$(in_region eu -c "SELECT (georoute.next_id('asia') >> 49) & 127")"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
