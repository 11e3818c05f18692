/**
 * A snapshot as the binary wire carries it: integers only. The decoder rebuilds exactly
 * the integers the server's encoder had and keeps them as the next baseline; floats are
 * derived from them ({@link toSnapshot}), never the other way round.
 */
import type { BallState, PlayerState, Snapshot, Team } from "../../types.js";
import { type Params, rotationScale } from "./params.js";

export type Int3 = [number, number, number];

/** Smallest three: the index of the dropped largest component and the other three, in order. */
export interface QRot {
  largest: number;
  small: Int3;
}

export interface QBall {
  sleeping: boolean;
  /** `round((p - min) × resolution)`, in `0..=steps`. */
  position: Int3;
  rotation: QRot;
  /** `round(v × resolution)`, in `-limit..=limit`. */
  linvel: Int3;
  angvel: Int3;
}

/** Client ids and seqs are 64-bit on the wire, hence bigint. */
export interface QPlayer {
  client: bigint;
  position: Int3;
  rotation: QRot;
  team: Team | null;
}

export interface QuantizedSnapshot {
  tick: bigint;
  /** One per `params.balls`, in that order. */
  balls: QBall[];
  /** Ascending by client id. */
  players: QPlayer[];
  acks: Map<bigint, bigint>;
}

export const IDENTITY_QROT: Readonly<QRot> = Object.freeze({ largest: 3, small: [0, 0, 0] as Int3 });

/** The unit quaternion `[x, y, z, w]` (f64) of a quantized rotation. */
export function rotationF64(params: Params, r: QRot): [number, number, number, number] {
  const k = rotationScale(params);
  const a = r.small[0] / k;
  const b = r.small[1] / k;
  const c = r.small[2] / k;
  const w = Math.sqrt(Math.max(0, 1 - (a * a + b * b + c * c)));
  const small = [a, b, c];
  const q: [number, number, number, number] = [0, 0, 0, 0];
  let j = 0;
  for (let i = 0; i < 4; i++) {
    q[i] = i === r.largest ? w : (small[j++] ?? 0);
  }
  return q;
}

export function positionF64(params: Params, p: Int3): Int3 {
  const { min, resolution } = params.position;
  return [min[0] + p[0] / resolution, min[1] + p[1] / resolution, min[2] + p[2] / resolution];
}

const f32 = Math.fround;

/** The snapshot these integers stand for, in f32 values as the Rust `to_snapshot` gives them. */
export function toSnapshot(params: Params, q: QuantizedSnapshot): Snapshot {
  const lin = params.linvel.resolution;
  const ang = params.angvel.resolution;
  const balls: BallState[] = q.balls.map((b, i) => {
    const p = positionF64(params, b.position);
    const r = rotationF64(params, b.rotation);
    return {
      id: params.balls[i]?.id ?? i,
      position: { x: f32(p[0]), y: f32(p[1]), z: f32(p[2]) },
      rotation: { x: f32(r[0]), y: f32(r[1]), z: f32(r[2]), w: f32(r[3]) },
      linvel: { x: f32(b.linvel[0] / lin), y: f32(b.linvel[1] / lin), z: f32(b.linvel[2] / lin) },
      angvel: { x: f32(b.angvel[0] / ang), y: f32(b.angvel[1] / ang), z: f32(b.angvel[2] / ang) },
      sleeping: b.sleeping,
    };
  });
  const players: PlayerState[] = q.players.map((pl) => {
    const p = positionF64(params, pl.position);
    const r = rotationF64(params, pl.rotation);
    return {
      client: Number(pl.client),
      position: { x: f32(p[0]), y: f32(p[1]), z: f32(p[2]) },
      rotation: { x: f32(r[0]), y: f32(r[1]), z: f32(r[2]), w: f32(r[3]) },
      team: pl.team,
    };
  });
  const acks = new Map<number, number>();
  for (const [client, seq] of q.acks) acks.set(Number(client), Number(seq));
  const tick = Number(q.tick);
  return { tick, time: tick / params.tick_rate, balls, players, acks };
}
