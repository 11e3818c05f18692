#!/usr/bin/env bash
# Soak run on this machine, loopback only: a release ballroom server and `ballroom-load
# --mode soak` side by side. Steady physics clients stay for the whole run while churning,
# slow and garbage clients come and go around them (see src/bin/ballroom-load/soak/).
# Prints the load tool's JSON summary, the server's disconnect and rejection counters,
# then the tool's account of the server's gauges over the run and its verdict (one PASS
# or FAIL line per check; src/bin/ballroom-load/verdict.rs); exits with the tool's
# status: 1 if a check failed.
#
#   scripts/soak.sh [SECONDS] [ROOMS] [CLIENTS_PER_ROOM]      (defaults 600 20 10)
#
# The default scale leaves the 2-core machine it was written on headroom: the load tool
# takes about a core itself, and a server starved of CPU wakes rooms late, runs the
# missed ticks back to back, and so replaces snapshots before writers can send them
# (counted as missed; scripts/e2e.sh measures where that starts).
#
# The server runs with --room-linger 5 (rooms close and reopen during the run) and
# --client-queue 64 (so that a slow client's backlog reaches the limit within one stall).
# Needs: cargo, curl. Raises the open-file limit as far as the hard limit allows.
# Honours PORT, OUT (prefix of the files it writes), SERVER_ARGS and CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
seconds=${1:-600}
rooms=${2:-20}
per_room=${3:-10}
clients=$((rooms * per_room))
port=${PORT:-18090}
out=${OUT:-/tmp/ballroom-soak}
raise_open_file_limit

# shellcheck disable=SC2086 # SERVER_ARGS is a list of words
start_server "$port" "$out-server.log" --room-linger 5 --client-queue 64 ${SERVER_ARGS:-}

status=0
"$bin/ballroom-load" --mode soak --addr "127.0.0.1:$port" --server-pid "$server_pid" \
    --clients "$clients" --rooms "$rooms" --duration "$seconds" --warmup 10 \
    --churners "$((rooms * 2))" --churn-stay 5 --slow "$((rooms / 4 + 1))" --slow-stall 30 \
    --garbage "$((rooms / 8 + 1))" --garbage-pause 1 --settle 60 \
    >"$out-load.json" 2>"$out-progress.log" || status=$?
curl -s "127.0.0.1:$port/metrics" >"$out-metrics.txt" || true
cat "$out-load.json"
echo
echo "=== server counters at the end ==="
grep -E '^ballroom_(disconnects_total|rejected_total|snapshots_skipped_total|connections_total|tick_overruns_total|ticks_dropped_total|room_panics_total)' \
    "$out-metrics.txt" || true
echo
if grep -q '^=== verdict ===' "$out-progress.log"; then
    sed -n '/^=== server gauges/,$p' "$out-progress.log"
else
    echo "no verdict (ballroom-load exited with status $status); the end of $out-progress.log:"
    tail -n 20 "$out-progress.log"
fi
exit "$status"
