// TypeScript declarations of ballroom's rules API (docs/RULES.md). Write rules in TS
// against these and compile them to one ES module without imports:
//
//   import type { Rules } from "./ballroom-rules";
//   export const tickRate = 10;
//   export default { onKick(room, kick) { ... } } satisfies Rules;
//
// (A type-only import is erased by the compiler; the compiled module must import nothing.)

/** A JSON value: all that crosses between the room and the rules. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export type Team = "blue" | "red";

/** `[x, y, z]`, metres (positions), m/s (velocities) or N·s (impulses). */
export type Vec3 = [number, number, number];

export interface Client {
  id: number;
  /** `null`: on no team. */
  team: Team | null;
  /** Joined to watch: it may not play. */
  spectator: boolean;
  /** Last reported feet position, if any. */
  position: Vec3 | null;
}

export interface Ball {
  id: number;
  position: Vec3;
  velocity: Vec3;
  sleeping: boolean;
}

/** A kick the room is about to accept. */
export interface Kick {
  client: number;
  ball: number;
  impulse: Vec3;
  /** Where on the ball, if the client said. */
  point: Vec3 | null;
}

/** A ball entered (or left) a sensor of the scene, by the sensor's name. */
export interface SensorEvent {
  sensor: string;
  ball: number;
  entered: boolean;
}

/**
 * The room, as of the hook call. Actions (`resetBall` ... `end`) are collected and take
 * effect, in order, when the hook returns; a hook that fails has none. A bad argument
 * throws a `TypeError` or `RangeError` at the call.
 */
export interface Room {
  /** The room's tick. */
  readonly tick: number;
  /** Room time in seconds (`Date.now()` is this in milliseconds). */
  readonly time: number;
  /**
   * The last value given to `setState` (as JSON, a copy), or `null`; after a restart, the
   * saved one. Changing it in place saves nothing: call `setState`.
   */
  readonly state: any;
  /** The scene's `rules_options` (frozen), or `{}`: the rules' settings for this scene. */
  readonly options: { readonly [key: string]: any };
  clients(): Client[];
  balls(): Ball[];
  /** Put a ball back at `position`, or at its spawn point, at rest. */
  resetBall(id: number, position?: Vec3 | null): void;
  applyImpulse(id: number, impulse: Vec3): void;
  /** Put a client on a team, or on none. */
  setTeam(clientId: number, team: Team | null): void;
  /**
   * Send one client a message. `name`: 1 to 32 of `A-Z a-z 0-9 _ - . :`; `data`: at most
   * 16 KiB of JSON.
   */
  send(clientId: number, name: string, data?: Json): void;
  /** Send every client a message (same limits as `send`). */
  broadcast(name: string, data?: Json): void;
  /** Publish the rules' state and save it with the room (at most 64 KiB of JSON). */
  setState(state: Json): void;
  /** A match is over with this result (at most 16 KiB of JSON); the room goes on. */
  end(result: Json): void;
}

/**
 * What `onKick` returns: nothing or `true` accepts; `false` or `{refuse}` refuses (the
 * reason, 1 to 128 characters, is told to the kicker); `{impulse}` accepts with that
 * impulse instead.
 */
export type KickVerdict = void | undefined | boolean | { refuse: string } | { impulse: Vec3 };

/** The default export: every hook optional, no other keys. Hooks must not be async. */
export interface Rules {
  onStart?(room: Room): void;
  onJoin?(room: Room, client: Client): void;
  onLeave?(room: Room, client: Client): void;
  onKick?(room: Room, kick: Kick): KickVerdict;
  onMessage?(room: Room, client: Client, name: string, data: Json): void;
  onSensor?(room: Room, event: SensorEvent): void;
  /** Called `tickRate` times a second (at most the room's tick rate). */
  onTick?(room: Room): void;
}

/**
 * The module's optional named export `tickRate`: how often `onTick` runs, per second
 * (0 < rate <= 1000; the room runs it at most at its own tick rate). Without it, never.
 */
export type TickRate = number;
