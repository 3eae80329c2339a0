#!/usr/bin/env bash
# Runs every test of Tally: unit, property, contract, PostgreSQL, HTTP, schemathesis and the
# acceptance scenarios on every target. Provisions what it can by itself:
#   - PostgreSQL: DATABASE_URL if set; else this machine's server (started if it is installed
#     but stopped); else one installed from the system's packages when this user may (root
#     with apt-get); else testcontainers when a Docker engine answers; else it fails saying
#     what to set.
#   - A hot standby of that server on port 5433 (pg_basebackup -R under <target dir>/pg-standby)
#     for the replica tests and the postgres-replica target; TALLY_REPLICA_URL to use
#     another, TALLY_SKIP_REPLICA=1 to leave them out.
#   - Chromium and its driver (browser target): from the system's packages when missing and
#     this user may install them (root with apt-get), unless TALLY_SKIP_BROWSER=1.
#   - schemathesis (PyPI): in a virtual environment under target/, with python3 from the
#     system's packages if it is missing and may be installed, unless TALLY_SKIP_SCHEMATHESIS=1.
# Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n== %s\n' "$*"; }
features=()

# --- PostgreSQL ------------------------------------------------------------------------
local_url="postgres://postgres@127.0.0.1:5432/postgres"
can_install() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; }
apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
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
# The URL of the local server: without a password if it trusts local connections, else (as
# root, on a server this script may administer) with a password it sets for the tests.
local_pg_url() {
  if ! command -v psql >/dev/null || psql -qAt "$local_url" -c 'select 1' >/dev/null 2>&1; then
    echo "$local_url"
  elif [ "$(id -u)" = 0 ] && command -v runuser >/dev/null; then
    runuser -u postgres -- psql -qc "ALTER ROLE postgres PASSWORD 'tally-tests'" >/dev/null
    echo "postgres://postgres:tally-tests@127.0.0.1:5432/postgres"
  else
    echo "$local_url"
  fi
}
if [ -n "${DATABASE_URL:-}" ]; then
  case "$DATABASE_URL" in *@127.0.0.1[:/]*|*@localhost[:/]*) ensure_local_pg ;; esac
else
  ensure_local_pg
  if ! { command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432; } \
    && ! command -v pg_ctlcluster >/dev/null && can_install \
    && ! { command -v docker >/dev/null && docker info >/dev/null 2>&1; }; then
    say "installing PostgreSQL from the system's packages"
    apt_install postgresql
    ensure_local_pg
  fi
  if command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432; then
    DATABASE_URL=$(local_pg_url)
    export DATABASE_URL
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

# --- A hot standby for the replica tests and the postgres-replica target ------------------
# A second server on port 5433 streaming from the test server (pg_basebackup -R), under
# <target dir>/pg-standby; reused while it follows, made again when it does not.
standby_port="${TALLY_STANDBY_PORT:-5433}"
# Beside the build (the target dir, which clones of the repository may share), so that a
# fresh clone reuses the standby instead of orphaning one.
target_dir="${CARGO_TARGET_DIR:-$PWD/target}"
case "$target_dir" in /*) ;; *) target_dir="$PWD/$target_dir" ;; esac
standby_dir="$target_dir/pg-standby"
pg_bin() {
  if command -v pg_config >/dev/null && [ -x "$(pg_config --bindir)/$1" ]; then
    echo "$(pg_config --bindir)/$1"
  elif ls /usr/lib/postgresql/*/bin/"$1" >/dev/null 2>&1; then
    ls /usr/lib/postgresql/*/bin/"$1" | sort -V | tail -n 1
  else
    command -v "$1"
  fi
}
# Runs a server tool as the user who may own a cluster's files.
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
primary_sql() { psql -qAtX "$DATABASE_URL" -c "$1"; }
standby_url() { echo "postgres://postgres@127.0.0.1:$standby_port/postgres"; }
standby_follows() {
  # In recovery, and replaying: it reaches the primary's current WAL position within 30 s.
  [ "$(psql -qAtX "$(standby_url)" -c 'select pg_is_in_recovery()' 2>/dev/null)" = t ] || return 1
  local target; target=$(primary_sql 'select pg_current_wal_lsn()')
  for _ in $(seq 1 60); do
    [ "$(psql -qAtX "$(standby_url)" -c "select pg_last_wal_replay_lsn() >= '$target'" 2>/dev/null)" = t ] && return 0
    sleep 0.5
  done
  return 1
}
# A server still on the standby's port that does not follow (one made from another clone,
# say, whose directory is gone): stopped, and the port waited for.
stop_leftover_standby() {
  local pid
  if pg_isready -q -h 127.0.0.1 -p "$standby_port"; then
    pid=$(psql -qAtX "$(standby_url)" -c 'select pg_backend_pid()' 2>/dev/null || true)
    pid=$( [ -n "$pid" ] && ps -o ppid= -p "$pid" 2>/dev/null | tr -d ' ' || true)
    if [ -n "$pid" ] && [ "$pid" != 1 ]; then
      say "stopping a server on port $standby_port that does not follow the test server (pid $pid)"
      kill -QUIT "$pid" 2>/dev/null || true
    fi
  fi
  for _ in $(seq 1 60); do
    (exec 3<>"/dev/tcp/127.0.0.1/$standby_port") 2>/dev/null || return 0
    sleep 0.5
  done
  echo "Port $standby_port stays taken: stop what listens there, or set TALLY_STANDBY_PORT." >&2
  return 1
}
make_standby() {
  local pg_ctl; pg_ctl=$(pg_bin pg_ctl)
  if pg_isready -q -h 127.0.0.1 -p "$standby_port" && standby_follows; then return 0; fi
  if [ -f "$standby_dir/data/standby.signal" ]; then
    as_pg "$pg_ctl" -D "$standby_dir/data" -l "$standby_dir/log" -w -t 30 start >/dev/null 2>&1 || true
    if standby_follows; then return 0; fi
    as_pg "$pg_ctl" -D "$standby_dir/data" -m immediate stop >/dev/null 2>&1 || true
  fi
  stop_leftover_standby
  say "creating a hot standby on port $standby_port (pg_basebackup)"
  rm -rf "$standby_dir"; mkdir -p "$standby_dir"
  [ "$(id -u)" = 0 ] && chown postgres "$standby_dir"
  # Replication connections from this machine, if the primary's pg_hba.conf lacks them.
  local hba; hba=$(primary_sql 'show hba_file')
  if [ -w "$hba" ] && ! grep -Eq '^host[[:space:]]+replication[[:space:]]+all[[:space:]]+127\.0\.0\.1/32' "$hba"; then
    echo "host replication all 127.0.0.1/32 trust" >> "$hba"
    primary_sql 'select pg_reload_conf()' >/dev/null
  fi
  local host port user
  host=$(echo "${DATABASE_URL#*@}" | cut -d/ -f1 | cut -d: -f1); port=$(echo "${DATABASE_URL#*@}" | cut -d/ -f1 | cut -s -d: -f2)
  user=$(echo "${DATABASE_URL#*://}" | cut -d@ -f1 | cut -d: -f1)
  # --checkpoint=fast: else the copy waits for the next scheduled checkpoint (up to 5 min).
  PGPASSWORD=$(echo "${DATABASE_URL#*://}" | cut -d@ -f1 | cut -s -d: -f2) \
    as_pg "$(pg_bin pg_basebackup)" -D "$standby_dir/data" -R -X stream --checkpoint=fast -h "$host" -p "${port:-5432}" -U "$user"
  # A hot standby needs these at least as high as its primary's.
  {
    echo "listen_addresses = '127.0.0.1'"
    echo "port = $standby_port"
    echo "unix_socket_directories = '$standby_dir'"
    echo "hot_standby = on"
    for k in max_connections max_worker_processes max_wal_senders max_prepared_transactions max_locks_per_transaction; do
      echo "$k = $(primary_sql "show $k")"
    done
  } > "$standby_dir/data/postgresql.conf"
  printf 'local all all trust\nhost all all 127.0.0.1/32 trust\n' > "$standby_dir/data/pg_hba.conf"
  : > "$standby_dir/data/pg_ident.conf"
  [ "$(id -u)" = 0 ] && chown -R postgres "$standby_dir"
  as_pg "$pg_ctl" -D "$standby_dir/data" -l "$standby_dir/log" -w -t 60 start >/dev/null
  standby_follows
}
if [ "${TALLY_SKIP_REPLICA:-0}" = 1 ]; then
  say "TALLY_SKIP_REPLICA=1: the replica tests and target are left out"
  export TALLY_SKIP_REPLICA
elif [ -n "${TALLY_REPLICA_URL:-}" ]; then
  say "standby: ${TALLY_REPLICA_URL##*@} (TALLY_REPLICA_URL)"
elif [ -n "${DATABASE_URL:-}" ] && [[ "$DATABASE_URL" == *@127.0.0.1[:/]* || "$DATABASE_URL" == *@localhost[:/]* ]] \
  && [ -n "$(pg_bin pg_basebackup)" ] && [ -n "$(pg_bin pg_ctl)" ] \
  && { [ "$(id -u)" != 0 ] || command -v runuser >/dev/null; }; then
  if make_standby; then
    TALLY_REPLICA_URL=$(standby_url)
    export TALLY_REPLICA_URL
    say "standby: 127.0.0.1:$standby_port, following ${DATABASE_URL##*@}"
  else
    echo "Could not make a hot standby of the test server (see $standby_dir/log)." >&2
    echo "Set TALLY_REPLICA_URL to one, or TALLY_SKIP_REPLICA=1 to leave the replica tests out." >&2
    exit 1
  fi
else
  echo "The replica tests need a hot standby of a local test server (pg_basebackup, pg_ctl)." >&2
  echo "Set TALLY_REPLICA_URL to one, or TALLY_SKIP_REPLICA=1 to leave them out, knowingly." >&2
  exit 1
fi

# --- Chromium for the browser target -----------------------------------------------------
targets="${TALLY_TARGET:-memory,postgres,http,http-postgres,postgres-replica,browser}"
if [ "${TALLY_SKIP_REPLICA:-0}" = 1 ]; then
  targets=$(echo ",$targets," | sed 's/,postgres-replica,/,/; s/^,//; s/,$//')
fi
if [[ ",$targets," == *",browser,"* ]] && [ "${TALLY_SKIP_BROWSER:-0}" != 1 ]; then
  if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    if can_install; then
      say "installing chromium and chromium-driver"
      apt_install chromium chromium-driver
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

# --- schemathesis (the OpenAPI fuzzer, app/tests/schemathesis.rs) -------------------------
st_version="4.32.5"
st_venv="target/schemathesis"
if [ "${TALLY_SKIP_SCHEMATHESIS:-0}" = 1 ]; then
  say "TALLY_SKIP_SCHEMATHESIS=1: schemathesis is left out"
  export TALLY_SKIP_SCHEMATHESIS
elif [ -n "${TALLY_SCHEMATHESIS:-}" ]; then
  say "schemathesis: $TALLY_SCHEMATHESIS"
else
  if ! "$st_venv/bin/st" --version 2>/dev/null | grep -q "$st_version"; then
    if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
      if can_install; then
        say "installing python3 and python3-venv"
        apt_install python3 python3-venv
      else
        echo "schemathesis needs python3 with venv: sudo apt-get install python3 python3-venv" >&2
        echo "(or set TALLY_SKIP_SCHEMATHESIS=1 to leave it out, knowingly)." >&2
        exit 1
      fi
    fi
    say "installing schemathesis $st_version in $st_venv"
    rm -rf "$st_venv"
    python3 -m venv "$st_venv"
    "$st_venv/bin/pip" install -q --disable-pip-version-check "schemathesis==$st_version"
  fi
  TALLY_SCHEMATHESIS="$PWD/$st_venv/bin/st"
  export TALLY_SCHEMATHESIS
  say "schemathesis: $("$TALLY_SCHEMATHESIS" --version)"
fi

# --- Tests ---------------------------------------------------------------------------------
say "cargo test --workspace"
cargo test --workspace --no-fail-fast "${features[@]}" "$@"
