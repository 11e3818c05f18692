// Load driver for the Colyseus kickballs room, with the load shape of
// `ballroom-load --mode physics` (src/bin/ballroom-load/physics.rs): CLIENTS clients over
// ROOMS rooms (client i in room i mod ROOMS), the k-th client of a room standing 0.5 m from
// ball k mod 3 (sides alternating), reporting that pose POSE_RATE times a second and kicking
// the ball every KICK_INTERVAL s from a random first offset, impulses of IMPULSE_MIN to
// IMPULSE_MAX N·s aimed as ballroom-load aims them. Warm-up (and every join settled), then
// the window, then up to 2 s of draining acks. Progress on stderr once a second; one JSON summary on stdout, with
// ballroom-load's key names where the two overlap.
//
//   node load.mjs --addr 127.0.0.1:2567 --scene scene.json --clients 100 --rooms 10 \
//        --duration 10 --warmup 5 --server-pid PID
//
// Kick latency: from sending the kick to the first state patch in which this client's
// `players[me].ack` reaches the kick's seq (ballroom's acks). Missed patches: a patch
// whose room tick is d ticks after the previous one stands for round(d / 3) - 1 missing
// ones at 60 Hz ticks and 20 Hz patches, counted unless every ball slept in the previous
// one (ballroom-load counts ceil(d / 3) - 1; its snapshots fall on exact ticks, while
// Colyseus' patch timer runs apart from the tick timer, so a healthy gap is 2 to 4 ticks).
import { parseArgs } from "node:util";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { Client } from "@colyseus/sdk";
import { Series, Tally, rng, round3, watchServer } from "./measure.mjs";
import { report } from "./report.mjs";
import { kickMessage, poseMessage, readHomes } from "./shape.mjs";

const ROOM_STATE_PATCH = 15; // @colyseus/shared-types Protocol, low 5 bits of the first byte
const DRAIN_MS = 2000;

const { values: o } = parseArgs({
  options: {
    addr: { type: "string", default: "127.0.0.1:2567" },
    scene: { type: "string" },
    clients: { type: "string", default: "100" },
    rooms: { type: "string", default: "10" },
    "room-prefix": { type: "string", default: "load-" },
    "pose-rate": { type: "string", default: "5" },
    "kick-interval": { type: "string", default: "2" },
    "impulse-min": { type: "string", default: "5" },
    "impulse-max": { type: "string", default: "15" },
    duration: { type: "string", default: "10" },
    warmup: { type: "string", default: "2" },
    "connect-concurrency": { type: "string", default: "200" },
    "connect-timeout": { type: "string", default: "30" },
    "server-pid": { type: "string" },
    seed: { type: "string" },
    "tick-rate": { type: "string", default: "60" },
    "snapshot-rate": { type: "string", default: "20" },
  },
});
const num = (k) => Number(o[k]);
const a = {
  addr: o.addr, clients: num("clients"), rooms: num("rooms"), room_prefix: o["room-prefix"],
  pose_rate: num("pose-rate"), kick_interval: num("kick-interval"), impulse_min: num("impulse-min"),
  impulse_max: num("impulse-max"), duration: num("duration"), warmup: num("warmup"),
  connect_concurrency: num("connect-concurrency"), connect_timeout: num("connect-timeout"),
  server_pid: o["server-pid"] ? Number(o["server-pid"]) : null,
  seed: o.seed ? Number(o.seed) : Date.now() % 2 ** 32,
  tick_rate: num("tick-rate"), snapshot_rate: num("snapshot-rate"),
};
if (!o.scene) throw new Error("--scene FILE is required (the scene the server runs)");
if (!/^(127\.\d+\.\d+\.\d+|localhost|\[::1\]):\d+$/.test(a.addr)) throw new Error("--addr must be a loopback HOST:PORT");
if (a.rooms > a.clients) throw new Error("--rooms must not exceed --clients");

const homes = readHomes(o.scene);
const ticksPerPatch = Math.max(1, Math.round(a.tick_rate / a.snapshot_rate));
const patchGapMs = 1000 / a.snapshot_rate;

// The window starts WARMUP seconds after the start, or when every client's join has
// settled if that is later (Colyseus joins queue behind its matchmaker, and a window that
// opened mid-ramp would not measure the asked-for load); until then it is unset.
const t0 = performance.now();
let windowStart = Infinity, windowEnd = Infinity;
const inWindow = (t) => t >= windowStart && t < windowEnd;
const random = rng(a.seed ^ 0x5eed);
const kickLatency = new Series(random), jitter = new Series(random), tickJitter = new Series(random);
const live = { connected: 0, frames: 0, sent: 0, acked: 0 };
const sdk = new Client(`http://${a.addr}`);

// Connection attempts in flight at once.
const gate = { free: a.connect_concurrency, waiting: [] };
const acquire = () => (gate.free > 0 ? (gate.free--, Promise.resolve()) : new Promise((r) => gate.waiting.push(r)));
const release = () => (gate.waiting.length ? gate.waiting.shift()() : gate.free++);
const timeout = (ms, what) => new Promise((_, reject) => setTimeout(() => reject(new Error(what)), ms));

// The first client of each room creates it by label; the others join it by id.
const roomIds = Array.from({ length: a.rooms }, () => { let s; const p = new Promise((r) => (s = r)); return { p, s }; });

async function join(idx) {
  const r = idx % a.rooms;
  const byId = idx >= a.rooms ? await roomIds[r].p : null;
  if (idx >= a.rooms && !byId) throw new Error("the room's first client could not join");
  await acquire();
  try {
    const joining = byId ? sdk.joinById(byId) : sdk.joinOrCreate("kickballs", { label: `${a.room_prefix}${r}` });
    return await Promise.race([joining, timeout(a.connect_timeout * 1000, "connect timed out")]).catch((e) => {
      joining.then((room) => room.leave(), () => {}); // a join that comes too late leaves at once
      throw e;
    });
  } finally {
    release();
  }
}

function newStats(room) {
  return {
    room, connected: false, connectedAfter: null, connectError: null, welcomed: false, endedEarly: null,
    bytes: 0, frames: 0, patchFrames: 0, patchBytes: 0, kicksSent: 0, kicksAcked: 0,
    pending: new Map(), kickErrors: new Tally(), otherErrors: new Tally(), snapshots: 0, missed: 0,
  };
}

async function steadyClient(idx, st) {
  let room;
  try {
    room = await join(idx);
    if (idx < a.rooms) roomIds[idx].s(room.roomId);
  } catch (e) {
    if (idx < a.rooms) roomIds[idx].s(null);
    st.connectError = String(e?.message ?? e);
    return null;
  }
  st.connected = true;
  st.connectedAfter = performance.now() - t0;
  live.connected += 1;
  const me = room.sessionId;
  const random = rng(a.seed ^ Math.imul(idx + 1, 0x9e3779b9));
  const local = Math.floor(idx / a.rooms);
  const mine = homes[local % homes.length];
  let anchor = null, ballAt = null, seq = 0, prev = null, poseTimer, kickTimer;

  // Count every frame's payload, as ballroom-load does, before the SDK decodes it.
  const events = room.connection.events, onmessage = events.onmessage;
  events.onmessage = (ev) => {
    const now = performance.now(), n = ev.data.byteLength;
    live.frames += 1;
    if (inWindow(now)) {
      st.bytes += n;
      st.frames += 1;
      if ((new Uint8Array(ev.data, 0, 1)[0] & 31) === ROOM_STATE_PATCH) (st.patchFrames += 1), (st.patchBytes += n);
    }
    onmessage(ev);
  };
  room.onMessage("kick", () => {});
  room.onMessage("error", (m) => {
    const p = m.seq != null ? st.pending.get(m.seq) : undefined;
    if (p) {
      st.pending.delete(m.seq);
      if (p[1]) st.kickErrors.add(m.code);
    } else if (inWindow(performance.now())) st.otherErrors.add(m.code);
  });
  room.onLeave((code) => {
    if (performance.now() < windowEnd && !st.endedEarly) st.endedEarly = `closed by server: ${code}`;
  });

  const sendPose = (pose) => {
    if (performance.now() >= windowEnd) return;
    room.send("pose", pose);
    poseTimer = setTimeout(() => sendPose(pose), 1000 / a.pose_rate);
  };
  let nextKick;
  const sendKick = () => {
    const now = performance.now();
    if (now >= windowEnd) return;
    nextKick += a.kick_interval * 1000;
    if (nextKick < now) nextKick = now + a.kick_interval * 1000;
    seq += 1;
    const counted = inWindow(now);
    st.pending.set(seq, [now, counted]);
    if (counted) (st.kicksSent += 1), (live.sent += 1);
    room.send("kick", kickMessage(mine, anchor, ballAt, seq, [a.impulse_min, a.impulse_max], random));
    kickTimer = setTimeout(sendKick, nextKick - now);
  };

  room.onStateChange((state) => {
    const now = performance.now();
    st.welcomed = true;
    const balls = state.balls;
    const b = balls.find((x) => x.id === mine.id);
    if (b) {
      ballAt = [b.px, b.py, b.pz];
      if (!anchor) {
        anchor = ballAt;
        if (a.pose_rate > 0) sendPose(poseMessage(mine, ballAt, Math.floor(local / homes.length)));
        nextKick = now + a.kick_interval * 1000 * random();
        kickTimer = setTimeout(sendKick, nextKick - now);
      }
    }
    const ack = state.players.get(me)?.ack ?? 0;
    for (const [q, [sent, counted]] of st.pending) {
      if (q > ack) continue;
      st.pending.delete(q);
      if (counted) {
        kickLatency.push(now - sent);
        st.kicksAcked += 1;
        live.acked += 1;
      }
    }
    const tick = state.tick;
    if (prev && tick <= prev.tick) return;
    if (inWindow(now)) {
      st.snapshots += 1;
      if (prev) {
        const dt = now - prev.at, d = tick - prev.tick;
        tickJitter.push(Math.abs(dt - (d * 1000) / a.tick_rate));
        if (!prev.asleep) {
          jitter.push(Math.abs(dt - patchGapMs));
          st.missed += Math.max(0, Math.round(d / ticksPerPatch) - 1);
        }
      }
    }
    let asleep = true;
    for (const x of balls) asleep &&= x.sleeping;
    prev = { at: now, tick, asleep };
  });
  return { room, stop: () => (clearTimeout(poseTimer), clearTimeout(kickTimer)) };
}

// ---------------------------------------------------------------------------------------
console.error(`colyseus-load: ${a.clients} clients in ${a.rooms} rooms against ${a.addr}, warmup ${a.warmup} s, window ${a.duration} s`);
// The driver's own event-loop lag (beyond the sampling period): a busy driver delays every
// timestamp it takes.
const LOOP_SAMPLE_MS = 10;
const loopDelay = monitorEventLoopDelay({ resolution: LOOP_SAMPLE_MS });
const progress = setInterval(() => {
  const t = ((performance.now() - t0) / 1000).toFixed(0);
  console.error(`[${t}s] connected ${live.connected}  frames ${live.frames}  kicks sent ${live.sent} acked ${live.acked}`);
}, 1000);

const stats = Array.from({ length: a.clients }, (_, i) => newStats(i % a.rooms));
const sessions = await Promise.all(stats.map((st, i) => steadyClient(i, st)));
windowStart = Math.max(t0 + a.warmup * 1000, performance.now());
windowEnd = windowStart + a.duration * 1000;
const server = a.server_pid ? watchServer(a.server_pid, windowStart, windowEnd) : Promise.resolve(null);
await new Promise((r) => setTimeout(r, windowStart - performance.now()));
const cpuAtStart = process.cpuUsage();
loopDelay.enable();
await new Promise((r) => setTimeout(r, Math.max(0, windowEnd - performance.now())));
const loadCpu = process.cpuUsage(cpuAtStart);
loopDelay.disable();
for (const s of sessions) s?.stop();
while (performance.now() < windowEnd + DRAIN_MS && stats.some((s) => s.pending.size > 0)) await new Promise((r) => setTimeout(r, 50));
const serverFigures = await server;
clearInterval(progress);
await Promise.race([Promise.allSettled(sessions.map((s) => s?.room.leave())), new Promise((r) => setTimeout(r, 1000))]);
const lag = (ns) => round3(Math.max(0, ns / 1e6 - LOOP_SAMPLE_MS));
const load = {
  cpu_seconds: round3((loadCpu.user + loadCpu.system) / 1e6),
  event_loop_lag_ms: { p50: lag(loopDelay.percentile(50)), p99: lag(loopDelay.percentile(99)), max: lag(loopDelay.max) },
};
const params = { ...a, target: a.addr, scene: o.scene, encoding: "colyseus-schema" };
const series = { kickLatency, jitter, tickJitter };
console.log(JSON.stringify(report({ params, windowStartMs: windowStart - t0, stats, series, server: serverFigures, load }), null, 2));
process.exit(live.connected > 0 ? 0 : 1);
