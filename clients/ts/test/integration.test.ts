/**
 * The client against the real server binary (spawned on 127.0.0.1:0): connecting and
 * the scene, both encodings agreeing, a kick predicted before the server answers and
 * converging once acknowledged, a dropped socket resumed with the same id and team, and
 * a spectator's kick refused.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { RenderedBall } from "../src/api.js";
import type { BallroomClient } from "../src/client.js";
import { distance } from "../src/math.js";
import type { BallState, Snapshot } from "../src/types.js";
import { freshRoom, makeClient } from "./support/clients.js";
import { now, runFor, runFrames } from "./support/frames.js";
import { type JitterProxy, startProxy } from "./support/proxy.js";
import { type RunningServer, startServer } from "./support/server.js";

let server: RunningServer;
const open: BallroomClient[] = [];
const proxies: JitterProxy[] = [];

before(async () => {
  server = await startServer();
});

after(async () => {
  for (const c of open) c.close();
  for (const p of proxies) await p.close();
  await server.stop();
});

function client(...args: Parameters<typeof makeClient>): BallroomClient {
  const c = makeClient(...args);
  open.push(c);
  return c;
}

async function connected(c: BallroomClient): Promise<void> {
  c.connect();
  await runFrames([c], () => c.state === "open" && c.balls().length > 0 && c.stats.rttMs > 0, 10, "welcome, snapshot and pong");
}

for (const encoding of ["binary", "json"] as const) {
  test(`${encoding}: connects, exposes the scene, renders the balls, syncs the clock`, async () => {
    const c = client({ url: server.url(freshRoom("connect")), scene: "kickballs", encoding });
    let connectedEvents = 0;
    c.on("connected", () => connectedEvents++);
    await connected(c);
    assert.equal(connectedEvents, 1);
    assert.equal(c.scene?.name, "kickballs");
    assert.equal(c.scene?.balls.length, 3);
    assert.equal(c.welcome?.encoding, encoding);
    assert.ok(c.id !== null && c.id > 0);
    assert.deepEqual(
      c.balls().map((b) => b.id),
      [0, 1, 2],
    );
    // Balls at spawn: (4, 1, 8), (8, 1, 8), (12, 1, 8).
    for (const b of c.balls()) {
      const spawn = c.scene!.balls.find((s) => s.id === b.id)!.position;
      assert.ok(distance(b.position, { x: spawn[0], y: spawn[1], z: spawn[2] }) < 0.01, `ball ${b.id} at ${JSON.stringify(b.position)}`);
      assert.equal(b.predicted, false);
    }
    await runFor([c], 0.5);
    assert.ok(c.stats.rttMs > 0 && c.stats.rttMs < 200, `rtt ${c.stats.rttMs} ms on loopback`);
    // Loopback: the estimated room clock is within a tick of the welcome's clock run on.
    assert.ok(c.stats.interpolationDelayMs >= 100, `delay ${c.stats.interpolationDelayMs} ms below two intervals`);
    assert.ok(c.stats.bytesPerSecond > 0);
  });
}

test("binary and JSON clients see the same snapshots, within the declared error bounds", async () => {
  const room = freshRoom("agree");
  const bin = client({ url: server.url(room), scene: "kickballs", encoding: "binary" });
  const json = client({ url: server.url(room), scene: "kickballs", encoding: "json" });
  const seen = { binary: new Map<number, Snapshot>(), json: new Map<number, Snapshot>() };
  bin.on("snapshot", (s) => seen.binary.set(s.tick, s));
  json.on("snapshot", (s) => seen.json.set(s.tick, s));
  await connected(bin);
  await connected(json);
  bin.kick(0, { x: 30, y: 20, z: 10 }, { x: 4, y: 1.5, z: 8.5 });
  bin.kick(2, { x: -40, y: 0, z: 25 });
  await runFor([bin, json], 1.5);
  const params = (bin.welcome!.binary as { max_error: { position: number; linvel: number; angvel: number } }).max_error;
  let compared = 0;
  for (const [tick, j] of seen.json) {
    const b = seen.binary.get(tick);
    if (!b) continue;
    compared++;
    for (const jb of j.balls) {
      const bb: BallState = b.balls.find((x) => x.id === jb.id)!;
      for (const axis of ["x", "y", "z"] as const) {
        assert.ok(Math.abs(bb.position[axis] - jb.position[axis]) <= params.position + 1e-6, `tick ${tick} ball ${jb.id} position.${axis}`);
        assert.ok(Math.abs(bb.linvel[axis] - jb.linvel[axis]) <= params.linvel + 1e-6, `tick ${tick} ball ${jb.id} linvel.${axis}`);
        assert.ok(Math.abs(bb.angvel[axis] - jb.angvel[axis]) <= params.angvel + 1e-6, `tick ${tick} ball ${jb.id} angvel.${axis}`);
      }
      assert.equal(bb.sleeping, jb.sleeping);
    }
  }
  assert.ok(compared >= 20, `only ${compared} ticks seen by both`);
});

test("a kick moves the predicted ball before the server answers, then converges to the server's state", async () => {
  const room = freshRoom("kick");
  // 60 ms each way: the server's answer takes at least 120 ms, so the prediction shows.
  const proxy = await startProxy(server.port, { minDelay: 60, maxDelay: 60 });
  proxies.push(proxy);
  const player = client({ url: `ws://127.0.0.1:${proxy.port}${room}`, scene: "kickballs", encoding: "binary" });
  const truth = client({ url: server.url(room), scene: "kickballs", encoding: "json" });
  await connected(player);
  await connected(truth);
  await runFor([player, truth], 0.5);
  const start = player.balls().find((b) => b.id === 1)!.position;
  let acked: number | null = null;
  player.on("snapshot", (s) => {
    if (acked === null && (s.acks.get(player.id!) ?? 0) >= seq) acked = now();
  });
  const truthStates: Snapshot[] = [];
  truth.on("snapshot", (s) => truthStates.push(s));
  const kickedAt = now();
  const seq = player.kick(1, { x: 0, y: 0, z: 40 });
  const framesBeforeAck: RenderedBall[] = [];
  await runFrames([player, truth], () => acked !== null, 5, "the kick's acknowledgement", () => {
    if (acked === null) framesBeforeAck.push(player.balls().find((b) => b.id === 1)!);
  });
  assert.ok(acked! - kickedAt >= 0.1, `acknowledged after ${(acked! - kickedAt) * 1000} ms`);
  const moved = framesBeforeAck.filter((b) => b.predicted && distance(b.position, start) > 0.05);
  assert.ok(moved.length >= 3, `only ${moved.length} of ${framesBeforeAck.length} frames before the ack showed the ball moving`);
  // 40 N·s on 5 kg is 8 m/s along +z: the prediction moves the right way.
  const lastBefore = framesBeforeAck[framesBeforeAck.length - 1]!;
  assert.ok(lastBefore.position.z - start.z > 0.3, `z moved ${lastBefore.position.z - start.z} m before the ack`);
  assert.ok(Math.abs(lastBefore.position.x - start.x) < 0.05);

  // Converged: a second later, the predicted ball is where the server had it at the
  // room time it stands for (the truth client's snapshots, interpolated).
  const shown: RenderedBall[] = [];
  await runFor([player, truth], 1.0, () => {
    const b = player.balls().find((x) => x.id === 1)!;
    if (b.predicted) shown.push(b);
  });
  // The predicted timeline runs ahead of the room clock: give the truth time to catch up.
  await runFor([player, truth], 0.5);
  const errors: number[] = [];
  for (const b of shown) {
    const at = truthAt(truthStates, 1, b.time);
    if (at) errors.push(distance(b.position, at));
  }
  assert.ok(errors.length > 30, `only ${errors.length} comparable frames of ${shown.length}; truth ${truthStates[0]?.time}..${truthStates[truthStates.length - 1]?.time}, shown ${shown[0]?.time}..${shown[shown.length - 1]?.time}`);
  const tail = errors.slice(-20);
  const worstTail = Math.max(...tail);
  assert.ok(worstTail < 0.1, `predicted ball ${worstTail.toFixed(3)} m from the server's trajectory at the end`);
  assert.ok(player.stats.pendingKicks === 0, "the kick is still pending");
});

/** Ball `id`'s position at room time `t`, linear between the truth snapshots around it. */
export function truthAt(states: Snapshot[], id: number, t: number): { x: number; y: number; z: number } | null {
  for (let i = states.length - 1; i > 0; i--) {
    const b = states[i]!;
    const a = states[i - 1]!;
    if (a.time <= t && t <= b.time) {
      const pa = a.balls.find((x) => x.id === id)!.position;
      const pb = b.balls.find((x) => x.id === id)!.position;
      const f = b.time === a.time ? 0 : (t - a.time) / (b.time - a.time);
      return { x: pa.x + (pb.x - pa.x) * f, y: pa.y + (pb.y - pa.y) * f, z: pa.z + (pb.z - pa.z) * f };
    }
  }
  return null;
}

test("a dropped connection is resumed: same id, same team, one reconnected event", async () => {
  const room = freshRoom("resume");
  const proxy = await startProxy(server.port, { minDelay: 5, maxDelay: 15 });
  proxies.push(proxy);
  const c = client({
    url: `ws://127.0.0.1:${proxy.port}${room}`,
    scene: "football",
    encoding: "binary",
    reconnect: { initialDelay: 0.1, maxDelay: 0.5 },
  });
  await connected(c);
  const id = c.id!;
  c.joinTeam("blue");
  await runFrames([c], () => c.match?.teams.blue.includes(id) === true, 5, "the match message with our team");
  const events: string[] = [];
  let resumed: boolean | null = null;
  c.on("disconnected", (e) => events.push(`disconnected(${e.willReconnect})`));
  c.on("reconnected", (e) => {
    events.push("reconnected");
    resumed = e.resumed;
  });
  c.on("connected", () => events.push("connected"));
  const ballIds = c.balls().map((b) => b.id);
  proxy.killConnections();
  await runFrames([c], () => events.includes("reconnected") && c.balls().length > 0, 10, "the reconnection");
  await runFor([c], 0.3);
  assert.deepEqual(events, ["disconnected(true)", "reconnected"]);
  assert.equal(resumed, true);
  assert.equal(c.id, id);
  assert.ok(c.match?.teams.blue.includes(id), `teams after resume: ${JSON.stringify(c.match?.teams)}`);
  assert.deepEqual(
    c.balls().map((b) => b.id),
    ballIds,
  );
  assert.equal(c.stats.reconnects, 1);
  assert.equal(proxy.accepted, 2);
});

test("a spectator's kick is refused and not predicted", async () => {
  const room = freshRoom("spectate");
  const c = client({ url: server.url(room), scene: "kickballs", encoding: "binary", spectate: true });
  await connected(c);
  assert.equal(c.welcome?.spectator, true);
  let refusal: { code: string; seq?: number } | null = null;
  c.on("error", (e) => (refusal = e));
  const seq = c.kick(0, { x: 0, y: 0, z: 20 });
  await runFrames([c], () => refusal !== null, 5, "the refusal");
  assert.deepEqual({ code: refusal!.code, seq: refusal!.seq }, { code: "spectating", seq });
  await runFor([c], 0.3);
  assert.ok(c.balls().every((b) => !b.predicted));
});
