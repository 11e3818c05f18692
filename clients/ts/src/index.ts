/**
 * ballroom-client: the TypeScript client of ballroom. No runtime dependencies; runs in
 * Node ≥ 20 (pass a WebSocket constructor), browsers and Decentraland SDK7 scenes.
 */
export { BallroomClient } from "./client.js";
export type {
  ClientEvents,
  ClientOptions,
  ConnectionState,
  RenderedBall,
  RenderedPlayer,
  SmoothingOptions,
} from "./api.js";
export type { ClientStats } from "./stats.js";
export type { ClockOptions } from "./clock.js";
export type { InterpolationOptions } from "./interpolation.js";
export type { ReconnectOptions } from "./reconnect.js";
export type { SocketConstructor, SocketLike } from "./connection.js";
export { adaptSocket, type HostSocket } from "./socket.js";
export type { BallState, PlayerState, Quat, Snapshot, Team, Vec3 } from "./types.js";
export type * from "./protocol/messages.js";
export type { PhysicsFactory, PhysicsModel } from "./physics/model.js";
export { ballisticPhysics } from "./physics/ballistic.js";
export { rapierPhysics } from "./physics/rapier.js";
export { ClockSync } from "./clock.js";
export { AdaptiveDelay, SnapshotBuffer } from "./interpolation.js";
export { Prediction } from "./prediction.js";
export { Backoff } from "./reconnect.js";
export { SnapshotDecoder, decode, header } from "./protocol/binary/decode.js";
export { DecodeError } from "./protocol/binary/errors.js";
export { RELAYED, readFrame, type Frame } from "./protocol/binary/frame.js";
export { parseParams, type Params } from "./protocol/binary/params.js";
export { toSnapshot, type QuantizedSnapshot } from "./protocol/binary/quantized.js";
export { animate } from "./browser.js";
export { asMatch, isGoal } from "./protocol/messages.js";
