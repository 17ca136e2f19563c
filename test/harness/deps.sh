#!/usr/bin/env bash
# Make sure the Debian packages casebook needs for building, testing and the
# demo are installed.
#   as root:     installs only what is missing (non-interactive).
#   as non-root: only checks, and prints the apt-get command to run.
# Prints exactly one line on success.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SCRIPT_DIR/../.." && pwd)
cd "$REPO"

PACKAGES=(
  postgresql-15 postgresql-server-dev-15 postgresql-contrib
  postgresql-15-hll postgresql-15-postgis-3 postgresql-15-partman
  postgresql-15-cron postgresql-15-pgtap pgtap pgbouncer
  postgresql-15-tdigest postgresql-15-plproxy
  libgtest-dev cmake g++ make valgrind gnuplot-nox libssl-dev python3-psycopg
)

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "deps: dpkg-query not found (not a Debian system?); cannot check packages, continuing" >&2
  exit 0
fi

# Collect the packages that are not fully installed.
missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  if [ "$status" != "installed" ]; then
    missing+=("$pkg")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "deps: all dependencies present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "deps: missing packages: ${missing[*]}" >&2
  echo "deps: install them with:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi

# Install quietly; keep apt's output in a temporary file and show it only on failure.
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp /tmp/casebook-deps.XXXXXX)
trap 'rm -f "$log"' EXIT
apt_opts=(-y -q -o DPkg::Lock::Timeout=300
          -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)

if ! apt-get update -q </dev/null >"$log" 2>&1; then
  tail -n 30 "$log" >&2
  echo "deps: ERROR: 'apt-get update' failed; could not install: ${missing[*]}" >&2
  exit 1
fi
if ! apt-get install "${apt_opts[@]}" --no-install-recommends "${missing[@]}" </dev/null >>"$log" 2>&1; then
  tail -n 40 "$log" >&2
  echo "deps: ERROR: 'apt-get install' failed for: ${missing[*]}" >&2
  exit 1
fi

# Double-check that apt really installed everything we asked for.
still=()
for pkg in "${missing[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  [ "$status" = "installed" ] || still+=("$pkg")
done
if [ "${#still[@]}" -ne 0 ]; then
  echo "deps: ERROR: still not installed after apt-get: ${still[*]}" >&2
  exit 1
fi

echo "deps: installed ${missing[*]}"
