/**
 * `npm run model-fit [-- --seconds 60 --ticks 10 --physics ballistic,rapier --seed N --worst 0]`:
 * how far each prediction model strays from the server's own trajectories, with nothing
 * else in the way (no network, no smoothing, no unknown kick ticks).
 *
 * A client connected straight to a real server kicks the three `kickballs` balls at random
 * twice a second and asks for `state` every 10 ms, so nearly every tick of the server's
 * trajectory is recorded. Then, from every recorded tick, each model starts from the
 * server's state and steps `--ticks` ticks (about the lead of a predicted ball at 150 ms of
 * round trip); its balls are compared with the server's at that tick. Windows that hold a
 * kick are left out (the model only learns of a kick when it is told). Each error is put in
 * one class by what the ball could meet in the window: another ball, a wall, the ground from
 * the air, or rolling on the ground.
 *
 * A `--physics` entry ending in `.ts` is a module exporting `ballisticPhysics` (a copy of
 * the model to compare with, e.g. `git show HEAD:clients/ts/src/physics/ballistic.ts >
 * src/physics/ballistic-head.ts`), so two versions are measured on the same recording.
 */
import { resolve } from "node:path";
import type { BallroomClient } from "../src/client.js";
import { distance } from "../src/math.js";
import type { PhysicsFactory } from "../src/physics/model.js";
import type { WelcomeMessage } from "../src/protocol/messages.js";
import type { Snapshot, Vec3 } from "../src/types.js";
import { freshRoom, makeClient } from "../test/support/clients.js";
import { now, runFor, runFrames } from "../test/support/frames.js";
import { physicsByName } from "../test/support/jitter.js";
import { seeded } from "../test/support/random.js";
import { startServer } from "../test/support/server.js";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

const seconds = Number(arg("seconds", "60"));
const horizon = Number(arg("ticks", "10"));
const engines = arg("physics", "ballistic,rapier").split(",");
const seed = Number(arg("seed", "7"));
const worst = Number(arg("worst", "0"));

interface Recording {
  welcome: WelcomeMessage;
  states: Map<number, Snapshot>;
  kicks: number[];
}

async function record(): Promise<Recording> {
  const server = await startServer();
  const random = seeded(seed);
  const client: BallroomClient = makeClient({ url: server.url(freshRoom("model-fit")), scene: "kickballs", encoding: "json", physics: null });
  const states = new Map<number, Snapshot>();
  const kicks: number[] = [];
  client.on("snapshot", (s) => states.set(s.tick, s));
  client.on("kick", (k) => kicks.push(k.tick));
  let poll: ReturnType<typeof setInterval> | undefined;
  try {
    client.connect();
    await runFrames([client], () => client.balls().length > 0, 10, "the welcome");
    poll = setInterval(() => client.requestState(), 10);
    let next = now() + 0.5;
    await runFor([client], seconds, () => {
      if (now() < next) return;
      next += 0.5;
      const angle = random() * 2 * Math.PI;
      const push = 20 + 40 * random();
      const impulse: Vec3 = { x: Math.cos(angle) * push, y: 30 * random(), z: Math.sin(angle) * push };
      client.kick(Math.floor(random() * 3), impulse);
    });
    return { welcome: client.welcome!, states, kicks };
  } finally {
    if (poll) clearInterval(poll);
    client.close();
    await server.stop();
  }
}

type Class = "ball" | "wall" | "landing" | "rolling";
interface Row {
  error: number;
  class: Class;
  what: string;
}

function classify(ball: Snapshot["balls"][number], all: Snapshot["balls"], ticks: number, rate: number): Class {
  const p = ball.position;
  const v = ball.linvel;
  const reach = (Math.hypot(v.x, v.y, v.z) * ticks) / rate + 1.05;
  const nearest = Math.min(...all.filter((o) => o.id !== ball.id).map((o) => distance(o.position, p)));
  const wall = Math.min(p.x, 16 - p.x, p.z, 16 - p.z);
  if (nearest < reach + 1) return "ball";
  if (wall < reach) return "wall";
  return p.y > 1.05 ? "landing" : "rolling";
}

const at = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
const cm = (m: number): string => `${(m * 100).toFixed(2)} cm`;

const recording = await record();
const rate = recording.welcome.tick_rate;
const ticks = [...recording.states.keys()].sort((a, b) => a - b);
console.log(`model fit: ${seconds} s of kickballs, ${recording.kicks.length} kicks, ${ticks.length} recorded ticks of ${ticks[ticks.length - 1]! - ticks[0]! + 1}; each model steps ${horizon} ticks from the server's state`);
for (const engine of engines) {
  const factory: PhysicsFactory = engine.endsWith(".ts")
    ? ((await import(resolve(engine))) as { ballisticPhysics: PhysicsFactory }).ballisticPhysics
    : await physicsByName(engine as "ballistic" | "rapier");
  const rows: Row[] = [];
  for (const t of ticks) {
    const end = recording.states.get(t + horizon);
    if (!end || recording.kicks.some((k) => k >= t - 1 && k <= t + horizon + 1)) continue;
    const start = recording.states.get(t)!;
    const model = factory(recording.welcome.scene, rate);
    model.setBalls(start.balls);
    for (let i = 0; i < horizon; i++) model.step();
    for (const b of model.balls()) {
      const truth = end.balls.find((x) => x.id === b.id);
      const from = start.balls.find((x) => x.id === b.id);
      if (!truth || !from) continue;
      rows.push({ error: distance(b.position, truth.position), class: classify(from, start.balls, horizon, rate), what: `tick ${t} ball ${b.id}` });
    }
    model.dispose();
  }
  const line = (name: string, rs: Row[]): string => {
    const e = rs.map((r) => r.error).sort((a, b) => a - b);
    return `  ${name.padEnd(9)} p50 ${cm(at(e, 0.5))}, p90 ${cm(at(e, 0.9))}, p99 ${cm(at(e, 0.99))}, max ${cm(e[e.length - 1] ?? 0)} (${e.length})`;
  };
  console.log(`${engine}:`);
  console.log(line("all", rows));
  for (const c of ["ball", "wall", "landing", "rolling"] as const) console.log(line(c, rows.filter((r) => r.class === c)));
  for (const r of [...rows].sort((a, b) => b.error - a.error).slice(0, worst)) console.log(`    ${cm(r.error)} ${r.class} ${r.what}`);
}
