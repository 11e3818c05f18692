/** Unit tests of the pieces: clock filter, adaptive delay, snapshot buffer, backoff, prediction models. */
import assert from "node:assert/strict";
import { test } from "node:test";
import RAPIER from "@dimforge/rapier3d-compat";
import { ClockSync } from "../src/clock.js";
import { AdaptiveDelay, SnapshotBuffer } from "../src/interpolation.js";
import { ballisticPhysics } from "../src/physics/ballistic.js";
import { rapierPhysics } from "../src/physics/rapier.js";
import { Backoff, shouldRetry } from "../src/reconnect.js";
import type { Scene } from "../src/protocol/messages.js";
import type { Snapshot } from "../src/types.js";
import { seeded } from "./support/random.js";

test("clock sync keeps the lowest-RTT samples: queued pongs do not bias the offset", () => {
  const clock = new ClockSync();
  const trueOffset = 100; // server = client + 100 s
  const random = seeded(7);
  for (let i = 0; i < 16; i++) {
    const sent = i;
    const up = 0.03 + (i % 4 === 0 ? 0 : 0.06 * random()); // a quarter of them unqueued
    const down = 0.03 + (i % 4 === 0 ? 0 : 0.2 * random()); // the rest queued, mostly on the way back
    const serverAtHandling = sent + up + trueOffset;
    clock.addSample(sent, sent + up + down, serverAtHandling - 0.5 / 60, 60);
  }
  clock.update(2); // the first samples set the offset at once; later ones slew it
  assert.ok(Math.abs(clock.offset - trueOffset) < 0.002, `offset ${clock.offset}`);
  // Once warm, a new estimate is slewed at 2 % of elapsed time, never jumped.
  clock.addSample(20, 20.06, 20.03 + trueOffset + 0.01 - 0.5 / 60, 60);
  for (let i = 0; i < 5; i++) clock.addSample(21 + i, 21.06 + i, 21.03 + i + trueOffset + 0.01 - 0.5 / 60, 60);
  const before = clock.offset;
  clock.update(0.1);
  assert.ok(clock.offset - before <= 0.002 + 1e-12 && clock.offset >= before);
});

test("the interpolation delay covers an interval plus the worst recent lateness, and moves at a bounded rate", () => {
  const d = new AdaptiveDelay(0.05);
  assert.equal(d.delay, 0.1);
  for (let i = 0; i < 50; i++) d.observe(i * 0.05 + 0.02 + (i % 10 === 0 ? 0.09 : 0), i * 0.05);
  assert.ok(Math.abs(d.target - (0.05 + 0.11 + 0.01)) < 1e-9, `target ${d.target}`);
  d.update(0.1);
  assert.ok(Math.abs(d.delay - 0.125) < 1e-9, `grows 0.25 s/s: ${d.delay}`);
  for (let i = 0; i < 100; i++) d.update(0.1);
  assert.ok(Math.abs(d.delay - d.target) < 1e-9);
});

function snap(tick: number, z: number, vz: number, sleeping = false): Snapshot {
  return {
    tick,
    time: tick / 60,
    balls: [{ id: 0, position: { x: 0, y: 1, z }, rotation: { x: 0, y: 0, z: 0, w: 1 }, linvel: { x: 0, y: 0, z: vz }, angvel: { x: 0, y: 0, z: 0 }, sleeping }],
    players: null,
    acks: new Map(),
  };
}

test("the buffer lerps between bracketing snapshots and extrapolates a bounded time past the newest", () => {
  const b = new SnapshotBuffer(0.25);
  b.push(snap(60, 0, 6));
  b.push(snap(63, 0.3, 6));
  const mid = b.sample(61.5 / 60)!;
  assert.ok(Math.abs(mid.balls.get(0)!.position.z - 0.15) < 1e-9);
  assert.equal(mid.extrapolatedBy, 0);
  const past = b.sample(63 / 60 + 0.1)!;
  assert.ok(Math.abs(past.balls.get(0)!.position.z - 0.9) < 1e-9);
  assert.ok(past.balls.get(0)!.extrapolated && Math.abs(past.extrapolatedBy - 0.1) < 1e-9);
  const far = b.sample(63 / 60 + 1)!;
  assert.ok(Math.abs(far.balls.get(0)!.position.z - (0.3 + 6 * 0.25)) < 1e-9, "held after 0.25 s");
  // A sleeping ball is not extrapolated: it is exactly where it rests.
  b.push(snap(66, 0.4, 0, true));
  assert.equal(b.sample(70 / 60)!.extrapolatedBy, 0);
});

test("backoff grows exponentially with jitter, and final closes are not retried", () => {
  const b = new Backoff({ initialDelay: 0.25, maxDelay: 2, jitter: 0.5, random: () => 0.5 });
  const delays = [b.next(), b.next(), b.next(), b.next(), b.next()];
  assert.deepEqual(delays, [0.1875, 0.375, 0.75, 1.5, 1.5]);
  b.succeeded();
  assert.equal(b.next(), 0.1875);
  assert.equal(new Backoff({ maxAttempts: 1 }).next() !== null, true);
  assert.equal(shouldRetry(1006, "", null), true);
  assert.equal(shouldRetry(1013, "room full", "room_full"), true);
  assert.equal(shouldRetry(1008, "unknown scene", "unknown_scene"), false);
  assert.equal(shouldRetry(1008, "session resumed on another connection", null), false);
});

const scene: Scene = {
  name: "flat",
  description: "",
  gravity: [0, -9.82, 0],
  max_impulse: 150,
  solver_iterations: 4,
  respawn_below: -20,
  player: { radius: 0.35, height: 1.8 },
  kick_rules: { reach: 2.5, require_position: false, rate: 5, burst: 3, max_player_speed: 20 },
  statics: [{ shape: { type: "cuboid", half_extents: [50, 0.5, 50] }, position: [0, -0.5, 0], rotation: [0, 0, 0, 1], sensor: false, friction: 0.6, restitution: 0.5 }],
  balls: [{ id: 0, radius: 1, mass: 5, position: [0, 1, 0], linear_damping: 0.4, angular_damping: 0.4, friction: 0.5, restitution: 0.6 }],
};

test("both prediction models: a kick along the ground rolls the ball on, slowing with damping, and they agree", async () => {
  await RAPIER.init();
  const ends: number[] = [];
  for (const factory of [ballisticPhysics, rapierPhysics(RAPIER)]) {
    const m = factory(scene, 60);
    m.applyImpulse(0, { x: 0, y: 0, z: 40 });
    for (let i = 0; i < 60; i++) m.step();
    const b = m.balls()[0]!;
    assert.ok(Math.abs(b.position.y - 1) < 0.02, `${m.name}: on the ground, y ${b.position.y}`);
    // Sliding becomes rolling (5/7 of 8 m/s), then damping 0.4 takes a third in 1 s: ≈ 3.8 m/s.
    assert.ok(b.linvel.z > 3.3 && b.linvel.z < 4.6, `${m.name}: slowed from 8 m/s to ${b.linvel.z}`);
    ends.push(b.position.z);
    m.dispose();
  }
  assert.ok(Math.abs(ends[0]! - ends[1]!) < 0.3, `after 1 s: ballistic z ${ends[0]}, rapier z ${ends[1]}`);
});
