/** Clients for the tests: `ws` as the WebSocket, the monotonic clock, no surprises. */
import WebSocket from "ws";
import type { ClientOptions } from "../../src/api.js";
import { BallroomClient } from "../../src/client.js";
import type { SocketConstructor } from "../../src/connection.js";
import { now } from "./frames.js";

export const NodeWebSocket = WebSocket as unknown as SocketConstructor;

export function makeClient(options: ClientOptions): BallroomClient {
  return new BallroomClient({ WebSocket: NodeWebSocket, now, ...options });
}

let rooms = 0;
/** A room name no other test uses. */
export function freshRoom(tag: string): string {
  return `/ts-${tag}-${process.pid}-${++rooms}`;
}
