/**
 * Prediction with the server's own engine: rapier's official JS build
 * (`@dimforge/rapier3d-compat`, an optional peer dependency), set up from the welcome's
 * scene exactly as `src/room/world.rs` builds the server's world: statics with their
 * friction, restitution and sensors; dynamic balls with their damping, mass, friction,
 * restitution and CCD; the scene's gravity, tick and solver iterations.
 *
 * The core never imports rapier: pass the initialised module in.
 *
 *     import RAPIER from "@dimforge/rapier3d-compat";
 *     await RAPIER.init();
 *     new BallroomClient({ ..., physics: rapierPhysics(RAPIER) });
 */
import type { Scene } from "../protocol/messages.js";
import type { BallState, Quat, Vec3 } from "../types.js";
import type { PhysicsFactory, PhysicsModel } from "./model.js";

/** The part of rapier's API this file uses (structural, so the core needs no rapier types). */
interface RapierBody {
  setTranslation(v: Vec3, wake: boolean): void;
  setRotation(q: Quat, wake: boolean): void;
  setLinvel(v: Vec3, wake: boolean): void;
  setAngvel(v: Vec3, wake: boolean): void;
  applyImpulse(v: Vec3, wake: boolean): void;
  applyImpulseAtPoint(v: Vec3, p: Vec3, wake: boolean): void;
  translation(): Vec3;
  rotation(): Quat;
  linvel(): Vec3;
  angvel(): Vec3;
  isSleeping(): boolean;
  sleep(): void;
  wakeUp(): void;
}
interface RapierColliderDesc {
  setTranslation(x: number, y: number, z: number): RapierColliderDesc;
  setRotation(q: Quat): RapierColliderDesc;
  setSensor(s: boolean): RapierColliderDesc;
  setFriction(f: number): RapierColliderDesc;
  setRestitution(r: number): RapierColliderDesc;
  setMass(m: number): RapierColliderDesc;
}
interface RapierBodyDesc {
  setTranslation(x: number, y: number, z: number): RapierBodyDesc;
  setLinearDamping(d: number): RapierBodyDesc;
  setAngularDamping(d: number): RapierBodyDesc;
  setCcdEnabled(on: boolean): RapierBodyDesc;
}
interface RapierWorld {
  timestep: number;
  numSolverIterations: number;
  createRigidBody(desc: RapierBodyDesc): RapierBody;
  createCollider(desc: RapierColliderDesc, parent?: RapierBody): unknown;
  step(): void;
  free(): void;
}
export interface RapierModule {
  World: new (gravity: Vec3) => RapierWorld;
  RigidBodyDesc: { dynamic(): RapierBodyDesc };
  ColliderDesc: {
    cuboid(hx: number, hy: number, hz: number): RapierColliderDesc;
    ball(r: number): RapierColliderDesc;
    capsule(halfHeight: number, r: number): RapierColliderDesc;
    cylinder(halfHeight: number, r: number): RapierColliderDesc;
  };
}

function normalized(q: [number, number, number, number]): Quat {
  const n = Math.hypot(q[0], q[1], q[2], q[3]) || 1;
  return { x: q[0] / n, y: q[1] / n, z: q[2] / n, w: q[3] / n };
}

class RapierModel implements PhysicsModel {
  readonly name = "rapier";
  private readonly world: RapierWorld;
  private readonly bodies = new Map<number, RapierBody>();

  constructor(R: RapierModule, scene: Scene, tickRate: number) {
    const [gx, gy, gz] = scene.gravity;
    this.world = new R.World({ x: gx, y: gy, z: gz });
    this.world.timestep = Math.fround(1 / tickRate);
    this.world.numSolverIterations = scene.solver_iterations;
    for (const s of scene.statics) {
      const shape = s.shape;
      const desc =
        shape.type === "cuboid"
          ? R.ColliderDesc.cuboid(...shape.half_extents)
          : shape.type === "ball"
            ? R.ColliderDesc.ball(shape.radius)
            : shape.type === "capsule"
              ? R.ColliderDesc.capsule(shape.half_height, shape.radius)
              : R.ColliderDesc.cylinder(shape.half_height, shape.radius);
      desc
        .setTranslation(...s.position)
        .setRotation(normalized(s.rotation))
        .setSensor(s.sensor)
        .setFriction(s.friction)
        .setRestitution(s.restitution);
      this.world.createCollider(desc);
    }
    for (const b of [...scene.balls].sort((x, y) => x.id - y.id)) {
      const body = this.world.createRigidBody(
        R.RigidBodyDesc.dynamic()
          .setTranslation(...b.position)
          .setLinearDamping(b.linear_damping)
          .setAngularDamping(b.angular_damping)
          .setCcdEnabled(true),
      );
      this.world.createCollider(
        R.ColliderDesc.ball(b.radius).setMass(b.mass).setFriction(b.friction).setRestitution(b.restitution),
        body,
      );
      this.bodies.set(b.id, body);
    }
  }

  setBalls(balls: readonly BallState[]): void {
    for (const b of balls) {
      const body = this.bodies.get(b.id);
      if (!body) continue;
      body.setTranslation(b.position, false);
      body.setRotation(b.rotation, false);
      body.setLinvel(b.linvel, false);
      body.setAngvel(b.angvel, false);
      if (b.sleeping) body.sleep();
      else body.wakeUp();
    }
  }

  applyImpulse(ball: number, impulse: Vec3, point?: Vec3): void {
    const body = this.bodies.get(ball);
    if (!body) return;
    if (point) body.applyImpulseAtPoint(impulse, point, true);
    else body.applyImpulse(impulse, true);
  }

  step(): void {
    this.world.step();
  }

  balls(): BallState[] {
    return [...this.bodies].map(([id, body]) => ({
      id,
      position: { ...body.translation() },
      rotation: { ...body.rotation() },
      linvel: { ...body.linvel() },
      angvel: { ...body.angvel() },
      sleeping: body.isSleeping(),
    }));
  }

  dispose(): void {
    this.world.free();
  }
}

/** A physics factory for the client's prediction, from an initialised rapier module. */
export function rapierPhysics(rapier: unknown): PhysicsFactory {
  const R = rapier as RapierModule;
  return (scene, tickRate) => new RapierModel(R, scene, tickRate);
}
