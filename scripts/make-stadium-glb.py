#!/usr/bin/env python3
"""Write assets/models/stadium.glb, the model of the `stadium` scene, from this source.

Only the standard library; the output is byte-for-byte the same on every run, so the
committed .glb can be checked against this script (`python3 scripts/make-stadium-glb.py
--check`). Every piece is a convex block (a box, or a ramp for the stands) drawn by
clients and, by its node name, a collider of the server:

  *_collider          a static triangle mesh      (walls, boards, ground, goal frames)
  *_collider_convex   a static convex hull        (the stands, ramps up from the boards)
  *_sensor            a sensor (its convex hull)  (the goal mouths goal_blue, goal_red)

The pitch is 30 x 20 m centred on the origin, x along its length, y up, as in the
built-in `football` scene: goal_blue behind the line at x < -15, goal_red at x > 15.
"""

import json
import struct
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "assets" / "models" / "stadium.glb"

COLOURS = {
    "grass": [0.16, 0.45, 0.18, 1.0],
    "board": [0.85, 0.85, 0.80, 1.0],
    "stand": [0.45, 0.30, 0.55, 1.0],
    "wall": [0.35, 0.35, 0.40, 1.0],
    "goal": [0.95, 0.95, 0.95, 1.0],
    "blue": [0.20, 0.40, 0.95, 0.35],
    "red": [0.95, 0.25, 0.20, 0.35],
}


def box(lo, hi):
    """The six faces of the box from corner `lo` to corner `hi`, counter-clockwise seen from outside."""
    (x0, y0, z0), (x1, y1, z1) = lo, hi
    return [
        [(x1, y0, z0), (x1, y1, z0), (x1, y1, z1), (x1, y0, z1)],  # +x
        [(x0, y0, z1), (x0, y1, z1), (x0, y1, z0), (x0, y0, z0)],  # -x
        [(x0, y1, z0), (x0, y1, z1), (x1, y1, z1), (x1, y1, z0)],  # +y
        [(x0, y0, z1), (x0, y0, z0), (x1, y0, z0), (x1, y0, z1)],  # -y
        [(x0, y0, z1), (x1, y0, z1), (x1, y1, z1), (x0, y1, z1)],  # +z
        [(x1, y0, z0), (x0, y0, z0), (x0, y1, z0), (x1, y1, z0)],  # -z
    ]


def ramp(x0, x1, z_low, z_high, y_low, y_high):
    """A stand: a prism along x whose top rises from (z_low, y_low) to (z_high, y_high)."""
    # Cross-section (z, y), counter-clockwise seen from +x when z_high > z_low.
    section = [(z_low, 0.0), (z_high, 0.0), (z_high, y_high), (z_low, y_low)]
    if z_high < z_low:
        section.reverse()
    faces = [
        [(x1, y, z) for z, y in section],
        [(x0, y, z) for z, y in reversed(section)],
    ]
    for i in range(4):
        (za, ya), (zb, yb) = section[i], section[(i + 1) % 4]
        faces.append([(x0, ya, za), (x0, yb, zb), (x1, yb, zb), (x1, ya, za)])
    return faces


def pieces():
    """(node name, colour, faces) for every piece of the stadium."""
    out = [("ground_collider", "grass", box((-19, -0.5, -16.5), (19, 0, 16.5)))]
    for side, s in (("north", 1), ("south", -1)):
        z = sorted((10.0 * s, 10.5 * s))
        out.append((f"board_{side}_collider", "board", box((-15, 0, z[0]), (15, 1, z[1]))))
        out.append((f"stand_{side}_collider_convex", "stand", ramp(-15, 15, 10.5 * s, 16 * s, 1, 6)))
        z = sorted((16.0 * s, 16.5 * s))
        out.append((f"wall_{side}_collider", "wall", box((-15.5, 0, z[0]), (15.5, 14, z[1]))))
    for end, s, team in (("west", -1, "blue"), ("east", 1, "red")):
        x = sorted((15.0 * s, 16.0 * s))
        out.append((f"end_{end}_south_collider", "wall", box((x[0], 0, -16.5), (x[1], 14, -2.5))))
        out.append((f"end_{end}_north_collider", "wall", box((x[0], 0, 2.5), (x[1], 14, 16.5))))
        out.append((f"end_{end}_lintel_collider", "wall", box((x[0], 2.4, -2.5), (x[1], 14, 2.5))))
        x = sorted((17.5 * s, 18.0 * s))
        out.append((f"goal_{end}_back_collider", "goal", box((x[0], 0, -3), (x[1], 2.4, 3))))
        x = sorted((16.0 * s, 17.5 * s))
        out.append((f"goal_{end}_side_s_collider", "goal", box((x[0], 0, -3), (x[1], 2.4, -2.5))))
        out.append((f"goal_{end}_side_n_collider", "goal", box((x[0], 0, 2.5), (x[1], 2.4, 3))))
        out.append((f"goal_{end}_top_collider", "goal", box((x[0], 2.4, -3), (x[1], 2.9, 3))))
        # The mouth lies wholly behind the goal line (|x| > 16), like football's sensors.
        x = sorted((16.0 * s, 17.0 * s))
        out.append((f"goal_{team}_sensor", team, box((x[0], 0, -2.5), (x[1], 2.4, 2.5))))
    return out


def normal(face):
    (ax, ay, az), (bx, by, bz), (cx, cy, cz) = face[0], face[1], face[2]
    u, v = (bx - ax, by - ay, bz - az), (cx - ax, cy - ay, cz - az)
    n = (u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0])
    length = sum(c * c for c in n) ** 0.5
    return tuple(c / length for c in n)


def glb():
    colour_names = list(COLOURS)
    gltf = {
        "asset": {"version": "2.0", "generator": "ballroom scripts/make-stadium-glb.py"},
        "scene": 0,
        "scenes": [{"name": "stadium", "nodes": []}],
        "nodes": [],
        "meshes": [],
        "materials": [
            {
                "name": c,
                "pbrMetallicRoughness": {"baseColorFactor": COLOURS[c], "metallicFactor": 0.0, "roughnessFactor": 0.9},
                **({"alphaMode": "BLEND"} if COLOURS[c][3] < 1 else {}),
            }
            for c in colour_names
        ],
        "accessors": [],
        "bufferViews": [],
        "buffers": [],
    }
    blob = bytearray()

    def view(data, target):
        while len(blob) % 4:
            blob.append(0)
        gltf["bufferViews"].append({"buffer": 0, "byteOffset": len(blob), "byteLength": len(data), "target": target})
        blob.extend(data)
        return len(gltf["bufferViews"]) - 1

    for name, colour, faces in pieces():
        positions, normals, indices = [], [], []
        for face in faces:
            n, base = normal(face), len(positions)
            positions.extend(face)
            normals.extend([n] * len(face))
            for k in range(1, len(face) - 1):
                indices.extend((base, base + k, base + k + 1))
        pos = b"".join(struct.pack("<3f", *p) for p in positions)
        nor = b"".join(struct.pack("<3f", *p) for p in normals)
        idx = b"".join(struct.pack("<I", i) for i in indices)
        first = len(gltf["accessors"])
        gltf["accessors"] += [
            {
                "bufferView": view(pos, 34962), "componentType": 5126, "count": len(positions), "type": "VEC3",
                "min": [min(p[i] for p in positions) for i in range(3)],
                "max": [max(p[i] for p in positions) for i in range(3)],
            },
            {"bufferView": view(nor, 34962), "componentType": 5126, "count": len(normals), "type": "VEC3"},
            {"bufferView": view(idx, 34963), "componentType": 5125, "count": len(indices), "type": "SCALAR"},
        ]
        gltf["meshes"].append({
            "name": name,
            "primitives": [{
                "attributes": {"POSITION": first, "NORMAL": first + 1},
                "indices": first + 2,
                "material": colour_names.index(colour),
            }],
        })
        gltf["nodes"].append({"name": name, "mesh": len(gltf["meshes"]) - 1})
        gltf["scenes"][0]["nodes"].append(len(gltf["nodes"]) - 1)
    while len(blob) % 4:
        blob.append(0)
    gltf["buffers"].append({"byteLength": len(blob)})
    text = json.dumps(gltf, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 4)
    body = struct.pack("<I4s", len(text), b"JSON") + text + struct.pack("<I4s", len(blob), b"BIN\0") + bytes(blob)
    return struct.pack("<4sII", b"glTF", 2, 12 + len(body)) + body


def main():
    data = glb()
    if sys.argv[1:] == ["--check"]:
        if OUT.read_bytes() != data:
            sys.exit(f"{OUT} differs from what {Path(__file__).name} writes; run it again")
        print(f"{OUT}: up to date ({len(data)} bytes)")
        return
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_bytes(data)
    print(f"wrote {OUT} ({len(data)} bytes)")


if __name__ == "__main__":
    main()
