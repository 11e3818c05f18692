#!/usr/bin/env bash
# End-to-end capacity run on this machine, loopback only: a release ballroom server and
# the ballroom-load tool side by side. Prints the load tool's JSON summary, then the
# server's tick lateness and tick duration quantiles (from /metrics bucket counts over the
# run), its dropped/overrun ticks, skipped snapshots and peak RSS.
#
#   scripts/e2e.sh [ROOMS] [CLIENTS_PER_ROOM] [SECONDS]      (defaults 1000 10 60)
#
# ENCODING=json|binary picks how the load tool's clients take snapshots (default binary,
# ballroom.v2, so that decoding JSON is not what runs out first).
# Needs: cargo, python3, curl. Raises the open-file limit as far as the hard limit allows.
# Honours PORT and CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
rooms=${1:-1000}
per_room=${2:-10}
seconds=${3:-60}
clients=$((rooms * per_room))
port=${PORT:-18080}
encoding=${ENCODING:-binary}
raise_open_file_limit

# Room for the clients and the script's own /metrics scrapes above the default 10,000.
start_server "$port" /tmp/ballroom-e2e-server.log --max-connections $((clients + 100))

"$bin/ballroom-load" --addr "127.0.0.1:$port" --clients "$clients" --rooms "$rooms" \
    --duration "$seconds" --warmup 15 --kick-interval 2 --server-pid "$server_pid" \
    --encoding "$encoding" \
    --connect-concurrency 500 >/tmp/ballroom-e2e-load.json 2>/tmp/ballroom-e2e-progress.log &
load=$!
# Scrape the server's histograms once the warm-up is over and again at the end of the window.
sleep 15
curl -s "127.0.0.1:$port/metrics" >/tmp/ballroom-e2e-metrics-0.txt
sleep "$seconds"
curl -s "127.0.0.1:$port/metrics" >/tmp/ballroom-e2e-metrics-1.txt
wait $load || true
cat /tmp/ballroom-e2e-load.json
python3 - "$rooms" "$per_room" "$seconds" <<'PY'
import re, sys
def parse(path):
    out = {}
    for line in open(path):
        if line.startswith('#') or not line.strip():
            continue
        series, value = line.rsplit(' ', 1)
        out[series] = float(value)
    return out
a, b = parse('/tmp/ballroom-e2e-metrics-0.txt'), parse('/tmp/ballroom-e2e-metrics-1.txt')
def delta(name):
    return b.get(name, 0.0) - a.get(name, 0.0)
def quantiles(metric):
    buckets = []
    for series in b:
        m = re.fullmatch(metric + r'_bucket\{le="([^"]+)"\}', series)
        if m:
            le = float('inf') if m.group(1) == '+Inf' else float(m.group(1))
            buckets.append((le, delta(series)))
    buckets.sort()
    total = buckets[-1][1] if buckets else 0
    res = {}
    for q in (0.5, 0.99, 0.999):
        res[q] = next((le for le, c in buckets if c >= q * total), None)
    return total, res
print(f"\n=== server side over the {sys.argv[3]} s window: {sys.argv[1]} rooms x {sys.argv[2]} clients ===")
for metric in ('ballroom_tick_lateness_seconds', 'ballroom_tick_duration_seconds', 'ballroom_snapshot_fanout_seconds'):
    total, q = quantiles(metric)
    fmt = lambda v: 'n/a' if v is None else ('> 0.25 s' if v == float('inf') else f'<= {v*1e3:g} ms')
    print(f"{metric}: {total:.0f} samples; p50 {fmt(q[0.5])}, p99 {fmt(q[0.99])}, p99.9 {fmt(q[0.999])}")
for name in ('ballroom_ticks_dropped_total', 'ballroom_tick_overruns_total', 'ballroom_snapshots_skipped_total'):
    print(f"{name}: +{delta(name):.0f}")
print("ballroom_connections:", b.get('ballroom_connections'))
PY
grep -c "dropped ticks" /tmp/ballroom-e2e-server.log | sed 's/^/server log lines "dropped ticks": /' || true
