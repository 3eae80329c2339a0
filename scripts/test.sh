#!/usr/bin/env bash
# Runs every test of Tally: unit, property, contract, PostgreSQL, HTTP and the acceptance
# scenarios on every target. Provisions what it can by itself:
#   - PostgreSQL: DATABASE_URL if set; else a local server (started if it is installed but
#     stopped); else testcontainers when a Docker engine answers; else it fails saying what
#     to set.
#   - Chromium and its driver (browser target): from the system's packages when missing and
#     this user may install them (root with apt-get), unless TALLY_SKIP_BROWSER=1.
# Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n== %s\n' "$*"; }
features=()

# --- PostgreSQL ------------------------------------------------------------------------
local_url="postgres://postgres@127.0.0.1:5432/postgres"
# Starts this machine's PostgreSQL if it is installed but stopped.
ensure_local_pg() {
  command -v pg_isready >/dev/null || return 0
  pg_isready -q -h 127.0.0.1 -p 5432 && return 0
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    ver=$(ls /etc/postgresql | sort -V | tail -n 1)
    say "starting the local PostgreSQL $ver"
    pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.5; done
  fi
}
if [ -n "${DATABASE_URL:-}" ]; then
  case "$DATABASE_URL" in *@127.0.0.1[:/]*|*@localhost[:/]*) ensure_local_pg ;; esac
else
  ensure_local_pg
  if command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432; then
    export DATABASE_URL="$local_url"
  elif command -v docker >/dev/null && docker info >/dev/null 2>&1; then
    say "no local PostgreSQL: using testcontainers"
    features+=(--features tally-postgres/testcontainers)
  else
    echo "No PostgreSQL for the tests. Set DATABASE_URL to a server whose role may CREATE" >&2
    echo "DATABASE (e.g. $local_url), install one (apt-get install postgresql)," >&2
    echo "or run a Docker engine for testcontainers." >&2
    exit 1
  fi
fi
[ -n "${DATABASE_URL:-}" ] && say "PostgreSQL: ${DATABASE_URL##*@} (credentials not shown)"

# --- Chromium for the browser target -----------------------------------------------------
targets="${TALLY_TARGET:-memory,postgres,http,http-postgres,browser}"
if [[ ",$targets," == *",browser,"* ]] && [ "${TALLY_SKIP_BROWSER:-0}" != 1 ]; then
  if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      say "installing chromium and chromium-driver"
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
    else
      echo "The browser target needs chromium and chromedriver:" >&2
      echo "  sudo apt-get install chromium chromium-driver" >&2
      echo "(or set TALLY_SKIP_BROWSER=1 to leave the browser target out, knowingly)." >&2
      exit 1
    fi
  fi
elif [ "${TALLY_SKIP_BROWSER:-0}" = 1 ]; then
  targets=$(echo ",$targets," | sed 's/,browser,/,/; s/^,//; s/,$//')
  say "TALLY_SKIP_BROWSER=1: the browser target is left out"
fi
export TALLY_TARGET="$targets"
say "acceptance targets: $TALLY_TARGET"

# --- Tests ---------------------------------------------------------------------------------
say "cargo test --workspace"
cargo test --workspace "${features[@]}" "$@"
