#!/usr/bin/env bash
# The history benchmark: measures reading an almost empty history (`tally bench`), seeds a
# fresh PostgreSQL database with about N events (`tally seed --scale`), then, in the same
# run, prints what reading the rows alone costs (`\copy events to /dev/null`, the reference),
# `tally rebuild --reports` end to end, and `tally bench` again on the big history: the pure
# report fold, the HTTP feed, a feed page at the head against one at the start, long-poll
# wake-ups and a command's latency, to compare with the almost empty run.
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
export DATABASE_URL="$url"
echo "== an empty history"
empty="${base%/*}/tally_bench_empty"
psql -q "$admin_url" -c "DROP DATABASE IF EXISTS tally_bench_empty" -c "CREATE DATABASE tally_bench_empty" 2>&1 | grep -v NOTICE || true
DATABASE_URL="$empty" $tally --storage postgres migrate >/dev/null
DATABASE_URL="$empty" $tally --storage postgres bench
psql -q "$admin_url" -c "DROP DATABASE tally_bench_empty"
echo "== $n events"
$tally --storage postgres migrate >/dev/null
$tally --storage postgres seed --scale "$n"
start=$(date +%s.%N)
psql -q "$url" -c '\copy events to /dev/null'
end=$(date +%s.%N)
rows=$(psql -qtA "$url" -c 'SELECT count(*) FROM events')
python3 -c "import sys; r=int('$rows'); s=$end-$start; print(f'reference: \\\\copy of {r} rows in {s:.2f} s ({r/s:,.0f} rows/s)')"
$tally --storage postgres rebuild --reports | head -1
$tally --storage postgres bench
psql -q "$admin_url" -c "DROP DATABASE $db"
