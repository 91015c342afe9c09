# Build with the Rust image, run on slim Debian with the CA roots rustls needs.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY migrations ./migrations
COPY config ./config
COPY benches ./benches
RUN cargo build --release --locked --bin flexysync

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/flexysync --shell /usr/sbin/nologin flexysync \
    && mkdir -p /var/lib/flexysync /etc/flexysync \
    && chown flexysync:flexysync /var/lib/flexysync
COPY --from=build /src/target/release/flexysync /usr/local/bin/flexysync
COPY config/example.toml /usr/share/doc/flexysync/example.toml
USER flexysync
ENV FLEXYSYNC_CONFIG=/etc/flexysync/config.toml \
    FLEXYSYNC__LEDGER__PATH=/var/lib/flexysync/ledger.db \
    FLEXYSYNC__SERVER__LISTEN=0.0.0.0:8080 \
    FLEXYSYNC__LOG__FORMAT=json
VOLUME ["/var/lib/flexysync"]
EXPOSE 8080
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["/usr/local/bin/flexysync"]
CMD ["run"]
