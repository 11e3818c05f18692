/**
 * The built scene (`bin/index.js`, from `npm run build`: the SDK's own `sdk-commands build`)
 * under QuickJS with host modules made as the explorer makes them (see
 * clients/ts/test/support/sdk-scene.ts), against a real ballroom server on 127.0.0.1:0.
 * Two instances of the scene in one realm: both connect to `/broadcast/<realm>` and get
 * binary snapshots through the explorer's socket; a click on a ball in one moves that ball
 * in the other's rendered Transforms; each shows the other player's avatar; a dropped
 * socket resumes the same session.
 *
 * Run from clients/ts (its node_modules have quickjs-emscripten, ws and tsx):
 *   node --import tsx --test ../../examples/decentraland/test/scene.test.ts
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { runSceneFrames } from "../../../clients/ts/test/support/scene-runtime.js";
import { AVATAR_SHAPE, POINTER_EVENTS, SdkScene, type Vec3 } from "../../../clients/ts/test/support/sdk-scene.js";
import { type RunningServer, startServer } from "../../../clients/ts/test/support/server.js";

const BUNDLE = fileURLToPath(new URL("../bin/index.js", import.meta.url));
/** The server the scene names (src/config.ts): the harness connects it to the local server. */
const SCENE_SERVER = "wss://ballroom.example.com";

let server: RunningServer;
const scenes: SdkScene[] = [];

before(async () => {
  if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing: run \`npm ci && npm run build\` in examples/decentraland`);
  server = await startServer();
});

after(async () => {
  for (const s of scenes) s.dispose();
  await server.stop();
});

const distance = (a: Vec3, b: Vec3): number => Math.hypot(a.x - b.x, a.y - b.y, a.z - b.z);

async function load(realm: string, byteMode: "array" | "arraybuffer"): Promise<SdkScene> {
  const s = await SdkScene.load(BUNDLE, {
    realm,
    byteMode,
    rewriteUrl: (url) => url.replace(SCENE_SERVER, `ws://127.0.0.1:${server.port}`),
  });
  scenes.push(s);
  return s;
}

/** The ball entities (the clickable ones), each with its rendered position. */
function balls(s: SdkScene): { entity: number; position: Vec3 }[] {
  return s
    .entitiesWith(POINTER_EVENTS)
    .map((entity) => ({ entity, position: s.position(entity)! }))
    .filter((b) => b.position !== undefined);
}

/** The ball entity rendered nearest to `p`. */
function nearest(s: SdkScene, p: Vec3): { entity: number; position: Vec3 } {
  return balls(s).sort((a, b) => distance(a.position, p) - distance(b.position, p))[0]!;
}

test("the built kick-balls scene, twice in one realm under QuickJS: binary snapshots, a click moves the other's ball, avatars, resume", async () => {
  const realm = `scene-test-${process.pid}`;
  const a = await load(realm, "array");
  const b = await load(realm, "arraybuffer");
  const all = [a, b];
  const byRt = new Map(all.map((s) => [s.rt, s]));
  const frame = (rt: SdkScene["rt"], dt: number): void => byRt.get(rt)!.frame(dt);
  // Player A stands 1.2 m in front of the middle ball (spawned at 8, 1, 8); B further off.
  const playerA = { x: 8, y: 0, z: 6.8 };
  const playerB = { x: 3, y: 0, z: 3 };
  a.setPlayer(playerA);
  b.setPlayer(playerB);

  const rts = all.map((s) => s.rt);
  const socket = (s: SdkScene) => [...s.rt.sockets.values()].at(-1);
  await runSceneFrames(
    rts,
    frame,
    () => all.every((s) => balls(s).length === 3 && (socket(s)?.binaryFrames ?? 0) > 0),
    15,
    "both scenes rendering three balls from binary snapshots",
  );
  for (const s of all) {
    const sock = socket(s)!;
    assert.equal(sock.requested, `${SCENE_SERVER}/broadcast/${realm}?encoding=binary&scene=kickballs`);
    assert.equal(sock.protocol, "");
    const errors = s.rt.logs.filter((l) => /failed|error/i.test(l));
    assert.deepEqual(errors, []);
  }

  // A clicks the middle ball; B's rendered Transform of that ball moves.
  const target = nearest(a, { x: 8, y: 1, z: 8 });
  const seenByB = nearest(b, { x: 8, y: 1, z: 8 });
  const startB = seenByB.position;
  const bytesBefore = all.map((s) => socket(s)!.bytesIn);
  const start = performance.now();
  a.click(target.entity, { x: target.position.x, y: target.position.y, z: target.position.z - 0.2 });
  let moved = 0;
  await runSceneFrames(
    rts,
    (rt, dt) => {
      frame(rt, dt);
      const p = b.position(seenByB.entity);
      if (p) moved = Math.max(moved, distance(p, startB));
    },
    () => performance.now() - start > 4000,
    10,
    "4 s after the click",
  );
  const seconds = (performance.now() - start) / 1000;
  const rates = all.map((s, i) => (socket(s)!.bytesIn - bytesBefore[i]!) / seconds);
  console.log(
    `built scene under QuickJS: ${rates.map((r) => (r / 1000).toFixed(2)).join(" / ")} KB/s per client at the socket over ${seconds.toFixed(1)} s with one kick; ` +
      `binary/text frames ${all.map((s) => `${socket(s)!.binaryFrames}/${socket(s)!.textFrames}`).join(", ")}; B's view of the kicked ball moved up to ${moved.toFixed(2)} m`,
  );
  assert.ok(moved > 0.5, `B rendered the kicked ball at most ${moved.toFixed(2)} m from where it was`);
  for (const r of rates) assert.ok(r < 2000, `${r} B/s`);

  // Each scene shows the other player's avatar where that player stands.
  for (const [s, other] of [[a, playerB], [b, playerA]] as const) {
    const avatars = s.entitiesWith(AVATAR_SHAPE);
    assert.equal(avatars.length, 1, `avatars: ${avatars.length}`);
    assert.ok(distance(s.position(avatars[0]!)!, other) < 0.5, `avatar at ${JSON.stringify(s.position(avatars[0]!))}`);
  }

  // A's socket drops: the scene resumes its session (the same client id).
  a.rt.dropSocket([...a.rt.sockets.keys()].at(-1)!);
  await runSceneFrames(rts, frame, () => a.rt.logs.some((l) => l.includes("ballroom: resumed")), 10, "scene A to resume");
  assert.equal(a.rt.sockets.size, 2);
  assert.match(socket(a)!.requested, /[?&]resume=/);
  assert.equal(balls(a).length, 3);
});
