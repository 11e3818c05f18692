/**
 * The built-in prediction model, plain TypeScript (no WebAssembly, so it runs in a
 * Decentraland scene). It does what rapier (0.36, the server's engine) does to a ball,
 * measured against the server's own trajectories (the jitter harness, README):
 *
 * - Contacts are found once a step, where balls are now, within 2 cm (rapier's prediction
 *   distance): with the scene's statics from the `welcome` (cuboids at any rotation,
 *   static balls and capsules: `statics.ts`) and between balls (spheres). None is
 *   predicted from velocity, so a fast ball may sink into a wall for one tick before it
 *   turns, as on the server.
 * - The step is cut into the scene's `solver_iterations` substeps: each adds gravity,
 *   keeps every contact from closing (pushing an overlap out at 24 % a tick), applies
 *   Coulomb friction at the contact point (solid spheres), and moves the balls.
 * - A contact that was not pushing on the step before bounces at the end of the step:
 *   its normal velocity becomes −restitution × the approach velocity it had at the start
 *   (restitution and friction: the pair's average). Damping comes last, once a tick.
 *
 * It knows nothing of the player capsules or static cylinders: those show up as
 * corrections when the server's snapshots arrive.
 */
import { add, cross, dot, integrateRotation, length, scale, sub, v3 } from "../math.js";
import type { Scene, SceneBall } from "../protocol/messages.js";
import type { BallState, Vec3 } from "../types.js";
import type { PhysicsFactory, PhysicsModel } from "./model.js";
import { type StaticCollider, staticColliders } from "./statics.js";

/** A gap up to this (m) is already a contact (rapier 0.36's default prediction distance). */
const CONTACT_DISTANCE = 0.02;
/** Share of an overlap pushed out per tick (rapier's contact softness, as measured). */
const OVERLAP_PUSH = 0.24;
/** Fastest push out of an overlap, m/s. */
const MAX_PUSH_SPEED = 10;
/** Solid sphere: the tangential impulse that stops a slip is slip / (3.5 × inverse mass). */
const ROLLING = 3.5;

interface Contact {
  /** `"a:s3"` (ball a, static 3) or `"a:b2"` (balls a and 2): what persists between steps. */
  key: string;
  a: BallState;
  /** The other ball; `null` for a static. */
  b: BallState | null;
  /** From b (or the static) towards a. */
  n: Vec3;
  /** Gap at the start of the step, and where the balls were then. */
  gap: number;
  a0: Vec3;
  b0: Vec3;
  friction: number;
  /** Normal velocity to leave it at when it bounces (0: no bounce). */
  bounce: number;
  pushed: boolean;
}

class BallisticModel implements PhysicsModel {
  readonly name = "ballistic";
  private readonly state = new Map<number, BallState>();
  private readonly specs = new Map<number, SceneBall>();
  private readonly statics: StaticCollider[];
  private readonly dt: number;
  private readonly substeps: number;
  private readonly gravity: Vec3;
  /** Contacts of the last step, and whether each pushed. */
  private pushing = new Map<string, boolean>();

  constructor(scene: Scene, tickRate: number) {
    this.dt = 1 / tickRate;
    this.substeps = Math.max(1, Math.round(scene.solver_iterations));
    this.gravity = v3(...scene.gravity);
    this.statics = staticColliders(scene.statics);
    for (const b of scene.balls) {
      this.specs.set(b.id, b);
      this.state.set(b.id, {
        id: b.id,
        position: v3(...b.position),
        rotation: { x: 0, y: 0, z: 0, w: 1 },
        linvel: v3(),
        angvel: v3(),
        sleeping: true,
      });
    }
  }

  setBalls(balls: readonly BallState[]): void {
    this.pushing.clear();
    for (const b of balls) {
      if (this.specs.has(b.id)) this.state.set(b.id, { ...b, position: { ...b.position }, linvel: { ...b.linvel }, angvel: { ...b.angvel } });
    }
  }

  applyImpulse(id: number, impulse: Vec3, point?: Vec3): void {
    const b = this.state.get(id);
    const spec = this.specs.get(id);
    if (!b || !spec) return;
    b.linvel = add(b.linvel, scale(impulse, 1 / spec.mass));
    if (point) b.angvel = add(b.angvel, scale(cross(sub(point, b.position), impulse), 1 / inertia(spec)));
    b.sleeping = false;
  }

  step(): void {
    const balls = [...this.state.values()];
    const contacts = this.contacts(balls);
    const h = this.dt / this.substeps;
    for (let i = 0; i < this.substeps; i++) {
      for (const b of balls) {
        if (!b.sleeping) b.linvel = add(b.linvel, scale(this.gravity, h));
      }
      for (const c of contacts) this.solve(c, h);
      for (const b of balls) {
        if (b.sleeping) continue;
        b.position = add(b.position, scale(b.linvel, h));
        b.rotation = integrateRotation(b.rotation, b.angvel, h);
      }
    }
    this.pushing = new Map();
    for (const c of contacts) {
      this.pushing.set(c.key, c.pushed);
      if (!c.pushed || c.bounce <= 0) continue;
      const vn = dot(this.relative(c), c.n);
      if (vn < c.bounce) this.push(c, (c.bounce - vn) / this.inverseMasses(c));
    }
    // Damping, once for the whole tick, after the moves.
    for (const b of balls) {
      if (b.sleeping) continue;
      const spec = this.specs.get(b.id)!;
      b.linvel = scale(b.linvel, 1 / (1 + this.dt * spec.linear_damping));
      b.angvel = scale(b.angvel, 1 / (1 + this.dt * spec.angular_damping));
    }
  }

  /** The contacts at the start of a step: every pair within `CONTACT_DISTANCE`. */
  private contacts(balls: BallState[]): Contact[] {
    const out: Contact[] = [];
    const add = (key: string, a: BallState, b: BallState | null, away: Vec3, gap: number, friction: number, restitution: number): void => {
      const d = length(away);
      if (gap > CONTACT_DISTANCE || d < 1e-9) return;
      const n = scale(away, 1 / d);
      const c: Contact = { key, a, b, n, gap, a0: a.position, b0: b?.position ?? v3(), friction, bounce: 0, pushed: false };
      const vn = dot(this.relative(c), n);
      // New, or met again after the client restarted from a snapshot (no history): a
      // ball already resting on the surface is not bouncing into it.
      const known = this.pushing.get(key);
      const fresh = known === undefined ? !(gap < 0.01 && vn > -1) : !known;
      if (fresh && restitution > 0 && vn < 0) c.bounce = -restitution * vn;
      out.push(c);
    };
    for (const a of balls) {
      if (a.sleeping) continue;
      const spec = this.specs.get(a.id)!;
      this.statics.forEach((s, i) => {
        const away = sub(a.position, s.closest(a.position));
        add(`${a.id}:s${i}`, a, null, away, length(away) - spec.radius, (spec.friction + s.friction) / 2, (spec.restitution + s.restitution) / 2);
      });
    }
    for (let i = 0; i < balls.length; i++) {
      for (let j = i + 1; j < balls.length; j++) {
        const a = balls[i]!;
        const b = balls[j]!;
        if (a.sleeping && b.sleeping) continue;
        const sa = this.specs.get(a.id)!;
        const sb = this.specs.get(b.id)!;
        const away = sub(a.position, b.position);
        const before = out.length;
        add(`${a.id}:b${b.id}`, a, b, away, length(away) - sa.radius - sb.radius, (sa.friction + sb.friction) / 2, (sa.restitution + sb.restitution) / 2);
        if (out.length > before) a.sleeping = b.sleeping = false;
      }
    }
    return out;
  }

  /** One substep of one contact: no closing (or push out), then friction. */
  private solve(c: Contact, h: number): void {
    const moved = sub(sub(c.a.position, c.a0), c.b ? sub(c.b.position, c.b0) : v3());
    const gap = c.gap + dot(moved, c.n);
    const target = gap > 0 ? -gap / h : Math.min((-gap * OVERLAP_PUSH) / this.dt, MAX_PUSH_SPEED);
    const vn = dot(this.relative(c), c.n);
    if (vn >= target) return;
    const jn = (target - vn) / this.inverseMasses(c);
    c.pushed = true;
    this.push(c, jn);
    this.friction(c, jn);
  }

  /** Coulomb friction at the contact point, towards rolling, for a normal impulse `jn`. */
  private friction(c: Contact, jn: number): void {
    const sa = this.specs.get(c.a.id)!;
    const sb = c.b ? this.specs.get(c.b.id)! : null;
    const ra = scale(c.n, -sa.radius);
    const rb = sb ? scale(c.n, sb.radius) : v3();
    const va = add(c.a.linvel, cross(c.a.angvel, ra));
    const vb = c.b ? add(c.b.linvel, cross(c.b.angvel, rb)) : v3();
    const rel = sub(va, vb);
    const slip = sub(rel, scale(c.n, dot(rel, c.n)));
    const slipSpeed = length(slip);
    if (slipSpeed < 1e-9) return;
    const jt = Math.min(slipSpeed / (ROLLING * this.inverseMasses(c)), c.friction * jn);
    const impulse = scale(slip, -jt / slipSpeed);
    c.a.linvel = add(c.a.linvel, scale(impulse, 1 / sa.mass));
    c.a.angvel = add(c.a.angvel, scale(cross(ra, impulse), 1 / inertia(sa)));
    if (c.b && sb) {
      c.b.linvel = sub(c.b.linvel, scale(impulse, 1 / sb.mass));
      c.b.angvel = sub(c.b.angvel, scale(cross(rb, impulse), 1 / inertia(sb)));
    }
  }

  /** Velocity of a relative to b (or to the static). */
  private relative(c: Contact): Vec3 {
    return c.b ? sub(c.a.linvel, c.b.linvel) : c.a.linvel;
  }

  private inverseMasses(c: Contact): number {
    return 1 / this.specs.get(c.a.id)!.mass + (c.b ? 1 / this.specs.get(c.b.id)!.mass : 0);
  }

  /** A normal impulse `j` (N·s) along `c.n`: on a, and against b. */
  private push(c: Contact, j: number): void {
    c.a.linvel = add(c.a.linvel, scale(c.n, j / this.specs.get(c.a.id)!.mass));
    if (c.b) c.b.linvel = sub(c.b.linvel, scale(c.n, j / this.specs.get(c.b.id)!.mass));
  }

  balls(): BallState[] {
    return [...this.state.values()].map((b) => ({ ...b }));
  }

  dispose(): void {}
}

/** Moment of inertia of a solid sphere. */
const inertia = (s: SceneBall): number => 0.4 * s.mass * s.radius * s.radius;

/** The dependency-free model. */
export const ballisticPhysics: PhysicsFactory = (scene, tickRate) => new BallisticModel(scene, tickRate);
