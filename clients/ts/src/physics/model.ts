/**
 * What the prediction needs of a physics engine: set the balls to the server's state,
 * apply a kick, step one tick, read the balls back. Two implementations: the built-in
 * ballistic model ({@link ballisticPhysics}) and rapier ({@link rapierPhysics}).
 */
import type { Scene } from "../protocol/messages.js";
import type { BallState, Vec3 } from "../types.js";

export interface PhysicsModel {
  /** Which engine this is, for the stats. */
  readonly name: string;
  /** Put every listed ball in the given state (the others are left as they are). */
  setBalls(balls: readonly BallState[]): void;
  /** A kick: an impulse (N·s) at the centre, or at a world point. */
  applyImpulse(ball: number, impulse: Vec3, point?: Vec3): void;
  /** Advance one server tick. */
  step(): void;
  /** Every ball's state now. */
  balls(): BallState[];
  /** Release what the engine holds (rapier's world). */
  dispose(): void;
}

/** Builds a model of the room's scene at the server's tick rate. */
export type PhysicsFactory = (scene: Scene, tickRate: number) => PhysicsModel;
