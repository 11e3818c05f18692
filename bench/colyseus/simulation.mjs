// One room's world and its rules, written after ballroom's src/room/{mod,world,referee}.rs:
// a rapier world built from the scene, kicks checked by the same referee (ball, impulse
// size, contact point, the kicker's reach from its last accepted position, a token bucket
// refilled by ticks) and applied on the next tick, players as kinematic capsules moved by
// their reported feet position (refused if faster than the scene allows), and a step
// skipped while every ball sleeps and nothing changed. No sockets, no Colyseus.

// A player moving further than this in one update is placed, not swept.
const PLAYER_TELEPORT_DISTANCE = 5.0;
// Slack for the speed check, and the shortest interval it judges by (referee.rs).
const POSITION_TOLERANCE = 0.5;
const MIN_POSITION_INTERVAL = 0.05;
const IDENTITY = [0, 0, 0, 1];

const sub = (a, b) => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
const dot = (a, b) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const length = (a) => Math.sqrt(dot(a, a));
const arr = (v) => [v.x, v.y, v.z];
const vec = (a) => ({ x: a[0], y: a[1], z: a[2] });
const finite = (xs) => Array.isArray(xs) && xs.every(Number.isFinite);

function distanceToSegment(p, a, b) {
  const ab = sub(b, a);
  const t = Math.min(1, Math.max(0, dot(sub(p, a), ab) / dot(ab, ab)));
  return length(sub(p, [a[0] + ab[0] * t, a[1] + ab[1] * t, a[2] + ab[2] * t]));
}

function shapeDesc(R, shape) {
  switch (shape.type) {
    case "cuboid": return R.ColliderDesc.cuboid(...shape.half_extents);
    case "ball": return R.ColliderDesc.ball(shape.radius);
    case "capsule": return R.ColliderDesc.capsule(shape.half_height, shape.radius);
    case "cylinder": return R.ColliderDesc.cylinder(shape.half_height, shape.radius);
    default: throw new Error(`unknown shape ${shape.type}`);
  }
}

const refusal = (code, message) => ({ code, message });

export class Simulation {
  constructor(R, scene, tickRate) {
    this.R = R;
    this.scene = scene;
    this.tickRate = tickRate;
    this.tick = 0;
    this.world = new R.World(vec(scene.gravity));
    this.world.timestep = 1 / tickRate;
    this.world.numSolverIterations = scene.solver_iterations;
    for (const s of scene.statics) {
      const [x, y, z, w] = s.rotation;
      this.world.createCollider(shapeDesc(R, s.shape)
        .setTranslation(...s.position).setRotation({ x, y, z, w })
        .setSensor(s.sensor).setFriction(s.friction).setRestitution(s.restitution));
    }
    this.balls = [...scene.balls].sort((a, b) => a.id - b.id).map((b) => {
      const body = this.world.createRigidBody(R.RigidBodyDesc.dynamic()
        .setTranslation(...b.position).setLinearDamping(b.linear_damping)
        .setAngularDamping(b.angular_damping).setCcdEnabled(true));
      this.world.createCollider(R.ColliderDesc.ball(b.radius).setMass(b.mass)
        .setFriction(b.friction).setRestitution(b.restitution), body);
      return { id: b.id, body, radius: b.radius, spawn: b.position };
    });
    this.clients = new Map(); // client -> { position: [feet, tick], body, tokens: [n, tick] }
    this.queued = [];
    this.playersMoved = false;
  }

  client(id) {
    let c = this.clients.get(id);
    if (!c) this.clients.set(id, (c = { position: null, body: null, tokens: null }));
    return c;
  }

  /** Check a kick ({ball, impulse, point?, seq?}) and queue it for the next tick; a refusal or null. */
  kick(id, kick) {
    const index = this.balls.findIndex((b) => b.id === kick.ball);
    if (index < 0) return refusal("unknown_ball", `no ball with id ${kick.ball} in this scene`);
    if (!finite(kick.impulse) || kick.impulse.length !== 3 || (kick.point != null && !finite(kick.point))) {
      return refusal("bad_command", "impulse and point must be three finite numbers");
    }
    if (kick.seq != null && !(Number.isInteger(kick.seq) && kick.seq >= 0 && kick.seq < 2 ** 32)) {
      return refusal("bad_command", "seq must be an integer from 0 to 2^32 - 1");
    }
    const magnitude = length(kick.impulse);
    if (magnitude > this.scene.max_impulse) {
      return refusal("impulse_too_large", `impulse magnitude ${magnitude.toFixed(1)} exceeds ${this.scene.max_impulse}`);
    }
    const ball = this.balls[index];
    const centre = arr(ball.body.translation());
    if (kick.point != null && length(sub(kick.point, centre)) > 2 * ball.radius) {
      return refusal("bad_point", "kick point too far from the ball's centre");
    }
    const rules = this.scene.kick_rules;
    const c = this.client(id);
    if (c.position) {
      const feet = c.position[0];
      const head = [feet[0], feet[1] + this.scene.player.height, feet[2]];
      const distance = distanceToSegment(centre, feet, head) - ball.radius;
      if (distance > rules.reach) return refusal("too_far", `the ball is ${distance.toFixed(2)} m away`);
    } else if (rules.require_position) {
      return refusal("no_position", "report your position before kicking");
    }
    // Token bucket, refilled by room ticks.
    const [tokens0, since] = c.tokens ?? [rules.burst, this.tick];
    const tokens = Math.min(rules.burst, tokens0 + ((this.tick - since) * rules.rate) / this.tickRate);
    if (tokens < 1) {
      c.tokens = [tokens, this.tick];
      return refusal("rate_limited", `at most ${rules.rate} kicks per second`);
    }
    c.tokens = [tokens - 1, this.tick];
    this.queued.push({ client: id, ball, impulse: kick.impulse, point: kick.point ?? null, seq: kick.seq ?? null });
    return null;
  }

  /** Place or move a player's kinematic capsule; a refusal or null. */
  pose(id, feet) {
    if (!finite(feet) || feet.length !== 3) return refusal("bad_command", "position must be three finite numbers");
    const c = this.client(id);
    if (c.position) {
      const [last, at] = c.position;
      const seconds = (this.tick - at) / this.tickRate;
      const allowed = this.scene.kick_rules.max_player_speed * Math.max(seconds, MIN_POSITION_INTERVAL) + POSITION_TOLERANCE;
      const distance = length(sub(feet, last));
      if (distance > allowed) return refusal("teleport", `moved ${distance.toFixed(2)} m; at most ${allowed.toFixed(2)} m allowed`);
      if (distance === 0) {
        c.position = [last, this.tick]; // standing still: nothing to simulate
        return null;
      }
    }
    c.position = [feet, this.tick];
    const { radius, height } = this.scene.player;
    const centre = { x: feet[0], y: feet[1] + height / 2, z: feet[2] };
    if (c.body) {
      const t = c.body.translation();
      if (length([t.x - centre.x, t.y - centre.y, t.z - centre.z]) > PLAYER_TELEPORT_DISTANCE) c.body.setTranslation(centre, true);
      c.body.setNextKinematicTranslation(centre);
    } else {
      c.body = this.world.createRigidBody(this.R.RigidBodyDesc.kinematicPositionBased().setTranslation(centre.x, centre.y, centre.z));
      this.world.createCollider(this.R.ColliderDesc.capsule(height / 2 - radius, radius), c.body);
    }
    this.playersMoved = true;
    return null;
  }

  leave(id) {
    const c = this.clients.get(id);
    if (c?.body) {
      this.world.removeRigidBody(c.body);
      this.playersMoved = true;
    }
    this.clients.delete(id);
    this.queued = this.queued.filter((k) => k.client !== id);
  }

  allAsleep() {
    return this.balls.every((b) => b.body.isSleeping());
  }

  /** Advance one tick: apply the queued kicks, step unless at rest. Returns the kicks applied and whether it stepped. */
  step() {
    this.tick += 1;
    const applied = this.queued;
    this.queued = [];
    for (const k of applied) {
      if (k.point) k.ball.body.applyImpulseAtPoint(vec(k.impulse), vec(k.point), true);
      else k.ball.body.applyImpulse(vec(k.impulse), true);
    }
    const stepped = applied.length > 0 || this.playersMoved || !this.allAsleep();
    if (stepped) {
      this.world.step();
      for (const b of this.balls) {
        if (b.body.translation().y < this.scene.respawn_below) this.place(b);
      }
    }
    this.playersMoved = false;
    return { applied, stepped };
  }

  place(b) {
    b.body.setTranslation(vec(b.spawn), true);
    const [x, y, z, w] = IDENTITY;
    b.body.setRotation({ x, y, z, w }, true);
    b.body.setLinvel({ x: 0, y: 0, z: 0 }, true);
    b.body.setAngvel({ x: 0, y: 0, z: 0 }, true);
  }
}
