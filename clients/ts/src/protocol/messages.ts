/** The server's JSON messages (docs/PROTOCOL.md, "Server messages"), as the client types them. */
import type { Team } from "../types.js";

export type Vec3Array = [number, number, number];
export type QuatArray = [number, number, number, number];

export type Shape =
  | { type: "cuboid"; half_extents: Vec3Array }
  | { type: "ball"; radius: number }
  | { type: "capsule"; half_height: number; radius: number }
  | { type: "cylinder"; half_height: number; radius: number };

export interface SceneStatic {
  name?: string;
  shape: Shape;
  position: Vec3Array;
  rotation: QuatArray;
  sensor: boolean;
  friction: number;
  restitution: number;
}

/** A dynamic body's collider (`balls[].shape`), in the body's frame. */
export type BodyShape =
  | Shape
  /** The convex hull of the mesh of node `node` in the model at `url` (the node's own frame). */
  | { type: "convex_hull"; file: string; node: string; url?: string };

/** A model of the scene (`scene.models[]`): drawn by clients from `url`, with this placement. */
export interface SceneModel {
  file: string;
  position: Vec3Array;
  rotation: QuatArray;
  scale: Vec3Array;
  friction?: number;
  restitution?: number;
  /** Where to fetch the file: a path on the server, under the page's prefix if it has one. */
  url?: string;
  /** Lower and upper corners of the box around the model's colliders. */
  bounds?: [Vec3Array, Vec3Array];
  /** The names of the model's sensors (`_sensor` nodes without the suffix). */
  sensors?: string[];
}

export interface SceneBall {
  id: number;
  /** With a `shape`, its bounding radius. */
  radius: number;
  /** Every server of this version sends it; absent means a ball of `radius`. */
  shape?: BodyShape;
  mass: number;
  position: Vec3Array;
  linear_damping: number;
  angular_damping: number;
  friction: number;
  restitution: number;
}

/** The room's scene as `welcome.scene` carries it, every default filled in. */
export interface Scene {
  name: string;
  description: string;
  gravity: Vec3Array;
  max_impulse: number;
  solver_iterations: number;
  respawn_below: number;
  player: { radius: number; height: number };
  kick_rules: { reach: number; require_position: boolean; rate: number; burst: number; max_player_speed: number };
  /** The room's rules file (`rules/NAME.js`), in a scene with rules (`docs/RULES.md`). */
  rules?: string;
  /** What the rules read as `room.options` (football: its settings and `goals`). */
  rules_options?: Record<string, unknown>;
  statics: SceneStatic[];
  /** glTF models whose marked nodes are colliders; absent in scenes without models. */
  models?: SceneModel[];
  balls: SceneBall[];
}

export type Phase = "waiting" | "countdown" | "playing" | "paused" | "ended";

/**
 * The built-in football match: the state its rules (`football.js`) publish (`rules_state`),
 * as far as clients need it (the rest are the rules' own timers).
 */
export interface MatchState {
  phase: Phase;
  /** `"3"`, `"2"`, `"1"` during the countdown, `"go"` as play starts, else `null`. */
  countdown: string | null;
  /** The match clock as of `tick` (it runs while `playing`). */
  secondsLeft: number;
  score: { blue: number; red: number };
  teams: { blue: number[]; red: number[] };
  kickoff: Team | null;
  minPlayersPerTeam: number;
  tick: number;
}

/** A football goal: the data of the rules' `message` named `goal`. */
export interface Goal {
  team: Team;
  scorer: number | null;
  ball: number;
  score: { blue: number; red: number };
  tick: number;
}

/** Whether `data` is a football goal (a `team` and a `score`). */
export function isGoal(data: unknown): data is Goal {
  if (typeof data !== "object" || data === null) return false;
  const g = data as Partial<Goal>;
  return (g.team === "blue" || g.team === "red") && typeof g.score === "object" && g.score !== null;
}

/** `state` as the football match, if it is one (a `phase` and both teams' lists). */
export function asMatch(state: unknown): MatchState | null {
  if (typeof state !== "object" || state === null) return null;
  const s = state as Partial<MatchState>;
  const teams = s.teams;
  const listed = teams !== undefined && Array.isArray(teams.blue) && Array.isArray(teams.red);
  return typeof s.phase === "string" && listed ? (s as MatchState) : null;
}

export interface WelcomeMessage {
  type: "welcome";
  client: number;
  player?: string;
  room: string;
  tick: number;
  time: number;
  tick_rate: number;
  snapshot_rate: number;
  echo: boolean;
  clients: number[];
  resume: string;
  resumed: boolean;
  spectator: boolean;
  encoding: "json" | "binary";
  binary?: unknown;
  scene: Scene;
  /** In a room with rules: their state now (`null` until they set one). */
  rules_state?: unknown;
}

export interface JsonBall {
  id: number;
  p: Vec3Array;
  q: QuatArray;
  v: Vec3Array;
  w: Vec3Array;
  sleeping: boolean;
}

export interface SnapshotMessage {
  type: "snapshot";
  tick: number;
  time: number;
  balls: JsonBall[];
  acks: Record<string, number>;
}

export interface KickMessage {
  type: "kick";
  client: number;
  ball: number;
  impulse: Vec3Array;
  point?: Vec3Array;
  tick: number;
  seq?: number;
}

export interface PlayerMessage {
  type: "player";
  client: number;
  position: Vec3Array;
  rotation: QuatArray;
}

export interface PongMessage {
  type: "pong";
  t: unknown;
  tick: number;
  server_time: number;
}

export interface ErrorMessage {
  type: "error";
  code: string;
  message: string;
  seq?: number;
}

/** In a room with rules: a message of the rules (`room.send` / `room.broadcast`). */
export interface RulesMessage {
  type: "message";
  name: string;
  data: unknown;
}

/** In a room with rules: their new state (`room.setState`). */
export interface RulesStateMessage {
  type: "rules_state";
  state: unknown;
  tick: number;
}

/** In a room with rules: they ended a match (`room.end(result)`). */
export interface RulesResultMessage {
  type: "result";
  result: unknown;
  tick: number;
}

export type ServerMessage =
  | WelcomeMessage
  | SnapshotMessage
  | KickMessage
  | PlayerMessage
  | PongMessage
  | ErrorMessage
  | RulesResultMessage
  | RulesMessage
  | RulesStateMessage
  | { type: "joined"; client: number }
  | { type: "left"; client: number };

const SERVER_TYPES = new Set([
  "welcome",
  "snapshot",
  "kick",
  "player",
  "joined",
  "left",
  "pong",
  "error",
  "match",
  "goal",
  "result",
]);

/** In a room whose scene has rules, `message` and `rules_state` are the server's too. */
const RULES_SERVER_TYPES = new Set([...SERVER_TYPES, "message", "rules_state"]);

/**
 * Parse a text frame. Returns `null` for anything that is not a server message (frames
 * other clients relayed into the room: the caller hands those to `relay` listeners). In a
 * room with `rules`, `message` and `rules_state` are server messages; elsewhere they are a
 * broadcast scene's own frames.
 */
export function parseServerMessage(text: string, rules = false): ServerMessage | null {
  if (!text.trimStart().startsWith("{")) return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null) return null;
  const type = (value as { type?: unknown }).type;
  if (typeof type !== "string" || !(rules ? RULES_SERVER_TYPES : SERVER_TYPES).has(type)) return null;
  return value as ServerMessage;
}
