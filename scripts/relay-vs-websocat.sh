#!/usr/bin/env bash
# Broadcast throughput, ballroom --mode broadcast against websocat's broadcast mode, same
# load, one after the other in one run, loopback only: one room of CLIENTS plain clients
# with SENDERS of them sending RATE messages a second each.
#
#   scripts/relay-vs-websocat.sh [CLIENTS] [SENDERS] [RATE] [SECONDS]   (defaults 500 20 20 20)
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
raise_open_file_limit
command -v websocat >/dev/null || { echo "websocat not found: cargo install websocat" >&2; exit 1; }

run() { # name port pid
    "$bin/ballroom-load" --mode relay --addr "127.0.0.1:$2" --clients "$clients" \
        --rooms 1 --room-prefix /relay- --senders "$senders" --msg-rate "$rate" \
        --duration "$seconds" --warmup 5 --server-pid "$3" 2>/dev/null >"/tmp/relay-$1.json"
}

start_server 18091 /tmp/relay-ballroom.log --mode broadcast
run ballroom 18091 "$server_pid"
stop_server

websocat -t -E ws-l:127.0.0.1:18092 broadcast:mirror: >/tmp/relay-websocat.log 2>&1 &
w=$!
sleep 1
run websocat 18092 "$w"
kill "$w"; wait "$w" 2>/dev/null || true

python3 - <<'PY'
import json
rows = []
for name in ("ballroom", "websocat"):
    j = json.load(open(f"/tmp/relay-{name}.json"))
    r, s = j["relay"], j["server"]
    rows.append((name, r["sent"], r["expected"], r["delivered"], r["delivery_ratio"],
                 r["latency_ms"]["p50"], r["latency_ms"]["p99"], r["latency_ms"]["max"],
                 s["cpu_seconds"], s["cpu_seconds_per_100k_delivered"], s["peak_rss_kib"]))
print("server    sent  expected  delivered  ratio   p50 ms  p99 ms   max ms  cpu s  cpu s/100k  peak RSS KiB")
for r in rows:
    print("%-8s %5d %9d %10d %6.4f %8.2f %7.2f %8.2f %6.2f %11.3f %13d" % r)
b, w = rows
if b[9] and w[9]:
    print("ballroom CPU per 100k delivered = %.2f x websocat's" % (b[9] / w[9]))
PY
