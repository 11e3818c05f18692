#!/usr/bin/env bash
# The one test command: the Rust tests, then the TypeScript client's tests (with the
# client under QuickJS as a Decentraland scene runs it), the Decentraland example scene's
# build and its bundle under QuickJS, and the live viewer's tests (unit tests, then
# headless Chromium) against the server binary `cargo test` built, then a check that the
# committed viewer bundle (viewer/dist) is what its sources build. `TS_ONLY=1` skips
# cargo test (to rerun the TypeScript tests alone).
# The browser tests need Chromium ($CHROMIUM, else /usr/bin/chromium), the cluster tests
# nats-server and the nginx tests nginx ($NGINX, else /usr/sbin/nginx): scripts/test-deps.sh
# installs Debian's packages when they are missing (as root; otherwise it names the command).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
scripts/test-deps.sh
target=${CARGO_TARGET_DIR:-$root/target}
case $target in /*) ;; *) target=$root/$target ;; esac

# npm ci in the current directory when its packages are missing or older than its lock file
# (a pull that changed the lock file would otherwise test against stale packages).
npm_ci_if_stale() {
    if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
        npm ci --no-audit --no-fund
    fi
}

if [[ -z "${TS_ONLY:-}" ]]; then
    cargo test
fi
# cargo test builds the binary for the integration tests; build it anyway when skipped.
cargo build --bin ballroom

cd "$root/clients/ts"
npm_ci_if_stale
BALLROOM_BIN="$target/debug/ballroom" npm test

# The Decentraland scene: built by the SDK's own toolchain (it bundles clients/ts/dist,
# which the client's `npm test` just built), then its bundle run under QuickJS with the
# explorer's socket against the server (the harness lives in clients/ts/test/support).
cd "$root/examples/decentraland"
npm_ci_if_stale
npm run build
cd "$root/clients/ts"
BALLROOM_BIN="$target/debug/ballroom" node --import tsx --test ../../examples/decentraland/test/*.test.ts

cd "$root/viewer"
npm_ci_if_stale
started=$(date +%s)
BALLROOM_BIN="$target/debug/ballroom" npm test
echo "viewer tests (type check, unit and browser tests): $(($(date +%s) - started)) s; screenshots in $root/target/viewer-screenshots"

# The server embeds viewer/dist: it must be exactly what viewer/src builds.
if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    npm run build
    untracked=$(git -C "$root" ls-files --others --exclude-standard -- viewer/dist)
    if ! git -C "$root" diff --exit-code --stat -- viewer/dist || [[ -n $untracked ]]; then
        echo "viewer/dist differs from a fresh build of viewer/src ${untracked:+(new files: $untracked)}:" \
            "run 'npm run build' in viewer/ and commit viewer/dist" >&2
        exit 1
    fi
    echo "viewer/dist matches a fresh build"
fi
