//! The simulation of one room: plain synchronous code, no sockets, no async.
//!
//! A [`Room`] owns one rapier [`PhysicsWorld`] built from a [`Scene`]. The room task calls
//! [`Room::queue_kick`] and [`Room::set_player`] as commands arrive and [`Room::tick`] once
//! per fixed tick; tests and benches call the same methods directly. Each tick applies the
//! queued kicks, steps the world (unless everything is asleep and nothing changed), and
//! decides whether a snapshot is due:
//!
//! - every `tick_rate / snapshot_rate` ticks while anything moves;
//! - on the very tick a kick is applied, so everyone sees it within one tick;
//! - at most once per second while the room is at rest (all balls asleep, no input).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use rapier3d::prelude::*;

use crate::protocol::{BallId, BallState, ClientId, KickEvent, Quat as WireQuat, Snapshot, Vec3};
use crate::scene::{Scene, Shape as SceneShape};

/// Timing of a room, in ticks.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SimConfig {
    /// Physics steps per second.
    pub tick_rate: f64,
    /// Snapshots per second while anything moves.
    pub snapshot_rate: f64,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            tick_rate: 60.0,
            snapshot_rate: 20.0,
        }
    }
}

/// Why a command was refused by the simulation.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RejectReason {
    #[error("this room has no physics (scene `{0}`)")]
    NoPhysics(String),
    #[error("no ball with id {0} in this scene")]
    UnknownBall(BallId),
    #[error("impulse magnitude {magnitude:.1} N·s exceeds this scene's maximum of {max} N·s")]
    ImpulseTooLarge { magnitude: f32, max: f32 },
    #[error("kick point is {distance:.2} m from the ball's centre; at most {max:.2} m is allowed")]
    PointTooFar { distance: f32, max: f32 },
}

impl RejectReason {
    /// The stable machine-readable code sent in `error.code`.
    pub fn code(&self) -> &'static str {
        match self {
            RejectReason::NoPhysics(_) => "no_physics",
            RejectReason::UnknownBall(_) => "unknown_ball",
            RejectReason::ImpulseTooLarge { .. } => "impulse_too_large",
            RejectReason::PointTooFar { .. } => "bad_point",
        }
    }
}

/// What one tick produced.
#[derive(Debug, Default)]
pub struct TickOutput {
    /// Kicks applied on this tick, in arrival order.
    pub kicks: Vec<KickEvent>,
    /// A snapshot, when one is due on this tick.
    pub snapshot: Option<Snapshot>,
    /// Whether the physics world was stepped (false while the room is at rest).
    pub stepped: bool,
}

struct BallBody {
    id: BallId,
    handle: RigidBodyHandle,
    radius: f32,
    spawn: Vector,
}

struct QueuedKick {
    client: ClientId,
    ball: usize,
    impulse: Vector,
    point: Option<Vector>,
    seq: Option<u64>,
}

/// A player moving further than this in one update is placed, not swept, so a
/// reconnect or respawn does not bat balls across the scene.
const PLAYER_TELEPORT_DISTANCE: f32 = 5.0;

/// One room's world and its rules.
pub struct Room {
    scene: Arc<Scene>,
    world: PhysicsWorld,
    balls: Vec<BallBody>,
    players: HashMap<ClientId, RigidBodyHandle>,
    queued: Vec<QueuedKick>,
    acks: BTreeMap<ClientId, u64>,
    tick: u64,
    tick_rate: f64,
    snapshot_every: u64,
    /// Tick of the last snapshot and whether the room was at rest then.
    last_snapshot: Option<(u64, bool)>,
    players_moved: bool,
}

impl Room {
    pub fn new(scene: Arc<Scene>, sim: SimConfig) -> Room {
        let mut world = PhysicsWorld {
            gravity: Vector::from_array(scene.gravity),
            ..PhysicsWorld::default()
        };
        world.integration_parameters.dt = (1.0 / sim.tick_rate) as f32;

        for s in &scene.statics {
            let pose = Pose::from_parts(
                Vector::from_array(s.position),
                Rotation::from_array(s.rotation).normalize(),
            );
            let collider = shape_builder(&s.shape)
                .position(pose)
                .sensor(s.sensor)
                .friction(s.friction)
                .restitution(s.restitution);
            let collider = if s.sensor {
                collider.active_events(ActiveEvents::COLLISION_EVENTS)
            } else {
                collider
            };
            world.insert_collider(collider, None);
        }

        let mut balls: Vec<BallBody> = scene
            .balls
            .iter()
            .map(|b| {
                let spawn = Vector::from_array(b.position);
                let body = RigidBodyBuilder::dynamic()
                    .translation(spawn)
                    .linear_damping(b.linear_damping)
                    .angular_damping(b.angular_damping)
                    .ccd_enabled(true);
                let collider = ColliderBuilder::ball(b.radius)
                    .mass(b.mass)
                    .friction(b.friction)
                    .restitution(b.restitution);
                let (handle, _) = world.insert(body, collider);
                BallBody {
                    id: b.id,
                    handle,
                    radius: b.radius,
                    spawn,
                }
            })
            .collect();
        balls.sort_by_key(|b| b.id);

        let ticks_per_snapshot = (sim.tick_rate / sim.snapshot_rate).round().max(1.0);
        Room {
            scene,
            world,
            balls,
            players: HashMap::new(),
            queued: Vec::new(),
            acks: BTreeMap::new(),
            tick: 0,
            tick_rate: sim.tick_rate,
            snapshot_every: ticks_per_snapshot as u64,
            last_snapshot: None,
            players_moved: false,
        }
    }

    pub fn scene(&self) -> &Arc<Scene> {
        &self.scene
    }

    /// Ticks taken since the room was created.
    pub fn tick_count(&self) -> u64 {
        self.tick
    }

    /// The room clock in seconds: `tick / tick_rate`.
    pub fn time(&self) -> f64 {
        self.tick as f64 / self.tick_rate
    }

    /// Validate a kick and queue it for the next tick.
    pub fn queue_kick(
        &mut self,
        client: ClientId,
        ball: BallId,
        impulse: Vec3,
        point: Option<Vec3>,
        seq: Option<u64>,
    ) -> Result<(), RejectReason> {
        if !self.scene.has_physics() {
            return Err(RejectReason::NoPhysics(self.scene.name.clone()));
        }
        let index = self
            .balls
            .iter()
            .position(|b| b.id == ball)
            .ok_or(RejectReason::UnknownBall(ball))?;
        let impulse = Vector::from_array(impulse.0);
        let magnitude = impulse.length();
        if magnitude > self.scene.max_impulse {
            return Err(RejectReason::ImpulseTooLarge {
                magnitude,
                max: self.scene.max_impulse,
            });
        }
        let point = point.map(|p| Vector::from_array(p.0));
        if let Some(p) = point {
            let b = &self.balls[index];
            let distance = p.distance(self.world.bodies[b.handle].translation());
            let max = 2.0 * b.radius;
            if distance > max {
                return Err(RejectReason::PointTooFar { distance, max });
            }
        }
        self.queued.push(QueuedKick {
            client,
            ball: index,
            impulse,
            point,
            seq,
        });
        Ok(())
    }

    /// Place or move a player's kinematic capsule (`position` is the feet).
    pub fn set_player(&mut self, client: ClientId, position: Vec3) {
        let shape = self.scene.player;
        let centre = Vector::from_array(position.0) + Vector::Y * (shape.height / 2.0);
        match self.players.get(&client) {
            Some(&handle) => {
                let body = &mut self.world.bodies[handle];
                if body.translation().distance(centre) > PLAYER_TELEPORT_DISTANCE {
                    body.set_translation(centre, true);
                }
                body.set_next_kinematic_translation(centre);
            }
            None => {
                let body = RigidBodyBuilder::kinematic_position_based().translation(centre);
                let half_height = shape.height / 2.0 - shape.radius;
                let collider = ColliderBuilder::capsule_y(half_height, shape.radius);
                let (handle, _) = self.world.insert(body, collider);
                self.players.insert(client, handle);
            }
        }
        self.players_moved = true;
    }

    /// Forget a client: its capsule and its kick acknowledgements.
    pub fn remove_client(&mut self, client: ClientId) {
        if let Some(handle) = self.players.remove(&client) {
            self.world.remove_body(handle);
            self.players_moved = true;
        }
        self.acks.remove(&client);
        self.queued.retain(|k| k.client != client);
    }

    /// Wake every ball (benchmarks use this to measure an active room).
    pub fn wake_all(&mut self) {
        self.world.wake_up_all(true);
    }

    /// Give up the room for its bare physics world (the floor the benchmarks compare
    /// a room tick against).
    pub fn into_world(self) -> PhysicsWorld {
        self.world
    }

    /// True when every ball sleeps and no input is waiting: stepping would change nothing.
    pub fn is_at_rest(&self) -> bool {
        self.queued.is_empty() && !self.players_moved && self.balls_asleep()
    }

    fn balls_asleep(&self) -> bool {
        self.balls
            .iter()
            .all(|b| self.world.bodies[b.handle].is_sleeping())
    }

    /// Advance one fixed tick.
    pub fn tick(&mut self) -> TickOutput {
        self.tick += 1;
        let kicks: Vec<KickEvent> = self
            .queued
            .drain(..)
            .map(|k| {
                let ball = &self.balls[k.ball];
                let body = &mut self.world.bodies[ball.handle];
                match k.point {
                    Some(p) => body.apply_impulse_at_point(k.impulse, p, true),
                    None => body.apply_impulse(k.impulse, true),
                }
                if let Some(seq) = k.seq {
                    self.acks.insert(k.client, seq);
                }
                KickEvent {
                    client: k.client,
                    ball: ball.id,
                    impulse: Vec3(k.impulse.to_array()),
                    point: k.point.map(|p| Vec3(p.to_array())),
                    tick: self.tick,
                    seq: k.seq,
                }
            })
            .collect();

        let stepped = !kicks.is_empty() || self.players_moved || !self.balls_asleep();
        if stepped {
            self.world.step();
            self.respawn_fallen_balls();
        }
        self.players_moved = false;

        let at_rest = self.balls_asleep();
        let due = match self.last_snapshot {
            _ if !kicks.is_empty() => true,
            None => true,
            Some((last, was_at_rest)) => {
                let since = self.tick - last;
                if at_rest && was_at_rest {
                    since as f64 >= self.tick_rate
                } else {
                    since >= self.snapshot_every
                }
            }
        };
        let snapshot = due.then(|| {
            self.last_snapshot = Some((self.tick, at_rest));
            self.snapshot()
        });
        TickOutput {
            kicks,
            snapshot,
            stepped,
        }
    }

    fn respawn_fallen_balls(&mut self) {
        for b in &self.balls {
            let body = &mut self.world.bodies[b.handle];
            if body.translation().y < self.scene.respawn_below {
                body.set_translation(b.spawn, true);
                body.set_rotation(Rotation::IDENTITY, true);
                body.set_linvel(Vector::ZERO, true);
                body.set_angvel(Vector::ZERO, true);
            }
        }
    }

    /// The current state of every ball.
    pub fn snapshot(&self) -> Snapshot {
        let balls = self
            .balls
            .iter()
            .map(|b| {
                let body = &self.world.bodies[b.handle];
                BallState {
                    id: b.id,
                    p: Vec3(body.translation().to_array()),
                    q: WireQuat(body.rotation().to_array()),
                    v: Vec3(body.linvel().to_array()),
                    w: Vec3(body.angvel().to_array()),
                    sleeping: body.is_sleeping(),
                }
            })
            .collect();
        Snapshot {
            tick: self.tick,
            time: self.time(),
            balls,
            acks: self.acks.clone(),
        }
    }
}

fn shape_builder(shape: &SceneShape) -> ColliderBuilder {
    match *shape {
        SceneShape::Cuboid {
            half_extents: [x, y, z],
        } => ColliderBuilder::cuboid(x, y, z),
        SceneShape::Ball { radius } => ColliderBuilder::ball(radius),
        SceneShape::Capsule {
            half_height,
            radius,
        } => ColliderBuilder::capsule_y(half_height, radius),
        SceneShape::Cylinder {
            half_height,
            radius,
        } => ColliderBuilder::cylinder(half_height, radius),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scene::SceneLibrary;

    fn room(scene: &str) -> Room {
        Room::new(
            SceneLibrary::builtin().get(scene).unwrap(),
            SimConfig::default(),
        )
    }

    fn ball(snap: &Snapshot, id: BallId) -> &BallState {
        snap.balls.iter().find(|b| b.id == id).unwrap()
    }

    /// Tick until every ball sleeps; returns the ticks it took.
    fn settle(room: &mut Room) -> u64 {
        for n in 1..=60 * 30 {
            room.tick();
            if room.is_at_rest() {
                return n;
            }
        }
        panic!("balls never fell asleep");
    }

    #[test]
    fn a_kick_moves_the_ball_along_the_impulse_on_the_next_tick() {
        let mut r = room("kickballs");
        settle(&mut r);
        let before = r.snapshot();
        r.queue_kick(9, 1, Vec3([50.0, 0.0, 0.0]), None, Some(4))
            .unwrap();
        let out = r.tick();
        assert!(out.stepped);
        assert_eq!(out.kicks.len(), 1);
        assert_eq!(
            (out.kicks[0].client, out.kicks[0].ball, out.kicks[0].seq),
            (9, 1, Some(4))
        );
        let snap = out.snapshot.expect("a snapshot on the kick tick");
        assert_eq!(snap.acks.get(&9), Some(&4));
        // impulse / mass = 10 m/s, less a little damping and friction.
        let v = ball(&snap, 1).v.0;
        assert!(v[0] > 9.0 && v[0] <= 10.0, "{v:?}");
        assert!(v[2].abs() < 0.1, "{v:?}");
        for _ in 0..30 {
            r.tick();
        }
        let p0 = ball(&before, 1).p.0;
        let p1 = ball(&r.snapshot(), 1).p.0;
        // Rolling friction turns some of it into spin; it still travels well over 2 m.
        assert!(p1[0] - p0[0] > 2.0, "moved along +x: {p0:?} -> {p1:?}");
        // Untouched balls did not move.
        assert_eq!(ball(&before, 0).p, ball(&r.snapshot(), 0).p);
    }

    #[test]
    fn kicks_are_validated() {
        let mut r = room("kickballs");
        assert_eq!(
            r.queue_kick(1, 7, Vec3([1.0, 0.0, 0.0]), None, None),
            Err(RejectReason::UnknownBall(7))
        );
        let e = r
            .queue_kick(1, 0, Vec3([151.0, 0.0, 0.0]), None, None)
            .unwrap_err();
        assert_eq!(e.code(), "impulse_too_large");
        // The kick scene's own kicks (forward vector × 100) are accepted.
        r.queue_kick(
            1,
            0,
            Vec3([0.0, 60.0, 80.0]),
            Some(Vec3([4.0, 1.0, 8.0])),
            None,
        )
        .unwrap();
        let e = r
            .queue_kick(
                1,
                0,
                Vec3([1.0, 0.0, 0.0]),
                Some(Vec3([10.0, 1.0, 8.0])),
                None,
            )
            .unwrap_err();
        assert_eq!(e.code(), "bad_point");
        let mut relay = room("relay");
        assert_eq!(
            relay
                .queue_kick(1, 0, Vec3([1.0, 0.0, 0.0]), None, None)
                .unwrap_err()
                .code(),
            "no_physics"
        );
    }

    #[test]
    fn snapshots_follow_the_rate_and_go_quiet_at_rest() {
        let mut r = room("kickballs");
        // Moving: every third tick at 60 Hz / 20 Hz.
        let ticks: Vec<u64> = (0..12)
            .filter_map(|_| r.tick().snapshot.map(|s| s.tick))
            .collect();
        assert_eq!(ticks, [1, 4, 7, 10]);
        settle(&mut r);
        // Make sure the at-rest snapshot has gone out, then count over 5 s.
        for _ in 0..120 {
            r.tick();
        }
        let mut sent = 0;
        let mut stepped = 0;
        for _ in 0..300 {
            let out = r.tick();
            sent += out.snapshot.is_some() as u32;
            stepped += out.stepped as u32;
            if let Some(s) = out.snapshot {
                assert!(s.balls.iter().all(|b| b.sleeping));
            }
        }
        assert!(sent <= 5, "{sent} snapshots in 5 s at rest");
        assert!(sent >= 4, "a heartbeat about once a second, got {sent}");
        assert_eq!(stepped, 0, "a room at rest does not step");
        // A kick wakes it and is visible on the same tick.
        r.queue_kick(1, 0, Vec3([0.0, 0.0, 20.0]), None, None)
            .unwrap();
        let out = r.tick();
        let snap = out.snapshot.unwrap();
        assert!(!ball(&snap, 0).sleeping);
    }

    #[test]
    fn a_player_capsule_stops_a_ball() {
        let mut r = room("kickballs");
        settle(&mut r);
        // Stand between ball 1 (x = 8) and the east wall, then kick the ball at the player.
        r.set_player(5, Vec3([10.5, 0.0, 8.0]));
        r.queue_kick(1, 1, Vec3([40.0, 0.0, 0.0]), None, None)
            .unwrap();
        for _ in 0..60 {
            r.tick();
        }
        let x = ball(&r.snapshot(), 1).p.0[0];
        assert!(x < 10.5, "ball passed through the player: x = {x}");
        // Gone player, free path.
        r.remove_client(5);
        r.queue_kick(1, 1, Vec3([40.0, 0.0, 0.0]), None, None)
            .unwrap();
        for _ in 0..60 {
            r.tick();
        }
        let x2 = ball(&r.snapshot(), 1).p.0[0];
        assert!(
            x2 > 10.5,
            "ball still blocked after the player left: {x} -> {x2}"
        );
    }

    #[test]
    fn walls_hold_a_hard_kick_and_fallen_balls_respawn() {
        let mut r = room("kickballs");
        r.queue_kick(1, 2, Vec3([150.0, 0.0, 0.0]), None, None)
            .unwrap();
        for _ in 0..120 {
            r.tick();
            let p = ball(&r.snapshot(), 2).p.0;
            assert!((0.0..=16.0).contains(&p[0]), "tunnelled: {p:?}");
        }
    }
}
