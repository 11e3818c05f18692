/** Shapes shared by the whole client: vectors as the Decentraland SDK and three.js use them. */

/** A vector in metres (or m/s, rad/s, N·s), world space, y up. */
export interface Vec3 {
  x: number;
  y: number;
  z: number;
}

/** A unit quaternion. */
export interface Quat {
  x: number;
  y: number;
  z: number;
  w: number;
}

export type Team = "blue" | "red";

/** One ball as the server last described it (a JSON snapshot entry or a decoded binary one). */
export interface BallState {
  id: number;
  position: Vec3;
  rotation: Quat;
  linvel: Vec3;
  angvel: Vec3;
  sleeping: boolean;
}

/** Another client's avatar pose (feet position). */
export interface PlayerState {
  client: number;
  position: Vec3;
  rotation: Quat;
  team: Team | null;
}

/** An authoritative snapshot, whichever encoding carried it. */
export interface Snapshot {
  tick: number;
  /** Room clock, seconds: `tick / tick_rate`. */
  time: number;
  /** Ascending by id. */
  balls: BallState[];
  /** Every player's pose (binary snapshots), or `null` when the encoding carries none (JSON). */
  players: PlayerState[] | null;
  /** Client id → the `seq` of its most recently applied kick. */
  acks: Map<number, number>;
}

export const ZERO: Readonly<Vec3> = Object.freeze({ x: 0, y: 0, z: 0 });
export const IDENTITY: Readonly<Quat> = Object.freeze({ x: 0, y: 0, z: 0, w: 1 });
