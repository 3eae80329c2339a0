# syntax=docker/dockerfile:1
#
# The `tally` service in a container: a Rust builder stage, then a small Debian runtime.
#
#   docker build -t tally .                      (or: podman build --format docker -t tally .;
#                                                 podman's default OCI format drops HEALTHCHECK)
#   docker run --rm -p 127.0.0.1:8080:8080 -e TALLY_ADMIN_PASSWORD=change-me-please tally
#
# Memory storage by default (nothing is kept when the container stops); for PostgreSQL set
# TALLY_STORAGE=postgres and DATABASE_URL (see compose.yaml). The base images can be
# overridden with --build-arg RUST_IMAGE=... / RUNTIME_IMAGE=... (a local mirror, a pinned
# digest).

ARG RUST_IMAGE=rust:1.95-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

# ---- builder ---------------------------------------------------------------------------
FROM ${RUST_IMAGE} AS builder
# The release profile keeps line tables (debug = "line-tables-only": a 139 MB binary); stripping
# them leaves about 32 MB, whose panics still name functions. --build-arg STRIP_DEBUG=false keeps them.
ARG STRIP_DEBUG=true
WORKDIR /src
# The whole workspace is needed: every member's manifest is read, and the build embeds
# contracts/ (event schemas), the PostgreSQL migrations and the stylesheet.
COPY . .
# Dependency caching: the crate registry, git checkouts and target/ live in build caches
# (BuildKit and buildah both support cache mounts), so a rebuild after a source change
# recompiles only the workspace's own crates. The binary is copied out of the cached
# target/ in the same step, since a cache mount is not part of the image.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p tally \
    && install -D -m 0755 target/release/tally /out/tally \
    && if [ "$STRIP_DEBUG" = true ]; then objcopy --strip-debug /out/tally; fi

# ---- runtime ---------------------------------------------------------------------------
FROM ${RUNTIME_IMAGE} AS runtime
# ca-certificates: webhook deliveries and the report worker may use HTTPS (rustls reads the
# system's roots). curl: the HEALTHCHECK below (tally has no health-check subcommand).
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 10001 tally \
    && useradd --uid 10001 --gid tally --home-dir /nonexistent --no-create-home \
       --shell /usr/sbin/nologin tally
COPY --from=builder /out/tally /usr/local/bin/tally

# Defaults, overridden with -e or compose's environment: (the TALLY_* ones are `tally --help`
# options).
# NO_COLOR: plain log lines, even when run with a terminal (-t).
ENV TALLY_LISTEN=0.0.0.0:8080 \
    TALLY_STORAGE=memory \
    TALLY_MIGRATE=true \
    TALLY_DB_POOL_SIZE=16 \
    TALLY_SECURE_COOKIES=false \
    RUST_LOG=info,sqlx=warn \
    NO_COLOR=1

USER 10001:10001
EXPOSE 8080
# Ready = listening and its storage answers (/health/live only says the process answers).
# It probes port 8080: change it here too if TALLY_LISTEN names another port.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:8080/health/ready"]
# tally stops on SIGTERM (docker stop), letting requests in flight finish.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/tally"]
CMD ["serve"]
