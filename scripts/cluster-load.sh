#!/usr/bin/env bash
# What a NATS cluster costs, loopback only: release ballroom nodes under ballroom-load, in
# three scenarios, REPS times each (the order flips every repetition):
#
#   single     one node without --nats; ROOMS rooms x CLIENTS_PER_ROOM clients.
#   local      nodes A and B on one nats-server; one load tool per node at once, each with
#              its own room prefix, so every room is owned by the node its clients are on.
#              Each node carries what `single` carried; its CPU per client-second against
#              single's is the cluster's overhead (the target: a ratio of at most 1.2).
#   forwarded  nodes A and B; a load tool on A starts first and A claims its ROOMS rooms
#              (the script waits until /rooms shows A owning all of them), then a second
#              one on B joins the same rooms: every room has CLIENTS_PER_ROOM clients on
#              each node and B's are forwarded (commands to A over NATS, A's snapshots back).
#              Both tools' clients kick the same balls. Their windows are aligned: A's tool
#              warms up for longer by however long the claims took.
#
#   scripts/cluster-load.sh [ROOMS] [CLIENTS_PER_ROOM] [SECONDS] [REPS]
#                           (defaults 20 10 20 3; ROOMS per node, SECONDS per window)
#
# Prints one row per node and run, then the medians (min-max) over the repetitions: the
# node's CPU seconds, its CPU milliseconds per client-second (over the clients connected
# to that node), the kick->snapshot latency p50/p99 of that node's clients, their missed
# snapshots and unacked kicks, and errors (failed or ended connections, kick and other
# errors); then the server-side counters that should stay at zero. Raw reports stay in
# /tmp/cluster-load/: <scenario>-<rep>-<node>.json (the load tool's), .progress (its
# stderr), .log (the node's) and .metrics (its /metrics after the run), and
# <scenario>-<rep>.rooms (GET /rooms halfway through the window).
#
# Every repetition uses its own room names (/s<rep>-, /a<rep>-, /b<rep>-, /fw<rep>-): the
# one nats-server keeps the rooms a node saves when it stops, and a room of an earlier
# run must not be restored into a later one.
#
# PIN=1 pins with taskset: the nodes and nats-server on CPU 0, the load tools on CPU 1
# (needs 2 CPUs). CPU seconds per client are about the same either way, but latency then
# also says that the two nodes of `local` share one core where `single` has it alone; the
# default (no pinning) lets the scheduler spread everything over both cores.
# WARMUP (default 5) is each load tool's warm-up, LEAD (default 8) the most seconds A's
# claims may take in `forwarded`. PORT (default 18300; the nodes use PORT..PORT+2) and
# NATS_PORT (default 14322) pick the ports. Honours CARGO_TARGET_DIR.
# Needs: cargo, python3, curl, nats-server (2.9+, with JetStream). Raises the open-file
# limit as far as the hard limit allows. Kills everything it started when it exits.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
rooms=${1:-20}
per_room=${2:-10}
seconds=${3:-20}
reps=${4:-3}
clients=$((rooms * per_room))
warmup=${WARMUP:-5}
lead=${LEAD:-8}
port=${PORT:-18300}
nats_port=${NATS_PORT:-14322}
out=/tmp/cluster-load
raise_open_file_limit
command -v nats-server >/dev/null || { echo "nats-server not found" >&2; exit 1; }

pin_server=() pin_load=()
if [ "${PIN:-0}" = 1 ]; then
    pin_server=(taskset -c 0) pin_load=(taskset -c 1)
fi

started=()  # pids of everything still running that this script started
store=$(mktemp -d /tmp/cluster-load-nats.XXXXXX)
cleanup() { # newest first, so that nats-server outlives the nodes' handovers
    local i
    for ((i = ${#started[@]} - 1; i >= 0; i--)); do
        kill "${started[i]}" 2>/dev/null || true
        wait "${started[i]}" 2>/dev/null || true
    done
    rm -rf "$store"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

forget() { # pid
    local p kept=()
    for p in "${started[@]}"; do [ "$p" = "$1" ] || kept+=("$p"); done
    started=("${kept[@]}")
}

stop() { # pid: SIGTERM (a node saves and hands over its rooms), then wait
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
    forget "$1"
}

# Start `ballroom --addr 127.0.0.1:PORT ARGS...` with its output in LOG, put its pid in the
# variable VAR, and wait (at most 10 s) until GET /healthz answers 200 (in a cluster: once
# it reaches NATS). Exits the script, showing the end of LOG, if it does not.
start_node() { # var port log args...
    local var=$1 p=$2 log=$3 pid
    shift 3
    "${pin_server[@]}" "$bin/ballroom" --addr "127.0.0.1:$p" \
        --max-connections $((4 * clients + 100)) "$@" >"$log" 2>&1 &
    pid=$!
    started+=("$pid")
    printf -v "$var" %s "$pid"
    server_pid=$pid wait_until_answers "127.0.0.1:$p/healthz" "$log"
}

# One load tool run against 127.0.0.1:PORT, in the background; its pid in $load_pid.
load() { # name port server_pid prefix warmup seed
    "${pin_load[@]}" "$bin/ballroom-load" --addr "127.0.0.1:$2" --clients "$clients" \
        --rooms "$rooms" --room-prefix "$4" --duration "$seconds" --warmup "$5" \
        --server-pid "$3" --encoding binary --seed "$6" \
        >"$out/$1.json" 2>"$out/$1.progress" &
    load_pid=$!
    started+=("$load_pid")
}

# Wait for a load tool and check that it printed a physics report. NAME.loadavg gets the
# load average as it ended.
finish_load() { # name pid
    local rc=0
    wait "$2" || rc=$?
    forget "$2"
    cut -d' ' -f1-3 /proc/loadavg >"$out/$1.loadavg"
    if ! python3 -c 'import json, sys; j = json.load(open(sys.argv[1])); j["kicks"]["latency_ms"]' \
        "$out/$1.json" 2>/dev/null; then
        echo "load run $1 (exit $rc) printed no report; the end of $out/$1.progress:" >&2
        tail -n 20 "$out/$1.progress" >&2
        exit 1
    fi
}

scrape() { # name port
    curl -fs "127.0.0.1:$2/metrics" >"$out/$1.metrics" || echo "no /metrics from $1" >&2
}

# GET /rooms of the node on PORT into FILE; 0 if it answered 200. Any other answer (a
# cluster node answers 503 when its NATS calls time out) goes to rooms-failures.txt, which
# the summary reports.
get_rooms() { # port file
    local code
    code=$(curl -s -o "$2" -w '%{http_code}' "127.0.0.1:$1/rooms") || true
    [ "$code" = 200 ] && return 0
    echo "$(date +%T.%3N) GET /rooms on port $1 answered ${code:-nothing}: $(head -c 300 "$2" 2>/dev/null)" \
        >>"$out/rooms-failures.txt"
    return 1
}

# In DELAY seconds (halfway through the window), save /rooms of the node on PORT to
# NAME.rooms (three tries), in the background; its pid in $midway_pid.
rooms_midway() { # name port delay
    (sleep "$3"; for _ in 1 2 3; do get_rooms "$2" "$out/$1.rooms" && break; done) &
    midway_pid=$!
    started+=("$midway_pid")
}

# How many of the rooms PREFIX* /rooms on PORT shows owned by NODE (0 if it fails).
owned() { # port prefix node
    get_rooms "$1" "$out/owned.tmp" || { echo 0; return; }
    python3 -c '
import json, sys
prefix, node = sys.argv[2], sys.argv[3]
rooms = json.load(open(sys.argv[1]))
print(sum(1 for r in rooms if r["room"].startswith(prefix) and r.get("owner") == node))
' "$out/owned.tmp" "$2" "$3"
}

cluster_args() { # node-id
    echo --nats "nats://127.0.0.1:$nats_port" --node-id "$1"
}

run_single() { # rep
    local r=$1 s
    echo "rep $r: single" >&2
    start_node s "$port" "$out/single-$r-S.log"
    rooms_midway "single-$r" "$port" $((warmup + seconds / 2))
    load "single-$r-S" "$port" "$s" "/s$r-" "$warmup" "$r"
    finish_load "single-$r-S" "$load_pid"
    stop "$midway_pid"
    scrape "single-$r-S" "$port"
    stop "$s"
}

run_local() { # rep
    local r=$1 a b la lb
    echo "rep $r: local" >&2
    start_node a $((port + 1)) "$out/local-$r-A.log" $(cluster_args A)
    start_node b $((port + 2)) "$out/local-$r-B.log" $(cluster_args B)
    rooms_midway "local-$r" $((port + 1)) $((warmup + seconds / 2))
    load "local-$r-A" $((port + 1)) "$a" "/a$r-" "$warmup" "$r"
    la=$load_pid
    load "local-$r-B" $((port + 2)) "$b" "/b$r-" "$warmup" $((r + 1000))
    lb=$load_pid
    finish_load "local-$r-A" "$la"
    finish_load "local-$r-B" "$lb"
    stop "$midway_pid"
    scrape "local-$r-A" $((port + 1))
    scrape "local-$r-B" $((port + 2))
    stop "$b"
    stop "$a"
}

run_forwarded() { # rep
    local r=$1 a b la lb t0 n waited
    echo "rep $r: forwarded" >&2
    start_node a $((port + 1)) "$out/forwarded-$r-A.log" $(cluster_args A)
    start_node b $((port + 2)) "$out/forwarded-$r-B.log" $(cluster_args B)
    t0=$(date +%s%N)
    load "forwarded-$r-A" $((port + 1)) "$a" "/fw$r-" $((warmup + lead)) "$r"
    la=$load_pid
    n=0
    while :; do
        n=$(owned $((port + 1)) "/fw$r-" A)
        [ "$n" -ge "$rooms" ] && break
        waited=$((($(date +%s%N) - t0) / 1000000))
        if [ "$waited" -ge $(((lead - 1) * 1000)) ]; then
            echo "forwarded rep $r: A owns $n of $rooms rooms after $waited ms; see $out/forwarded-$r-A.log" >&2
            exit 1
        fi
        sleep 0.2
    done
    waited=$((($(date +%s%N) - t0) / 1000000))
    echo "  A owns its $rooms rooms after $waited ms; starting the clients on B" >&2
    # B's tool measures over the same window as A's: it warms up for what is left of A's.
    load "forwarded-$r-B" $((port + 2)) "$b" "/fw$r-" \
        "$(python3 -c "print(round($warmup + $lead - $waited / 1000, 3))")" $((r + 1000))
    lb=$load_pid
    rooms_midway "forwarded-$r" $((port + 1)) $((warmup + lead + seconds / 2 - waited / 1000))
    finish_load "forwarded-$r-A" "$la"
    finish_load "forwarded-$r-B" "$lb"
    stop "$midway_pid"
    scrape "forwarded-$r-A" $((port + 1))
    scrape "forwarded-$r-B" $((port + 2))
    stop "$b"
    stop "$a"
}

cargo build --release --quiet --bin ballroom --bin ballroom-load
rm -rf "$out"
mkdir -p "$out"
"${pin_server[@]}" nats-server -js -a 127.0.0.1 -p "$nats_port" -sd "$store" >"$out/nats.log" 2>&1 &
nats_pid=$!
started+=("$nats_pid")
for _ in $(seq 100); do
    grep -q "Server is ready" "$out/nats.log" && break
    kill -0 "$nats_pid" 2>/dev/null || { cat "$out/nats.log" >&2; exit 1; }
    sleep 0.1
done
grep -q "Server is ready" "$out/nats.log" || { echo "nats-server not ready" >&2; exit 1; }

echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for rep in $(seq "$reps"); do
    if ((rep % 2)); then
        run_single "$rep"; run_local "$rep"; run_forwarded "$rep"
    else
        run_forwarded "$rep"; run_local "$rep"; run_single "$rep"
    fi
    echo "  load average: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
done
stop "$nats_pid"

python3 - "$out" "$reps" "$rooms" "$per_room" "$seconds" <<'PY'
import json, re, statistics, sys
out, reps, rooms, per_room, seconds = sys.argv[1], int(sys.argv[2]), *map(int, sys.argv[3:])
roles = [("single", "S", "single node"), ("local", "A", "local A"), ("local", "B", "local B"),
         ("forwarded", "A", "fwd A (own)"), ("forwarded", "B", "fwd B (fwd'd)")]
cols = ("clients", "cpu s", "cpu ms/cl-s", "kick p50", "kick p99", "missed", "unacked", "errors",
        "too far", "load1")

def metrics(path):
    m = {}
    try:
        for line in open(path):
            if line.startswith('#') or not line.strip():
                continue
            series, value = line.rsplit(' ', 1)
            m[series] = float(value)
    except OSError:
        pass
    return m

def row(j, load1):
    c, k, s = j["connections"], j["kicks"], j["snapshots"]
    n = c["connected"]
    cpu = j["server"]["cpu_seconds"]
    too_far = k["errors"].get("too_far", 0)
    errors = (c["failed"] + c["ended_early"] + sum(k["errors"].values()) - too_far
              + sum(j["other_errors"].values()))
    per = cpu * 1000 / (n * j["params"]["duration"]) if cpu is not None and n else float("nan")
    return (n, cpu if cpu is not None else float("nan"), per, k["latency_ms"]["p50"] or float("nan"),
            k["latency_ms"]["p99"] or float("nan"), s["missed"], k["unacked"], errors, too_far, load1)

runs, notes = {}, []
for scen, node, label in roles:
    for r in range(1, reps + 1):
        name = f"{scen}-{r}-{node}"
        j = json.load(open(f"{out}/{name}.json"))
        try:
            load1 = float(open(f"{out}/{name}.loadavg").read().split()[0])
        except (OSError, ValueError, IndexError):
            load1 = float("nan")
        runs.setdefault(label, []).append(row(j, load1))
        c = j["connections"]
        kick_errors = {e: v for e, v in j["kicks"]["errors"].items() if e != "too_far"}
        if c["failures"] or c["ended_early_reasons"] or kick_errors or j["other_errors"]:
            notes.append(f"{name}: failures {c['failures']} ended early {c['ended_early_reasons']} "
                         f"kick errors {j['kicks']['errors']} other errors {j['other_errors']}")
        m = metrics(f"{out}/{name}.metrics")
        bad = {k: v for k, v in m.items() if v and re.match(
            r"ballroom_(cluster_dropped|cluster_leases_lost|ticks_dropped|tick_overruns|"
            r"snapshots_skipped|rejected|room_panics)_total", k)}
        try:
            warned = [l.rstrip() for l in open(f"{out}/{name}.log") if " WARN " in l or " ERROR " in l]
        except OSError:
            warned = []
        if warned:
            notes.append(f"{name}.log: {len(warned)} WARN/ERROR lines, the first: {warned[0]}")
        if bad:
            notes.append(f"{name} server counters: " + ", ".join(f"{k} {v:g}" for k, v in sorted(bad.items())))
        if scen != "single" and (scen, node) != ("forwarded", "B"):
            prefix = {"local": f"/{node.lower()}{r}-", "forwarded": f"/fw{r}-"}[scen]
            want = {"local": node, "forwarded": "A"}[scen]
            try:
                listed = json.load(open(f"{out}/{scen}-{r}.rooms"))
                assert isinstance(listed, list)
            except (OSError, ValueError, AssertionError):
                notes.append(f"{scen}-{r}: no /rooms taken during the window")
            else:
                mine = [x for x in listed if x["room"].startswith(prefix)]
                wrong = [x["room"] for x in mine if x.get("owner") != want]
                full = per_room * (2 if scen == "forwarded" else 1)
                short = [x["room"] for x in mine if x.get("clients") != full]
                if len(mine) != rooms or wrong or short:
                    notes.append(f"{name} /rooms midway: {len(mine)} of {rooms} rooms {prefix}*, "
                                 f"not owned by {want}: {wrong[:5]}, without {full} clients: {short[:5]}")
        if scen == "forwarded":
            fw = {k: v for k, v in m.items() if k.startswith("ballroom_cluster_forwarded_total")}
            notes.append(f"{name} ballroom_cluster_forwarded_total over the node's life: "
                         + ", ".join(f"{k.split('{')[1].rstrip('}')} {v:g}" for k, v in sorted(fw.items())))

fmt = lambda v: f"{v:.3g}" if isinstance(v, float) else str(v)
print(f"\n{rooms} rooms x {per_room} clients per node, {seconds} s windows, {reps} reps; "
      f"latencies in ms; cpu ms/cl-s = node CPU ms per connected client-second")
print(f"{'node':<14}{'rep':>4}" + "".join(f"{c:>{12 if k < 5 else 8}}" for k, c in enumerate(cols)))
for label, rows in runs.items():
    for i, r in enumerate(rows, 1):
        print(f"{label:<14}{i:>4}" + "".join(f"{fmt(v):>{12 if k < 5 else 8}}" for k, v in enumerate(r)))
print("too far: kicks refused as out of reach (in `forwarded` two tools' clients kick the same "
      "balls, each aiming at its own spot); load1: 1-minute load average at the run's end")
print(f"\nmedian (min-max) of {reps}; missed, unacked, errors and too far summed over the {reps}")
print(f"{'node':<14}{'clients':>8}{'cpu ms/cl-s':>20}{'kick p50 ms':>20}{'kick p99 ms':>20}"
      f"{'missed':>8}{'unacked':>8}{'errors':>8}{'too far':>8}")
med = {}
for label, rows in runs.items():
    cells = []
    for k in range(len(cols)):
        vs = [r[k] for r in rows]
        med[label, k] = statistics.median(vs)
        if k in (2, 3, 4):
            m = statistics.median(vs)
            cells.append(f"{fmt(m)} ({fmt(min(vs))}-{fmt(max(vs))})")
    sums = [sum(r[k] for r in rows) for k in (5, 6, 7, 8)]
    print(f"{label:<14}{fmt(med[label, 0]):>8}" + "".join(f"{c:>20}" for c in cells)
          + "".join(f"{v:>8}" for v in sums))
single = med["single node", 2]
for label in ("local A", "local B"):
    ratio = med[label, 2] / single
    print(f"{label} CPU per client-second = {ratio:.2f} x single node's (target <= 1.2: "
          f"{'met' if ratio <= 1.2 else 'NOT met'})")
cluster = [(r1[1] + r2[1]) * 1000 / ((r1[0] + r2[0]) * seconds)
           for r1, r2 in zip(runs["fwd A (own)"], runs["fwd B (fwd'd)"])]
print(f"forwarded: A+B CPU ms per client-second (all {2 * rooms * per_room} clients) "
      f"{statistics.median(cluster):.3g}, = {statistics.median(cluster) / single:.2f} x single node's")
fa, fb = "fwd A (own)", "fwd B (fwd'd)"
print(f"forwarded kick p50/p99 ms: A's own clients {fmt(med[fa, 3])}/{fmt(med[fa, 4])}, "
      f"B's forwarded clients {fmt(med[fb, 3])}/{fmt(med[fb, 4])}")
try:
    failures = open(f"{out}/rooms-failures.txt").read().splitlines()
except OSError:
    failures = []
if failures:
    notes.append(f"GET /rooms failed {len(failures)} times (rooms-failures.txt), the first: {failures[0]}")
if notes:
    print("\nnotes:")
    for n in notes:
        print("  " + n)
PY
