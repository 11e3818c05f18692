/**
 * Prediction and reconciliation of the balls this client kicks.
 *
 * The predicted timeline runs ahead of the room clock by the time a command takes to
 * reach the server, so a kick sent now is applied in the model on the tick the server
 * will most likely apply it. The model starts from the newest snapshot and steps tick by
 * tick (the server's tick), applying this client's kicks on their ticks. Every snapshot
 * restarts it from the server's state at that snapshot's tick, drops the kicks the
 * snapshot's `acks` show applied, re-times the ones still unacknowledged, and replays to
 * the present. The client smooths the difference this makes (see `client.ts`).
 */
import type { PhysicsModel } from "./physics/model.js";
import { lerp, slerp } from "./math.js";
import type { BallState, Snapshot, Vec3 } from "./types.js";

export interface PendingKick {
  seq: number;
  ball: number;
  impulse: Vec3;
  point?: Vec3;
  /** The tick the model applies it on (re-timed while the server has not acknowledged it). */
  tick: number;
  /** Past this tick an unacknowledged kick is given up (lost with a dropped connection). */
  expires: number;
}

/** Largest number of ticks one call steps (a longer gap restarts at the target). */
const MAX_STEPS = 255;

export class Prediction {
  private tick: number | null = null;
  private previous = new Map<number, BallState>();
  private current = new Map<number, BallState>();
  private kicks: PendingKick[] = [];
  private last: Snapshot | null = null;
  /** Balls shown from the model rather than from interpolation. */
  readonly active = new Set<number>();

  constructor(
    readonly model: PhysicsModel,
    readonly tickRate: number,
  ) {}

  /** Kicks sent and not yet acknowledged (or refused). */
  get pending(): readonly PendingKick[] {
    return this.kicks;
  }

  /** The model's tick, or `null` while it predicts nothing. */
  get modelTick(): number | null {
    return this.tick;
  }

  private restart(s: Snapshot): void {
    this.model.setBalls(s.balls);
    this.tick = s.tick;
    this.current = new Map(s.balls.map((b) => [b.id, b]));
    this.previous = this.current;
  }

  /** The tick a kick sent at predicted tick `present` applies on: the next one the model
   * has not run (it may already have stepped past `present` to interpolate). */
  kickTick(present: number): number {
    return Math.max(present, this.tick ?? present) + 1;
  }

  /** A kick sent now, which the server should apply on `kick.tick`. */
  kick(kick: PendingKick, presentTick: number): void {
    if (this.tick === null) {
      if (this.last === null) return;
      this.restart(this.last);
      this.advanceTo(presentTick);
    }
    kick.tick = Math.max(kick.tick, (this.tick ?? 0) + 1);
    this.kicks.push(kick);
    this.active.add(kick.ball);
  }

  /** A snapshot: restart from the server's state, drop what it acknowledges, replay the rest. */
  reconcile(s: Snapshot, acked: number | undefined): void {
    if (this.last !== null && s.tick < this.last.tick) return;
    this.last = s;
    this.kicks = this.kicks.filter((k) => (acked === undefined || k.seq > acked) && k.expires > s.tick);
    if (this.active.size === 0) {
      this.tick = null;
      return;
    }
    const target = this.tick ?? s.tick;
    this.restart(s);
    for (const k of this.kicks) if (k.tick <= s.tick) k.tick = s.tick + 1;
    this.advanceTo(Math.max(target, s.tick));
  }

  /** The server refused kick `seq`: forget it and replay without it. */
  refuse(seq: number): void {
    const before = this.kicks.length;
    this.kicks = this.kicks.filter((k) => k.seq !== seq);
    if (this.kicks.length !== before && this.last !== null && this.tick !== null) {
      const target = this.tick;
      this.restart(this.last);
      for (const k of this.kicks) if (k.tick <= this.last.tick) k.tick = this.last.tick + 1;
      this.advanceTo(target);
    }
  }

  /** Whether ball `id` has kicks in flight. */
  hasPending(id: number): boolean {
    return this.kicks.some((k) => k.ball === id);
  }

  /** Stop predicting ball `id`. */
  release(id: number): void {
    this.active.delete(id);
    if (this.active.size === 0) this.tick = null;
  }

  /** Step the model up to tick `target`. */
  advanceTo(target: number): void {
    if (this.tick === null) return;
    if (target - this.tick > MAX_STEPS) {
      // Too far behind (the page slept): fast-forward on the last state.
      this.tick = target - MAX_STEPS;
    }
    while (this.tick < target) {
      this.tick++;
      for (const k of this.kicks) {
        if (k.tick === this.tick) this.model.applyImpulse(k.ball, k.impulse, k.point);
      }
      this.model.step();
      this.previous = this.current;
      this.current = new Map(this.model.balls().map((b) => [b.id, b]));
    }
  }

  /** The predicted state of every ball at room time `time` (between two model ticks). */
  sample(time: number): Map<number, BallState> | null {
    if (this.tick === null) return null;
    const f = time * this.tickRate;
    const upper = Math.floor(f) + 1;
    this.advanceTo(upper);
    const alpha = Math.min(1, Math.max(0, 1 - (this.tick - f)));
    const out = new Map<number, BallState>();
    for (const [id, b] of this.current) {
      const a = this.previous.get(id) ?? b;
      out.set(id, { ...b, position: lerp(a.position, b.position, alpha), rotation: slerp(a.rotation, b.rotation, alpha) });
    }
    return out;
  }

  /** Forget everything (a new room). */
  reset(): void {
    this.tick = null;
    this.kicks = [];
    this.last = null;
    this.active.clear();
    this.previous = new Map();
    this.current = new Map();
  }
}
