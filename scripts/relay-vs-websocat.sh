#!/usr/bin/env bash
# Broadcast throughput, ballroom --mode broadcast against websocat's broadcast mode, same
# load, alternating in one run, loopback only: one room of CLIENTS plain clients with
# SENDERS of them sending RATE messages a second each, REPS times each server (the order
# flips every repetition). Prints every run, then medians and ranges.
#
#   scripts/relay-vs-websocat.sh [CLIENTS] [SENDERS] [RATE] [SECONDS] [REPS]
#                                (defaults 500 20 20 20 3)
#
# Needs websocat on PATH (`cargo install websocat`), python3, curl and cargo. Honours
# CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
clients=${1:-500}
senders=${2:-20}
rate=${3:-20}
seconds=${4:-20}
reps=${5:-3}
raise_open_file_limit
command -v websocat >/dev/null || { echo "websocat not found: cargo install websocat" >&2; exit 1; }

run() { # name rep port pid
    "$bin/ballroom-load" --mode relay --addr "127.0.0.1:$3" --clients "$clients" \
        --rooms 1 --room-prefix /relay- --senders "$senders" --msg-rate "$rate" \
        --duration "$seconds" --warmup 5 --server-pid "$4" 2>/dev/null >"/tmp/relay-$1-$2.json"
}

run_ballroom() { # rep
    start_server 18091 /tmp/relay-ballroom.log --mode broadcast
    run ballroom "$1" 18091 "$server_pid"
    stop_server
}

run_websocat() { # rep
    websocat -t -E ws-l:127.0.0.1:18092 broadcast:mirror: >/tmp/relay-websocat.log 2>&1 &
    local w=$!
    sleep 1
    run websocat "$1" 18092 "$w"
    kill "$w"
    wait "$w" 2>/dev/null || true
}

for rep in $(seq "$reps"); do
    if ((rep % 2)); then run_ballroom "$rep"; run_websocat "$rep"; else run_websocat "$rep"; run_ballroom "$rep"; fi
done

python3 - "$reps" <<'PY'
import json, statistics, sys
reps = int(sys.argv[1])
cols = ("delivery", "p50 ms", "p99 ms", "max ms", "cpu s", "cpu s/100k", "RSS KiB")
def row(j):
    r, s = j["relay"], j["server"]
    return (r["delivery_ratio"], r["latency_ms"]["p50"], r["latency_ms"]["p99"],
            r["latency_ms"]["max"], s["cpu_seconds"], s["cpu_seconds_per_100k_delivered"],
            s["peak_rss_kib"])
runs = {n: [row(json.load(open(f"/tmp/relay-{n}-{i}.json"))) for i in range(1, reps + 1)]
        for n in ("ballroom", "websocat")}
print("server    rep " + "".join(f"{c:>12}" for c in cols))
for n, rows in runs.items():
    for i, r in enumerate(rows, 1):
        print(f"{n:<9} {i:>3} " + "".join(f"{v:>12.4g}" for v in r))
print(f"\nmedian (min-max) of {reps}")
for n, rows in runs.items():
    cells = []
    for k in range(len(cols)):
        vs = [r[k] for r in rows]
        cells.append(f"{statistics.median(vs):.4g} ({min(vs):.4g}-{max(vs):.4g})")
    print(f"{n:<9} " + " | ".join(f"{c}: {v}" for c, v in zip(cols, cells)))
b = statistics.median(r[5] for r in runs["ballroom"])
w = statistics.median(r[5] for r in runs["websocat"])
print(f"ballroom CPU per 100k delivered = {b / w:.2f} x websocat's (medians)")
PY
