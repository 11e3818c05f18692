/**
 * The ballistic model (the prediction a Decentraland scene gets: no WebAssembly) against
 * rapier on what it used to miss: a ball hitting another ball, and a ball hitting a
 * rotated static box.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import RAPIER from "@dimforge/rapier3d-compat";
import { distance } from "../src/math.js";
import { ballisticPhysics } from "../src/physics/ballistic.js";
import type { PhysicsFactory } from "../src/physics/model.js";
import { rapierPhysics } from "../src/physics/rapier.js";
import type { Scene, SceneBall, SceneStatic } from "../src/protocol/messages.js";
import type { Vec3 } from "../src/types.js";

const ball = (id: number, position: [number, number, number]): SceneBall => ({
  id, radius: 1, mass: 5, position, linear_damping: 0.4, angular_damping: 0.4, friction: 0.5, restitution: 0.6,
});
const ground: SceneStatic = { shape: { type: "cuboid", half_extents: [50, 0.5, 50] }, position: [0, -0.5, 0], rotation: [0, 0, 0, 1], sensor: false, friction: 0.6, restitution: 0.5 };

function scene(statics: SceneStatic[], balls: SceneBall[]): Scene {
  return {
    name: "t", description: "", gravity: [0, -9.82, 0], max_impulse: 150, solver_iterations: 4, respawn_below: -20,
    player: { radius: 0.3, height: 1.8 }, kick_rules: { reach: 2.5, require_position: false, rate: 5, burst: 3, max_player_speed: 20 },
    statics, balls,
  };
}

/** Each model's ball positions after `steps` ticks from a kick of ball 0. */
async function run(s: Scene, impulse: Vec3, steps: number): Promise<Vec3[][]> {
  await RAPIER.init();
  const out: Vec3[][] = [];
  for (const factory of [ballisticPhysics, rapierPhysics(RAPIER)] as PhysicsFactory[]) {
    const m = factory(s, 60);
    m.applyImpulse(0, impulse);
    for (let i = 0; i < steps; i++) m.step();
    out.push(m.balls().sort((a, b) => a.id - b.id).map((b) => b.position));
    m.dispose();
  }
  return out;
}

test("ballistic: a ball kicked into a resting ball passes its momentum on, as in rapier", async () => {
  const [ballistic, rapier] = await run(scene([ground], [ball(0, [0, 1, 0]), ball(1, [4, 1, 0])]), { x: 40, y: 0, z: 0 }, 60);
  // Rapier: ball 0 stops short, ball 1 rolls on well past its spawn.
  assert.ok(rapier![1]!.x > 5.5, `rapier: ball 1 at x ${rapier![1]!.x}`);
  for (const i of [0, 1]) {
    const d = distance(ballistic![i]!, rapier![i]!);
    assert.ok(d < 0.5, `ball ${i}: ballistic ${JSON.stringify(ballistic![i])}, rapier ${JSON.stringify(rapier![i])}`);
  }
});

test("ballistic: a ball bounces off a rotated wall where rapier's does", async () => {
  // A wall turned 45° about y, 5 m ahead along +x.
  const s = Math.sin(Math.PI / 8);
  const c = Math.cos(Math.PI / 8);
  const wall: SceneStatic = { shape: { type: "cuboid", half_extents: [0.5, 3, 5] }, position: [5, 3, 0], rotation: [0, s, 0, c], sensor: false, friction: 0.5, restitution: 0.5 };
  const [ballistic, rapier] = await run(scene([ground, wall], [ball(0, [0, 1, 0])]), { x: 40, y: 0, z: 0 }, 60);
  // Deflected sideways by the 45° wall, not through it.
  assert.ok(Math.abs(rapier![0]!.z) > 1, `rapier: z ${rapier![0]!.z}`);
  const d = distance(ballistic![0]!, rapier![0]!);
  assert.ok(d < 0.5, `ballistic ${JSON.stringify(ballistic![0])}, rapier ${JSON.stringify(rapier![0])}`);
});
