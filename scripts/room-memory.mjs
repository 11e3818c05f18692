#!/usr/bin/env -S node --experimental-websocket
// Memory per room, with and without a large model: for each scene, a fresh release server
// (`target/release/ballroom`, built first) with an --assets directory holding the stadium of
// the repository, `terrain` (kickballs plus a 320,000-triangle `_collider` mesh over its
// 16 x 16 m parcel, as in benches/models.rs) and `terrain_coarse` (the same number of
// triangles over 400 x 400 m), its resident memory (VmRSS) once listening, then after ROOMS
// rooms of that scene were opened (a client joins each, gets its welcome and leaves; the
// rooms linger and keep simulating) and a settling pause.
//
//   node --experimental-websocket scripts/room-memory.mjs [ROOMS=200]
//
// Prints one line per scene: RSS at start, RSS with the rooms, and the difference per room.
import { spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const rooms = Number(process.argv[2] ?? 200);
const bin = join(root, "target/release/ballroom");
const CELLS = 400;

function terrainGlb(cells, from, size) {
  const n = cells + 1;
  const pos = new Float32Array(n * n * 3);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      const x = from + (size * i) / cells, z = from + (size * j) / cells;
      pos.set([x, 0.15 + 0.15 * Math.sin(x * 0.7) * Math.cos(z * 0.5), z], (i * n + j) * 3);
    }
  const idx = new Uint32Array(cells * cells * 6);
  let k = 0;
  for (let i = 0; i < cells; i++)
    for (let j = 0; j < cells; j++) {
      const a = i * n + j, b = a + 1, c = a + n, d = c + 1;
      idx.set([a, b, d, a, d, c], k);
      k += 6;
    }
  const doc = {
    asset: { version: "2.0" }, scene: 0, scenes: [{ nodes: [0] }],
    nodes: [{ name: "terrain_collider", mesh: 0 }],
    meshes: [{ primitives: [{ attributes: { POSITION: 0 }, indices: 1 }] }],
    buffers: [{ byteLength: pos.byteLength + idx.byteLength }],
    bufferViews: [
      { buffer: 0, byteOffset: 0, byteLength: pos.byteLength },
      { buffer: 0, byteOffset: pos.byteLength, byteLength: idx.byteLength },
    ],
    accessors: [
      { bufferView: 0, componentType: 5126, count: n * n, type: "VEC3", min: [from, 0, from], max: [from + size, 0.3, from + size] },
      { bufferView: 1, componentType: 5125, count: idx.length, type: "SCALAR" },
    ],
  };
  let text = Buffer.from(JSON.stringify(doc));
  text = Buffer.concat([text, Buffer.alloc((4 - (text.length % 4)) % 4, 0x20)]);
  const bin = Buffer.concat([Buffer.from(pos.buffer), Buffer.from(idx.buffer)]);
  const header = Buffer.alloc(20);
  header.writeUInt32LE(0x46546c67, 0);
  header.writeUInt32LE(2, 4);
  header.writeUInt32LE(12 + 8 + text.length + 8 + bin.length, 8);
  header.writeUInt32LE(text.length, 12);
  header.writeUInt32LE(0x4e4f534a, 16);
  const binHeader = Buffer.alloc(8);
  binHeader.writeUInt32LE(bin.length, 0);
  binHeader.writeUInt32LE(0x004e4942, 4);
  return Buffer.concat([header, text, binHeader, bin]);
}

function assets() {
  const dir = mkdtempSync(join(tmpdir(), "ballroom-memory-"));
  mkdirSync(join(dir, "scenes"));
  mkdirSync(join(dir, "models"));
  cpSync(join(root, "assets/scenes/stadium.json"), join(dir, "scenes/stadium.json"));
  cpSync(join(root, "assets/models/stadium.glb"), join(dir, "models/stadium.glb"));
  for (const [name, from, size] of [["terrain", 0, 16], ["terrain_coarse", -192, 400]]) {
    const kickballs = JSON.parse(readFileSync(join(root, "assets/scenes/kickballs.json"), "utf8"));
    kickballs.name = name;
    kickballs.models = [{ file: `models/${name}.glb` }];
    writeFileSync(join(dir, `scenes/${name}.json`), JSON.stringify(kickballs));
    writeFileSync(join(dir, `models/${name}.glb`), terrainGlb(CELLS, from, size));
  }
  return dir;
}

const rssKib = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))[1]);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function start(dir, port) {
  const server = spawn(bin, ["--addr", `127.0.0.1:${port}`, "--assets", dir, "--room-linger", "600"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  await new Promise((resolve, reject) => {
    const seen = (d) => {
      log += d;
      if (log.includes("listening")) resolve();
    };
    server.stdout.on("data", seen);
    server.stderr.on("data", seen);
    server.on("exit", (code) => reject(new Error(`server exited ${code}: ${log}`)));
  });
  return server;
}

function join1(port, room, scene) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/${room}?scene=${scene}`, "ballroom.v1");
    ws.onmessage = (m) => {
      if (typeof m.data === "string" && JSON.parse(m.data).type === "welcome") {
        ws.close();
        resolve();
      }
    };
    ws.onerror = () => reject(new Error(`join ${room} failed`));
  });
}

const dir = assets();
let port = 18600;
for (const scene of ["kickballs", "stadium", "terrain", "terrain_coarse"]) {
  const server = await start(dir, ++port);
  await sleep(1000);
  const base = rssKib(server.pid);
  for (let i = 0; i < rooms; i += 20) {
    await Promise.all(Array.from({ length: Math.min(20, rooms - i) }, (_, k) => join1(port, `mem-${i + k}`, scene)));
  }
  await sleep(5000);
  const full = rssKib(server.pid);
  console.log(
    `${scene.padEnd(10)} RSS at start ${(base / 1024).toFixed(1)} MiB, with ${rooms} rooms ${(full / 1024).toFixed(1)} MiB: ` +
      `${((full - base) / rooms).toFixed(1)} KiB per room`,
  );
  server.kill("SIGTERM");
  await new Promise((r) => server.on("exit", r));
}
rmSync(dir, { recursive: true });
