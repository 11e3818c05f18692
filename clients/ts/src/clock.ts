/**
 * Clock sync: an estimate of the room clock (`pong.server_time`, `snapshot.time`) on the
 * client's clock, from ping/pong. Each pong gives a sample `offset = server_time + ½ tick
 * − (sent + rtt/2)` (the pong names the last tick the room ran, so the true server time
 * is on average half a tick later). Of the recent samples, the few with the lowest
 * round trip are the least delayed by queues: their mean offset is the estimate. The
 * offset the client uses slews towards it at a bounded rate (so rendered motion never
 * jumps or visibly changes speed), except while the first samples come in.
 *
 * The lead is how far ahead of the room clock a command sent now must be aimed to arrive
 * in time even on a slow trip: the 90th percentile of the recent round trips less half the
 * lowest (the way back at its fastest). Predicted balls live that far ahead, and a kick
 * names the tick there, which the server waits for. It slews too (`maxLeadSlew`).
 */

export interface ClockOptions {
  /** Samples kept (default 16). */
  window?: number;
  /** Lowest-RTT samples averaged (default 4). */
  best?: number;
  /** Largest change of the used offset per second of client time, s/s (default 0.02: 2 %). */
  maxSlew?: number;
  /** An error beyond this is corrected at once, not slewed (default 0.25 s). */
  jumpAbove?: number;
  /** Samples during which the offset jumps to the estimate (default 4). */
  warmup?: number;
  /** Largest change of the lead per second of client time, s/s (default 0.1). */
  maxLeadSlew?: number;
}

interface Sample {
  rtt: number;
  offset: number;
}

export class ClockSync {
  private readonly samples: Sample[] = [];
  private used: number | null = null;
  private target: number | null = null;
  private readonly window: number;
  private readonly best: number;
  private readonly maxSlew: number;
  private readonly jumpAbove: number;
  private readonly warmup: number;
  private readonly maxLeadSlew: number;
  private usedLead = 0;
  private count = 0;
  /** The last sample's round trip, seconds. */
  lastRtt = 0;

  constructor(options: ClockOptions = {}) {
    this.window = options.window ?? 16;
    this.best = options.best ?? 4;
    this.maxSlew = options.maxSlew ?? 0.02;
    this.jumpAbove = options.jumpAbove ?? 0.25;
    this.warmup = options.warmup ?? 4;
    this.maxLeadSlew = options.maxLeadSlew ?? 0.1;
  }

  /** A pong: the ping left at `sentAt` and its pong came back at `receivedAt` (client seconds). */
  addSample(sentAt: number, receivedAt: number, serverTime: number, tickRate: number): void {
    const rtt = receivedAt - sentAt;
    if (!(rtt >= 0) || !Number.isFinite(serverTime)) return;
    this.lastRtt = rtt;
    this.count++;
    this.samples.push({ rtt, offset: serverTime + 0.5 / tickRate - (sentAt + rtt / 2) });
    if (this.samples.length > this.window) this.samples.shift();
    const best = [...this.samples].sort((a, b) => a.rtt - b.rtt).slice(0, this.best);
    this.target = best.reduce((s, x) => s + x.offset, 0) / best.length;
    if (this.used === null || this.count <= this.warmup || Math.abs(this.target - this.used) > this.jumpAbove) {
      this.used = this.target;
    }
    if (this.count <= this.warmup) this.usedLead = this.targetLead;
  }

  /** Move the used offset towards the estimate; call once a frame with the frame's seconds. */
  update(dt: number): void {
    if (this.used === null || this.target === null) return;
    const step = this.maxSlew * Math.max(0, dt);
    const diff = this.target - this.used;
    this.used += Math.max(-step, Math.min(step, diff));
    const leadStep = this.maxLeadSlew * Math.max(0, dt);
    this.usedLead += Math.max(-leadStep, Math.min(leadStep, this.targetLead - this.usedLead));
  }

  /** The lead the recent round trips call for, seconds (see the module docs). */
  private get targetLead(): number {
    if (this.samples.length === 0) return 0;
    const sorted = this.samples.map((s) => s.rtt).sort((a, b) => a - b);
    const slow = sorted[Math.floor(0.9 * (sorted.length - 1))] ?? 0;
    return Math.max(this.rtt / 2, slow - (sorted[0] ?? 0) / 2);
  }

  /** How far ahead of the room clock predicted balls run and kicks are aimed, seconds. */
  get lead(): number {
    return this.usedLead;
  }

  /** Whether any pong has come back. */
  get synced(): boolean {
    return this.used !== null;
  }

  /** Server time minus client time, seconds (0 before the first pong). */
  get offset(): number {
    return this.used ?? 0;
  }

  /** The room clock now, given the client clock now. */
  serverTime(clientNow: number): number {
    return clientNow + this.offset;
  }

  /** Median round trip of the recent samples, seconds. */
  get rtt(): number {
    if (this.samples.length === 0) return 0;
    const sorted = this.samples.map((s) => s.rtt).sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)] ?? 0;
  }

  /** Lowest round trip of the recent samples, seconds. */
  get minRtt(): number {
    return this.samples.reduce((m, s) => Math.min(m, s.rtt), Infinity) || 0;
  }

  /** Forget everything (a new room, whose clock restarted). */
  reset(): void {
    this.samples.length = 0;
    this.used = null;
    this.target = null;
    this.usedLead = 0;
    this.count = 0;
  }

  /** Seed the offset before any pong (from a welcome's `time`); the first pongs replace it. */
  seed(offset: number): void {
    if (this.used === null) this.used = this.target = offset;
  }
}
