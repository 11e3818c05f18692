/**
 * Interpolation: remote state rendered at `server time − delay`, between the two
 * snapshots that bracket that time (positions lerped, rotations slerped). The delay
 * adapts to the measured lateness of snapshots (how far the estimated server clock is
 * past a snapshot's time when it arrives): it covers one snapshot interval plus the high
 * quantile of recent lateness, and never less than `minIntervals` intervals. When no
 * later snapshot has come, a moving ball is extrapolated with its velocities, for at most
 * `maxExtrapolation` seconds, and the sample says so.
 */
import { add, integrateRotation, lerp, scale, slerp } from "./math.js";
import type { BallState, PlayerState, Quat, Snapshot, Vec3 } from "./types.js";

export interface InterpolationOptions {
  /** The delay never goes below this many snapshot intervals (default 2). */
  minIntervals?: number;
  /** Added to the measured need, seconds (default 0.01). */
  margin?: number;
  /** Quantile of recent lateness the delay covers (default 1: the largest). */
  quantile?: number;
  /** Lateness samples kept (default 100: 5 s at 20 Hz). */
  window?: number;
  /** Longest extrapolation past the newest snapshot, seconds (default 0.25). */
  maxExtrapolation?: number;
  /** How fast the delay may grow and shrink, seconds per second (defaults 0.25 and 0.02). */
  growRate?: number;
  shrinkRate?: number;
}

/** A remote body as rendered: where, how turned, and whether it was extrapolated. */
export interface Pose {
  position: Vec3;
  rotation: Quat;
  extrapolated: boolean;
}

export interface Sample {
  balls: Map<number, Pose & { state: BallState }>;
  /** Binary snapshots carry players; `null` when the stream has none (JSON). */
  players: Map<number, Pose & { state: PlayerState }> | null;
  /** How far past the newest snapshot the render time is while something moves, seconds (0 if none). */
  extrapolatedBy: number;
}

/** The delay controller: needs an interval (1 / snapshot_rate) and lateness observations. */
export class AdaptiveDelay {
  private readonly lateness: number[] = [];
  private current: number;
  private readonly o: Required<Pick<InterpolationOptions, "minIntervals" | "margin" | "quantile" | "window" | "growRate" | "shrinkRate">>;

  constructor(
    private interval: number,
    options: InterpolationOptions = {},
  ) {
    this.o = {
      minIntervals: options.minIntervals ?? 2,
      margin: options.margin ?? 0.01,
      quantile: options.quantile ?? 1,
      window: options.window ?? 100,
      growRate: options.growRate ?? 0.25,
      shrinkRate: options.shrinkRate ?? 0.02,
    };
    this.current = this.minimum;
  }

  get minimum(): number {
    return this.o.minIntervals * this.interval;
  }

  setInterval(interval: number): void {
    this.interval = interval;
    this.current = Math.max(this.current, this.minimum);
  }

  /** A snapshot of room time `time` arrived when the estimated room clock read `arrival`. */
  observe(arrival: number, time: number): void {
    this.lateness.push(arrival - time);
    if (this.lateness.length > this.o.window) this.lateness.shift();
  }

  /** The delay the render clock should reach. */
  get target(): number {
    if (this.lateness.length === 0) return this.minimum;
    const sorted = [...this.lateness].sort((a, b) => a - b);
    const q = sorted[Math.min(sorted.length - 1, Math.floor(this.o.quantile * sorted.length))] ?? 0;
    return Math.max(this.minimum, this.interval + q + this.o.margin);
  }

  /** Move the delay towards the target, at a bounded rate; returns the delay. */
  update(dt: number): number {
    const target = this.target;
    const d = Math.max(0, dt);
    if (target > this.current) this.current = Math.min(target, this.current + this.o.growRate * d);
    else this.current = Math.max(target, this.current - this.o.shrinkRate * d);
    return this.current;
  }

  get delay(): number {
    return this.current;
  }

  reset(): void {
    this.lateness.length = 0;
    this.current = this.minimum;
  }
}

interface Entry {
  tick: number;
  time: number;
  balls: Map<number, BallState>;
  players: Map<number, PlayerState> | null;
}

/** The snapshots received, by tick, for sampling at any render time. */
export class SnapshotBuffer {
  private readonly entries: Entry[] = [];

  constructor(
    private readonly maxExtrapolation = 0.25,
    /** Seconds of history kept behind the newest snapshot. */
    private readonly keep = 3,
  ) {}

  push(s: Snapshot): void {
    const entry: Entry = {
      tick: s.tick,
      time: s.time,
      balls: new Map(s.balls.map((b) => [b.id, b])),
      players: s.players ? new Map(s.players.map((p) => [p.client, p])) : null,
    };
    // Ordered by tick: a snapshot of a tick already held replaces it (the newest of a tick wins).
    let i = this.entries.length;
    while (i > 0 && this.entries[i - 1]!.tick > s.tick) i--;
    if (i > 0 && this.entries[i - 1]!.tick === s.tick) this.entries[i - 1] = entry;
    else this.entries.splice(i, 0, entry);
    const newest = this.entries[this.entries.length - 1]!.time;
    while (this.entries.length > 3 && this.entries[0]!.time < newest - this.keep) this.entries.shift();
  }

  get newest(): Entry | undefined {
    return this.entries[this.entries.length - 1];
  }

  get size(): number {
    return this.entries.length;
  }

  clear(): void {
    this.entries.length = 0;
  }

  /** The state at room time `t`. `null` before the first snapshot. */
  sample(t: number): Sample | null {
    const n = this.entries.length;
    if (n === 0) return null;
    let i = n - 1;
    while (i > 0 && this.entries[i]!.time > t) i--;
    const a = this.entries[i]!;
    const b = this.entries[i + 1];
    if (b && t >= a.time) {
      const alpha = (t - a.time) / (b.time - a.time);
      return {
        balls: blend(a.balls, b.balls, alpha),
        players: a.players && b.players ? blend(a.players, b.players, alpha) : (b.players ?? a.players ? toPoses(b.players ?? a.players!) : null),
        extrapolatedBy: 0,
      };
    }
    if (t <= a.time) {
      // Before the oldest snapshot held: show it.
      return { balls: toPoses(a.balls), players: a.players ? toPoses(a.players) : null, extrapolatedBy: 0 };
    }
    // Past the newest snapshot: extrapolate what moves, for a bounded time.
    const ahead = Math.min(t - a.time, this.maxExtrapolation);
    const balls = new Map<number, Pose & { state: BallState }>();
    let moving = false;
    for (const [id, s] of a.balls) {
      const moves = !s.sleeping && (s.linvel.x !== 0 || s.linvel.y !== 0 || s.linvel.z !== 0 || s.angvel.x !== 0 || s.angvel.y !== 0 || s.angvel.z !== 0);
      moving ||= moves;
      balls.set(id, {
        state: s,
        position: moves ? add(s.position, scale(s.linvel, ahead)) : s.position,
        rotation: moves ? integrateRotation(s.rotation, s.angvel, ahead) : s.rotation,
        extrapolated: moves,
      });
    }
    return { balls, players: a.players ? toPoses(a.players) : null, extrapolatedBy: moving ? t - a.time : 0 };
  }
}

interface Placed {
  position: Vec3;
  rotation: Quat;
}

function toPoses<T extends Placed>(m: Map<number, T>): Map<number, Pose & { state: T }> {
  const out = new Map<number, Pose & { state: T }>();
  for (const [id, s] of m) out.set(id, { state: s, position: s.position, rotation: s.rotation, extrapolated: false });
  return out;
}

function blend<T extends Placed>(a: Map<number, T>, b: Map<number, T>, alpha: number): Map<number, Pose & { state: T }> {
  const out = new Map<number, Pose & { state: T }>();
  for (const [id, sb] of b) {
    const sa = a.get(id);
    if (!sa) {
      out.set(id, { state: sb, position: sb.position, rotation: sb.rotation, extrapolated: false });
      continue;
    }
    out.set(id, {
      state: alpha < 0.5 ? sa : sb,
      position: lerp(sa.position, sb.position, alpha),
      rotation: slerp(sa.rotation, sb.rotation, alpha),
      extrapolated: false,
    });
  }
  return out;
}
