/**
 * The built client (`dist/src`, what `npm run build` ships) inside the Decentraland scene
 * runtime's rules, against the real server: QuickJS, no WebAssembly, no `performance`
 * (the `Date.now()` millisecond clock), the explorer's socket (protocols ignored, `{type,
 * data}` messages with bytes as plain arrays or typed arrays, closes without a code),
 * driven at 30 frames a second. Two scene instances in one room, the second without
 * naming a scene: both are welcomed, both receive binary snapshots, a kick from one
 * moves the ball the other renders, and a dropped socket resumes the same session.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { freshRoom } from "./support/clients.js";
import { type ByteMode, SceneRuntime, runSceneFrames } from "./support/scene-runtime.js";
import { type RunningServer, startServer } from "./support/server.js";

const DIST_INDEX = fileURLToPath(new URL("../dist/src/index.js", import.meta.url));

/** A minimal scene: one client, driven by the host's frame loop, reporting as JSON. */
const SCENE = `
import { BallroomClient } from "ballroom-client";
let client = null;
const rec = { welcomes: 0, reconnects: [], snapshots: 0, ack: 0, errors: [], relays: 0 };
globalThis.__scene = {
  start(url, scene) {
    client = new BallroomClient(scene ? { url, scene } : { url });
    client.on("connected", () => rec.welcomes++);
    client.on("reconnected", (e) => rec.reconnects.push({ resumed: e.resumed, previousId: e.previousId, id: e.welcome.client }));
    client.on("snapshot", (s) => {
      rec.snapshots++;
      const a = client.id === null ? undefined : s.acks.get(client.id);
      if (a !== undefined && a > rec.ack) rec.ack = a;
    });
    client.on("error", (e) => rec.errors.push(e.code));
    client.on("relay", () => rec.relays++);
    client.connect();
  },
  update(dt) { client.update(dt); },
  kick(ball, x, y, z) { return client.kick(ball, { x, y, z }); },
  report() {
    return JSON.stringify({
      state: client.state, id: client.id, stats: client.stats, welcomeEncoding: client.welcome && client.welcome.encoding,
      balls: client.balls().map((b) => ({ id: b.id, position: b.position })), ...rec,
      env: { performance: typeof performance, WebAssembly: typeof WebAssembly },
    });
  },
};
`;

interface Report {
  state: string;
  id: number | null;
  stats: { encoding: string; bytesPerSecond: number; snapshotsPerSecond: number; rttMs: number; physics: string };
  welcomeEncoding: string | null;
  balls: { id: number; position: { x: number; y: number; z: number } }[];
  welcomes: number;
  reconnects: { resumed: boolean; previousId: number | null; id: number }[];
  snapshots: number;
  ack: number;
  errors: string[];
  relays: number;
  env: { performance: string; WebAssembly: string };
}

let server: RunningServer;
const runtimes: SceneRuntime[] = [];

before(async () => {
  if (!existsSync(DIST_INDEX)) throw new Error(`${DIST_INDEX} is missing: run \`npm run build\` first`);
  server = await startServer();
});

after(async () => {
  for (const rt of runtimes) rt.dispose();
  await server.stop();
});

async function scene(byteMode: ByteMode, url: string, sceneName: string | null): Promise<SceneRuntime> {
  const rt = await SceneRuntime.create({ byteMode, modules: { "ballroom-client": DIST_INDEX } });
  runtimes.push(rt);
  rt.evalModule(SCENE, "/scene/index.js");
  rt.eval(`__scene.start(${JSON.stringify(url)}, ${JSON.stringify(sceneName)})`);
  return rt;
}

const report = (rt: SceneRuntime): Report => JSON.parse(rt.eval("__scene.report()") as string) as Report;
const update = (rt: SceneRuntime, dt: number): void => void rt.eval(`__scene.update(${dt})`);
const ball = (r: Report, id: number) => r.balls.find((b) => b.id === id)?.position;

test("two scene instances under QuickJS with the explorer's socket: welcome, binary snapshots, kick, resume", async () => {
  const url = server.url(freshRoom("scene-runtime"));
  const a = await scene("array", url, "kickballs");
  const b = await scene("uint8array", url, null);
  const both = [a, b];

  const ready = (): boolean =>
    both.every((rt) => {
      const r = report(rt);
      return r.state === "open" && r.balls.length === 3 && r.stats.rttMs > 0;
    });
  try {
    await runSceneFrames(both, update, ready, 10, "both scenes welcomed, rendering and synced");
  } catch (e) {
    // Say what each scene got, and its traffic over the next 3 s, before failing.
    const bytes = both.map((rt) => [...rt.sockets.values()][0]?.bytesIn ?? 0);
    await runSceneFrames(both, update, () => false, 3.1, "3 s").catch(() => {});
    for (const [i, rt] of both.entries()) {
      const r = report(rt);
      const sock = [...rt.sockets.values()][0];
      console.log(
        `scene ${i}: state ${r.state}, welcomes ${r.welcomes}, encoding ${r.stats.encoding}, snapshots ${r.snapshots}, relays ${r.relays}, ` +
          `${(((sock?.bytesIn ?? 0) - bytes[i]!) / 3 / 1000).toFixed(2)} KB/s, text/binary frames ${sock?.textFrames}/${sock?.binaryFrames}`,
      );
    }
    throw e;
  }
  for (const rt of both) {
    const r = report(rt);
    assert.equal(r.env.WebAssembly, "undefined");
    assert.equal(r.env.performance, "undefined");
    assert.equal(r.welcomes, 1);
    assert.equal(r.welcomeEncoding, "binary");
    assert.equal(r.stats.encoding, "binary");
    assert.equal(r.stats.physics, "ballistic");
    const sock = [...rt.sockets.values()][0]!;
    assert.equal(sock.protocol, "", "no subprotocol was negotiated");
    assert.match(sock.url, /[?&]encoding=binary/);
  }

  // Measure the traffic at rest and in motion over 4 s, at the host's socket.
  const bytesBefore = both.map((rt) => [...rt.sockets.values()][0]!.bytesIn);
  const start = performance.now();
  const before = ball(report(b), 0)!;
  let seq = 0;
  let moved = 0;
  await runSceneFrames(
    both,
    (rt, dt) => {
      update(rt, dt);
      if (rt === b) {
        const p = ball(report(b), 0);
        if (p) moved = Math.max(moved, Math.hypot(p.x - before.x, p.y - before.y, p.z - before.z));
      }
      if (rt === a && seq === 0 && performance.now() - start > 500) seq = a.eval("__scene.kick(0, 0, 20, 60)") as number;
    },
    () => performance.now() - start > 4000,
    10,
    "4 s",
  );
  const seconds = (performance.now() - start) / 1000;
  const rates = both.map((rt, i) => ([...rt.sockets.values()][0]!.bytesIn - bytesBefore[i]!) / seconds);
  const ra = report(a);
  const rb = report(b);
  console.log(
    `scene runtime: ${rates.map((x) => (x / 1000).toFixed(2)).join(" / ")} KB/s per client at the socket (a kick in 4 s); ` +
      `stats.bytesPerSecond ${ra.stats.bytesPerSecond} / ${rb.stats.bytesPerSecond}; snapshots ${ra.snapshots} / ${rb.snapshots}; rtt ${ra.stats.rttMs.toFixed(1)} / ${rb.stats.rttMs.toFixed(1)} ms`,
  );
  assert.ok(seq > 0 && ra.ack >= seq, `kick ${seq} acknowledged (ack ${ra.ack})`);
  assert.ok(moved > 0.5, `the other scene rendered the kicked ball at most ${moved.toFixed(2)} m from where it was`);
  for (const [i, rt] of both.entries()) {
    const sock = [...rt.sockets.values()][0]!;
    assert.ok(sock.binaryFrames >= 10, `scene ${i}: ${sock.binaryFrames} binary frames`);
    assert.ok(rates[i]! < 2000, `scene ${i}: ${rates[i]} B/s`);
  }
  assert.deepEqual(ra.errors, []);
  assert.deepEqual(rb.errors, []);

  // A dropped socket (no close frame, and a close event without a code) resumes the session.
  const idBefore = ra.id;
  a.dropSocket([...a.sockets.keys()][0]!);
  await runSceneFrames(both, update, () => report(a).reconnects.length > 0 && report(a).state === "open", 10, "the dropped scene to reconnect");
  const after = report(a);
  assert.deepEqual(after.reconnects, [{ resumed: true, previousId: idBefore, id: idBefore }]);
  assert.equal(a.sockets.size, 2);
  assert.match([...a.sockets.values()][1]!.url, /[?&]resume=/);
});
