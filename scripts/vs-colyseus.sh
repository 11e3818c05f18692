#!/usr/bin/env bash
# Server CPU for the kickballs job, ballroom against Colyseus + rapier JS (bench/colyseus),
# same load shape, loopback only: for each size, ROOMS rooms of CLIENTS_PER_ROOM physics
# clients (a pose 5 times a second, a kick every 2 s each) for SECONDS after a 10 s warm-up
# (VS_COLYSEUS_WARMUP; the Colyseus driver also waits for its last join), REPS times. Each
# repetition runs ballroom once per encoding (ballroom-load --encoding binary, then json)
# and the Colyseus room once, alternating which server goes first, each on a fresh server
# pinned to CPU 0 with its load driver pinned to CPU 1. Prints per size
# the median and min–max of every figure, and ballroom's CPU per client-second ÷ Colyseus'.
#
#   scripts/vs-colyseus.sh [ROOMS_LIST] [CLIENTS_PER_ROOM] [SECONDS] [REPS]
#                                               (defaults "20 50 100" 10 20 3)
#
# Needs node and npm (the Colyseus project installs from its lock file with `npm ci`),
# cargo, python3, curl and taskset. Honours CARGO_TARGET_DIR. Results: one JSON per run in
# $VS_COLYSEUS_OUT (default /tmp/vs-colyseus); ENCODINGS="binary" skips the JSON runs.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
sizes=${1:-"20 50 100"}
per_room=${2:-10}
seconds=${3:-20}
reps=${4:-3}
encodings=${ENCODINGS:-"binary json"}
out=${VS_COLYSEUS_OUT:-/tmp/vs-colyseus}
port=${VS_COLYSEUS_PORT:-18171}
warmup=${VS_COLYSEUS_WARMUP:-10}
raise_open_file_limit
for tool in node npm python3 curl taskset; do
    command -v "$tool" >/dev/null || { echo "vs-colyseus: $tool not found" >&2; exit 1; }
done
[ "$(nproc)" -ge 2 ] || echo "vs-colyseus: fewer than 2 CPUs; server and load will share one" >&2

(
    cd bench/colyseus
    if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
        npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
    fi
)
cargo build --release --quiet --bin ballroom --bin ballroom-load
mkdir -p "$out"
rm -f "$out"/*.json "$out"/*.cpu "$out"/*.log "$out"/*.t[01]

# Start SERVER ARGS... pinned to CPU 0 (taskset execs it, so $! is the server), its output
# in LOG; wait (at most 10 s) until it answers GET URL.
start_pinned() { # log url cmd...
    local log=$1 url=$2
    shift 2
    taskset -c 0 "$@" >"$log" 2>&1 &
    server_pid=$!
    trap stop_server EXIT
    wait_until_answers "$url" "$log"
}

# One line of jiffies (1/100 s): busy time of CPU 0 and of CPU 1 (from /proc/stat), and the
# server's utime + stime.
cpu_marks() {
    local stat
    stat=$(cat "/proc/$server_pid/stat" 2>/dev/null || echo ")")
    awk -v srv="${stat##*)}" '$1 == "cpu0" || $1 == "cpu1" { b[$1] = $2 + $3 + $4 + $7 + $8 + $9 }
        END { split(srv, f, " "); print b["cpu0"], b["cpu1"], f[12] + f[13] }' /proc/stat
}

# Run one load driver pinned to CPU 1: name, then the command. Its JSON goes to
# $out/NAME.json, its stderr to $out/NAME.log, and to $out/NAME.cpu over the whole run:
# the driver's CPU seconds (bash's `times`, which must run in this shell, not a subshell),
# the wall seconds, and the cores that anything else kept busy on CPU 0 (beyond the server)
# and on CPU 1 (beyond the driver): other work on a shared machine.
load() {
    local name=$1
    shift
    { times; date +%s.%N; cpu_marks; } >"$out/$name.t0"
    taskset -c 1 "$@" >"$out/$name.json" 2>"$out/$name.log" ||
        echo "vs-colyseus: $name failed (see $out/$name.log)" >&2
    { times; date +%s.%N; cpu_marks; } >"$out/$name.t1"
    awk 'function s(x, p) { split(x, p, "m"); return p[1] * 60 + p[2] }
         FNR == 2 { c[FILENAME] = s($1) + s($2) } FNR == 3 { w[FILENAME] = $1 }
         FNR == 4 { c0[FILENAME] = $1; c1[FILENAME] = $2; sv[FILENAME] = $3 }
         END { a = ARGV[1]; b = ARGV[2]; cpu = c[b] - c[a]; wall = w[b] - w[a]
               printf "%.3f %.3f %.3f %.3f\n", cpu, wall,
                   ((c0[b] - c0[a]) - (sv[b] - sv[a])) / 100 / wall, ((c1[b] - c1[a]) / 100 - cpu) / wall }' \
        "$out/$name.t0" "$out/$name.t1" >"$out/$name.cpu"
    rm -f "$out/$name.t0" "$out/$name.t1"
}

run_ballroom() { # rooms rep encoding
    start_pinned "$out/server-ballroom.log" "127.0.0.1:$port/healthz" \
        "$bin/ballroom" --addr "127.0.0.1:$port"
    load "ballroom-$3-$1-$2" "$bin/ballroom-load" --mode physics --encoding "$3" \
        --addr "127.0.0.1:$port" --clients $(($1 * per_room)) --rooms "$1" \
        --duration "$seconds" --warmup "$warmup" --server-pid "$server_pid"
    stop_server
}

run_colyseus() { # rooms rep
    start_pinned "$out/server-colyseus.log" "127.0.0.1:$port/" \
        node bench/colyseus/server.mjs --port "$port" --scene "$out/scene.json"
    load "colyseus-schema-$1-$2" node bench/colyseus/load.mjs --addr "127.0.0.1:$port" \
        --scene "$out/scene.json" --clients $(($1 * per_room)) --rooms "$1" \
        --duration "$seconds" --warmup "$warmup" --server-pid "$server_pid"
    stop_server
}

# The scene both servers simulate: ballroom's built-in kickballs, defaults filled in, as
# its welcome message carries it.
start_pinned "$out/server-ballroom.log" "127.0.0.1:$port/healthz" "$bin/ballroom" --addr "127.0.0.1:$port"
node bench/colyseus/export-scene.mjs "127.0.0.1:$port" kickballs >"$out/scene.json"
stop_server

for rooms in $sizes; do
    for rep in $(seq "$reps"); do
        echo "vs-colyseus: $rooms rooms x $per_room clients, repetition $rep of $reps" >&2
        if [ $((rep % 2)) -eq 1 ]; then
            for e in $encodings; do run_ballroom "$rooms" "$rep" "$e"; done
            run_colyseus "$rooms" "$rep"
        else
            run_colyseus "$rooms" "$rep"
            for e in $encodings; do run_ballroom "$rooms" "$rep" "$e"; done
        fi
    done
done

python3 bench/colyseus/table.py "$out" "$seconds"
