#!/usr/bin/env bash
# The three region clusters of georoute (case study 6): us, eu and asia, each
# a named cluster of cluster.sh (.cluster-region-<code>), on loopback ports
# of their own, with wal_level = logical (reference data and moves travel by
# logical replication) and georoute.local_region set to the region's code.
#
#   regions.sh start                 fresh initdb + start of all three
#   regions.sh stop                  stop all three (if running)
#   regions.sh status                one line per region; exit 0 when all run
#   regions.sh start|stop REGION     one of them (start: a fresh initdb)
#   regions.sh restart REGION        the same data directory again (a region
#                                    stopped, then back with its rows)
#   regions.sh env REGION            export lines: eval "$(regions.sh env eu)"
#   regions.sh port REGION           its port
#
# Ports: CASEBOOK_REGION_PORT_BASE (default 55441) + 0 (us), 1 (eu), 2 (asia).
# CASEBOOK_REGION_SET (default empty) names a second set of the three
# clusters beside the first (a benchmark next to a test run): its data
# directories are .cluster-<set>-region-<code>.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CLUSTER_SH="$SCRIPT_DIR/cluster.sh"
BASE=${CASEBOOK_REGION_PORT_BASE:-55441}
REGIONS=(us eu asia)

die() { echo "regions: ERROR: $*" >&2; exit 1; }

port_of() {
  case "$1" in
    us) echo $((BASE + 0)) ;;
    eu) echo $((BASE + 1)) ;;
    asia) echo $((BASE + 2)) ;;
    *) die "unknown region '$1' (us, eu or asia)" ;;
  esac
}

# Runs cluster.sh for one region.
region() {
  local code=$1; shift
  CASEBOOK_CLUSTER_NAME="${CASEBOOK_REGION_SET:+$CASEBOOK_REGION_SET-}region-$code" CASEBOOK_PORT=$(port_of "$code") \
    CASEBOOK_EXTRA_CONF="wal_level = logical
max_replication_slots = 16
max_wal_senders = 16
georoute.local_region = '$code'" bash "$CLUSTER_SH" "$@"
}

cmd=${1:-}
shift || true
case "$cmd" in
  start|stop)
    if [ $# -gt 0 ]; then
      region "$1" "$cmd"
    else
      for r in "${REGIONS[@]}"; do region "$r" "$cmd"; done
    fi
    ;;
  restart)
    [ $# -eq 1 ] || die "usage: regions.sh restart REGION"
    region "$1" restart
    ;;
  status)
    rc=0
    for r in "${REGIONS[@]}"; do
      s=$(region "$r" status 2>/dev/null) || rc=3
      echo "$r $(port_of "$r") ${s:-stopped}"
    done
    exit $rc
    ;;
  env)
    [ $# -eq 1 ] || die "usage: regions.sh env REGION"
    region "$1" env
    ;;
  port)
    [ $# -eq 1 ] || die "usage: regions.sh port REGION"
    port_of "$1"
    ;;
  *)
    die "usage: regions.sh start|stop|status [REGION] | restart REGION | env REGION | port REGION"
    ;;
esac
