#!/usr/bin/env bash
# Checks the container recipe's start-up and health check.
#
# With a container engine that answers (podman or docker; CONTAINER_ENGINE chooses), it
# builds the Dockerfile's image, runs it (memory storage), waits for the HEALTHCHECK to pass
# and curls /health/live and /health/ready through the published port. If there is no engine,
# or the build or run fails (auto mode says so), or with CHECK_MODE=binary, it runs the release binary with exactly the
# environment the image sets (the Dockerfile's ENV lines) and then the environment compose.yaml
# gives the tally service (PostgreSQL storage, with DATABASE_URL pointed at a fresh local
# database instead of the `postgres` service), runs the HEALTHCHECK's own command against
# each, and prints what the health endpoints answer.
#
#   scripts/container-check.sh                       # CHECK_MODE=auto: container if possible
#   # podman in a sandbox whose cgroups crun refuses and whose rlimits cannot be raised:
#   CONTAINER_GLOBAL_FLAGS="--runtime runc" \
#   CONTAINER_RUN_FLAGS="--ulimit nofile=20000:20000 --ulimit nproc=32768:32768" \
#   BUILD_ARGS="--network host --ulimit nofile=20000:20000 --ulimit nproc=32768:32768" \
#   CHECK_MODE=container scripts/container-check.sh
#   CHECK_MODE=binary DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres scripts/container-check.sh
#
# Settings (environment):
#   CHECK_MODE              auto (default), container, or binary
#   CONTAINER_ENGINE        podman or docker (default: the first that is installed)
#   CONTAINER_GLOBAL_FLAGS  flags before the engine's subcommand, e.g. "--runtime runc"
#   CONTAINER_RUN_FLAGS     extra `run` flags, e.g. "--ulimit nofile=20000:20000"
#   BUILD_ARGS              extra `build` flags, e.g. "--build-arg RUNTIME_IMAGE=..."
#   DATABASE_URL            binary mode: a PostgreSQL server (role with CREATE DATABASE) for
#                           the compose environment; without it that half is skipped
#   CHECK_DB                the database created (and dropped) there (default tally_container_check)
#   CHECK_LISTEN            binary mode: override TALLY_LISTEN (default: the Dockerfile's, 0.0.0.0:8080)
#   TALLY_BIN               binary mode: the binary (default target/release/tally, built if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
export PGOPTIONS="${PGOPTIONS:---client-min-messages=warning}"

mode="${CHECK_MODE:-auto}"
tally="${TALLY_BIN:-${CARGO_TARGET_DIR:-target}/release/tally}"
image="${CHECK_IMAGE:-localhost/tally:check}"
# The master key of personal data (PostgreSQL storage needs one): the caller's, or one for this run.
export TALLY_MASTER_KEY="${TALLY_MASTER_KEY:-$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')}"
password="${TALLY_ADMIN_PASSWORD:-check-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')}"
read -r -a global_flags <<<"${CONTAINER_GLOBAL_FLAGS:-}"
read -r -a run_flags <<<"${CONTAINER_RUN_FLAGS:-}"
read -r -a build_args <<<"${BUILD_ARGS:-}"

die() { echo "container-check: $*" >&2; exit 1; }
say() { printf '\n== %s ==\n' "$*"; }

# ---- what the Dockerfile says ---------------------------------------------------------------
# The ENV instruction(s), continuation lines joined, as KEY=VALUE words (no value has spaces).
dockerfile_env() {
  awk '
    /^ENV[ \t]/ { on = 1; sub(/^ENV[ \t]+/, "") }
    on { line = $0; cont = sub(/\\[ \t]*$/, "", line); printf "%s ", line; if (!cont) { on = 0; print "" } }
  ' Dockerfile | tr -s ' \t' '\n' | grep -E '^[A-Z_][A-Z0-9_]*='
}
# The HEALTHCHECK's CMD, as the JSON array it is written as.
healthcheck_cmd() {
  awk '/^HEALTHCHECK/ { on = 1 } on { print; if ($0 !~ /\\[ \t]*$/) exit }' Dockerfile \
    | tr -d '\\\n' | sed -n 's/.*CMD[ \t]*\(\[.*\]\).*/\1/p'
}
health_url() { healthcheck_cmd | jq -r '.[-1]'; }

# ---- what compose.yaml gives the tally service -------------------------------------------------
# Its `environment:` entries (KEY: value), with ${VAR}, ${VAR:-default} and ${VAR:?message}
# interpolated from this shell's environment as compose does.
interpolate() {
  local s="$1" out="" name op arg val
  local re='^([^$]*)\$\{([A-Za-z_][A-Za-z0-9_]*)(:[-?])?([^}]*)\}(.*)$'
  while [[ $s =~ $re ]]; do
    out+="${BASH_REMATCH[1]}"
    name="${BASH_REMATCH[2]}" op="${BASH_REMATCH[3]}" arg="${BASH_REMATCH[4]}" s="${BASH_REMATCH[5]}"
    val="${!name:-}"
    if [ -z "$val" ]; then
      case "$op" in
        :-) val="$arg" ;;
        :\?) die "compose.yaml needs $name: $arg" ;;
      esac
    fi
    out+="$val"
  done
  printf '%s' "$out$s"
}
compose_env() {
  awk '
    /^  [a-z]/ { svc = $1 }
    svc == "tally:" && /^    environment:/ { on = 1; next }
    on && /^      [A-Z_][A-Z0-9_]*:/ { print; next }
    on { on = 0 }
  ' compose.yaml | while IFS= read -r line; do
    key="${line%%:*}"; key="${key##* }"
    value="${line#*: }"; value="${value#\"}"; value="${value%\"}"
    printf '%s=%s\n' "$key" "$(interpolate "$value")"
  done
}

# merge_env KEY=VALUE...: one line per key, in first-seen order, the last value winning (as
# an engine lays a service's environment over the image's ENV).
merge_env() {
  printf '%s\n' "$@" | awk '{ k = $0; sub(/=.*/, "", k); if (!(k in v)) order[n++] = k; v[k] = $0 }
    END { for (i = 0; i < n; i++) print v[order[i]] }'
}

# ---- a container engine, if one can run containers here -------------------------------------
engine="${CONTAINER_ENGINE:-}"
if [ -z "$engine" ]; then
  for e in podman docker; do command -v "$e" >/dev/null 2>&1 && { engine="$e"; break; }; done
fi
engine_works() {
  [ -n "$engine" ] && command -v "$engine" >/dev/null 2>&1 \
    && "$engine" "${global_flags[@]}" info >/dev/null 2>&1
}

container_name=""
remove_container() {
  [ -n "$container_name" ] || return 0
  "$engine" "${global_flags[@]}" rm -f "$container_name" >/dev/null 2>&1 || true
  container_name=""
}
# wait_healthy NAME: up to 60 s for the image's HEALTHCHECK to pass; prints the status.
wait_healthy() {
  local status=starting i
  for i in $(seq 1 30); do
    sleep 2
    if [ "$engine" = podman ]; then
      # podman runs health checks from systemd timers; without systemd, run it by hand.
      if "$engine" "${global_flags[@]}" healthcheck run "$1" >/dev/null 2>&1; then status=healthy; break; fi
    else
      status="$("$engine" inspect --format '{{.State.Health.Status}}' "$1")"
      [ "$status" = healthy ] && break
    fi
  done
  echo "health after $((i * 2)) s: $status"
  [ "$status" = healthy ]
}

container_check() {
  local port ok=0
  local -a format=()
  # podman's default image format (OCI) has no HEALTHCHECK; the docker format keeps it.
  [ "$engine" = podman ] && format=(--format docker)
  say "$engine build ${format[*]} ${build_args[*]} -t $image ."
  "$engine" "${global_flags[@]}" build "${format[@]}" "${build_args[@]}" -t "$image" .
  port="$(( 20000 + RANDOM % 20000 ))"
  trap 'remove_container; cleanup_binary' EXIT
  container_name="tally-check-$$"
  say "$engine run $image (the image's environment: memory storage) on 127.0.0.1:$port"
  "$engine" "${global_flags[@]}" run -d --name "$container_name" -p "127.0.0.1:$port:8080" \
    -e TALLY_ADMIN_PASSWORD="$password" "${run_flags[@]}" "$image"
  wait_healthy "$container_name" || ok=1
  for path in /health/live /health/ready; do
    echo "curl -i http://127.0.0.1:$port$path:"
    curl -sS -i "http://127.0.0.1:$port$path" | tr -d '\r'; echo
  done
  echo "container log:"
  "$engine" "${global_flags[@]}" logs "$container_name" 2>&1 | tail -n 8
  remove_container
  [ "$ok" = 0 ] || die "the container did not become healthy"

  # compose.yaml's environment, against a database on this machine's PostgreSQL: the
  # container shares the host's network (so 127.0.0.1 is the host's), which needs port 8080.
  if [ -z "${DATABASE_URL:-}" ]; then
    echo; echo "DATABASE_URL is not set: the compose environment (PostgreSQL) is not checked."
    return 0
  fi
  if ss -ltnH "sport = :8080" | grep -q .; then
    echo; echo "port 8080 is taken here: the compose environment (host network) is not checked."
    return 0
  fi
  local local_url env_args=()
  fresh_database
  local_url="$fresh_url"
  export TALLY_ADMIN_PASSWORD="$password"
  mapfile -t compose_vars < <(compose_env)
  compose_vars=("${compose_vars[@]/#DATABASE_URL=*/DATABASE_URL=$local_url}")
  for v in "${compose_vars[@]}"; do env_args+=(-e "$v"); done
  container_name="tally-check-pg-$$"
  say "$engine run $image (compose.yaml's environment, DATABASE_URL -> $db, host network)"
  "$engine" "${global_flags[@]}" run -d --name "$container_name" --network host \
    "${env_args[@]}" "${run_flags[@]}" "$image"
  wait_healthy "$container_name" || ok=1
  for path in /health/live /health/ready; do
    echo "curl -i http://127.0.0.1:8080$path:"
    curl -sS -i "http://127.0.0.1:8080$path" | tr -d '\r'; echo
  done
  echo "container log:"
  "$engine" "${global_flags[@]}" logs "$container_name" 2>&1 | tail -n 8
  remove_container
  [ "$ok" = 0 ] || die "the container (compose environment) did not become healthy"
}

# ---- the release binary with the image's (or compose's) environment ---------------------------
server_pid=""
admin_url=""
db="${CHECK_DB:-tally_container_check}"
cleanup_binary() {
  if [ -n "$server_pid" ]; then kill -TERM "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  server_pid=""
  if [ -n "$admin_url" ]; then psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true; fi
}

# run_binary LABEL KEY=VALUE...: starts the binary with exactly these variables (env -i),
# waits, runs the HEALTHCHECK command, curls both endpoints, stops it.
run_binary() {
  local label="$1" listen port url hc rc=0 log i
  shift
  local -a vars=("$@")
  if [ -n "${CHECK_LISTEN:-}" ]; then
    vars=("${vars[@]/#TALLY_LISTEN=*/TALLY_LISTEN=$CHECK_LISTEN}")
  fi
  listen="$(printf '%s\n' "${vars[@]}" | sed -n 's/^TALLY_LISTEN=//p' | tail -n 1)"
  port="${listen##*:}"
  if ss -ltnH "sport = :$port" | grep -q .; then
    die "port $port (TALLY_LISTEN=$listen) is taken on this machine; set CHECK_LISTEN=0.0.0.0:<free port>"
  fi
  say "$label: env -i ${vars[*]//TALLY_ADMIN_PASSWORD=*/TALLY_ADMIN_PASSWORD=(set)} $tally serve"
  log="$(mktemp)"
  env -i "${vars[@]}" "$tally" serve >"$log" 2>&1 &
  server_pid=$!
  # The HEALTHCHECK's URL (http://127.0.0.1:8080/...), on the port actually listened on.
  url="$(health_url | sed "s#127\.0\.0\.1:[0-9]*#127.0.0.1:$port#")"
  for i in $(seq 1 60); do
    curl -fsS -o /dev/null "$url" 2>/dev/null && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$log" >&2; die "$label: the binary exited"; }
    sleep 0.5
  done
  hc="$(healthcheck_cmd | jq -r '.[]' | sed "s#127\.0\.0\.1:[0-9]*#127.0.0.1:$port#")"
  mapfile -t hc_argv <<<"$hc"
  echo "HEALTHCHECK command: ${hc_argv[*]}"
  "${hc_argv[@]}" || rc=$?
  echo "exit status: $rc ($([ "$rc" = 0 ] && echo healthy || echo unhealthy))"
  for path in /health/live /health/ready; do
    echo "curl -i http://127.0.0.1:$port$path:"
    curl -sS -i "http://127.0.0.1:$port$path" | tr -d '\r'; echo
  done
  echo "start-up log:"
  sed 's/\x1b\[[0-9;]*m//g' "$log" | head -n 12
  kill -TERM "$server_pid"; wait "$server_pid" || true
  server_pid=""
  rm -f "$log"
  [ "$rc" = 0 ] || die "$label: the health check failed"
}

# fresh_database: creates CHECK_DB on DATABASE_URL's server (dropped on exit); sets
# fresh_url to its URL.
fresh_url=""
fresh_database() {
  local base="${DATABASE_URL%%\?*}"
  admin_url="${base%/*}/postgres"
  psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
  fresh_url="${base%/*}/$db"
}

binary_check() {
  if [ ! -x "$tally" ]; then cargo build --release -p tally; fi
  command -v jq >/dev/null || die "jq is missing: apt-get install jq"
  trap cleanup_binary EXIT
  mapfile -t image_env < <(dockerfile_env)
  [ "${#image_env[@]}" -gt 0 ] || die "no ENV found in the Dockerfile"
  run_binary "the image's environment (memory)" "${image_env[@]}" TALLY_ADMIN_PASSWORD="$password"

  if [ -z "${DATABASE_URL:-}" ]; then
    echo; echo "DATABASE_URL is not set: the compose environment (PostgreSQL) is not checked."
    return
  fi
  local local_url
  fresh_database
  local_url="$fresh_url"
  export TALLY_ADMIN_PASSWORD="$password"
  mapfile -t compose_vars < <(compose_env)
  [ "${#compose_vars[@]}" -gt 0 ] || die "no environment found for the tally service in compose.yaml"
  # compose's DATABASE_URL names the `postgres` service, which only resolves inside compose's
  # network: point it at the local database instead; everything else as compose sets it, on
  # top of the image's ENV (as an engine would merge them).
  compose_vars=("${compose_vars[@]/#DATABASE_URL=*/DATABASE_URL=$local_url}")
  mapfile -t merged < <(merge_env "${image_env[@]}" "${compose_vars[@]}")
  run_binary "compose.yaml's environment (postgres, DATABASE_URL -> $db)" "${merged[@]}"
}

case "$mode" in
  container) engine_works || die "no working container engine (${engine:-none found})"; container_check ;;
  binary) binary_check ;;
  auto)
    # The container check runs as its own process, so that `set -e` holds in it (it does not
    # inside a condition).
    if engine_works && CHECK_MODE=container bash "$0"; then
      exit 0
    fi
    if engine_works; then
      echo
      echo "container-check: the container check with $engine FAILED (see above); checking the binary with the image's environment instead."
    else
      echo "No working container engine (${engine:-none installed}); checking the binary with the image's environment."
    fi
    binary_check
    ;;
  *) die "CHECK_MODE must be auto, container or binary" ;;
esac
