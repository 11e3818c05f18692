/**
 * The built-in prediction model, plain TypeScript (no WebAssembly, so it runs in a
 * Decentraland scene): each ball flies under gravity with rapier's damping
 * (`v ← (v + g·dt) / (1 + dt·damping)`, semi-implicit Euler at the server's tick),
 * bounces off the other balls (spheres, averaged restitution) and off the scene's static
 * geometry from the `welcome` (cuboids at any rotation, static balls and capsules:
 * `statics.ts`) with the averaged restitution, and rolls on it with Coulomb friction.
 * It knows nothing of the player capsules or static cylinders: those show up as
 * corrections when the server's snapshots arrive.
 */
import { add, cross, dot, length, scale, sub, v3, integrateRotation } from "../math.js";
import type { Scene, SceneBall } from "../protocol/messages.js";
import type { BallState, Vec3 } from "../types.js";
import type { PhysicsFactory, PhysicsModel } from "./model.js";
import { type StaticCollider, staticColliders } from "./statics.js";

/** rapier's restitution velocity threshold: slower impacts do not bounce. */
const BOUNCE_THRESHOLD = 1.0;

class BallisticModel implements PhysicsModel {
  readonly name = "ballistic";
  private readonly state = new Map<number, BallState>();
  private readonly specs = new Map<number, SceneBall>();
  private readonly statics: StaticCollider[];
  private readonly dt: number;
  private readonly gravity: Vec3;

  constructor(scene: Scene, tickRate: number) {
    this.dt = 1 / tickRate;
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
    for (const b of balls) {
      if (this.specs.has(b.id)) this.state.set(b.id, { ...b, position: { ...b.position }, linvel: { ...b.linvel }, angvel: { ...b.angvel } });
    }
  }

  applyImpulse(id: number, impulse: Vec3, point?: Vec3): void {
    const b = this.state.get(id);
    const spec = this.specs.get(id);
    if (!b || !spec) return;
    b.linvel = add(b.linvel, scale(impulse, 1 / spec.mass));
    if (point) {
      const inertia = 0.4 * spec.mass * spec.radius * spec.radius;
      b.angvel = add(b.angvel, scale(cross(sub(point, b.position), impulse), 1 / inertia));
    }
    b.sleeping = false;
  }

  step(): void {
    const dt = this.dt;
    const balls = [...this.state.values()];
    for (const b of balls) {
      if (b.sleeping) continue;
      const spec = this.specs.get(b.id)!;
      const lin = 1 / (1 + dt * spec.linear_damping);
      b.linvel = scale(add(b.linvel, scale(this.gravity, dt)), lin);
      b.angvel = scale(b.angvel, 1 / (1 + dt * spec.angular_damping));
    }
    for (let i = 0; i < balls.length; i++) {
      for (let j = i + 1; j < balls.length; j++) this.ballContact(balls[i]!, balls[j]!);
    }
    for (const b of balls) {
      if (b.sleeping) continue;
      const spec = this.specs.get(b.id)!;
      for (const s of this.statics) this.contact(b, spec, s);
      b.position = add(b.position, scale(b.linvel, dt));
      b.rotation = integrateRotation(b.rotation, b.angvel, dt);
    }
  }

  /** Two balls touching at the end of the step: the normal impulse between spheres. */
  private ballContact(a: BallState, b: BallState): void {
    if (a.sleeping && b.sleeping) return;
    const dt = this.dt;
    const sa = this.specs.get(a.id)!;
    const sb = this.specs.get(b.id)!;
    const apart = sub(add(b.position, scale(b.linvel, dt)), add(a.position, scale(a.linvel, dt)));
    const d = length(apart);
    const touch = sa.radius + sb.radius;
    if (d >= touch || d < 1e-9) return;
    const n = scale(apart, 1 / d);
    const vn = dot(sub(b.linvel, a.linvel), n);
    const invMass = 1 / sa.mass + 1 / sb.mass;
    let j = 0;
    if (vn < 0) {
      const bounce = -vn > BOUNCE_THRESHOLD ? (sa.restitution + sb.restitution) / 2 : 0;
      j = (-(1 + bounce) * vn) / invMass;
    }
    // Push out of the overlap as the static contacts do.
    j += (Math.min((touch - d) / dt, 2) * 0.2) / invMass;
    a.linvel = sub(a.linvel, scale(n, j / sa.mass));
    b.linvel = add(b.linvel, scale(n, j / sb.mass));
    a.sleeping = false;
    b.sleeping = false;
  }

  /** Resolve a contact of ball `b` with a static collider before the position update. */
  private contact(b: BallState, spec: SceneBall, box: StaticCollider): void {
    const dt = this.dt;
    // Where the ball will be at the end of the step, and the collider's closest point to it.
    const next = add(b.position, scale(b.linvel, dt));
    const closest = box.closest(next);
    const away = sub(next, closest);
    const d = length(away);
    if (d >= spec.radius || d < 1e-9) return;
    const n = scale(away, 1 / d);
    const vn = dot(b.linvel, n);
    const restitution = (spec.restitution + box.restitution) / 2;
    const friction = (spec.friction + box.friction) / 2;
    // Normal: stop the approach (and bounce if fast), and push out of the overlap.
    let jn = 0;
    if (vn < 0) {
      const bounce = -vn > BOUNCE_THRESHOLD ? restitution : 0;
      jn = -(1 + bounce) * vn;
      b.linvel = add(b.linvel, scale(n, jn));
    }
    const depth = spec.radius - d;
    b.linvel = add(b.linvel, scale(n, Math.min(depth / dt, 2) * 0.2));
    // Friction at the contact point drives the slip towards rolling (solid sphere: 2/7).
    const r = scale(n, -spec.radius);
    const contactVel = add(b.linvel, cross(b.angvel, r));
    const slip = sub(contactVel, scale(n, dot(contactVel, n)));
    const slipSpeed = length(slip);
    if (slipSpeed < 1e-9) return;
    const maxDv = friction * Math.max(jn, -dot(this.gravity, n) * dt);
    const dv = Math.min((2 / 7) * slipSpeed, maxDv);
    const dir = scale(slip, -1 / slipSpeed);
    b.linvel = add(b.linvel, scale(dir, dv));
    // The same impulse turns the ball: Δω = r × J / I, I = 2/5 m r².
    const inertiaPerMass = 0.4 * spec.radius * spec.radius;
    b.angvel = add(b.angvel, scale(cross(r, scale(dir, dv)), 1 / inertiaPerMass));
  }

  balls(): BallState[] {
    return [...this.state.values()].map((b) => ({ ...b }));
  }

  dispose(): void {}
}

/** The dependency-free model. */
export const ballisticPhysics: PhysicsFactory = (scene, tickRate) => new BallisticModel(scene, tickRate);
