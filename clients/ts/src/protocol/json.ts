/** JSON v1: snapshots to the client's shapes, and the commands the client sends. */
import type { BallState, Quat, Snapshot, Team, Vec3 } from "../types.js";
import type { JsonBall, QuatArray, SnapshotMessage, Vec3Array } from "./messages.js";

export const vec3 = (a: Vec3Array): Vec3 => ({ x: a[0], y: a[1], z: a[2] });
export const quat = (a: QuatArray): Quat => ({ x: a[0], y: a[1], z: a[2], w: a[3] });
export const toArray3 = (v: Vec3): Vec3Array => [v.x, v.y, v.z];
export const toArray4 = (q: Quat): QuatArray => [q.x, q.y, q.z, q.w];

function ball(b: JsonBall): BallState {
  return { id: b.id, position: vec3(b.p), rotation: quat(b.q), linvel: vec3(b.v), angvel: vec3(b.w), sleeping: b.sleeping };
}

/** A JSON snapshot; JSON snapshots carry no players (`player` messages do). */
export function snapshotFromJson(m: SnapshotMessage): Snapshot {
  const acks = new Map<number, number>();
  for (const [client, seq] of Object.entries(m.acks ?? {})) acks.set(Number(client), seq);
  return { tick: m.tick, time: m.time, balls: m.balls.map(ball), players: null, acks };
}

/**
 * A `kick`; `seenAt` is the room time (s) at which this client showed the ball, so the
 * server judges reach where the player saw it; `tick` is the tick this client's
 * prediction applies it on, which the server waits for (docs/PROTOCOL.md, `kick`).
 */
export function kickCommand(ball: number, impulse: Vec3, seq: number, point?: Vec3, seenAt?: number, tick?: number): string {
  const cmd: Record<string, unknown> = { type: "kick", ball, impulse: toArray3(impulse), seq };
  if (point) cmd.point = toArray3(point);
  if (seenAt !== undefined && Number.isFinite(seenAt)) cmd.seen_at = seenAt;
  if (tick !== undefined && Number.isSafeInteger(tick) && tick >= 0) cmd.tick = tick;
  return JSON.stringify(cmd);
}

export function playerCommand(position: Vec3, rotation?: Quat): string {
  const cmd: Record<string, unknown> = { type: "player", position: toArray3(position) };
  if (rotation) cmd.rotation = toArray4(rotation);
  return JSON.stringify(cmd);
}

export const pingCommand = (t: number): string => JSON.stringify({ type: "ping", t });
export const stateCommand = (): string => JSON.stringify({ type: "state" });
export const joinTeamCommand = (team: Team | null): string => JSON.stringify({ type: "join_team", team });

/** What names a rules message, either way: 1 to 32 ASCII letters, digits, `_`, `-`, `.` or `:`. */
export const MESSAGE_NAME = /^[A-Za-z0-9_.:-]{1,32}$/;

/** A message for the room's rules (`docs/PROTOCOL.md`, `message`); `data` must be JSON. */
export function messageCommand(name: string, data: unknown = null): string {
  if (!MESSAGE_NAME.test(name)) throw new RangeError(`message name must match ${MESSAGE_NAME}: ${JSON.stringify(name)}`);
  return JSON.stringify({ type: "message", name, data: data === undefined ? null : data });
}
