// The Colyseus room: one Simulation per room, stepped by Colyseus' own fixed-timestep loop
// (setFixedTimestep: an accumulator that runs at most 5 catch-up steps and then drops the
// backlog, like ballroom's TickClock with --max-catch-up 5), patches at the snapshot rate.
//
// Messages: `kick` {ball, impulse: [x, y, z], point?, seq?} and `pose` {position: [x, y, z],
// rotation?: [x, y, z, w]}. A refused one is answered with `error` {code, message, seq}
// (ballroom's error codes). Every applied kick is announced to the room as `kick`, as
// ballroom announces it; poses travel in the state (ballroom also sends `player` messages).
import { Room } from "@colyseus/core";
import { BallState, KickballsState, PlayerState } from "./state.mjs";
import { Simulation } from "./simulation.mjs";

const IDENTITY = [0, 0, 0, 1];

/** A room class for `scene`, simulated with rapier module `R`. */
export function kickballsRoom({ R, scene, tickRate, snapshotRate }) {
  return class KickballsRoom extends Room {
    onCreate() {
      this.sim = new Simulation(R, scene, tickRate);
      this.state = new KickballsState();
      for (const b of this.sim.balls) this.state.balls.push(new BallState({ id: b.id }));
      this.copyBalls();
      this.stepped = false; // since the last patch
      this.onMessage("kick", (client, m) => this.onKick(client, m));
      this.onMessage("pose", (client, m) => this.onPose(client, m));
      this.setFixedTimestep(() => this.onTick(), tickRate);
      this.patchRate = 1000 / snapshotRate;
    }

    player(id) {
      let p = this.state.players.get(id);
      if (!p) {
        p = new PlayerState({ ack: 0 });
        this.state.players.set(id, p);
      }
      return p;
    }

    onKick(client, m) {
      const kick = m && typeof m === "object" ? m : {};
      const refused = this.sim.kick(client.sessionId, kick);
      if (refused) client.send("error", { ...refused, seq: kick.seq ?? null });
    }

    onPose(client, m) {
      const q = m?.rotation ?? IDENTITY;
      if (!Array.isArray(q) || q.length !== 4 || !q.every(Number.isFinite)) {
        return client.send("error", { code: "bad_command", message: "rotation must be four finite numbers" });
      }
      const position = m?.position;
      const refused = this.sim.pose(client.sessionId, position);
      if (refused) return client.send("error", refused);
      const p = this.player(client.sessionId); // unchanged fields are not re-sent
      [p.px, p.py, p.pz] = position;
      [p.qx, p.qy, p.qz, p.qw] = q;
    }

    onTick() {
      const { applied, stepped } = this.sim.step();
      this.stepped ||= stepped;
      for (const k of applied) {
        if (k.seq != null) this.player(k.client).ack = k.seq;
        this.broadcast("kick", {
          client: k.client, ball: k.ball.id, impulse: k.impulse, point: k.point ?? undefined,
          tick: this.sim.tick, seq: k.seq ?? undefined,
        });
      }
    }

    // Copy the world into the state once per patch, not every tick: Colyseus encodes
    // only at patch time anyway.
    onBeforePatch() {
      if (!this.stepped) return;
      this.stepped = false;
      this.state.tick = this.sim.tick;
      this.copyBalls();
    }

    copyBalls() {
      this.sim.balls.forEach((b, i) => {
        const s = this.state.balls[i];
        const p = b.body.translation(), q = b.body.rotation();
        const v = b.body.linvel(), w = b.body.angvel();
        s.px = p.x; s.py = p.y; s.pz = p.z;
        s.qx = q.x; s.qy = q.y; s.qz = q.z; s.qw = q.w;
        s.vx = v.x; s.vy = v.y; s.vz = v.z;
        s.wx = w.x; s.wy = w.y; s.wz = w.z;
        s.sleeping = b.body.isSleeping();
      });
    }

    onLeave(client) {
      this.sim.leave(client.sessionId);
      this.state.players.delete(client.sessionId);
    }
  };
}
