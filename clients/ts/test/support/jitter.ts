/**
 * The jitter harness: a scripted kickballs session through a proxy that delays each
 * direction by a random 30–90 ms, measured against the server's true trajectory.
 *
 * - The measured client (binary, through the proxy) kicks a ball every 2 s and renders at
 *   60 frames a second; every rendered ball is recorded with the room time it stands for.
 * - A truth client (JSON, direct) records the server's snapshots, and asks for `state`
 *   40 times a second so the truth has a sample every tick or two.
 * - Afterwards each rendered position is compared with the truth at its room time
 *   (linear between truth samples at most 3 ticks apart).
 */
import RAPIER from "@dimforge/rapier3d-compat";
import type { RenderedBall } from "../../src/api.js";
import type { BallroomClient } from "../../src/client.js";
import { distance } from "../../src/math.js";
import { ballisticPhysics } from "../../src/physics/ballistic.js";
import type { PhysicsFactory } from "../../src/physics/model.js";
import { rapierPhysics } from "../../src/physics/rapier.js";
import type { Snapshot, Vec3 } from "../../src/types.js";
import { freshRoom, makeClient } from "./clients.js";
import { now, runFor, runFrames } from "./frames.js";
import { startProxy } from "./proxy.js";
import { seeded } from "./random.js";
import type { RunningServer } from "./server.js";

export interface Distribution {
  samples: number;
  p50: number;
  p99: number;
  max: number;
}

export interface JitterReport {
  seconds: number;
  clock: "performance" | "date";
  physics: string;
  frames: number;
  kicks: number;
  /** Position error of interpolated balls that are awake, metres. */
  interpolated: Distribution;
  /** Position error of predicted balls at the room time they stand for, metres. */
  predicted: Distribution;
  /** The same, only while the ball has no kick of this client in flight (sent, not yet
   * announced back): what the model gets wrong, without the kick's unknown arrival tick. */
  predictedSettled: Distribution;
  /** Largest correction shown in one frame on a predicted ball, metres. */
  maxFrameCorrectionPredicted: number;
  /** The same over every ball. */
  maxFrameCorrectionAll: number;
  /** Frames in which the smoothing of some ball was held to its per-frame cap. */
  cappedFrames: number;
  /** Size of the reconciliation corrections before smoothing, metres. */
  reconciliation: Distribution;
  /** Frames in which some ball was extrapolated. */
  extrapolatedFrames: number;
  snaps: number;
  /** |estimated room clock − the direct client's estimate|, ms. */
  clockErrorMs: Distribution;
  /** Longest time between two snapshots arriving while balls moved, ms. */
  longestGapMs: number;
  /** Interpolation delay at the end, ms. */
  delayMs: number;
  rttMs: number;
}

function distribution(values: number[]): Distribution {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return { samples: sorted.length, p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] ?? 0 };
}

export async function physicsByName(name: "ballistic" | "rapier"): Promise<PhysicsFactory> {
  if (name === "ballistic") return ballisticPhysics;
  await RAPIER.init();
  return rapierPhysics(RAPIER);
}

interface Frame {
  balls: RenderedBall[];
  clockError: number;
  /** Balls with a kick of the measured client in flight. */
  inFlight: Set<number>;
}

export async function runJitterSession(
  server: RunningServer,
  options: {
    seconds: number;
    physics: "ballistic" | "rapier";
    seed?: number;
    /** The measured client's clock: `performance.now()` (default) or the scene runtime's `Date.now()` (whole ms). */
    clock?: "performance" | "date";
  },
): Promise<JitterReport> {
  const random = seeded(options.seed ?? 0x5eed);
  const proxy = await startProxy(server.port, { minDelay: 30, maxDelay: 90, random: seeded((options.seed ?? 0x5eed) + 1) });
  const room = freshRoom(`jitter-${options.physics}`);
  const player = makeClient({
    url: `ws://127.0.0.1:${proxy.port}${room}`,
    scene: "kickballs",
    encoding: "binary",
    physics: await physicsByName(options.physics),
    ...(options.clock === "date" ? { now: () => Date.now() / 1000 } : {}),
  });
  const truth = makeClient({ url: server.url(room), scene: "kickballs", encoding: "json", physics: null });
  const clients: BallroomClient[] = [player, truth];
  const truthStates = new Map<number, Snapshot>();
  truth.on("snapshot", (s) => truthStates.set(s.tick, s));
  const corrections: number[] = [];
  let lastArrival: number | null = null;
  let longestGap = 0;
  let lastShowedMotion = false;
  player.on("snapshot", (s) => {
    const t = now();
    // The longest wait for a snapshot while the one before showed a ball moving.
    // (A gap that ends in a kick's snapshot after the room rested is the at-rest cadence
    // of one snapshot a second, not a stall.)
    if (lastArrival !== null && lastShowedMotion) longestGap = Math.max(longestGap, t - lastArrival);
    lastArrival = t;
    lastShowedMotion = s.balls.some((b) => !b.sleeping);
    if (player.stats.predictedBalls > 0) corrections.push(player.stats.lastCorrection);
  });
  // Kicks of the measured client sent and not yet announced back, by seq.
  const flying = new Map<number, number>();
  player.on("kick", (k) => {
    if (k.seq !== undefined && k.client === player.welcome?.client) flying.delete(k.seq);
  });
  player.on("error", (e) => {
    if (e.seq !== undefined) flying.delete(e.seq);
  });
  let poll: ReturnType<typeof setInterval> | undefined;
  try {
    player.connect();
    truth.connect();
    await runFrames(clients, () => player.balls().length > 0 && truth.balls().length > 0 && player.stats.rttMs > 0, 10, "both clients");
    poll = setInterval(() => truth.requestState(), 25);
    await runFor(clients, 1);

    const frames: Frame[] = [];
    let kicks = 0;
    let nextKick = now() + 0.5;
    await runFor(clients, options.seconds, () => {
      if (now() >= nextKick) {
        nextKick += 1;
        const angle = random() * 2 * Math.PI;
        const push = 20 + 40 * random();
        const impulse: Vec3 = { x: Math.cos(angle) * push, y: 30 * random(), z: Math.sin(angle) * push };
        // The measured client kicks balls 0 and 1 (predicted); another player kicks
        // ball 2, which the measured client sees interpolated.
        if (kicks % 2 === 0) {
          const ball = (kicks / 2) % 2;
          flying.set(player.kick(ball, impulse), ball);
        } else truth.kick(2, impulse);
        kicks++;
      }
      frames.push({
        balls: player.balls().map((b) => ({ ...b })),
        clockError: player.serverTime() - truth.serverTime(),
        inFlight: new Set(flying.values()),
      });
    });
    // The predicted timeline runs ahead of the room clock: let the truth catch up.
    await runFor(clients, 0.5);

    const ticks = [...truthStates.keys()].sort((a, b) => a - b);
    const tickRate = truth.welcome!.tick_rate;
    const truthAt = (id: number, t: number): { position: Vec3; awake: boolean } | null => {
      const f = t * tickRate;
      // Binary search the truth tick at or before f.
      let lo = 0;
      let hi = ticks.length - 1;
      if (hi < 1 || f < ticks[0]! || f > ticks[hi]!) return null;
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if (ticks[mid]! <= f) lo = mid;
        else hi = mid;
      }
      const ta = ticks[lo]!;
      const tb = ticks[hi]!;
      if (tb - ta > 3) return null;
      const a = truthStates.get(ta)!.balls.find((b) => b.id === id);
      const b = truthStates.get(tb)!.balls.find((x) => x.id === id);
      if (!a || !b) return null;
      const u = tb === ta ? 0 : (f - ta) / (tb - ta);
      const pa = a.position;
      const pb = b.position;
      return {
        position: { x: pa.x + (pb.x - pa.x) * u, y: pa.y + (pb.y - pa.y) * u, z: pa.z + (pb.z - pa.z) * u },
        awake: !a.sleeping || !b.sleeping,
      };
    };
    const interpolated: number[] = [];
    const predicted: number[] = [];
    const settled: number[] = [];
    let maxPredicted = 0;
    let maxAll = 0;
    let extrapolatedFrames = 0;
    let cappedFrames = 0;
    const cap = 0.04 - 1e-9;
    for (const frame of frames) {
      if (frame.balls.some((b) => b.correction >= cap)) cappedFrames++;
      if (frame.balls.some((b) => b.extrapolated)) extrapolatedFrames++;
      for (const b of frame.balls) {
        maxAll = Math.max(maxAll, b.correction);
        if (b.predicted) maxPredicted = Math.max(maxPredicted, b.correction);
        const t = truthAt(b.id, b.time);
        if (!t) continue;
        const error = distance(b.position, t.position);
        if (b.predicted) {
          predicted.push(error);
          if (!frame.inFlight.has(b.id)) settled.push(error);
        } else if (t.awake) interpolated.push(error);
      }
    }
    return {
      seconds: options.seconds,
      clock: options.clock ?? "performance",
      physics: player.stats.physics,
      frames: frames.length,
      kicks,
      interpolated: distribution(interpolated),
      predicted: distribution(predicted),
      predictedSettled: distribution(settled),
      maxFrameCorrectionPredicted: maxPredicted,
      maxFrameCorrectionAll: maxAll,
      cappedFrames,
      reconciliation: distribution(corrections),
      extrapolatedFrames,
      snaps: player.stats.snaps,
      clockErrorMs: distribution(frames.map((f) => Math.abs(f.clockError) * 1000)),
      longestGapMs: longestGap * 1000,
      delayMs: player.stats.interpolationDelayMs,
      rttMs: player.stats.rttMs,
    };
  } finally {
    if (poll) clearInterval(poll);
    player.close();
    truth.close();
    await proxy.close();
  }
}

const cm = (m: number): string => `${(m * 100).toFixed(2)} cm`;

export function formatReport(r: JitterReport): string {
  const d = (x: Distribution): string => `p50 ${cm(x.p50)}, p99 ${cm(x.p99)}, max ${cm(x.max)} (${x.samples} samples)`;
  return [
    `jitter session: ${r.seconds} s, 30-90 ms each way, ${r.kicks} kicks (half by another player), ${r.frames} frames, prediction: ${r.physics}, clock: ${r.clock === "date" ? "Date.now() (ms)" : "performance.now()"}`,
    `  interpolated balls (awake), error vs server:  ${d(r.interpolated)}`,
    `  predicted balls, error vs server:             ${d(r.predicted)}`,
    `    of which no kick in flight:                 ${d(r.predictedSettled)}`,
    `  largest single-frame correction (predicted):  ${cm(r.maxFrameCorrectionPredicted)} (any ball: ${cm(r.maxFrameCorrectionAll)}; snaps: ${r.snaps}; frames held to the 4 cm cap: ${r.cappedFrames})`,
    `  reconciliation error before smoothing:        ${d(r.reconciliation)}`,
    `  frames that extrapolated:                     ${r.extrapolatedFrames} of ${r.frames} (longest wait for a snapshot while balls moved: ${r.longestGapMs.toFixed(0)} ms)`,
    `  clock error vs a direct client:               p50 ${r.clockErrorMs.p50.toFixed(1)} ms, p99 ${r.clockErrorMs.p99.toFixed(1)} ms`,
    `  interpolation delay at the end: ${r.delayMs.toFixed(0)} ms; rtt ${r.rttMs.toFixed(0)} ms`,
  ].join("\n");
}
