/**
 * The parameters of a room's binary snapshots, as the `welcome` of a `ballroom.v2`
 * client declares them (`welcome.binary`). The decoder reads every resolution, bound
 * and bit width from here; nothing about the grid is hard-coded.
 */
import { bitsFor } from "./bits.js";
import { DecodeError } from "./errors.js";

export interface VelocityParams {
  /** Steps per m/s (or per rad/s). */
  resolution: number;
  /** Largest magnitude per component. */
  max: number;
  /** `max × resolution`: integers lie in `-limit..=limit`. */
  limit: number;
}

export interface BallParams {
  id: number;
  linear_decay_q16: number;
  angular_decay_q16: number;
}

export interface Params {
  format: number;
  tick_rate: number;
  prediction_rate: number;
  position: { min: [number, number, number]; resolution: number; steps: [number, number, number] };
  rotation_bits: number;
  linvel: VelocityParams;
  angvel: VelocityParams;
  gravity_q16: [number, number, number];
  balls: BallParams[];
  max_error: { position: number; rotation_degrees: number; linvel: number; angvel: number };
}

/** The binary format this decoder reads (the high nibble of a frame's first byte). */
export const FORMAT_VERSION = 1;

/** Largest magnitude of a smallest-three component: `2^(bits-1) - 1`. */
export function rotationMax(params: Params): number {
  return 2 ** (params.rotation_bits - 1) - 1;
}

/** `M × √2`: a smallest-three component `c` is sent as `round(c × K)`. */
export function rotationScale(params: Params): number {
  return rotationMax(params) * Math.SQRT2;
}

export function positionBits(params: Params, axis: number): number {
  return bitsFor(params.position.steps[axis] ?? 0);
}

export function velocityBits(v: VelocityParams): number {
  return bitsFor(2 * v.limit);
}

function num(v: unknown, what: string): number {
  if (typeof v !== "number" || !Number.isFinite(v)) throw new DecodeError("bad_params", what);
  return v;
}

function int(v: unknown, what: string, lo: number, hi: number): number {
  const n = num(v, what);
  if (!Number.isInteger(n) || n < lo || n > hi) throw new DecodeError("bad_params", what);
  return n;
}

function triple(v: unknown, what: string, f: (x: unknown, w: string) => number): [number, number, number] {
  if (!Array.isArray(v) || v.length !== 3) throw new DecodeError("bad_params", what);
  return [f(v[0], what), f(v[1], what), f(v[2], what)];
}

function velocity(v: unknown, what: string): VelocityParams {
  const o = (v ?? {}) as Record<string, unknown>;
  return {
    resolution: int(o.resolution, `${what}.resolution`, 1, 2 ** 20),
    max: num(o.max, `${what}.max`),
    limit: int(o.limit, `${what}.limit`, 0, 2 ** 30),
  };
}

/** Check and copy `welcome.binary` (or a test vector's `params`). */
export function parseParams(raw: unknown): Params {
  if (typeof raw !== "object" || raw === null) throw new DecodeError("bad_params", "not an object");
  const o = raw as Record<string, unknown>;
  const pos = (o.position ?? {}) as Record<string, unknown>;
  const err = (o.max_error ?? {}) as Record<string, unknown>;
  const balls = o.balls;
  if (!Array.isArray(balls)) throw new DecodeError("bad_params", "balls");
  const params: Params = {
    format: int(o.format, "format", 0, 15),
    tick_rate: num(o.tick_rate, "tick_rate"),
    prediction_rate: int(o.prediction_rate, "prediction_rate", 1, 2 ** 31),
    position: {
      min: triple(pos.min, "position.min", num),
      resolution: int(pos.resolution, "position.resolution", 1, 2 ** 20),
      steps: triple(pos.steps, "position.steps", (x, w) => int(x, w, 0, 2 ** 30)),
    },
    rotation_bits: int(o.rotation_bits, "rotation_bits", 2, 31),
    linvel: velocity(o.linvel, "linvel"),
    angvel: velocity(o.angvel, "angvel"),
    gravity_q16: triple(o.gravity_q16, "gravity_q16", (x, w) => int(x, w, -(2 ** 40), 2 ** 40)),
    balls: balls.map((b: unknown, i) => {
      const r = (b ?? {}) as Record<string, unknown>;
      return {
        id: int(r.id, `balls[${i}].id`, 0, 2 ** 32),
        linear_decay_q16: int(r.linear_decay_q16, `balls[${i}].linear_decay_q16`, 0, 2 ** 17),
        angular_decay_q16: int(r.angular_decay_q16, `balls[${i}].angular_decay_q16`, 0, 2 ** 17),
      };
    }),
    max_error: {
      position: num(err.position, "max_error.position"),
      rotation_degrees: num(err.rotation_degrees, "max_error.rotation_degrees"),
      linvel: num(err.linvel, "max_error.linvel"),
      angvel: num(err.angvel, "max_error.angvel"),
    },
  };
  if (params.format !== FORMAT_VERSION) {
    throw new DecodeError("unsupported_version", `params format ${params.format}`);
  }
  return params;
}
