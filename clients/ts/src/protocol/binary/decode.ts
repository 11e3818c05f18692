/**
 * The binary snapshot decoder (`src/protocol/binary/decode.rs`): rebuilds exactly the
 * {@link QuantizedSnapshot} the server's encoder had. Every read is bounds-checked and
 * every value range-checked, so arbitrary bytes give a {@link DecodeError}, never a wrong
 * snapshot or another exception.
 */
import type { Team } from "../../types.js";
import { BitReader, readVarint } from "./bits.js";
import { DecodeError } from "./errors.js";
import { FORMAT_VERSION, type Params, positionBits, rotationMax, velocityBits } from "./params.js";
import { predictAngvel, predictLinvel, predictPosition, predictRotationSmall } from "./predict.js";
import type { Int3, QBall, QPlayer, QRot, QuantizedSnapshot } from "./quantized.js";

const FLAG_DELTA = 0x01;
const FLAG_PLAYERS = 0x02;
const FLAG_ACKS = 0x04;
const FLAG_RESERVED = 0x08;

/** Exp-Golomb orders of the delta residuals (`K_*` in `src/protocol/binary/mod.rs`). */
const K_LINVEL = 0;
const K_ANGVEL = 0;
const K_POSITION = 0;
const K_ROTATION = 0;
const K_PLAYER_POSITION = 4;

export interface FrameHeader {
  tick: bigint;
  /** The tick of the baseline a delta needs; `null` for a keyframe. */
  baselineTick: bigint | null;
  /** Bytes the header took. */
  length: number;
}

/** Read a frame's header: format, flags, tick and, for a delta, its baseline's tick. */
export function header(bytes: Uint8Array): FrameHeader {
  const flags = bytes[0];
  if (flags === undefined) throw new DecodeError("truncated");
  if (flags >> 4 !== FORMAT_VERSION) throw new DecodeError("unsupported_version", String(flags >> 4));
  if ((flags & FLAG_RESERVED) !== 0) throw new DecodeError("bad_flags", `0x${flags.toString(16)}`);
  const t = readVarint(bytes, 1);
  let baselineTick: bigint | null = null;
  let length = t.next;
  if ((flags & FLAG_DELTA) !== 0) {
    const d = readVarint(bytes, t.next);
    if (d.value === 0n || d.value > t.value) throw new DecodeError("bad_tick_delta", String(d.value));
    baselineTick = t.value - d.value;
    length = d.next;
  }
  return { tick: t.value, baselineTick, length };
}

/**
 * Decode one frame. A delta needs the baseline it names (the snapshot this client decoded
 * last at that tick); a keyframe ignores `baseline`.
 */
export function decode(params: Params, baseline: QuantizedSnapshot | null, bytes: Uint8Array): QuantizedSnapshot {
  const h = header(bytes);
  const flags = bytes[0] ?? 0;
  let base: QuantizedSnapshot | null = null;
  if (h.baselineTick !== null) {
    if (baseline === null) throw new DecodeError("missing_baseline", `wanted tick ${h.baselineTick}`);
    if (baseline.tick !== h.baselineTick) {
      throw new DecodeError("wrong_baseline", `wanted tick ${h.baselineTick}, have ${baseline.tick}`);
    }
    if (baseline.balls.length !== params.balls.length) throw new DecodeError("baseline_balls");
    base = baseline;
  }
  const r = new BitReader(bytes.subarray(h.length));
  let balls: QBall[];
  if (base === null) {
    balls = params.balls.map(() => keyBall(r, params));
  } else {
    const gap = h.tick - base.tick;
    const n = gap > 255n ? 255 : Number(gap);
    balls = base.balls.map((old, i) => deltaBall(r, params, i, old, n));
  }
  const players =
    (flags & FLAG_PLAYERS) !== 0 ? readPlayers(r, params, base?.players ?? null) : base ? base.players.slice() : [];
  const acks = (flags & FLAG_ACKS) !== 0 ? readAcks(r, base?.acks ?? null) : new Map(base?.acks ?? []);
  r.finish();
  return { tick: h.tick, balls, players, acks };
}

function keyBall(r: BitReader, params: Params): QBall {
  const sleeping = r.bit();
  const moving = r.bit();
  const position = readPosition(r, params);
  const rotation = readRotation(r, params);
  const v: [Int3, Int3] = [
    [0, 0, 0],
    [0, 0, 0],
  ];
  if (moving) {
    const grids = [params.linvel, params.angvel] as const;
    for (let g = 0; g < 2; g++) {
      const p = grids[g]!;
      const bits = velocityBits(p);
      for (let a = 0; a < 3; a++) {
        const raw = r.bits(bits);
        if (raw > 2 * p.limit) throw new DecodeError("out_of_range", "velocity");
        v[g]![a] = raw - p.limit;
      }
    }
  }
  return { sleeping, position, rotation, linvel: v[0], angvel: v[1] };
}

function readPosition(r: BitReader, params: Params): Int3 {
  const p: Int3 = [0, 0, 0];
  for (let a = 0; a < 3; a++) {
    const c = r.bits(positionBits(params, a));
    if (c > (params.position.steps[a] ?? 0)) throw new DecodeError("out_of_range", "position");
    p[a] = c;
  }
  return p;
}

function readRotation(r: BitReader, params: Params): QRot {
  const m = rotationMax(params);
  const largest = r.bits(2);
  const small: Int3 = [0, 0, 0];
  for (let i = 0; i < 3; i++) {
    const raw = r.bits(params.rotation_bits);
    if (raw > 2 * m) throw new DecodeError("out_of_range", "rotation");
    small[i] = raw - m;
  }
  return { largest, small };
}

/** `predicted + residual`, checked against `lo..=hi`. */
function add(r: BitReader, predicted: number, k: number, lo: number, hi: number, what: string): number {
  const v = predicted + r.signed(k);
  if (!(v >= lo && v <= hi)) throw new DecodeError("out_of_range", what);
  return v;
}

function velocity3(r: BitReader, predicted: Int3, k: number, limit: number, what: string): Int3 {
  return [
    add(r, predicted[0], k, -limit, limit, what),
    add(r, predicted[1], k, -limit, limit, what),
    add(r, predicted[2], k, -limit, limit, what),
  ];
}

function deltaBall(r: BitReader, params: Params, i: number, old: QBall, n: number): QBall {
  if (!r.bit()) return old;
  const sleeping = r.bit();
  const ballistic = r.bit();
  const linvel = velocity3(r, predictLinvel(params, i, old, n, ballistic), K_LINVEL, params.linvel.limit, "linear velocity");
  const angvel = velocity3(r, predictAngvel(params, i, old, n), K_ANGVEL, params.angvel.limit, "angular velocity");
  const p = predictPosition(params, old.position, old.linvel, linvel, n);
  const position: Int3 = [0, 0, 0];
  for (let a = 0; a < 3; a++) {
    position[a] = add(r, p[a]!, K_POSITION, 0, params.position.steps[a] ?? 0, "position");
  }
  const largest = r.bit() ? old.rotation.largest : r.bits(2);
  const q = predictRotationSmall(params, old, angvel, n, largest);
  const m = rotationMax(params);
  const small: Int3 = [0, 0, 0];
  for (let a = 0; a < 3; a++) small[a] = add(r, q[a]!, K_ROTATION, -m, m, "rotation");
  return { sleeping, position, rotation: { largest, small }, linvel, angvel };
}

function readTeam(r: BitReader): Team | null {
  switch (r.bits(2)) {
    case 0:
      return null;
    case 1:
      return "blue";
    case 2:
      return "red";
    default:
      throw new DecodeError("out_of_range", "team");
  }
}

const U64_MAX = (1n << 64n) - 1n;

/** A count, then ascending ids as gaps. The count is checked against the bits left. */
function readIds(r: BitReader): bigint[] {
  const count = r.expGolombBig(0);
  if (count > BigInt(r.remaining())) throw new DecodeError("truncated");
  const out: bigint[] = [];
  let prev: bigint | null = null;
  for (let i = 0n; i < count; i++) {
    const gap = r.expGolombBig(0);
    const id: bigint = prev === null ? gap : prev + gap + 1n;
    if (id > U64_MAX) throw new DecodeError("out_of_range", "client id");
    out.push(id);
    prev = id;
  }
  return out;
}

function readPlayers(r: BitReader, params: Params, baseline: QPlayer[] | null): QPlayer[] {
  const players: QPlayer[] = [];
  const known = new Set<bigint>((baseline ?? []).map((p) => p.client));
  if (baseline !== null) {
    const removed = new Set<bigint>();
    for (const id of readIds(r)) {
      if (!known.has(id)) throw new DecodeError("unknown_player", String(id));
      removed.add(id);
    }
    for (const o of baseline) {
      if (removed.has(o.client)) continue;
      if (!r.bit()) {
        players.push(o);
        continue;
      }
      const position: Int3 = [0, 0, 0];
      for (let a = 0; a < 3; a++) {
        position[a] = add(r, o.position[a]!, K_PLAYER_POSITION, 0, params.position.steps[a] ?? 0, "player position");
      }
      players.push({ client: o.client, position, rotation: readRotation(r, params), team: readTeam(r) });
    }
  }
  for (const client of readIds(r)) {
    if (known.has(client)) throw new DecodeError("duplicate_player", String(client));
    players.push({
      client,
      position: readPosition(r, params),
      rotation: readRotation(r, params),
      team: readTeam(r),
    });
  }
  players.sort((a, b) => (a.client < b.client ? -1 : a.client > b.client ? 1 : 0));
  return players;
}

function readAcks(r: BitReader, baseline: Map<bigint, bigint> | null): Map<bigint, bigint> {
  const acks = new Map(baseline ?? []);
  if (baseline !== null) {
    for (const id of readIds(r)) {
      if (!acks.delete(id)) throw new DecodeError("unknown_ack", String(id));
    }
  }
  const ids = readIds(r);
  for (const id of ids) acks.set(id, r.expGolombBig(0));
  return acks;
}

/**
 * A decoder with its baselines: the last few snapshots it decoded, so a delta finds the
 * newest snapshot of the tick it names. One per connection (a new connection starts with
 * a keyframe).
 */
export class SnapshotDecoder {
  private readonly recent: QuantizedSnapshot[] = [];

  constructor(
    readonly params: Params,
    private readonly keep = 8,
  ) {}

  decode(bytes: Uint8Array): QuantizedSnapshot {
    const h = header(bytes);
    let baseline: QuantizedSnapshot | null = null;
    if (h.baselineTick !== null) {
      for (let i = this.recent.length - 1; i >= 0; i--) {
        const s = this.recent[i]!;
        if (s.tick === h.baselineTick) {
          baseline = s;
          break;
        }
      }
      if (baseline === null) baseline = this.recent[this.recent.length - 1] ?? null;
    }
    const snapshot = decode(this.params, baseline, bytes);
    this.recent.push(snapshot);
    if (this.recent.length > this.keep) this.recent.shift();
    return snapshot;
  }
}
