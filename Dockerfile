# Build with the Rust image, run on slim Debian with the CA roots rustls needs.
# Without access to an image registry, `.ci/deploy-check` makes both base images locally from
# Debian's packages (mmdebstrap) and builds this file unchanged.
FROM rust:1.95-bookworm AS build
WORKDIR /src

# The dependency layer: every crate of Cargo.lock built against an empty flexysync, so that a
# change to src/ rebuilds only flexysync itself.
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src benches \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs \
    && for bench in $(awk '/^\[\[bench\]\]/ { in_bench = 1; next } in_bench && /^name/ { gsub(/"/, "", $3); print $3; in_bench = 0 }' Cargo.toml); do echo 'fn main() {}' > "benches/$bench.rs"; done \
    && cargo build --release --locked --bin flexysync \
    && rm -rf src benches target/release/flexysync* target/release/deps/flexysync-* \
        target/release/libflexysync* target/release/deps/libflexysync-* \
        target/release/.fingerprint/flexysync-*

COPY src ./src
COPY migrations ./migrations
COPY config ./config
COPY benches ./benches
RUN cargo build --release --locked --bin flexysync

FROM debian:bookworm-slim
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="flexysync" \
      org.opencontainers.image.description="Keeps FlexyKey door-access bookings in step with booking calendars" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="MIT OR Apache-2.0" \
      org.opencontainers.image.documentation="/usr/share/doc/flexysync/README.md"
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 flexysync \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/flexysync \
        --shell /usr/sbin/nologin flexysync \
    && mkdir -p /var/lib/flexysync /etc/flexysync \
    && chown flexysync:flexysync /var/lib/flexysync \
    && chmod 0700 /var/lib/flexysync
COPY --from=build /src/target/release/flexysync /usr/local/bin/flexysync
COPY config/example.toml /usr/share/doc/flexysync/example.toml
COPY README.md /usr/share/doc/flexysync/README.md
USER flexysync:flexysync
# The service's settings; `flexysync demo` ignores them and writes only to its own directory.
ENV FLEXYSYNC_CONFIG=/etc/flexysync/config.toml \
    FLEXYSYNC__LEDGER__PATH=/var/lib/flexysync/ledger.db \
    FLEXYSYNC__SERVER__LISTEN=0.0.0.0:8080 \
    FLEXYSYNC__LOG__FORMAT=json
VOLUME ["/var/lib/flexysync"]
EXPOSE 8080
STOPSIGNAL SIGTERM
# `flexysync healthcheck` asks /healthz on server.listen as configured (no curl, no fixed port).
HEALTHCHECK --interval=30s --timeout=10s --start-period=20s --retries=3 \
    CMD ["/usr/local/bin/flexysync", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/flexysync"]
CMD ["run"]
