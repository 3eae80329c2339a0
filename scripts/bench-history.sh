#!/usr/bin/env bash
# The history benchmark: seeds a fresh PostgreSQL database with about N events (`tally seed
# --scale`), then, in the same run, prints what reading the rows alone costs (`\copy events to
# /dev/null`, the reference) and `tally rebuild --reports` end to end (three runs each), and
# `tally bench`: the pure report fold, the HTTP feed, a feed page at the head against one at
# the start, long-poll wake-ups, and a command's latency here against an empty database.
#
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres scripts/bench-history.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-1000000}"
base="${DATABASE_URL:?set DATABASE_URL to a PostgreSQL server (a role that may CREATE DATABASE)}"
db="tally_bench_history"
admin_url="${base%/*}/postgres"
url="${base%/*}/$db"
psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" 2>&1 | grep -v NOTICE || true
cargo build -q --release -p tally
tally="${CARGO_TARGET_DIR:-target}/release/tally"
export DATABASE_URL="$url" RUST_LOG="${RUST_LOG:-warn}"
# The master key of personal data (PostgreSQL storage needs one): the caller's, or one for this run.
export TALLY_MASTER_KEY="${TALLY_MASTER_KEY:-$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')}"
# An empty database, to time commands against in the same run.
empty="${base%/*}/tally_bench_empty"
psql -q "$admin_url" -c "DROP DATABASE IF EXISTS tally_bench_empty" -c "CREATE DATABASE tally_bench_empty" 2>&1 | grep -v NOTICE || true
DATABASE_URL="$empty" $tally --storage postgres migrate >/dev/null
echo "== $n events"
$tally --storage postgres migrate >/dev/null
$tally --storage postgres seed --scale "$n"
# What autovacuum does after a bulk load, done now so that it does not run during the figures.
psql -q "$url" -c 'VACUUM ANALYZE'
# Three runs each of the reference and of the rebuild, interleaved: this machine is noisy.
for run in 1 2 3; do
  start=$(date +%s.%N)
  psql -q "$url" -c '\copy events to /dev/null'
  end=$(date +%s.%N)
  rows=$(psql -qtA "$url" -c 'SELECT count(*) FROM events')
  python3 -c "r=int('$rows'); s=$end-$start; print(f'run $run: reference: \\\\copy of {r} rows in {s:.2f} s ({r/s:,.0f} rows/s)')"
  $tally --storage postgres rebuild --reports 2>/dev/null | sed -n "1s/^/run $run: /p"
done
$tally --storage postgres bench --against "$empty"
psql -q "$admin_url" -c "DROP DATABASE $db" -c "DROP DATABASE tally_bench_empty"
