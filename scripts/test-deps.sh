#!/usr/bin/env bash
# What the tests need beyond the Rust toolchain and Node, from Debian's packages, installed
# when missing: chromium (the viewer's browser tests), nats-server (the cluster tests) and
# nginx-light (the tests behind nginx). As root it runs apt-get; otherwise it names the one
# command to run and fails. scripts/test.sh and .ci/run call it; it changes nothing when all
# three are there.
set -euo pipefail

need=()
command -v chromium >/dev/null || need+=(chromium)
command -v nats-server >/dev/null || need+=(nats-server)
[[ -x "${NGINX:-/usr/sbin/nginx}" ]] || need+=(nginx-light)

if ((${#need[@]} > 0)); then
    if [[ $(id -u) -eq 0 ]]; then
        echo "installing Debian's ${need[*]} for the tests"
        apt-get update
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}"
    else
        echo "the tests need Debian's ${need[*]}: run" \
            "'sudo apt-get install -y --no-install-recommends ${need[*]}', then this again" >&2
        exit 1
    fi
fi
chromium --version 2>/dev/null
nats-server --version
"${NGINX:-/usr/sbin/nginx}" -v 2>&1
