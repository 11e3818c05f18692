/**
 * Quantization, the encoder's half (`src/protocol/binary/quantize.rs`): floats to the
 * integers the wire carries, clamped, never NaN. The client decodes only; this is what
 * proves, against the test vectors, that the two ends agree on the grid.
 */
import type { Snapshot } from "../../types.js";
import { type Params, rotationMax, rotationScale } from "./params.js";
import { IDENTITY_QROT, type Int3, type QPlayer, type QRot, type QuantizedSnapshot } from "./quantized.js";

/** `floor(x + 0.5)`, the rounding both ends use. */
export function roundHalfUp(x: number): number {
  return Math.floor(x + 0.5);
}

function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

export function quantizePosition(params: Params, p: readonly number[]): Int3 {
  const { min, resolution, steps } = params.position;
  const out: Int3 = [0, 0, 0];
  for (let a = 0; a < 3; a++) {
    const x = Math.fround(p[a] ?? NaN);
    const s = steps[a] ?? 0;
    out[a] = Number.isNaN(x) ? Math.floor(s / 2) : roundHalfUp(clamp((x - (min[a] ?? 0)) * resolution, 0, s));
  }
  return out;
}

export function quantizeVelocity(v: number, resolution: number, limit: number): number {
  const x = Math.fround(v);
  if (Number.isNaN(x)) return 0;
  return roundHalfUp(clamp(x * resolution, -limit, limit));
}

/**
 * The three smallest-three integers of the unit quaternion `q` when component `largest`
 * is dropped: negated if `q[largest] < 0`, each `floor(c × K + 0.5)` clamped to `-M..=M`.
 * Shared with the prediction, which must requantize exactly as the encoder does.
 */
export function rotationInFrame(params: Params, q: readonly number[], largest: number): Int3 {
  const l = largest & 3;
  const others = [0, 1, 2, 3].filter((i) => i !== l);
  const scale = (q[l] ?? 0) < 0 ? -rotationScale(params) : rotationScale(params);
  const m = rotationMax(params);
  const one = (c: number): number => {
    const r = roundHalfUp(c * scale);
    return Number.isNaN(r) ? 0 : clamp(r, -m, m);
  };
  return [one(q[others[0] ?? 0] ?? 0), one(q[others[1] ?? 0] ?? 0), one(q[others[2] ?? 0] ?? 0)];
}

export function quantizeRotation(params: Params, raw: readonly number[]): QRot {
  const q = [0, 1, 2, 3].map((i) => Math.fround(raw[i] ?? NaN));
  const n2 = (q[0] ?? 0) * (q[0] ?? 0) + (q[1] ?? 0) * (q[1] ?? 0) + (q[2] ?? 0) * (q[2] ?? 0) + (q[3] ?? 0) * (q[3] ?? 0);
  if (!Number.isFinite(n2) || n2 < 1e-30) return { largest: IDENTITY_QROT.largest, small: [0, 0, 0] };
  const inv = 1 / Math.sqrt(n2);
  const u = q.map((c) => c * inv);
  let largest = 0;
  for (let i = 1; i < 4; i++) {
    if (Math.abs(u[i] ?? 0) > Math.abs(u[largest] ?? 0)) largest = i;
  }
  return { largest, small: rotationInFrame(params, u, largest) };
}

const arr3 = (v: { x: number; y: number; z: number }): number[] => [v.x, v.y, v.z];
const arr4 = (q: { x: number; y: number; z: number; w: number }): number[] => [q.x, q.y, q.z, q.w];

/**
 * Quantize a snapshot. Ids and seqs are taken from `bigIds` when given (64-bit values a
 * JavaScript number cannot hold exactly), else from the snapshot.
 */
export function quantize(
  params: Params,
  s: Snapshot,
  bigIds?: { tick?: bigint; players?: bigint[]; acks?: Map<bigint, bigint> },
): QuantizedSnapshot {
  const players: QPlayer[] = (s.players ?? []).map((p, i) => ({
    client: bigIds?.players?.[i] ?? BigInt(p.client),
    position: quantizePosition(params, arr3(p.position)),
    rotation: quantizeRotation(params, arr4(p.rotation)),
    team: p.team,
  }));
  players.sort((a, b) => (a.client < b.client ? -1 : a.client > b.client ? 1 : 0));
  const acks = bigIds?.acks ?? new Map([...s.acks].map(([c, q]) => [BigInt(c), BigInt(q)] as [bigint, bigint]));
  return {
    tick: bigIds?.tick ?? BigInt(s.tick),
    balls: s.balls.map((b) => ({
      sleeping: b.sleeping,
      position: quantizePosition(params, arr3(b.position)),
      rotation: quantizeRotation(params, arr4(b.rotation)),
      linvel: arr3(b.linvel).map((v) => quantizeVelocity(v, params.linvel.resolution, params.linvel.limit)) as Int3,
      angvel: arr3(b.angvel).map((v) => quantizeVelocity(v, params.angvel.resolution, params.angvel.limit)) as Int3,
    })),
    players,
    acks,
  };
}
