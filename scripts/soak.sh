#!/usr/bin/env bash
# Soak run on this machine, loopback only: a release ballroom server and `ballroom-load
# --mode soak` side by side. Steady physics clients stay for the whole run while churning,
# slow and garbage clients come and go around them (see src/bin/ballroom-load/soak.rs).
# Prints the load tool's JSON summary, the server's disconnect and rejection counters,
# then a verdict; exits 1 if a check fails.
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
# Needs: cargo, python3, curl. Raises the open-file limit as far as the hard limit allows.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
rooms=${2:-20}
per_room=${3:-10}
clients=$((rooms * per_room))
port=${PORT:-18090}
out=${OUT:-/tmp/ballroom-soak}
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

cargo build --release --quiet --bin ballroom --bin ballroom-load
./target/release/ballroom --addr "127.0.0.1:$port" --room-linger 5 --client-queue 64 ${SERVER_ARGS:-} \
    >"$out-server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -sf "127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done

./target/release/ballroom-load --mode soak --addr "127.0.0.1:$port" --server-pid "$pid" \
    --clients "$clients" --rooms "$rooms" --duration "$seconds" --warmup 10 \
    --churners "$((rooms * 2))" --churn-stay 5 --slow "$((rooms / 4 + 1))" --slow-stall 30 \
    --garbage "$((rooms / 8 + 1))" --garbage-pause 1 --settle 60 \
    >"$out-load.json" 2>"$out-progress.log"
curl -s "127.0.0.1:$port/metrics" >"$out-metrics.txt"
cat "$out-load.json"
python3 - "$out-load.json" "$out-metrics.txt" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
metrics = [l for l in open(sys.argv[2]) if l.startswith(('ballroom_disconnects_total', 'ballroom_rejected_total', 'ballroom_snapshots_skipped_total', 'ballroom_connections_total', 'ballroom_tick_overruns_total', 'ballroom_ticks_dropped_total', 'ballroom_room_panics_total'))]
print("\n=== server counters at the end ===")
print("".join(metrics), end="")
soak, srv = s["soak"], s["soak"]["server"]
churn = soak["churn"]
print("\n=== server gauges over the run (t in s since start) ===")
print(f"{'t':>7} {'rss_kib':>9} {'connections':>11} {'rooms':>6} {'tasks':>6}")
for p in srv["timeline"]:
    print(f"{p['t']:>7} {p['rss_kib']!s:>9} {p['connections']!s:>11} {p['rooms']!s:>6} {p['tokio_tasks']!s:>6}")
for name in ("before", "after"):
    p = srv[name]
    print(f"{name:>7} {p['rss_kib']!s:>9} {p['connections']!s:>11} {p['rooms']!s:>6} {p['tokio_tasks']!s:>6}")
steady_missed = s["snapshots"]["missed"]
checks = [
    ("steady clients: all connected and welcomed", s["connections"]["welcomed"] == s["params"]["clients"]),
    ("steady clients: none ended early", s["connections"]["ended_early"] == 0),
    ("steady clients: no missed snapshots", steady_missed == 0),
    ("steady clients: every kick acked or answered", s["kicks"]["unacked"] == 0),
    ("churn physics sessions: no missed snapshots", churn["snapshots"]["missed"] == 0),
    ("churn sessions: none ended early", not churn["ended_early"]),
    ("churn plain sessions: no relayed message lost", churn["relay"]["lost"] == 0),
    ("slow clients: only kept, or closed 1008 too slow (cut off without a close frame if still not reading)",
     all(k.startswith("kept") or "1008 too slow" in k or k.startswith("cut off") for k in soak["slow"]["outcomes"])),
    ("slow clients: every one closed or cut off was counted too_slow by the server",
     sum(v for k, v in soak["slow"]["outcomes"].items() if not k.startswith("kept"))
     <= srv["after"]["too_slow_disconnects"] - srv["before"]["too_slow_disconnects"]),
    ("garbage: every answer as documented", soak["garbage"]["unexpected_total"] == 0),
    ("server: connections, rooms and tasks back to the baseline", srv["settled"]),
]
print("\n=== verdict ===")
print(f"steady: {s['snapshots']['received']} snapshots, {steady_missed} missed; "
      f"churn: {churn['physics_sessions']} physics + {churn['plain_sessions']} plain sessions, "
      f"{churn['snapshots']['received']} snapshots, {churn['snapshots']['missed']} missed, "
      f"{churn['relay']['sent']} relayed / {churn['relay']['echoed']} echoed; "
      f"slow: {soak['slow']['sessions']} stalls {soak['slow']['outcomes']}; "
      f"garbage: {soak['garbage']['sessions']} connections")
print(f"RSS: before {srv['before']['rss_kib']} KiB, after {srv['after']['rss_kib']} KiB, "
      f"growth over the second half of the window {srv['rss_growth_second_half_kib']} KiB; "
      f"tasks before {srv['before']['tokio_tasks']}, after {srv['after']['tokio_tasks']} "
      f"(settled after {srv['settled_after_s']} s)")
ok = True
for name, passed in checks:
    print(("PASS " if passed else "FAIL ") + name)
    ok &= bool(passed)
sys.exit(0 if ok else 1)
PY
