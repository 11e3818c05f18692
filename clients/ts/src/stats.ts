/** Figures for display, updated by the client every frame. */

export interface ClientStats {
  /** Median round trip of recent pings, ms. */
  rttMs: number;
  /** Server clock minus client clock, ms. */
  clockOffsetMs: number;
  /** Interpolation delay in use, ms. */
  interpolationDelayMs: number;
  /** Snapshots received in the last second. */
  snapshotsPerSecond: number;
  /** Bytes received (all frames) in the last second. */
  bytesPerSecond: number;
  /** Size of the last reconciliation's correction of a predicted ball, m (before smoothing). */
  lastCorrection: number;
  /** Largest visible correction applied to a ball in the last frame, m. */
  frameCorrection: number;
  /** Whether the last frame extrapolated some moving ball past the newest snapshot. */
  extrapolating: boolean;
  /** How far past the newest snapshot, ms (0 when not extrapolating). */
  extrapolationMs: number;
  /** Frames that extrapolated, since connecting. */
  extrapolatedFrames: number;
  /** Frames rendered (`update` calls), since connecting. */
  frames: number;
  /** Balls shown from prediction now. */
  predictedBalls: number;
  /** Kicks sent and not yet acknowledged. */
  pendingKicks: number;
  /** Corrections too large to smooth (teleports, respawns), shown at once. */
  snaps: number;
  /** Connections made again after a drop. */
  reconnects: number;
  /** Binary frames that were neither a decodable snapshot nor a relayed frame (`badFrame` events). */
  badFrames: number;
  /** Which physics the prediction runs: "rapier" or "ballistic". */
  physics: string;
  /** The snapshot encoding the last `welcome` named ("binary" or "json"; "none" before it). */
  encoding: string;
}

export function emptyStats(): ClientStats {
  return {
    rttMs: 0,
    clockOffsetMs: 0,
    interpolationDelayMs: 0,
    snapshotsPerSecond: 0,
    bytesPerSecond: 0,
    lastCorrection: 0,
    frameCorrection: 0,
    extrapolating: false,
    extrapolationMs: 0,
    extrapolatedFrames: 0,
    frames: 0,
    predictedBalls: 0,
    pendingKicks: 0,
    snaps: 0,
    reconnects: 0,
    badFrames: 0,
    physics: "none",
    encoding: "none",
  };
}

/** Events in a sliding one-second window. */
export class RateMeter {
  private readonly events: { at: number; amount: number }[] = [];
  private total = 0;

  add(at: number, amount = 1): void {
    this.events.push({ at, amount });
    this.total += amount;
  }

  /** The amount within the second before `now`. */
  rate(now: number): number {
    while (this.events.length > 0 && this.events[0]!.at <= now - 1) this.total -= this.events.shift()!.amount;
    return this.total;
  }
}
