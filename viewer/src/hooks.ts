/**
 * `window.__ballroom`: what the page shows, for the browser tests (and for anyone curious
 * in the console). Read-only views of state the page already has; nothing here changes it.
 */
import type { ClientStats } from "../../clients/ts/src/stats.js";
import type { MatchState } from "../../clients/ts/src/protocol/messages.js";
import type { Vec3 } from "../../clients/ts/src/types.js";
import type { Window as MetricsWindow, Scrape } from "./metrics.js";
import type { RoomRow } from "./rooms.js";

export interface BallroomHooks {
  view: "rooms" | "room";
  webgl: boolean;
  /** The rows the room list shows (list view). */
  rooms(): readonly RoomRow[];
  /** The room shown (room view). */
  room: string | null;
  mode(): "watch" | "play" | null;
  clientId(): number | null;
  connection(): string | null;
  /** The balls as the last frame drew them: interpolated (or predicted), with the room time they stand for. */
  balls(): { id: number; position: Vec3; time: number; predicted: boolean }[];
  /** The players as the last frame drew them (others interpolated; this client's own as last accepted). */
  players(): { client: number; position: Vec3; team: string | null; self: boolean }[];
  stats(): ClientStats | null;
  match(): MatchState | null;
  /** The avatar's feet while playing. */
  player(): Vec3 | null;
  lastKick(): { seq: number; ball: number; impulse: Vec3 } | null;
  screenPositionOfBall(id: number): { x: number; y: number } | null;
  /** Any world point in viewport CSS pixels (null: no 3D view, or behind the camera). */
  project(p: Vec3): { x: number; y: number } | null;
  reachShortfall(id: number): number | null;
  operator(): { scrape: Scrape | null; window: MetricsWindow | null };
  /** The scene's models: how many were drawn and why any were not (null: none yet, or none). */
  models(): { drawn: number; failed: string[] } | null;
}

declare global {
  interface Window {
    __ballroom?: BallroomHooks;
  }
}

export function expose(hooks: BallroomHooks): void {
  window.__ballroom = hooks;
}
