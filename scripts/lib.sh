# Shared by the scripts in this directory. Source it from the repository root, after
# `set -euo pipefail`:
#
#   . scripts/lib.sh
#   raise_open_file_limit
#   start_server PORT LOG [SERVER ARGS...]     # sets server_pid; stopped on exit
#   "$bin/ballroom-load" --addr "127.0.0.1:PORT" --server-pid "$server_pid" ...
#   stop_server                                # optional: to stop it before the script ends
#
# $bin is where cargo puts the release binaries: $CARGO_TARGET_DIR/release when that is
# set (relative to the repository root, as cargo reads it there), else target/release.
# Loopback only. Needs cargo and curl.

bin=${CARGO_TARGET_DIR:-target}/release
server_pid=

# As many open files as the hard limit allows (each client is one).
raise_open_file_limit() {
    ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
}

# Build the release server and load tool, start `ballroom --addr 127.0.0.1:PORT ARGS...`
# with its output in LOG, kill it when the script exits, and wait (at most 5 s) until it
# answers GET /healthz. Exits the script, showing the end of LOG, if it does not.
# $bin_wrapper, if set, goes before the server's command (`taskset -c 0`, say: it execs the
# server, so $server_pid is still the server's).
start_server() {
    local port=$1 log=$2
    shift 2
    cargo build --release --quiet --bin ballroom --bin ballroom-load
    ${bin_wrapper:-} "$bin/ballroom" --addr "127.0.0.1:$port" "$@" >"$log" 2>&1 &
    server_pid=$!
    trap stop_server EXIT
    wait_until_answers "127.0.0.1:$port/healthz" "$log"
}

# Wait (at most 10 s) until the server $server_pid answers GET URL. Exits the script,
# showing the end of LOG, if it does not, or if the server dies first.
wait_until_answers() {
    local url=$1 log=$2
    for _ in $(seq 100); do
        curl -s -o /dev/null "$url" && return 0
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.1
    done
    echo "the server did not answer GET $url; the end of $log:" >&2
    tail -n 20 "$log" >&2
    exit 1
}

# Stop the server start_server started (SIGTERM), and wait for it.
stop_server() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=
    fi
}
