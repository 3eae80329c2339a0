#!/usr/bin/env bash
# The job board benchmark: two fresh PostgreSQL databases, one with N open jobs (default
# 100,000) and one with 1,000 (`tally seed --open-jobs`, then `tally rebuild --cache` to fill
# the state cache), and `tally bench --board` timing the board's first page, a page 5,000 jobs
# deep, two searches and a reward filter on both in alternating rounds.
#
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres [KEEP=1] scripts/bench-board.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-100000}"
base="${DATABASE_URL:?set DATABASE_URL to a PostgreSQL server (a role that may CREATE DATABASE)}"
admin_url="${base%/*}/postgres"
cargo build -q --release -p tally
tally="${CARGO_TARGET_DIR:-target}/release/tally"
export RUST_LOG="${RUST_LOG:-warn}"
# The master key of personal data (PostgreSQL storage needs one): the caller's, or one for this run.
export TALLY_MASTER_KEY="${TALLY_MASTER_KEY:-$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')}"
for jobs in "$n" 1000; do
  db="tally_bench_board_$jobs"
  psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" 2>&1 | grep -v NOTICE || true
  url="${base%/*}/$db"
  DATABASE_URL="$url" $tally --storage postgres migrate >/dev/null
  DATABASE_URL="$url" $tally --storage postgres seed --open-jobs "$jobs"
  DATABASE_URL="$url" $tally --storage postgres rebuild --cache | tail -n 1
  psql -q "$url" -c 'VACUUM ANALYZE'
done
DATABASE_URL="${base%/*}/tally_bench_board_$n" $tally --storage postgres bench --board \
  --against "${base%/*}/tally_bench_board_1000"
# KEEP=1 keeps both databases (to look at plans, say).
if [ "${KEEP:-0}" != 1 ]; then
  psql -q "$admin_url" -c "DROP DATABASE tally_bench_board_$n" -c "DROP DATABASE tally_bench_board_1000"
fi
