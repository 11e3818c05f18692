/**
 * Playing: an avatar that the arrow keys or WASD walk over the floor (relative to the
 * camera, at walking speed within the scene's `max_player_speed`, stopped by walls), and
 * the server's kick rules mirrored so a click out of reach is explained instead of sent.
 * Pure state and geometry; the room view sends the poses and kicks.
 */
import type { Scene } from "../../clients/ts/src/protocol/messages.js";
import type { Quat, Vec3 } from "../../clients/ts/src/types.js";
import type { Ground, Obstacle } from "./scene3d.js";

/** Seconds between `player` poses while the avatar moves (10 a second). */
export const POSE_INTERVAL = 0.1;
/** Seconds between poses while it stands still. */
export const IDLE_POSE_INTERVAL = 1;
/** Walking speed, m/s, before the scene's own limit. */
const WALK = 5;

const KEYS: Record<string, [number, number]> = {
  ArrowUp: [1, 0],
  KeyW: [1, 0],
  ArrowDown: [-1, 0],
  KeyS: [-1, 0],
  ArrowLeft: [0, -1],
  KeyA: [0, -1],
  ArrowRight: [0, 1],
  KeyD: [0, 1],
};

/** Where a new player stands: on the floor, halfway from its centre to its near (−z) edge. */
export function spawnPoint(ground: Ground): Vec3 {
  return { x: (ground.minX + ground.maxX) / 2, y: ground.y, z: ground.minZ + (ground.maxZ - ground.minZ) / 4 };
}

export function walkingSpeed(scene: Scene): number {
  return Math.min(WALK, 0.8 * scene.kick_rules.max_player_speed);
}

/**
 * How far a ball is beyond reach, m (≤ 0: within reach), by the server's rule: the
 * distance from the ball's centre to the avatar's axis (feet to feet + height), less the
 * ball's radius, against `kick_rules.reach`.
 */
export function reachShortfall(feet: Vec3, ball: Vec3, ballRadius: number, scene: Scene): number {
  const y = Math.min(Math.max(ball.y, feet.y), feet.y + scene.player.height);
  const d = Math.hypot(ball.x - feet.x, ball.y - y, ball.z - feet.z) - ballRadius;
  return d - scene.kick_rules.reach;
}

/** The impulse of a click-kick: from the avatar towards the ball, a little upwards, ~10 m/s. */
export function kickImpulse(feet: Vec3, ball: Vec3, mass: number, scene: Scene): Vec3 {
  let dx = ball.x - feet.x;
  let dz = ball.z - feet.z;
  const flat = Math.hypot(dx, dz);
  if (flat < 1e-6) {
    dx = 0;
    dz = 1;
  } else {
    dx /= flat;
    dz /= flat;
  }
  const lift = 0.25;
  const norm = Math.hypot(1, lift);
  const magnitude = Math.min(0.9 * scene.max_impulse, 10 * mass);
  return { x: (dx / norm) * magnitude, y: (lift / norm) * magnitude, z: (dz / norm) * magnitude };
}

export class Walker {
  position: Vec3;
  /** Facing, radians about +y (0: facing +z). */
  heading = 0;
  private readonly held = new Set<string>();
  private readonly speed: number;

  constructor(
    private readonly scene: Scene,
    private readonly ground: Ground,
    private readonly obstacles: readonly Obstacle[],
    start: Vec3,
  ) {
    this.position = { ...start };
    this.speed = walkingSpeed(scene);
  }

  /** A key went down; true if it is a walking key (the page then keeps it from scrolling). */
  keyDown(code: string): boolean {
    if (!(code in KEYS)) return false;
    this.held.add(code);
    return true;
  }

  keyUp(code: string): void {
    this.held.delete(code);
  }

  /** Forget held keys (the window lost focus: no key-up will come). */
  release(): void {
    this.held.clear();
  }

  get walking(): boolean {
    return this.held.size > 0;
  }

  /** Walk for `dt` seconds along the held keys, relative to the camera's ground axes. Returns whether it moved. */
  step(dt: number, axes: { forward: Vec3; right: Vec3 }): boolean {
    let f = 0;
    let r = 0;
    for (const code of this.held) {
      const k = KEYS[code]!;
      f += k[0];
      r += k[1];
    }
    if (f === 0 && r === 0) return false;
    let dx = axes.forward.x * f + axes.right.x * r;
    let dz = axes.forward.z * f + axes.right.z * r;
    const len = Math.hypot(dx, dz);
    if (len < 1e-9) return false;
    dx = (dx / len) * this.speed * dt;
    dz = (dz / len) * this.speed * dt;
    this.heading = Math.atan2(dx, dz);
    const before = { ...this.position };
    // One axis at a time, so the avatar slides along a wall instead of sticking to it.
    this.tryMove(dx, 0);
    this.tryMove(0, dz);
    return before.x !== this.position.x || before.z !== this.position.z;
  }

  private tryMove(dx: number, dz: number): void {
    const r = this.scene.player.radius;
    const g = this.ground;
    const x = Math.min(Math.max(this.position.x + dx, g.minX + r), g.maxX - r);
    const z = Math.min(Math.max(this.position.z + dz, g.minZ + r), g.maxZ - r);
    if (this.blocked(x, z)) return;
    this.position = { x, y: this.position.y, z };
  }

  private blocked(x: number, z: number): boolean {
    const r = this.scene.player.radius;
    const feet = this.position.y;
    const head = feet + this.scene.player.height;
    return this.obstacles.some((o) => {
      if (o.max.y <= feet + 0.05 || o.min.y >= head) return false;
      const cx = Math.min(Math.max(x, o.min.x), o.max.x);
      const cz = Math.min(Math.max(z, o.min.z), o.max.z);
      return (x - cx) ** 2 + (z - cz) ** 2 < r * r;
    });
  }

  rotation(): Quat {
    return { x: 0, y: Math.sin(this.heading / 2), z: 0, w: Math.cos(this.heading / 2) };
  }
}
