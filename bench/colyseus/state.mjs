// The room state Colyseus replicates: what ballroom puts in a snapshot (tick, balls with
// position, rotation, linear and angular velocity and whether they sleep; every player's
// pose; every player's last applied kick seq, ballroom's `acks`).
import { schema, t } from "@colyseus/schema";

export const BallState = schema({
  id: t.uint8(),
  px: t.float32(), py: t.float32(), pz: t.float32(),
  qx: t.float32(), qy: t.float32(), qz: t.float32(), qw: t.float32(),
  vx: t.float32(), vy: t.float32(), vz: t.float32(),
  wx: t.float32(), wy: t.float32(), wz: t.float32(),
  sleeping: t.boolean(),
}, "BallState");

export const PlayerState = schema({
  // Feet position and rotation [x, y, z, w], as the client reported them.
  px: t.float32(), py: t.float32(), pz: t.float32(),
  qx: t.float32(), qy: t.float32(), qz: t.float32(), qw: t.float32(),
  // The seq of this player's last applied kick (ballroom's acks[client]); 0: none yet.
  ack: t.uint32(),
}, "PlayerState");

export const KickballsState = schema({
  // Room tick of the last simulated step copied into the state.
  tick: t.uint32(),
  balls: t.array(BallState),
  // By session id.
  players: t.map(PlayerState),
}, "KickballsState");
