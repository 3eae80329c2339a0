#!/usr/bin/env bash
# Load test: a release build of `tally serve` on a free loopback port, seeded through the
# JSON API (owners and applicants with credits and session tokens, open jobs), then wrk with
# scripts/load.lua (a mix of board, job, wallet and statement reads, grants, launches and
# applications; see its header) at 16 and at 64 connections. Prints, per run, throughput,
# latency p50/p90/p99, non-2xx answers (by problem code) and socket errors, then a table of
# all runs; stops the server after each run (and on any failure) and drops its database.
#
#   scripts/load.sh                                             # memory storage
#   LOAD_STORAGE=postgres DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres scripts/load.sh
#
# Settings (environment):
#   LOAD_STORAGE      memory (default) or postgres
#   DATABASE_URL      with postgres: a server URL whose role may CREATE DATABASE; the test runs
#                     in a fresh database LOAD_DB (default tally_load) on that server, dropped
#                     at the end unless KEEP=1
#   LOAD_DURATION     each run's duration, as wrk takes it (default 20s)
#   LOAD_CONNECTIONS  the runs' connection counts (default "16 64")
#   LOAD_THREADS      wrk threads (default 2: this machine's cores, shared with the server)
#   LOAD_OWNERS       members who launch jobs (default 32)
#   LOAD_APPLICANTS   members who apply (default 64; split between wrk's threads)
#   LOAD_OPEN_JOBS    open jobs launched before each run (default 100)
#   LOAD_BUILD        auto (default: build only if the binary is missing), always, never
#   TALLY_BIN         the binary (default target/release/tally)
#   TALLY_ADMIN_PASSWORD  the admin password the server is started with (default: random)
#   LOAD_FRESH        1 (default): a new server (and database) for each run, seeded alike;
#                     0: one server for all runs
#   LOAD_MIX          replaces the mix, e.g. "board=1" (see scripts/load.lua)
#   LOAD_RUST_LOG     the server's RUST_LOG (default info, the service's default)
#   LOAD_VERIFY       with postgres, run `tally verify` on the last run's database (default 1)
#   KEEP              1 keeps the work directory (server log, seed data) and the database
set -euo pipefail
cd "$(dirname "$0")/.."
export PGOPTIONS="${PGOPTIONS:---client-min-messages=warning}"

storage="${LOAD_STORAGE:-memory}"
duration="${LOAD_DURATION:-20s}"
connections="${LOAD_CONNECTIONS:-16 64}"
threads="${LOAD_THREADS:-2}"
owners="${LOAD_OWNERS:-32}"
applicants="${LOAD_APPLICANTS:-64}"
open_jobs="${LOAD_OPEN_JOBS:-100}"
build="${LOAD_BUILD:-auto}"
tally="${TALLY_BIN:-${CARGO_TARGET_DIR:-target}/release/tally}"
# The master key of personal data (PostgreSQL storage needs one): the caller's, or one for this run.
export TALLY_MASTER_KEY="${TALLY_MASTER_KEY:-$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')}"
admin_password="${TALLY_ADMIN_PASSWORD:-load-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')}"
member_password="load-test-password"

die() { echo "load.sh: $*" >&2; exit 1; }

case "$storage" in memory | postgres) ;; *) die "LOAD_STORAGE must be memory or postgres, not '$storage'" ;; esac
[ "$applicants" -ge "$threads" ] || die "LOAD_APPLICANTS ($applicants) must be at least LOAD_THREADS ($threads)"

# ---- tools ------------------------------------------------------------------------------
need() { # command, Debian package
  command -v "$1" >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "load.sh: installing $2 (apt-get install $2)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$2" >/dev/null \
      || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$2" >/dev/null; } \
      || die "could not install $2: run apt-get install $2"
  else
    die "$1 is missing: run apt-get install $2 (as root)"
  fi
}
need wrk wrk
need curl curl
need jq jq
[ "$storage" = postgres ] && need psql postgresql-client

# ---- the binary -------------------------------------------------------------------------
if [ "$build" = always ] || { [ "$build" = auto ] && [ ! -x "$tally" ]; }; then
  cargo build --release -p tally
fi
[ -x "$tally" ] || die "$tally is missing: run cargo build --release -p tally (or set TALLY_BIN)"

# ---- clean-up ---------------------------------------------------------------------------
work="$(mktemp -d "${TMPDIR:-/tmp}/tally-load.XXXXXX")"
server_pid=""
db_url=""
admin_url=""
db="${LOAD_DB:-tally_load}"
stop_server() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  server_pid=""
}
cleanup() {
  local rc=$?
  stop_server
  if [ -n "$admin_url" ] && [ "${KEEP:-0}" != 1 ]; then
    psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
  fi
  if [ "${KEEP:-0}" = 1 ] || [ "$rc" != 0 ]; then
    echo "load.sh: work directory kept: $work (server.log)" >&2
  else
    rm -rf "$work"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- storage ----------------------------------------------------------------------------
if [ "$storage" = postgres ]; then
  base="${DATABASE_URL:?with LOAD_STORAGE=postgres, set DATABASE_URL to a PostgreSQL server (a role that may CREATE DATABASE)}"
  base="${base%%\?*}"
  admin_url="${base%/*}/postgres"
  db_url="${base%/*}/$db"
fi
fresh_storage() {
  [ "$storage" = postgres ] || return 0
  psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
}

# ---- the server -------------------------------------------------------------------------
# Port 0: the kernel picks a free port, and the start-up log says which. Log-in and sign-up
# are rate-limited per client address (20 a minute by default); the seeding signs up every
# member from 127.0.0.1, so the limit is raised for this server only. RUST_LOG is the
# service's default (info: one line per request), as an operator would run it.
url=""
start_server() { # log file
  local -a storage_env=(TALLY_STORAGE="$storage")
  [ "$storage" = postgres ] && storage_env+=(DATABASE_URL="$db_url")
  env "${storage_env[@]}" NO_COLOR=1 RUST_LOG="${LOAD_RUST_LOG:-info}" \
    TALLY_ADMIN_PASSWORD="$admin_password" \
    "$tally" serve --listen 127.0.0.1:0 --auth-attempts-per-minute 1000000 \
    >"$1" 2>&1 &
  server_pid=$!
  local addr="" _
  for _ in $(seq 1 600); do
    kill -0 "$server_pid" 2>/dev/null || { cat "$1" >&2; die "the server exited at start-up"; }
    addr="$(sed 's/\x1b\[[0-9;]*m//g' "$1" | grep -o 'addr=127\.0\.0\.1:[0-9]*' | head -n 1 | cut -d= -f2 || true)"
    [ -n "$addr" ] && break
    sleep 0.1
  done
  [ -n "$addr" ] || { cat "$1" >&2; die "no listening address in the server's log after 60 s"; }
  url="http://$addr"
  curl -fsS -o /dev/null --retry 20 --retry-delay 1 --retry-connrefused "$url/health/ready" \
    || die "$url/health/ready did not answer 2xx"
  echo "server: $("$tally" --version) at $url, storage $storage${db_url:+ (database $db)}, pid $server_pid"
}

# ---- seeding through the API --------------------------------------------------------------
# api METHOD PATH TOKEN BODY: prints the answer's body; fails (naming it) on a non-2xx.
api() {
  local out code
  local -a args=(-sS -X "$1" "$url$2" -H 'content-type: application/json' -w '\n%{http_code}')
  [ -n "$3" ] && args+=(-H "authorization: Bearer $3")
  [ -n "$4" ] && args+=(--data "$4")
  out="$(curl "${args[@]}")"
  code="${out##*$'\n'}"
  out="${out%$'\n'*}"
  case "$code" in 2??) printf '%s' "$out" ;; *) die "$1 $2 answered $code: $out" ;; esac
}
safe() { [[ "$1" =~ ^[A-Za-z0-9._~+/=-]+$ ]] || die "unexpected characters in '$1'"; printf '%s' "$1"; }

admin_token=""
declare -a owner_handles=() owner_tokens=() applicant_handles=() applicant_tokens=()
signup() { # handle -> token
  api POST /api/v1/signup "" "$(jq -nc --arg h "$1" --arg p "$member_password" \
    '{handle:$h, display_name:("Load " + $h), password:$p}')" | jq -r .session.token
}
grant() { # handle amount reason
  api POST "/api/v1/members/$1/grant-credits" "$admin_token" \
    "$(jq -nc --argjson a "$2" --arg r "$3" '{amount:$a, reason:$r, category:"other"}')" >/dev/null
}
seed_members() {
  echo "seeding: $owners owners with 1,000,000 credits, $applicants applicants with 1,000 (sign-up, grant)"
  admin_token="$(safe "$(api POST /api/v1/session "" "$(jq -nc --arg p "$admin_password" '{name:"admin",password:$p}')" | jq -r .token)")"
  owner_handles=() owner_tokens=() applicant_handles=() applicant_tokens=()
  local i h
  for i in $(seq 1 "$owners"); do
    h="$(printf 'owner%03d' "$i")"
    owner_handles+=("$h")
    owner_tokens+=("$(safe "$(signup "$h")")")
    grant "$h" 1000000 "Load test: launch budget"
  done
  for i in $(seq 1 "$applicants"); do
    h="$(printf 'applicant%03d' "$i")"
    applicant_handles+=("$h")
    applicant_tokens+=("$(safe "$(signup "$h")")")
    grant "$h" 1000 "Load test: opening balance"
  done
}

words=(logo design fence garden translate review survey photos copywriting repair tutoring bookkeeping)
# seed_jobs FILE: launches LOAD_OPEN_JOBS open jobs, round robin over the owners, and writes
# the data file scripts/load.lua reads (members, tokens, these jobs, a nonce for this run).
seed_jobs() {
  local f="$1" i o w1 w2 id
  echo "seeding: $open_jobs open jobs"
  {
    echo "return {"
    echo "  nonce = $(( (RANDOM << 15) | RANDOM )),"
    echo "  admin = \"$admin_token\","
    echo "  owners = {"
    for i in "${!owner_handles[@]}"; do
      echo "    { handle = \"${owner_handles[$i]}\", token = \"${owner_tokens[$i]}\" },"
    done
    echo "  },"
    echo "  applicants = {"
    for i in "${!applicant_handles[@]}"; do
      echo "    { handle = \"${applicant_handles[$i]}\", token = \"${applicant_tokens[$i]}\" },"
    done
    echo "  },"
    echo "  jobs = {"
    for i in $(seq 1 "$open_jobs"); do
      o=$(( (i - 1) % owners ))
      w1="${words[$(( RANDOM % ${#words[@]} ))]}"
      w2="${words[$(( RANDOM % ${#words[@]} ))]}"
      id="$(safe "$(api POST /api/v1/jobs "${owner_tokens[$o]}" \
        "$(jq -nc --arg t "Seeded: $w1 $w2 #$i" --arg d "A $w1 job for the load test." \
          --argjson r $(( 1 + RANDOM % 10 )) '{title:$t, description:$d, reward:$r}')" | jq -r .key)")"
      echo "    \"$id\","
    done
    echo "  },"
    echo "}"
  } >"$f"
}
# CPU accounting, to read the figures by: the machine's busy and total jiffies, and a process's.
cpu_machine() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 }' /proc/stat; }
cpu_process() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
# Every PostgreSQL process on this machine (its backends outlive a run: the pools keep them).
cpu_postgres() { cat /proc/[0-9]*/stat 2>/dev/null | awk '$2 == "(postgres)" { t += $14 + $15 } END { print t + 0 }'; }
# The CPU time (in ticks of 10 ms) this shell's finished children used so far: read before
# and after wrk, it is wrk's.
children_ticks() {
  times >"$work/times"
  tail -n 1 "$work/times" | awk '{ t = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); t += a[1] * 60 + a[2] } print int(t * 100) }'
}
open_count() { api GET "/api/v1/jobs?limit=1" "" "" | jq -r '"\(.total)\(if .total_exact then "" else " (estimate)" end)"'; }

# ---- the runs ---------------------------------------------------------------------------
# LOAD_FRESH=1 (the default): each run gets a new server (and, on PostgreSQL, a new
# database) seeded the same way, so that runs differ only in their connection count (the mix
# launches jobs, and some lists cost more as jobs accumulate). LOAD_FRESH=0: one server for
# every run, each run seeding its own open jobs.
results="$work/results.tsv"
: >"$results"
errors_logged=0
run=0
for c in $connections; do
  run=$((run + 1))
  if [ "$run" = 1 ] || [ "${LOAD_FRESH:-1}" = 1 ]; then
    stop_server
    fresh_storage
    start_server "$work/server-$run.log"
    log="$work/server-$run.log"
    seed_members
    jobs_total=0
  fi
  seed_jobs "$work/data-$run.lua"
  echo
  echo "== run $run: $storage, $c connections, $threads threads, $duration; open jobs at start: $(open_count) =="
  out="$work/run-$run.tsv"
  read -r busy0 total0 <<<"$(cpu_machine)"
  server0="$(cpu_process "$server_pid")"
  pg0="$(cpu_postgres)"
  children_ticks >"$work/wrk0"
  TALLY_LOAD_DATA="$work/data-$run.lua" TALLY_LOAD_RESULT="$out" TALLY_LOAD_THREADS="$threads" \
    wrk -t "$threads" -c "$c" -d "$duration" --timeout 10s -s scripts/load.lua "$url"
  read -r busy1 total1 <<<"$(cpu_machine)"
  server1="$(cpu_process "$server_pid")"
  pg1="$(cpu_postgres)"
  children_ticks >"$work/wrk1"
  [ -s "$out" ] || die "wrk wrote no result for run $run"
  # Shares of the machine's capacity (100% = every core) during the run: everything busy,
  # and the tally process alone (wrk, PostgreSQL and anything else make up the rest).
  cpu_busy=$(( 100 * (busy1 - busy0) / (total1 - total0 + 1) ))
  cpu_server=$(( 100 * (server1 - server0) / (total1 - total0 + 1) ))
  cpu_wrk=$(( 100 * ($(cat "$work/wrk1") - $(cat "$work/wrk0")) * $(getconf CLK_TCK) / 100 / (total1 - total0 + 1) ))
  cpu_pg=$(( 100 * (pg1 - pg0) / (total1 - total0 + 1) ))
  cpu_other=$(( cpu_busy - cpu_server - cpu_wrk - cpu_pg ))
  [ "$cpu_other" -ge 0 ] || cpu_other=0
  echo "CPU during the run (100% = all $(nproc) cores): machine ${cpu_busy}% busy: tally ${cpu_server}%, wrk ${cpu_wrk}%, PostgreSQL ${cpu_pg}%, everything else ${cpu_other}%"
  kill -0 "$server_pid" 2>/dev/null || { tail -n 50 "$log" >&2; die "the server died during run $run"; }
  curl -fsS -o /dev/null "$url/health/ready" || die "the server is not ready after run $run"
  launched="$(cut -f10 "$out")"
  jobs_total=$(( jobs_total + open_jobs + launched ))
  echo "open jobs at the end: $jobs_total ($launched launched during the run); the board says $(open_count)"
  printf '%s\t%s\t%s\t%s\t' "$storage" "$c" "$jobs_total" "$cpu_server/$cpu_wrk/$cpu_pg/$cpu_other" >>"$results"
  cut -f1-9,11- "$out" >>"$results"
  if [ "${LOAD_FRESH:-1}" = 1 ] || [ "$run" = "$(wc -w <<<"$connections")" ]; then
    errors_logged=$(( errors_logged + $(grep -c ' ERROR ' "$log" || true) ))
  fi
done
stop_server

# ---- the figures ------------------------------------------------------------------------
echo
echo "== summary: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)), $("$tally" --version), $(wrk --version 2>&1 | head -n 1 | cut -d' ' -f1-2), $duration a run, $threads wrk threads on the same machine =="
printf '%-9s %5s %9s %8s %8s %8s %8s %8s %8s %7s %10s %14s\n' \
  storage conns requests 'req/s' 'p50 ms' 'p90 ms' 'p99 ms' 'max ms' non-2xx socket 'jobs after' 'cpu% t/w/pg/o'
while IFS=$'\t' read -r st c jobs cpu req _secs rps p50 p90 p99 max non2xx sock _codes _sent; do
  printf '%-9s %5s %9s %8s %8s %8s %8s %8s %8s %7s %10s %14s\n' \
    "$st" "$c" "$req" "$rps" "$p50" "$p90" "$p99" "$max" "$non2xx" "$sock" "$jobs" "$cpu"
done <"$results"
while IFS=$'\t' read -r st c _jobs _cpu _req _secs _rps _p50 _p90 _p99 _max _non2xx _sock codes sent; do
  echo "$st/$c: refusals by code: $codes"
  echo "$st/$c: sent by kind: $sent"
done <"$results"
echo "server logs: $errors_logged ERROR lines"

if [ "$storage" = postgres ] && [ "${LOAD_VERIFY:-1}" = 1 ]; then
  echo
  echo "== tally verify on $db =="
  DATABASE_URL="$db_url" NO_COLOR=1 RUST_LOG=warn "$tally" --storage postgres verify
fi
