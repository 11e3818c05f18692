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
        SceneShape::Cuboid { half_extents: [x, y, z] } => ColliderBuilder::cuboid(x, y, z),
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
