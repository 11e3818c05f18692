"""The side-by-side table of scripts/vs-colyseus.sh: python3 table.py OUT_DIR SECONDS.

Reads OUT_DIR/<server>-<encoding>-<rooms>-<rep>.json (one load driver's summary) and the
.cpu file beside it (the driver's CPU and wall seconds over its run, and the cores other
work kept busy on the server's and the driver's CPU meanwhile), and prints per size the median and
the min-max over repetitions of each figure, then ballroom's CPU per client-second over
Colyseus'. Every figure comes from those files."""
import glob
import json
import os
import re
import statistics
import sys

out, seconds = sys.argv[1], float(sys.argv[2])
runs = {}  # (rooms, variant) -> [figures]
for path in glob.glob(os.path.join(out, "*.json")):
    m = re.fullmatch(r"(ballroom|colyseus)-(\w+)-(\d+)-(\d+)\.json", os.path.basename(path))
    if not m:
        continue
    try:
        j = json.load(open(path))
    except (OSError, ValueError):
        continue  # a failed run: reported by the script
    server, encoding, rooms = m.group(1), m.group(2), int(m.group(3))
    s, k, snap = j.get("server") or {}, j["kicks"], j["snapshots"]
    clients = j["connections"]["connected"]
    cpu = s.get("cpu_seconds")
    f = {
        "clients connected": clients,
        "connect ramp s": j["connections"]["ramp_ms"] / 1000 if j["connections"]["ramp_ms"] is not None else None,
        "server cores (CPU-s / s)": cpu / seconds if cpu is not None else None,
        "server CPU ms per client-s": 1000 * cpu / (clients * seconds) if cpu is not None and clients else None,
        "kick->snapshot p50 ms": k["latency_ms"]["p50"],
        "kick->snapshot p99 ms": k["latency_ms"]["p99"],
        "snapshots received": snap["received"],
        "snapshots missed": snap["missed"],
        "missed %": 100 * snap["missed"] / (snap["received"] + snap["missed"]) if snap["received"] else None,
        "kicks acked %": 100 * k["acked"] / k["sent"] if k["sent"] else None,
        "kick errors": sum(k["errors"].values()),
        "peak RSS MiB": s["peak_rss_kib"] / 1024 if s.get("peak_rss_kib") else None,
        "KB per client per s": j["bytes_per_client_per_s"]["mean"] / 1000 if j["bytes_per_client_per_s"]["mean"] is not None else None,
    }
    try:
        cpu_s, wall_s, others0, others1 = map(float, open(path[:-5] + ".cpu").read().split())
        f["load driver cores"] = cpu_s / wall_s
        f["other work, server CPU (cores)"] = max(0.0, others0)
        f["other work, driver CPU (cores)"] = max(0.0, others1)
    except (OSError, ValueError):
        pass
    runs.setdefault((rooms, f"{server} {encoding}"), []).append(f)


def cell(values):
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    fmt = lambda v: f"{v:.3g}" if abs(v) < 1000 else f"{v:.0f}"
    med = fmt(statistics.median(values))
    return med if len(values) == 1 else f"{med} ({fmt(min(values))}-{fmt(max(values))})"


def median(rooms, variant, key):
    vs = [f[key] for f in runs.get((rooms, variant), []) if f.get(key) is not None]
    return statistics.median(vs) if vs else None


order = ["ballroom binary", "ballroom json", "colyseus schema"]
for rooms in sorted({r for r, _ in runs}):
    variants = [v for v in order if (rooms, v) in runs] + sorted(v for r, v in runs if r == rooms and v not in order)
    n = max(len(runs[(rooms, v)]) for v in variants)
    print(f"\n{rooms} rooms, {seconds:g} s window, {n} run(s) each: median (min-max)")
    print(f"{'':30}" + "".join(f"{v:>24}" for v in variants))
    keys = list(dict.fromkeys(k for v in variants for f in runs[(rooms, v)] for k in f))
    for key in keys:
        print(f"{key:30}" + "".join(f"{cell([f.get(key) for f in runs[(rooms, v)]]):>24}" for v in variants))
    for v in variants:
        busy = [f["server cores (CPU-s / s)"] + f.get("other work, server CPU (cores)", 0)
                for f in runs[(rooms, v)] if f["server cores (CPU-s / s)"] is not None]
        if busy and max(busy) >= 0.9:
            print(f"note: CPU 0 was full during a {v} run (server + other work up to {max(busy):.2f} cores): "
                  "its server may have been starved, and its CPU per client-second is then a floor")
    theirs = median(rooms, "colyseus schema", "server CPU ms per client-s")
    for v in variants:
        ours = median(rooms, v, "server CPU ms per client-s")
        if v.startswith("ballroom") and ours is not None and theirs:
            print(f"{v} / colyseus, server CPU per client-second: {ours / theirs:.3f}")
