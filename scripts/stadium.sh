#!/usr/bin/env bash
# A stadium on this machine, loopback only: ONE room of the `kickballs` scene with PLAYERS
# kicking (KICKS_PER_SECOND kicks a second in all, poses 5 a second) and SPECTATORS
# watching (`?spectate=1`), a release ballroom server and ballroom-load side by side.
# Measures what a crowd costs: the server's CPU and the load tool's own (so that one can
# tell which of them ran out), the players' kick -> snapshot latency and missed snapshots,
# the spectators' snapshots, missed snapshots and longest gap, and the snapshots the
# server skipped (`ballroom_snapshots_skipped_total`, from /metrics before and after the
# window). The load tool's JSON summary is left in /tmp/ballroom-stadium-load.json.
#
#   scripts/stadium.sh [SPECTATORS] [PLAYERS] [KICKS_PER_SECOND] [SECONDS]   (defaults 2000 20 10 30)
#
# ENCODING=binary|json picks how every client takes snapshots (default binary: a binary
# spectator reads only its frames' headers, so that decoding is not what runs out first).
# WARMUP (default 15 s) is the time to connect everyone before the window starts.
# The room's scene is `kickballs` with its reach check and kick rate limit lifted (a temporary
# --assets directory): twenty players who never move cannot keep the balls within reach at
# 100 kicks a second, and the point is what the kicks cost, not which are refused.
# With taskset and 2 CPUs or more the server is pinned to CPU 0 and the load tool to CPU 1
# (PIN=0 leaves both to the scheduler), so that each has one core and the figures say
# which of them ran out.
# Needs: cargo, python3, curl. Raises the open-file limit as far as the hard limit allows.
# Honours PORT and CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
spectators=${1:-2000}
players=${2:-20}
kicks_per_second=${3:-10}
seconds=${4:-30}
port=${PORT:-18084}
encoding=${ENCODING:-binary}
warmup=${WARMUP:-15}
clients=$((players + spectators))
# Each player kicks every PLAYERS / KICKS_PER_SECOND seconds: the room gets
# KICKS_PER_SECOND in all.
kick_interval=$(python3 -c "print($players / $kicks_per_second)")
raise_open_file_limit
pin_server= pin_load=
if [ "${PIN:-1}" = 1 ] && command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
    pin_server="taskset -c 0" pin_load="taskset -c 1"
fi
assets=$(mktemp -d /tmp/ballroom-stadium.XXXXXX)
mkdir -p "$assets/scenes"
python3 - "$assets" <<'PY'
import json, sys
scene = json.load(open("assets/scenes/kickballs.json"))
scene["name"] = "stadium-load"
scene["kick_rules"] = dict(scene.get("kick_rules", {}), reach=1000, rate=100, burst=100)
json.dump(scene, open(f"{sys.argv[1]}/scenes/stadium-load.json", "w"))
PY

# Room for everyone in one room, and for the script's own /metrics scrapes.
bin_wrapper=$pin_server start_server "$port" /tmp/ballroom-stadium-server.log --assets "$assets" \
    --max-connections $((clients + 100)) --max-clients-per-room $((clients + 10))

# The tool connects from one loopback address per 50 clients (spectators included), so
# the server's per-address handshake limits see a crowd.
$pin_load "$bin/ballroom-load" --addr "127.0.0.1:$port" --clients "$players" --spectators "$spectators" \
    --rooms 1 --room-prefix /stadium- --scene stadium-load --encoding "$encoding" \
    --kick-interval "$kick_interval" --pose-rate 5 --warmup "$warmup" --duration "$seconds" \
    --connect-concurrency 500 --server-pid "$server_pid" \
    >/tmp/ballroom-stadium-load.json 2>/tmp/ballroom-stadium-progress.log &
load=$!
sleep "$warmup"
curl -s "127.0.0.1:$port/metrics" >/tmp/ballroom-stadium-metrics-0.txt || true
sleep "$seconds"
curl -s "127.0.0.1:$port/metrics" >/tmp/ballroom-stadium-metrics-1.txt || true
wait $load || true
rm -rf "$assets"
tail -n 3 /tmp/ballroom-stadium-progress.log
python3 - "$spectators" "$players" "$kicks_per_second" "$seconds" "$encoding" <<'PY'
import json, sys
spectators, players, kps, seconds, encoding = sys.argv[1:]
seconds = float(seconds)
run = json.load(open('/tmp/ballroom-stadium-load.json'))

def metric(path, name):
    try:
        for line in open(path):
            if line.startswith(name + ' '):
                return float(line.split()[1])
    except OSError:
        pass
    return None

a = metric('/tmp/ballroom-stadium-metrics-0.txt', 'ballroom_snapshots_skipped_total')
b = metric('/tmp/ballroom-stadium-metrics-1.txt', 'ballroom_snapshots_skipped_total')
skipped = 'n/a' if b is None else f"{b - (a or 0):.0f}"
def cpu(section):
    s = run.get(section) or {}
    c = s.get('cpu_seconds')
    return 'n/a' if c is None else f"{c:.2f} s, {c / seconds:.2f} cores"
k, snaps, w = run['kicks'], run['snapshots'], run['spectators']
lat = k['latency_ms']
print(f"\n=== stadium: 1 room, {players} players ({kps} kicks/s in all), {spectators} spectators, "
      f"{encoding}, {seconds:g} s window ===")
errors = ", ".join(f"{n} {code}" for code, n in sorted(run['kicks']['errors'].items())) or "none"
print(f"server CPU:    {cpu('server')}")
print(f"load tool CPU: {cpu('load_tool')}")
c = run['connections']
print(f"players: {c['welcomed']}/{c['attempted']} welcomed; kicks {k['sent']} sent, {k['acked']} acked, "
      f"{k['unacked']} unacked; kick->snapshot p50 {lat['p50']} p99 {lat['p99']} max {lat['max']} ms; "
      f"missed snapshots {snaps['missed']}; kicks refused: {errors}")
wc, ws = w['connections'], w['snapshots']
print(f"spectators: {wc['welcomed']}/{wc['attempted']} welcomed, {wc['ended_early']} ended early; "
      f"snapshots {ws['received']} received, {ws['missed']} missed ({ws['clients_with_gaps']} with gaps), "
      f"longest gap {ws['max_gap_ms']} ms, jitter p99 {ws['jitter_ms']['p99']} ms")
print(f"server snapshots skipped (ballroom_snapshots_skipped_total over the window): {skipped}")
PY
