/**
 * The prediction both ends make from the baseline (`src/protocol/binary/predict.rs`):
 * integers for velocities and positions, and for the rotation only `+ - × / sqrt` in f64
 * in the same order as the Rust code, so the bits agree. A delta carries `actual -
 * predicted` for every component.
 */
import { type Params } from "./params.js";
import { rotationInFrame } from "./quantize.js";
import { type Int3, type QBall, rotationF64 } from "./quantized.js";

/** Ticks the prediction looks ahead at most. */
export const MAX_PREDICTED_TICKS = 255;
const Q16 = 65536;
const SAFE = 2 ** 53;

/** `floor(a / b)` for integers, exact while `|a|` < 2^53 (`b` > 0). */
function floorDiv(a: number, b: number): number {
  let q = Math.floor(a / b);
  // The float quotient can round across an integer; step back onto the exact floor.
  if (q * b > a) q -= 1;
  else if ((q + 1) * b <= a) q += 1;
  return q;
}

/** Division rounded half up: `floor((2a + b) / (2b))`, `b` > 0. */
export function divr(a: number, b: number): number {
  return floorDiv(2 * a + b, 2 * b);
}

/** `divr(a, 2^16)`: `(a + 2^15) >> 16` (exact in doubles: a power-of-two division). */
function divrQ16(a: number): number {
  return Math.floor((a + Q16 / 2) / Q16);
}

function divrQ16Big(a: bigint): bigint {
  return (a + 32768n) >> 16n;
}

/** One velocity component after `n` ticks of gravity and damping, as rapier steps it. */
export function predictVelocity(v0: number, decayQ16: number, gravityQ16: number, n: number, limit: number): number {
  const ticks = Math.min(n, MAX_PREDICTED_TICKS);
  let acc = v0 * Q16;
  for (let i = 0; i < ticks; i++) {
    const product = (acc + gravityQ16) * decayQ16;
    if (Math.abs(product) >= SAFE) {
      return predictVelocityBig(acc, decayQ16, gravityQ16, ticks - i, limit);
    }
    acc = divrQ16(product);
  }
  const v = divrQ16(acc);
  return v < -limit ? -limit : v > limit ? limit : v;
}

/** The same with bigints, for parameters whose products leave the exact range of doubles. */
function predictVelocityBig(acc0: number, decayQ16: number, gravityQ16: number, ticks: number, limit: number): number {
  let acc = BigInt(acc0);
  const g = BigInt(gravityQ16);
  const d = BigInt(decayQ16);
  for (let i = 0; i < ticks; i++) acc = divrQ16Big((acc + g) * d);
  const v = divrQ16Big(acc);
  const l = BigInt(limit);
  return Number(v < -l ? -l : v > l ? l : v);
}

/** Predicted linear velocity of ball `i` (index in `params.balls`). */
export function predictLinvel(params: Params, i: number, base: QBall, n: number, ballistic: boolean): Int3 {
  const decay = params.balls[i]?.linear_decay_q16 ?? Q16;
  const out: Int3 = [0, 0, 0];
  for (let a = 0; a < 3; a++) {
    const g = ballistic ? (params.gravity_q16[a] ?? 0) : 0;
    out[a] = predictVelocity(base.linvel[a] ?? 0, decay, g, n, params.linvel.limit);
  }
  return out;
}

export function predictAngvel(params: Params, i: number, base: QBall, n: number): Int3 {
  const decay = params.balls[i]?.angular_decay_q16 ?? Q16;
  const out: Int3 = [0, 0, 0];
  for (let a = 0; a < 3; a++) out[a] = predictVelocity(base.angvel[a] ?? 0, decay, 0, n, params.angvel.limit);
  return out;
}

/** `(n-1)·v0 + (n+1)·v1` per axis. */
function weighted(v0: Int3, v1: Int3, n: number): Int3 {
  const t = Math.min(n, MAX_PREDICTED_TICKS);
  return [(t - 1) * v0[0] + (t + 1) * v1[0], (t - 1) * v0[1] + (t + 1) * v1[1], (t - 1) * v0[2] + (t + 1) * v1[2]];
}

/** Predicted position from the baseline position and velocity and the decoded velocity. */
export function predictPosition(params: Params, p0: Int3, v0: Int3, v1: Int3, n: number): Int3 {
  const s = weighted(v0, v1, n);
  const num = params.position.resolution;
  const den = 2 * params.linvel.resolution * params.prediction_rate;
  const out: Int3 = [0, 0, 0];
  for (let a = 0; a < 3; a++) {
    const p = p0[a]! + divr(s[a]! * num, den);
    const hi = params.position.steps[a] ?? 0;
    out[a] = p < 0 ? 0 : p > hi ? hi : p;
  }
  return out;
}

/** The predicted rotation as an f64 quaternion `[x, y, z, w]`. */
export function predictRotation(params: Params, base: QBall, w1: Int3, n: number): [number, number, number, number] {
  const s = weighted(base.angvel, w1, n);
  const c = 1.0 / (4.0 * params.angvel.resolution * params.prediction_rate);
  const px = s[0] * c;
  const py = s[1] * c;
  const pz = s[2] * c;
  const x2 = px * px + py * py + pz * pz;
  const cos = 1.0 + x2 * (-0.5 + x2 * (1.0 / 24.0 + x2 * (-1.0 / 720.0)));
  const sinc = 1.0 + x2 * (-1.0 / 6.0 + x2 * (1.0 / 120.0 + x2 * (-1.0 / 5040.0)));
  let dx = px * sinc;
  let dy = py * sinc;
  let dz = pz * sinc;
  let dw = cos;
  const norm = Math.sqrt(dx * dx + dy * dy + dz * dz + dw * dw);
  const [x0, y0, z0, w0] = rotationF64(params, base.rotation);
  if (!(Number.isFinite(norm) && norm > 0)) return [x0, y0, z0, w0];
  dx = dx / norm;
  dy = dy / norm;
  dz = dz / norm;
  dw = dw / norm;
  return [
    dw * x0 + dx * w0 + dy * z0 - dz * y0,
    dw * y0 - dx * z0 + dy * w0 + dz * x0,
    dw * z0 + dx * y0 - dy * x0 + dz * w0,
    dw * w0 - dx * x0 - dy * y0 - dz * z0,
  ];
}

/** The predicted smallest-three integers in the frame of `largest`. */
export function predictRotationSmall(params: Params, base: QBall, w1: Int3, n: number, largest: number): Int3 {
  return rotationInFrame(params, predictRotation(params, base, w1, n), largest);
}
