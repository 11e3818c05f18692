#!/usr/bin/env bash
# The one test command: the Rust tests, then the TypeScript client's tests against the
# server binary `cargo test` built. `TS_ONLY=1` skips cargo test (to rerun the client tests alone).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
target=${CARGO_TARGET_DIR:-$root/target}
case $target in /*) ;; *) target=$root/$target ;; esac

if [[ -z "${TS_ONLY:-}" ]]; then
    cargo test
fi
# cargo test builds the binary for the integration tests; build it anyway when skipped.
cargo build --bin ballroom

cd clients/ts
if [[ ! -d node_modules ]]; then
    npm ci --no-audit --no-fund
fi
BALLROOM_BIN="$target/debug/ballroom" npm test
