#!/usr/bin/env bash
# What a room's rules cost the server, side by side in one run on this machine, loopback
# only: one release ballroom server with three scenes that differ only in their rules
# (`plain`: kickballs, none; `referee`: a referee as football is one, which checks every
# kick against the balls, ticks ten times a second and publishes its state once a second;
# `keepy`: `rules/keepy-uppy.js`, which publishes its state on every kick, so every kick is
# one more message to every client), and ballroom-load's
# standard load (a kick every 2 s per client, poses 5 a second, binary snapshots) run on
# each in turn, in rooms of its own, ROUNDS times (default 2) alternating, so that a busy
# moment of the machine does not fall on one side only. Prints the server CPU per
# client-second of every run and the ratio of the medians.
#
#   scripts/rules-cost.sh [ROOMS] [CLIENTS_PER_ROOM] [SECONDS]      (defaults 100 10 30)
#
# Needs: cargo, python3, curl. Honours PORT and CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
rooms=${1:-100}
per_room=${2:-10}
seconds=${3:-30}
port=${PORT:-18083}
raise_open_file_limit

assets=$(mktemp -d /tmp/ballroom-rules-cost.XXXXXX)
mkdir -p "$assets/scenes"
mkdir -p "$assets/rules"
cat >"$assets/rules/referee.js" <<'JS'
export const tickRate = 10;
let kicks = 0;
export default {
  onStart(room) { if (room.state === null) room.setState({ kicks: 0, since: room.time }); },
  onKick(room, kick) {
    const ball = room.balls().find((b) => b.id === kick.ball);
    if (!ball || ball.position[1] < -10) return { refuse: "out of play" };
    kicks += 1;
  },
  onTick(room) {
    if (room.time - room.state.since >= 1) room.setState({ kicks, since: room.time });
  },
};
JS
python3 - "$assets" <<'PY'
import json, sys
scene = json.load(open("assets/scenes/kickballs.json"))
for name, rules in (("plain", None), ("referee", "rules/referee.js"), ("keepy", "rules/keepy-uppy.js")):
    s = dict(scene, name=name)
    if rules:
        s["rules"] = rules
    json.dump(s, open(f"{sys.argv[1]}/scenes/{name}.json", "w"))
PY

start_server "$port" /tmp/ballroom-rules-cost-server.log --assets "$assets" \
    --max-connections $((rooms * per_room + 100))
rounds=${ROUNDS:-2}
for round in $(seq "$rounds"); do
    for scene in plain referee keepy; do
        "$bin/ballroom-load" --addr "127.0.0.1:$port" --clients "$((rooms * per_room))" \
            --rooms "$rooms" --room-prefix "$scene-$round-" --scene "$scene" --encoding binary \
            --duration "$seconds" --warmup 10 --kick-interval 2 --pose-rate 5 \
            --server-pid "$server_pid" >"/tmp/ballroom-rules-cost-$scene-$round.json" 2>/dev/null
    done
done
rm -rf "$assets"
python3 - "$rooms" "$per_room" "$seconds" "$rounds" <<'PY'
import json, statistics, sys
rooms, per_room, seconds, rounds = (int(a) for a in sys.argv[1:])
print(f"{rooms} rooms x {per_room} clients, {seconds} s each, binary snapshots, {rounds} rounds")
print(f"{'scene':<8} {'round':>5} {'server CPU s':>12} {'ms per client-s':>16} {'missed':>7} {'kick p99 ms':>12}")
per = {"plain": [], "referee": [], "keepy": []}
for r in range(1, rounds + 1):
    for name in per:
        run = json.load(open(f"/tmp/ballroom-rules-cost-{name}-{r}.json"))
        cpu = run["server"]["cpu_seconds"]
        per[name].append(cpu * 1000 / (rooms * per_room * seconds))
        print(f"{name:<8} {r:>5} {cpu:>12.2f} {per[name][-1]:>16.3f} {run['snapshots']['missed']:>7} "
              f"{run['kicks']['latency_ms']['p99']:>12}")
m = {name: statistics.median(v) for name, v in per.items()}
print("medians, ms per client-second: " + ", ".join(f"{n} {v:.3f}" for n, v in m.items()))
print(f"referee / plain {m['referee'] / m['plain']:.3f}; keepy / plain {m['keepy'] / m['plain']:.3f}")
PY
