# ---- build ----------------------------------------------------------------------------
FROM rust:1-bookworm AS build
WORKDIR /src
# Dependencies first, against stub sources, so that a change to ballroom's own code reuses
# this layer instead of compiling every crate again. (Cargo.toml declares a bench target; the
# manifest does not load without a file at its path.)
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src benches \
 && echo 'fn main() {}' > src/main.rs && touch src/lib.rs && echo 'fn main() {}' > benches/tick.rs \
 && cargo build --release --locked --bin ballroom \
 && rm -rf src benches
COPY src ./src
# The built-in scenes are embedded in the binary (include_str!).
COPY assets ./assets
# So is the live viewer's built web app (include_bytes!; built from viewer/src and committed).
COPY viewer/dist ./viewer/dist
# The bench target's source, for the manifest (see above).
COPY benches ./benches
# COPY keeps the files' own modification times, older than the stub build: touch the crate
# roots so that cargo compiles the real sources.
RUN touch src/lib.rs src/main.rs && cargo build --release --locked --bin ballroom

# ---- runtime --------------------------------------------------------------------------
FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin ballroom
COPY --from=build /src/target/release/ballroom /usr/local/bin/ballroom
USER ballroom
EXPOSE 8080
ENV BALLROOM_ADDR=0.0.0.0:8080
ENTRYPOINT ["/usr/local/bin/ballroom"]
