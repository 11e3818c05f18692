// The kickballs job on Colyseus + rapier JS, on one port of the loopback:
//   node server.mjs --scene scene.json [--port 2567] [--tick-rate 60] [--snapshot-rate 20]
// The scene is ballroom's, as export-scene.mjs prints it. Rooms are joined by name:
// joinOrCreate("kickballs", { label }) puts every client asking for one label in one room.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import RAPIER from "@dimforge/rapier3d-compat";
import { Server } from "@colyseus/core";
import { WebSocketTransport } from "@colyseus/ws-transport";
import { kickballsRoom } from "./room.mjs";

const { values: opt } = parseArgs({
  options: {
    port: { type: "string", default: "2567" },
    scene: { type: "string" },
    "tick-rate": { type: "string", default: "60" },
    "snapshot-rate": { type: "string", default: "20" },
  },
});
if (!opt.scene) throw new Error("--scene FILE is required (see export-scene.mjs)");
const scene = JSON.parse(readFileSync(opt.scene, "utf8"));
const needed = ["gravity", "max_impulse", "solver_iterations", "respawn_below", "player", "kick_rules", "statics", "balls"];
const missing = needed.filter((k) => scene[k] === undefined);
if (missing.length) throw new Error(`${opt.scene} lacks ${missing.join(", ")}: export it with export-scene.mjs`);

await RAPIER.init();
const server = new Server({ transport: new WebSocketTransport(), greet: false });
const Kickballs = kickballsRoom({
  R: RAPIER, scene, tickRate: Number(opt["tick-rate"]), snapshotRate: Number(opt["snapshot-rate"]),
});
server.define("kickballs", Kickballs).filterBy(["label"]);
await server.listen(Number(opt.port), "127.0.0.1");
console.log(`colyseus kickballs listening on 127.0.0.1:${opt.port} (rapier ${RAPIER.version()})`);
