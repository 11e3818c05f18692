/**
 * The reach harness: how often the server refuses an honest kick `too_far` at 150 ms of
 * round trip (a proxy delaying each direction by a random 65–85 ms).
 *
 * - The measured player (binary, through the proxy, no prediction: it shows every ball
 *   interpolated, about 100 ms in the past, as it shows the balls others kick) stands still at `STAND` and reports
 *   its pose. Every frame it looks at the balls as it renders them; when one comes within
 *   the scene's reach **in its own view** (the viewer's rule: distance from the ball's
 *   centre to the avatar's axis, minus the radius) it clicks it a reaction time later
 *   (0.15–1 s: not always at once), if the ball is still within reach in its view then; at most a kick
 *   every 0.25 s.
 * - Another player (direct) keeps the balls moving: every 0.3 s it kicks a ball (5-10 m/s)
 *   past the measured player, 2-4.5 m to one side, so balls keep crossing the edge of
 *   its reach.
 * - Every error the server answers a kick with is counted by code.
 *
 * `compensated: false` strips `seen_at` from the measured player's kicks (the kick the
 * client sent before lag compensation: the server then judges the ball where it is when
 * the kick arrives), so both are measured against the same server in one run.
 */
import type { SocketConstructor, SocketLike } from "../../src/connection.js";
import type { Vec3 } from "../../src/types.js";
import { NodeWebSocket, freshRoom, makeClient } from "./clients.js";
import { now, runFor, runFrames } from "./frames.js";
import { startProxy } from "./proxy.js";
import { seeded } from "./random.js";
import type { RunningServer } from "./server.js";

export interface ReachReport {
  seconds: number;
  compensated: boolean;
  /** Kicks the measured player sent, and those of them at a ball moving faster than 1 m/s in its view. */
  kicks: number;
  movingKicks: number;
  /** Kicks at a ball this client predicted (it had kicked it), not interpolated. */
  predictedKicks: number;
  /** How far back the kicks reached, ms: the room time at arrival (estimated: the clock now plus half the rtt) minus the time the ball was shown at; largest. */
  lookBackMs: { p50: number; max: number };
  /** Refusals by error code. */
  refused: Record<string, number>;
  /** The distances the `too_far` errors gave, beyond reach (m), and whether the ball was predicted in the kicker's view. */
  tooFar: { beyond: number; predicted: boolean }[];
  rttMs: number;
}

/** Where the measured player stands (feet), in kickballs' 16 × 16 m parcel. */
const STAND: Vec3 = { x: 8, y: 0, z: 4 };

/** A WebSocket whose kicks leave without `seen_at`: the client before lag compensation. */
function withoutSeenAt(Base: SocketConstructor): SocketConstructor {
  return class extends (Base as unknown as new (url: string, protocols?: string | string[]) => SocketLike) {
    override send(data: string): void {
      if (data.includes('"seen_at"')) {
        const cmd = JSON.parse(data) as Record<string, unknown>;
        delete cmd.seen_at;
        data = JSON.stringify(cmd);
      }
      super.send(data);
    }
  };
}

function percentiles(values: number[]): { p50: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: sorted[Math.floor(sorted.length / 2)] ?? 0, max: sorted[sorted.length - 1] ?? 0 };
}

function axisDistance(ball: Vec3, feet: Vec3, height: number): number {
  const y = Math.min(Math.max(ball.y, feet.y), feet.y + height);
  return Math.hypot(ball.x - feet.x, ball.y - y, ball.z - feet.z);
}

export async function runReachSession(
  server: RunningServer,
  options: { seconds: number; compensated: boolean; seed?: number },
): Promise<ReachReport> {
  const seed = options.seed ?? 0x5eed;
  const random = seeded(seed);
  const proxy = await startProxy(server.port, { minDelay: 65, maxDelay: 85, random: seeded(seed + 1) });
  const room = freshRoom(`reach-${options.compensated ? "on" : "off"}`);
  const player = makeClient({
    url: `ws://127.0.0.1:${proxy.port}${room}`,
    scene: "kickballs",
    encoding: "binary",
    // Every ball interpolated, as balls other players kicked are (a ball this client
    // kicked would be predicted, shown at the present, and need no compensation).
    physics: null,
    ...(options.compensated ? {} : { WebSocket: withoutSeenAt(NodeWebSocket) }),
  });
  const other = makeClient({ url: server.url(room), scene: "kickballs", encoding: "json", physics: null });
  const clients = [player, other];
  const refused: Record<string, number> = {};
  const sent = new Map<number, { predicted: boolean }>();
  const tooFar: ReachReport["tooFar"] = [];
  player.on("error", (e) => {
    const kick = e.seq !== undefined ? sent.get(e.seq) : undefined;
    if (!kick) return;
    refused[e.code] = (refused[e.code] ?? 0) + 1;
    const m = /is ([0-9.]+) m from your player; reach is ([0-9.]+) m/.exec(e.message);
    if (e.code === "too_far" && m) tooFar.push({ beyond: Number(m[1]) - Number(m[2]), predicted: kick.predicted });
  });
  try {
    player.connect();
    other.connect();
    await runFrames(clients, () => player.balls().length > 0 && other.balls().length > 0 && player.stats.rttMs > 0, 10, "both clients");
    player.sendPose(STAND);
    await runFor(clients, 1);
    const scene = player.welcome!.scene;
    const radius = new Map(scene.balls.map((b) => [b.id, b.radius]));
    const last = new Map<number, { at: number; position: Vec3 }>();
    let kicks = 0;
    let movingKicks = 0;
    let predictedKicks = 0;
    const lookBack: number[] = [];
    let lastKick = 0;
    let click: { id: number; at: number } | null = null;
    let nextPush = now();
    let lastPose = now();
    await runFor(clients, options.seconds, () => {
      const t = now();
      if (t - lastPose >= 0.1) {
        player.sendPose(STAND);
        lastPose = t;
      }
      if (t >= nextPush) {
        nextPush += 0.3;
        const target = other.balls()[Math.floor(random() * 3)];
        if (target) {
          // Past the player, 2-4.5 m to one side: through the edge of its reach.
          const to = { x: STAND.x - target.position.x, z: STAND.z - target.position.z };
          const dist = Math.hypot(to.x, to.z) || 1;
          const side = (random() < 0.5 ? -1 : 1) * (2 + 2.5 * random());
          const aim = { x: to.x + (-to.z / dist) * side, z: to.z + (to.x / dist) * side };
          const norm = Math.hypot(aim.x, aim.z) || 1;
          const push = 25 + 25 * random();
          other.kick(target.id, { x: (aim.x / norm) * push, y: 10 * random(), z: (aim.z / norm) * push });
        }
      }
      // A player sees a ball come within reach and clicks it a reaction time later
      // (0.15-1 s: not always at once), if it is still within reach in its view then.
      for (const b of player.balls()) {
        const before = last.get(b.id);
        last.set(b.id, { at: t, position: b.position });
        const d = axisDistance(b.position, STAND, scene.player.height) - radius.get(b.id)!;
        const inReach = d <= scene.kick_rules.reach;
        if (click?.id === b.id && t >= click.at) {
          click = null;
          if (!inReach) continue;
          const speed = before && t > before.at ? Math.hypot(b.position.x - before.position.x, b.position.y - before.position.y, b.position.z - before.position.z) / (t - before.at) : 0;
          lastKick = t;
          kicks++;
          if (speed > 1) movingKicks++;
          if (b.predicted) predictedKicks++;
          lookBack.push((player.serverTime() + player.stats.rttMs / 2000 - b.time) * 1000);
          // A light tap away from the player.
          const away = { x: b.position.x - STAND.x, z: b.position.z - STAND.z };
          const n = Math.hypot(away.x, away.z) || 1;
          sent.set(player.kick(b.id, { x: (away.x / n) * 10, y: 5, z: (away.z / n) * 10 }), { predicted: b.predicted });
        } else if (inReach && click === null && t - lastKick >= 0.25) {
          click = { id: b.id, at: t + 0.15 + 0.85 * random() };
        }
      }
    });
    // Let the last answers come back.
    await runFor(clients, 0.5);
    return { seconds: options.seconds, compensated: options.compensated, kicks, movingKicks, predictedKicks, lookBackMs: percentiles(lookBack), refused, tooFar, rttMs: player.stats.rttMs };
  } finally {
    player.close();
    other.close();
    await proxy.close();
  }
}

export function formatReach(r: ReachReport): string {
  const tooFar = r.refused.too_far ?? 0;
  const pct = r.kicks > 0 ? ((100 * tooFar) / r.kicks).toFixed(1) : "0";
  const others = Object.entries(r.refused).filter(([code]) => code !== "too_far");
  return [
    `reach session: ${r.seconds} s, 65-85 ms each way (rtt ${r.rttMs.toFixed(0)} ms), seen_at ${r.compensated ? "sent (lag compensation)" : "stripped (as before)"}`,
    `  honest kicks (within reach in the kicker's view): ${r.kicks}, ${r.movingKicks} of them at a ball moving > 1 m/s, ${r.predictedKicks} at a ball it predicted; shown ${r.lookBackMs.p50.toFixed(0)} ms (max ${r.lookBackMs.max.toFixed(0)} ms) before the kick reached the server`,
    `  refused too_far: ${tooFar} (${pct} %)${others.length > 0 ? `; other refusals: ${others.map(([c, n]) => `${c} ${n}`).join(", ")}` : ""}`,
    ...(r.tooFar.length > 0
      ? [`  too_far by: ${r.tooFar.map((x) => `${(x.beyond * 100).toFixed(0)} cm${x.predicted ? " (predicted)" : ""}`).join(", ")}`]
      : []),
  ].join("\n");
}
