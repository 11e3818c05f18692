# ---- build ----------------------------------------------------------------------------
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
# The built-in scenes are embedded in the binary (include_str!).
COPY assets ./assets
# So is the live viewer's built web app (include_bytes!; built from viewer/src and committed).
COPY viewer/dist ./viewer/dist
# Cargo.toml declares a bench target; the manifest does not load without its source.
COPY benches ./benches
RUN cargo build --release --locked --bin ballroom

# ---- runtime --------------------------------------------------------------------------
FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin ballroom
COPY --from=build /src/target/release/ballroom /usr/local/bin/ballroom
USER ballroom
EXPOSE 8080
ENV BALLROOM_ADDR=0.0.0.0:8080
ENTRYPOINT ["/usr/local/bin/ballroom"]
