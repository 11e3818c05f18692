/**
 * The client's public types: its options, what `balls()` and `players()` return, and its
 * events. `client.ts` is the behaviour; this file is the contract.
 */
import type { ClockOptions } from "./clock.js";
import type { SocketConstructor } from "./connection.js";
import type { InterpolationOptions } from "./interpolation.js";
import type { PhysicsFactory } from "./physics/model.js";
import type {
  ErrorMessage,
  Goal,
  KickMessage,
  MatchState,
  RulesResultMessage,
  WelcomeMessage,
} from "./protocol/messages.js";
import type { ReconnectOptions } from "./reconnect.js";
import type { PlayerState, Quat, Snapshot, Team, Vec3 } from "./types.js";

export interface SmoothingOptions {
  /** Time constant of the exponential decay of a correction, seconds (default 0.1). */
  timeConstant?: number;
  /** Largest correction shown in one frame, metres (default 0.04). */
  maxStep?: number;
  /** A correction larger than this (a respawn, a teleport) is shown at once, metres (default 3). */
  snapDistance?: number;
}

export interface ClientOptions {
  /** `ws://` or `wss://` URL of the room: `wss://host/broadcast/myrealm`. */
  url: string;
  /** Snapshot encoding (default `"binary"`). */
  encoding?: "json" | "binary";
  /** The scene to create the room with (`?scene=`). */
  scene?: string;
  /** Watch only (`?spectate=1`). */
  spectate?: boolean;
  /** A handshake token for servers run with `--auth-secret` (`?token=`). */
  token?: string;
  /** A `welcome.resume` token from an earlier connection, to resume that session. */
  resume?: string;
  /** More query parameters. */
  query?: Record<string, string>;
  /** The WebSocket constructor (default: the global one; in Node 20 pass `ws`'s). */
  WebSocket?: SocketConstructor;
  /** The client's clock in seconds (default `performance.now() / 1000`, else `Date.now() / 1000`). */
  now?: () => number;
  /** Physics for predicting this client's kicks (default: the ballistic model; `null`: no prediction). */
  physics?: PhysicsFactory | null;
  interpolation?: InterpolationOptions;
  clock?: ClockOptions;
  /** Reconnection (default on); `false` to stay closed after a drop. */
  reconnect?: ReconnectOptions | false;
  smoothing?: SmoothingOptions;
  /** Seconds between pings once synced (default 1). */
  pingInterval?: number;
  /** A connection silent this long (seconds) is taken for dead and replaced (default 8). */
  silenceTimeout?: number;
}

/** A ball as the frame should show it. */
export interface RenderedBall {
  id: number;
  position: Vec3;
  rotation: Quat;
  /** Shown from this client's prediction (it kicked it), not from interpolation. */
  predicted: boolean;
  /** Extrapolated past the newest snapshot (a snapshot is late). */
  extrapolated: boolean;
  sleeping: boolean;
  /** The room time this rendering stands for, seconds. */
  time: number;
  /** The correction (smoothing) applied to it in this frame, metres. */
  correction: number;
}

export interface RenderedPlayer {
  client: number;
  position: Vec3;
  rotation: Quat;
  team: Team | null;
  /** This client's own avatar (as the server last accepted it). */
  self: boolean;
}

export interface ClientEvents {
  /** The first welcome: the room, its scene, this client's id. */
  connected: WelcomeMessage;
  /** A new connection after a drop: resumed (same id, team, acks) or, if it had expired, a fresh session. */
  reconnected: { welcome: WelcomeMessage; resumed: boolean; previousId: number | null };
  /** The connection ended; `willReconnect` says whether the client will try again. */
  disconnected: { code: number; reason: string; willReconnect: boolean };
  joined: { client: number };
  left: { client: number };
  kick: KickMessage;
  /** In football (or any rules whose state has its shape): the match's new state. */
  match: MatchState;
  /** In football: a goal (the rules' message `goal`). */
  goal: Goal;
  /** The room's rules ended a match (`room.end(result)`). */
  result: RulesResultMessage;
  /** In a room with rules: a message of theirs (`room.send`, `room.broadcast`). */
  message: { name: string; data: unknown };
  /** In a room with rules: their new state (also in `client.rulesState`). */
  rulesState: unknown;
  error: ErrorMessage;
  snapshot: Snapshot;
  player: PlayerState;
  /** A frame another client relayed into the room (not a server message), as it sent it. */
  relay: string | Uint8Array;
  /** A binary frame that is neither a snapshot that decodes nor a relayed frame (counted in `stats.badFrames`). */
  badFrame: { bytes: Uint8Array; reason: string };
  /** A listener threw. */
  listenerError: unknown;
}

export type ConnectionState = "idle" | "connecting" | "open" | "waiting" | "closed";
