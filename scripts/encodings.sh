#!/usr/bin/env bash
# JSON against binary snapshots, side by side in one run on this machine, loopback only:
# one release ballroom server, and the same physics load (ballroom-load's standard load:
# a kick every 2 s per client, poses 5 a second) run once with `--encoding json` and once
# with `--encoding binary`, each in rooms of its own. Prints one table.
#
#   scripts/encodings.sh [ROOMS] [CLIENTS_PER_ROOM] [SECONDS]      (defaults 20 10 20)
#
# Needs: cargo, python3, curl. Honours PORT and CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
rooms=${1:-20}
per_room=${2:-10}
seconds=${3:-20}
port=${PORT:-18082}
raise_open_file_limit

start_server "$port" /tmp/ballroom-encodings-server.log
for encoding in json binary; do
    "$bin/ballroom-load" --addr "127.0.0.1:$port" --clients "$((rooms * per_room))" \
        --rooms "$rooms" --room-prefix "$encoding-" --encoding "$encoding" \
        --duration "$seconds" --warmup 5 --kick-interval 2 --pose-rate 5 \
        >"/tmp/ballroom-encodings-$encoding.json" 2>/dev/null
done
python3 - "$rooms" "$per_room" "$seconds" <<'PY'
import json, sys
rows = {e: json.load(open(f"/tmp/ballroom-encodings-{e}.json")) for e in ("json", "binary")}
print(f"{sys.argv[1]} rooms x {sys.argv[2]} clients, {sys.argv[3]} s each, kickballs")
print(f"{'encoding':<8} {'B/client/s':>11} {'B/snapshot':>11} {'B/ball':>8} {'moving':>7} "
      f"{'snapshots':>10} {'missed':>7} {'kick p99 ms':>12}")
for e, s in rows.items():
    size, snaps = s["snapshots"]["size"], s["snapshots"]
    print(f"{e:<8} {s['bytes_per_client_per_s']['mean']:>11} {size['bytes_per_snapshot']:>11} "
          f"{size['bytes_per_ball']:>8} {size['moving_share']:>7} {snaps['received']:>10} "
          f"{snaps['missed']:>7} {s['kicks']['latency_ms']['p99']:>12}")
j, b = (rows[e]["bytes_per_client_per_s"]["mean"] for e in ("json", "binary"))
print(f"binary / json, bytes per client per second: {b / j:.3f}")
PY
