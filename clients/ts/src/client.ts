/**
 * `BallroomClient`: one room, driven by the caller's frame loop.
 *
 *     const client = new BallroomClient({ url: "wss://host/room", scene: "kickballs" });
 *     client.connect();
 *     // every frame:
 *     client.update(dt);
 *     for (const ball of client.balls()) draw(ball.id, ball.position, ball.rotation);
 *
 * No timers: pings, reconnection and smoothing all advance in `update`. Remote state is
 * rendered interpolated (see `interpolation.ts`); balls this client kicks are predicted
 * (see `prediction.ts`) and their corrections smoothed here.
 */
import { ClockSync } from "./clock.js";
import {
  OPEN,
  frameArray,
  frameBytes,
  globalSocket,
  roomUrl,
  type SocketLike,
} from "./connection.js";
import { adaptSocket, type HostSocket } from "./socket.js";
import { Emitter } from "./events.js";
import { AdaptiveDelay, SnapshotBuffer, type Sample } from "./interpolation.js";
import { add, length, mulQuat, normalizeQuat, scale, slerp, sub, v3 } from "./math.js";
import { ballisticPhysics } from "./physics/ballistic.js";
import { Prediction } from "./prediction.js";
import { SnapshotDecoder } from "./protocol/binary/decode.js";
import { DecodeError } from "./protocol/binary/errors.js";
import { readFrame } from "./protocol/binary/frame.js";
import { parseParams } from "./protocol/binary/params.js";
import { toSnapshot } from "./protocol/binary/quantized.js";
import {
  joinTeamCommand,
  messageCommand,
  kickCommand,
  pingCommand,
  playerCommand,
  quat,
  snapshotFromJson,
  stateCommand,
  vec3,
} from "./protocol/json.js";
import {
  parseServerMessage,
  type MatchState,
  asMatch,
  isGoal,
  type Scene,
  type ServerMessage,
  type WelcomeMessage,
} from "./protocol/messages.js";
import { Backoff, shouldRetry } from "./reconnect.js";
import { RateMeter, emptyStats, type ClientStats } from "./stats.js";
import { IDENTITY, type BallState, type PlayerState, type Quat, type Snapshot, type Team, type Vec3 } from "./types.js";
import type {
  ClientEvents,
  ClientOptions,
  ConnectionState,
  RenderedBall,
  RenderedPlayer,
} from "./api.js";


interface BallView {
  predicted: boolean;
  offset: Vec3;
  rotationOffset: Quat;
  base: Vec3;
  baseRotation: Quat;
}

function defaultNow(): () => number {
  const perf = (globalThis as { performance?: { now(): number } }).performance;
  if (perf && typeof perf.now === "function") return () => perf.now() / 1000;
  return () => Date.now() / 1000;
}

const conjugate = (q: Quat): Quat => ({ x: -q.x, y: -q.y, z: -q.z, w: q.w });

/** `next`, but never before `previous` unless more than a quarter second before it. */
const monotonic = (previous: number, next: number): number => (next < previous && next > previous - 0.25 ? previous : next);

export class BallroomClient extends Emitter<ClientEvents> {
  /** Figures for display, updated every frame. */
  readonly stats: ClientStats = emptyStats();
  /** This client's id, once welcomed. */
  id: number | null = null;
  /** The room's scene, once welcomed. */
  scene: Scene | null = null;
  /** The last welcome. */
  welcome: WelcomeMessage | null = null;

  /** In a room with rules: their state, as last heard (`welcome.rules_state`, then every `rules_state`). */
  rulesState: unknown = null;
  state: ConnectionState = "idle";

  private readonly options: ClientOptions;
  private readonly now: () => number;
  private readonly clock: ClockSync;
  private readonly delay: AdaptiveDelay;
  private readonly buffer: SnapshotBuffer;
  private readonly backoff: Backoff | null;
  private socket: SocketLike | null = null;
  private generation = 0;
  private decoder: SnapshotDecoder | null = null;
  /** The binary parameters `decoder` was made for, as JSON. */
  private decoderParams: string | null = null;
  private prediction: Prediction | null = null;
  private predictionScene: string | null = null;
  private resumeToken: string | undefined;
  private everWelcomed = false;
  private reconnectAt: number | null = null;
  private lastErrorCode: string | null = null;
  private lastFrameAt = 0;
  private nextPingAt = 0;
  private pingsSent = 0;
  private readonly pings = new Map<number, number>();
  private seq = 0;
  private renderTime = -Infinity;
  private predictedTime = -Infinity;
  private readonly views = new Map<number, BallView>();
  private rendered: RenderedBall[] = [];
  private renderedPlayers: RenderedPlayer[] = [];
  private sample: Sample | null = null;
  private readonly jsonPlayers = new Map<number, PlayerState>();
  private ownPose: { position: Vec3; rotation: Quat } | null = null;
  private readonly snapshotRate = new RateMeter();
  private readonly byteRate = new RateMeter();
  private decodeFailures = 0;
  private lastTick = -1;

  constructor(options: ClientOptions) {
    super();
    this.options = options;
    this.now = options.now ?? defaultNow();
    this.clock = new ClockSync(options.clock);
    this.delay = new AdaptiveDelay(0.05, options.interpolation);
    this.buffer = new SnapshotBuffer(options.interpolation?.maxExtrapolation ?? 0.25);
    this.backoff = options.reconnect === false ? null : new Backoff(options.reconnect ?? {});
    this.resumeToken = options.resume;
  }

  // ---- connection -------------------------------------------------------------------

  /** Open the connection (again, after `close`). */
  connect(): void {
    if (this.state === "connecting" || this.state === "open") return;
    this.open();
  }

  /** Close for good: no reconnection. */
  close(): void {
    this.state = "closed";
    this.reconnectAt = null;
    this.generation++;
    const s = this.socket;
    this.socket = null;
    if (s) s.close(1000, "client closed");
  }

  /** The resume token of the current session (changes with every welcome). */
  get resume(): string | undefined {
    return this.resumeToken;
  }

  private open(): void {
    const Ctor = this.options.WebSocket ?? globalSocket();
    if (!Ctor) throw new Error("no WebSocket constructor: pass options.WebSocket");
    const encoding = this.options.encoding ?? "binary";
    const url = roomUrl(this.options.url, {
      encoding,
      scene: this.options.scene,
      spectate: this.options.spectate,
      token: this.options.token,
      resume: this.resumeToken,
      query: this.options.query,
    });
    const generation = ++this.generation;
    this.state = "connecting";
    this.reconnectAt = null;
    this.lastErrorCode = null;
    this.decoder = null;
    this.pings.clear();
    this.pingsSent = 0;
    this.lastFrameAt = this.now();
    let socket: SocketLike;
    try {
      socket = adaptSocket(new Ctor(url, [encoding === "binary" ? "ballroom.v2" : "ballroom.v1"]) as HostSocket);
    } catch (e) {
      this.dropped(generation, 1006, String(e));
      return;
    }
    socket.binaryType = "arraybuffer";
    this.socket = socket;
    socket.onopen = () => {
      if (generation === this.generation) this.lastFrameAt = this.now();
    };
    socket.onmessage = (ev) => {
      if (generation === this.generation) this.receive(ev.data);
    };
    socket.onclose = (ev) => this.dropped(generation, ev.code, ev.reason);
    socket.onerror = () => {};
  }

  /** The connection of `generation` ended. */
  private dropped(generation: number, code: number, reason: string): void {
    if (generation !== this.generation || this.state === "closed") return;
    this.generation++;
    this.socket = null;
    const retry = this.backoff !== null && shouldRetry(code, reason, this.lastErrorCode);
    const wait = retry ? this.backoff!.next() : null;
    if (wait === null) {
      this.state = "closed";
      this.emit("disconnected", { code, reason, willReconnect: false });
      return;
    }
    this.state = "waiting";
    this.reconnectAt = this.now() + wait;
    this.emit("disconnected", { code, reason, willReconnect: true });
  }

  private sendText(text: string): boolean {
    const s = this.socket;
    if (!s || s.readyState !== OPEN) return false;
    s.send(text);
    return true;
  }

  // ---- receiving --------------------------------------------------------------------

  private receive(data: unknown): void {
    const now = this.now();
    this.lastFrameAt = now;
    this.byteRate.add(now, frameBytes(data));
    if (typeof data === "string") {
      const m = parseServerMessage(data, this.scene?.rules !== undefined);
      if (m) this.handle(m, now);
      else this.emit("relay", data);
      return;
    }
    const bytes = frameArray(data);
    if (!bytes) return;
    if (!this.decoder) {
      // JSON encoding: binary frames are other clients' frames, verbatim.
      this.emit("relay", bytes);
      return;
    }
    const frame = readFrame(bytes);
    if (frame.kind === "relayed") {
      this.emit("relay", frame.payload);
      return;
    }
    if (frame.kind === "invalid") return this.badFrame(bytes, frame.reason);
    let snapshot: Snapshot;
    try {
      snapshot = toSnapshot(this.decoder.params, this.decoder.decode(frame.bytes));
      this.decodeFailures = 0;
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      this.badFrame(bytes, e.message);
      // Only the server sends untagged frames, so a delta against a baseline we lack
      // means we lost it: after three in a row, a new connection (which starts with a
      // keyframe) sets it right. Relayed frames never get here.
      if (e.kind === "missing_baseline" || e.kind === "wrong_baseline") {
        if (++this.decodeFailures >= 3) this.socket?.close(4000, "lost the snapshot baseline");
      }
      return;
    }
    this.onSnapshot(snapshot, now);
  }

  /** A binary frame that is neither a snapshot we can decode nor a relayed frame. */
  private badFrame(bytes: Uint8Array, reason: string): void {
    this.stats.badFrames++;
    this.emit("badFrame", { bytes, reason });
  }

  private handle(m: ServerMessage, now: number): void {
    switch (m.type) {
      case "welcome":
        return this.onWelcome(m, now);
      case "snapshot":
        return this.onSnapshot(snapshotFromJson(m), now);
      case "pong": {
        const sent = typeof m.t === "number" ? this.pings.get(m.t) : undefined;
        if (sent !== undefined && this.welcome) {
          this.pings.delete(m.t as number);
          this.clock.addSample(sent, now, m.server_time, this.welcome.tick_rate);
        }
        return;
      }
      case "player": {
        const team = this.teamOf(m.client);
        const p: PlayerState = { client: m.client, position: vec3(m.position), rotation: quat(m.rotation), team };
        this.jsonPlayers.set(m.client, p);
        return this.emit("player", p);
      }
      case "joined":
        return this.emit("joined", { client: m.client });
      case "left":
        this.jsonPlayers.delete(m.client);
        return this.emit("left", { client: m.client });
      case "kick":
        return this.emit("kick", m);
      case "result":
        return this.emit("result", m);
      case "message":
        this.emit("message", { name: m.name, data: m.data });
        if (m.name === "goal" && isGoal(m.data)) this.emit("goal", m.data);
        return;
      case "rules_state": {
        this.rulesState = m.state;
        this.emit("rulesState", m.state);
        const match = asMatch(m.state);
        if (match) this.emit("match", match);
        return;
      }
      case "error":
        this.lastErrorCode = m.code;
        if (m.seq !== undefined) this.prediction?.refuse(m.seq);
        return this.emit("error", m);
    }
  }

  private onWelcome(w: WelcomeMessage, now: number): void {
    const previousId = this.id;
    const first = !this.everWelcomed;
    const sceneChanged = this.scene?.name !== w.scene.name;
    // A room that closed and opened again restarts its clock: forget the old timeline.
    if (sceneChanged || w.tick < this.lastTick) {
      this.buffer.clear();
      this.clock.reset();
      this.delay.reset();
      this.prediction?.reset();
      this.views.clear();
      this.renderTime = -Infinity;
      this.predictedTime = -Infinity;
      this.lastTick = -1;
    }
    this.welcome = w;
    this.everWelcomed = true;
    this.id = w.client;
    this.scene = w.scene;
    this.rulesState = w.rules_state ?? null;
    this.resumeToken = w.resume;
    this.state = "open";
    this.backoff?.succeeded();
    this.delay.setInterval(1 / Math.max(1e-3, w.snapshot_rate));
    // The server's writer takes each delta against the last snapshot it sent on this
    // connection, so a decoder keeps its baseline for as long as the connection lasts: a
    // second welcome on the same socket (a cluster node took the room over) keeps it.
    const binary = w.encoding === "binary" ? w.binary : undefined;
    const params = binary === undefined ? null : JSON.stringify(binary);
    if (binary === undefined) this.decoder = null;
    else if (!this.decoder || params !== this.decoderParams) this.decoder = new SnapshotDecoder(parseParams(binary));
    this.decoderParams = params;
    this.clock.seed(w.time - now);
    this.nextPingAt = now;
    const physics = this.options.physics === undefined ? ballisticPhysics : this.options.physics;
    if (physics && !w.spectator && w.scene.balls.length > 0 && this.predictionScene !== w.scene.name) {
      this.prediction?.model.dispose();
      this.prediction = new Prediction(physics(w.scene, w.tick_rate), w.tick_rate);
      this.predictionScene = w.scene.name;
    }
    this.stats.physics = this.prediction?.model.name ?? "none";
    this.stats.encoding = w.encoding;
    if (first) this.emit("connected", w);
    else {
      this.stats.reconnects++;
      this.emit("reconnected", { welcome: w, resumed: w.resumed, previousId });
    }
  }

  private onSnapshot(s: Snapshot, now: number): void {
    this.snapshotRate.add(now);
    if (this.clock.synced) this.delay.observe(this.clock.serverTime(now), s.time);
    this.lastTick = Math.max(this.lastTick, s.tick);
    this.buffer.push(s);
    const p = this.prediction;
    if (p) {
      // Where the predicted balls were about to be shown, before and after the restart.
      const before = p.active.size > 0 ? p.sample(this.predictedTime) : null;
      p.reconcile(s, this.id === null ? undefined : s.acks.get(this.id));
      const after = before ? p.sample(this.predictedTime) : null;
      if (before && after) {
        let largest = 0;
        for (const id of p.active) {
          const a = before.get(id);
          const b = after.get(id);
          const view = this.views.get(id);
          if (!a || !b || !view || !view.predicted) continue;
          const d = sub(a.position, b.position);
          largest = Math.max(largest, length(d));
          view.offset = add(view.offset, d);
          view.rotationOffset = normalizeQuat(mulQuat(view.rotationOffset, mulQuat(a.rotation, conjugate(b.rotation))));
        }
        this.stats.lastCorrection = largest;
      }
    }
    this.emit("snapshot", s);
  }

  /**
   * The football match (`football.js`'s state), or any rules state of its shape: `null`
   * elsewhere.
   */
  get match(): MatchState | null {
    return asMatch(this.rulesState);
  }

  /** A player's team, from a rules state that lists teams as football's does. */
  private teamOf(client: number): Team | null {
    const teams = this.match?.teams;
    if (!teams) return null;
    return teams.blue.includes(client) ? "blue" : teams.red.includes(client) ? "red" : null;
  }

  // ---- commands ---------------------------------------------------------------------

  /**
   * Kick ball `ball` with `impulse` (N·s), optionally at a world `point`. The ball moves
   * at once (predicted) unless this client only watches; returns the kick's `seq`. The
   * kick carries the room time this client last showed the ball at (`seen_at`), so the
   * server judges reach where the player saw the ball, and, when the kick is predicted, the
   * tick the prediction applies it on (`tick`, the predicted present's next), which the
   * server waits for.
   */
  kick(ball: number, impulse: Vec3, point?: Vec3): number {
    const seq = ++this.seq;
    const shown = this.rendered.find((b) => b.id === ball)?.time;
    // Only a predicted kick names its tick: without prediction, waiting for the predicted
    // present would only delay it.
    const p = this.prediction;
    const w = this.welcome;
    const predicted = p && w && !w.spectator && this.buffer.size > 0 && this.clock.synced ? p : null;
    const present = predicted && w ? Math.floor(this.predictedTimeNow() * w.tick_rate) : undefined;
    const tick = predicted && present !== undefined ? predicted.kickTick(present) : undefined;
    if (!this.sendText(kickCommand(ball, impulse, seq, point, shown, tick))) return seq;
    if (predicted && w && present !== undefined && tick !== undefined) {
      predicted.kick({ seq, ball, impulse, point, tick, expires: tick + 2 * Math.ceil(w.tick_rate) }, present);
    }
    return seq;
  }

  /** Report this client's avatar pose (feet position). */
  sendPose(position: Vec3, rotation?: Quat): void {
    this.ownPose = { position, rotation: rotation ?? IDENTITY };
    this.sendText(playerCommand(position, rotation));
  }

  /** Join a team in a match scene (`null`: leave both). */
  joinTeam(team: Team | null): void {
    this.sendText(joinTeamCommand(team));
  }

  /** Ask for the current snapshot. */
  /**
   * Send a message to the room's rules (`onMessage(room, client, name, data)`, see the
   * server's `docs/RULES.md`). `name`: 1 to 32 ASCII letters, digits, `_`, `-`, `.` or `:`
   * (anything else throws a `RangeError`); `data`: any JSON. Dropped while not connected.
   */
  send(name: string, data: unknown = null): void {
    this.sendText(messageCommand(name, data));
  }

  requestState(): void {
    this.sendText(stateCommand());
  }

  /** Relay a frame of the scene's own to everyone in the room. */
  relay(text: string): void {
    this.sendText(text);
  }

  // ---- time ---------------------------------------------------------------------------

  /** The room clock now, as estimated on this client. */
  serverTime(): number {
    return this.clock.serverTime(this.now());
  }

  private predictedTimeNow(): number {
    return monotonic(this.predictedTime, this.clock.serverTime(this.now()) + this.clock.lead);
  }

  /** The match clock now (counted down locally between match states), or `null`. */
  matchSecondsLeft(): number | null {
    const m = this.match;
    if (!m || !this.welcome) return null;
    if (m.phase !== "playing") return m.secondsLeft;
    const elapsed = this.clock.serverTime(this.now()) - m.tick / this.welcome.tick_rate;
    return Math.max(0, m.secondsLeft - Math.max(0, elapsed));
  }

  // ---- the frame ----------------------------------------------------------------------

  /** Advance the client by one frame of `dt` seconds: call it from the frame loop. */
  update(dt: number): void {
    const now = this.now();
    this.maintainConnection(now);
    this.clock.update(dt);
    const delay = this.delay.update(dt);
    const serverNow = this.clock.serverTime(now);
    if (this.clock.synced) {
      // Both timelines only move forward, unless the clock estimate jumped far back.
      this.renderTime = monotonic(this.renderTime, serverNow - delay);
      this.predictedTime = monotonic(this.predictedTime, serverNow + this.clock.lead);
    }
    this.sample = this.clock.synced ? this.buffer.sample(this.renderTime) : null;
    this.renderFrame(dt);
    const st = this.stats;
    st.frames++;
    st.rttMs = this.clock.rtt * 1000;
    st.clockOffsetMs = this.clock.offset * 1000;
    st.interpolationDelayMs = delay * 1000;
    st.snapshotsPerSecond = this.snapshotRate.rate(now);
    st.bytesPerSecond = this.byteRate.rate(now);
    st.extrapolationMs = (this.sample?.extrapolatedBy ?? 0) * 1000;
    st.extrapolating = st.extrapolationMs > 0 && this.rendered.some((b) => b.extrapolated);
    if (st.extrapolating) st.extrapolatedFrames++;
    st.predictedBalls = this.prediction?.active.size ?? 0;
    st.pendingKicks = this.prediction?.pending.length ?? 0;
  }

  private maintainConnection(now: number): void {
    if (this.state === "waiting" && this.reconnectAt !== null && now >= this.reconnectAt) {
      this.open();
      return;
    }
    if (this.state !== "open" && this.state !== "connecting") return;
    if (now - this.lastFrameAt > (this.options.silenceTimeout ?? 8)) {
      const generation = this.generation;
      this.socket?.close(4000, "silent");
      this.dropped(generation, 1006, "no frame received in time");
      return;
    }
    if (this.state === "open" && now >= this.nextPingAt) {
      const id = ++this.pingsSent;
      if (this.sendText(pingCommand(id))) this.pings.set(id, now);
      this.nextPingAt = now + (this.pingsSent < 6 ? 0.1 : (this.options.pingInterval ?? 1));
      if (this.pings.size > 32) this.pings.delete(this.pings.keys().next().value as number);
    }
  }

  private renderFrame(dt: number): void {
    const sample = this.sample;
    if (!sample) {
      this.rendered = [];
      this.renderedPlayers = [];
      return;
    }
    const p = this.prediction;
    const predicted = p && p.active.size > 0 ? p.sample(this.predictedTime) : null;
    const newest = this.buffer.newest;
    const smoothing = this.options.smoothing ?? {};
    const tau = smoothing.timeConstant ?? 0.1;
    const maxStep = smoothing.maxStep ?? 0.04;
    const snapAt = smoothing.snapDistance ?? 3;
    const decay = 1 - Math.exp(-Math.max(0, dt) / tau);
    let frameCorrection = 0;
    const out: RenderedBall[] = [];
    for (const [id, interp] of sample.balls) {
      let view = this.views.get(id);
      const pred = predicted?.get(id);
      const isPredicted = pred !== undefined && p!.active.has(id);
      const base = isPredicted ? pred.position : interp.position;
      const baseRotation = isPredicted ? pred.rotation : interp.rotation;
      if (!view) {
        view = { predicted: isPredicted, offset: v3(), rotationOffset: IDENTITY, base, baseRotation };
        this.views.set(id, view);
      } else if (view.predicted !== isPredicted) {
        // Switching timelines: keep the ball where it was shown and let the difference decay.
        const shownBefore = add(isPredicted ? interp.position : view.base, view.offset);
        view.offset = sub(shownBefore, base);
        view.predicted = isPredicted;
      }
      // Decay the correction: exponentially, at most `maxStep` a frame, at once past `snapAt`.
      const size = length(view.offset);
      let step = 0;
      if (size > snapAt) {
        step = size;
        view.offset = v3();
        view.rotationOffset = IDENTITY;
        this.stats.snaps++;
      } else if (size > 0) {
        step = Math.min(size * decay, maxStep);
        view.offset = size - step < 1e-5 ? v3() : scale(view.offset, (size - step) / size);
        if (size - step < 1e-5) step = size;
      }
      view.rotationOffset = slerp(view.rotationOffset, IDENTITY, decay);
      frameCorrection = Math.max(frameCorrection, step);
      view.base = base;
      view.baseRotation = baseRotation;
      out.push({
        id,
        position: add(base, view.offset),
        rotation: normalizeQuat(mulQuat(view.rotationOffset, baseRotation)),
        predicted: isPredicted,
        extrapolated: !isPredicted && interp.extrapolated,
        sleeping: isPredicted ? pred.sleeping : interp.state.sleeping,
        time: isPredicted ? this.predictedTime : this.renderTime,
        correction: step,
      });
      // Hand a predicted ball back to interpolation once both timelines show it at rest.
      if (isPredicted && p && !p.hasPending(id) && newest && this.renderTime >= newest.time) {
        const latest = newest.balls.get(id);
        if (latest?.sleeping) p.release(id);
      }
    }
    out.sort((a, b) => a.id - b.id);
    this.rendered = out;
    this.stats.frameCorrection = frameCorrection;
    this.renderedPlayers = this.playersNow(sample);
  }

  private playersNow(sample: Sample): RenderedPlayer[] {
    const out: RenderedPlayer[] = [];
    if (sample.players) {
      for (const [client, pose] of sample.players) {
        out.push({ client, position: pose.position, rotation: pose.rotation, team: pose.state.team, self: client === this.id });
      }
    } else {
      for (const pl of this.jsonPlayers.values()) {
        out.push({ client: pl.client, position: pl.position, rotation: pl.rotation, team: this.teamOf(pl.client), self: false });
      }
      if (this.ownPose && this.id !== null) {
        out.push({ client: this.id, ...this.ownPose, team: this.teamOf(this.id), self: true });
      }
    }
    return out.sort((a, b) => a.client - b.client);
  }

  /** The balls as this frame shows them (after `update`). */
  balls(): readonly RenderedBall[] {
    return this.rendered;
  }

  /** The players as this frame shows them (after `update`). */
  players(): readonly RenderedPlayer[] {
    return this.renderedPlayers;
  }

  /** The newest authoritative state of a ball (not smoothed, not interpolated). */
  latestBall(id: number): BallState | undefined {
    return this.buffer.newest?.balls.get(id);
  }
}
