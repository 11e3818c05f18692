//! The simulation of one room: plain synchronous code, no sockets, no async.
//!
//! A [`Room`] owns one rapier [`PhysicsWorld`] built from a [`Scene`], plus the scene's
//! [`Match`] if it declares one. The room task calls [`Room::queue_kick`],
//! [`Room::set_player`] and [`Room::join_team`] as commands arrive and [`Room::tick`] once
//! per fixed tick; tests and benches call the same methods directly. Each tick applies the
//! queued kicks, steps the world (unless everything is asleep and nothing changed), detects
//! goals from the sensor colliders' intersection events, advances the match, and decides
//! whether a snapshot is due:
//!
//! - every `tick_rate / snapshot_rate` ticks while anything moves;
//! - on the very tick a kick is applied, so everyone sees it within one tick;
//! - at most once per second while the room is at rest (all balls asleep, no input).
//!
//! Kicks are validated here (the server trusts no client): ball id, impulse magnitude,
//! contact point, match phase and team, reach from the kicker's last reported position,
//! and a per-client token bucket. Reported positions that move faster than the scene's
//! `max_player_speed` are refused. Rejections are returned as typed [`RejectReason`]s; the
//! room task answers the client and counts them by code (`ballroom_rejected_total`).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use rapier3d::prelude::*;

use crate::game::{GameEvent, Match};
use crate::protocol::{
    BallId, BallState, ClientId, KickEvent, MatchState, Quat as WireQuat, Snapshot, Team,
    TeamChoice, Vec3,
};
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
    #[error("the ball is {distance:.2} m from your player; reach is {reach} m")]
    TooFar { distance: f32, reach: f32 },
    #[error("report your position with a `player` message before kicking in this scene")]
    NoPosition,
    #[error("too many kicks: at most {rate} per second (bursts of {burst})")]
    RateLimited { rate: f32, burst: f32 },
    #[error("position moved {distance:.2} m in {seconds:.3} s; at most {allowed:.2} m is allowed")]
    Teleport {
        distance: f32,
        seconds: f32,
        allowed: f32,
    },
    #[error("spectators cannot kick; join a team first")]
    Spectator,
    #[error("the match is counting down; kick after `go`")]
    Countdown,
    #[error("the match is paused until both teams have a player")]
    MatchPaused,
    #[error("the match is over")]
    MatchEnded,
    #[error("a goal was just scored; the ball is going back to the centre")]
    AfterGoal,
    #[error("kick-off belongs to {0}")]
    NotYourKickoff(Team),
    #[error("this scene has no match (scene `{0}`)")]
    NoMatch(String),
}

impl RejectReason {
    /// The stable machine-readable code sent in `error.code`.
    pub fn code(&self) -> &'static str {
        match self {
            RejectReason::NoPhysics(_) => "no_physics",
            RejectReason::UnknownBall(_) => "unknown_ball",
            RejectReason::ImpulseTooLarge { .. } => "impulse_too_large",
            RejectReason::PointTooFar { .. } => "bad_point",
            RejectReason::TooFar { .. } => "too_far",
            RejectReason::NoPosition => "no_position",
            RejectReason::RateLimited { .. } => "rate_limited",
            RejectReason::Teleport { .. } => "teleport",
            RejectReason::Spectator => "spectator",
            RejectReason::Countdown => "countdown",
            RejectReason::MatchPaused => "match_paused",
            RejectReason::MatchEnded => "match_ended",
            RejectReason::AfterGoal => "after_goal",
            RejectReason::NotYourKickoff(_) => "not_your_kickoff",
            RejectReason::NoMatch(_) => "no_match",
        }
    }
}

/// What one tick produced.
#[derive(Debug, Default)]
pub struct TickOutput {
    /// Kicks applied on this tick, in arrival order.
    pub kicks: Vec<KickEvent>,
    /// Match events (state changes, goals, results), in order.
    pub events: Vec<GameEvent>,
    /// A snapshot, when one is due on this tick.
    pub snapshot: Option<Snapshot>,
    /// Whether the physics world was stepped (false while the room is at rest).
    pub stepped: bool,
}

struct BallBody {
    id: BallId,
    handle: RigidBodyHandle,
    collider: ColliderHandle,
    radius: f32,
    spawn: Vector,
    /// The client whose kick touched this ball last (the scorer of a goal).
    last_kicker: Option<ClientId>,
}

struct QueuedKick {
    client: ClientId,
    ball: usize,
    impulse: Vector,
    point: Option<Vector>,
    seq: Option<u64>,
}

/// What the room knows of one client.
#[derive(Default)]
struct ClientState {
    /// Last accepted feet position and the tick it was reported on.
    position: Option<(Vector, u64)>,
    /// The kinematic capsule standing for the player.
    body: Option<RigidBodyHandle>,
    /// Kick tokens and the tick they were last topped up.
    tokens: Option<(f32, u64)>,
}

/// A player moving further than this in one update is placed, not swept, so a reconnect
/// does not bat balls across the scene.
const PLAYER_TELEPORT_DISTANCE: f32 = 5.0;
/// Slack for the speed check: network jitter can bunch position updates together.
const POSITION_TOLERANCE: f32 = 0.5;
/// Updates closer together than this are judged as if this far apart.
const MIN_POSITION_INTERVAL: f32 = 0.05;

/// Collects rapier's collision events during a step.
#[derive(Default)]
struct Events(std::sync::Mutex<Vec<CollisionEvent>>);

impl EventHandler for Events {
    fn handle_collision_event(
        &self,
        _bodies: &RigidBodySet,
        _colliders: &ColliderSet,
        event: CollisionEvent,
        _contact_pair: Option<&ContactPair>,
    ) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(event);
    }

    fn handle_contact_force_event(
        &self,
        _dt: Real,
        _bodies: &RigidBodySet,
        _colliders: &ColliderSet,
        _contact_pair: &ContactPair,
        _total_force_magnitude: Real,
    ) {
    }

    fn handle_soft_body_tear_event(&self, _soft_bodies: &SoftBodySet, _event: &SoftBodyTearEvent) {}
}

/// One room's world and its rules.
pub struct Room {
    scene: Arc<Scene>,
    world: PhysicsWorld,
    balls: Vec<BallBody>,
    /// Goal sensors and the team each one's goal belongs to.
    goals: HashMap<ColliderHandle, Team>,
    collisions: Events,
    game: Option<Match>,
    clients: HashMap<ClientId, ClientState>,
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
        world.integration_parameters.num_solver_iterations = scene.solver_iterations as usize;

        let goal_teams = scene.match_rules.as_ref().map(|m| &m.goals);
        let mut goals = HashMap::new();
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
            let handle = world.insert_collider(collider, None);
            let team = goal_teams.zip(s.name.as_ref()).and_then(|(g, n)| g.get(n));
            if let Some(&team) = team {
                goals.insert(handle, team);
            }
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
                let (handle, collider) = world.insert(body, collider);
                BallBody {
                    id: b.id,
                    handle,
                    collider,
                    radius: b.radius,
                    spawn,
                    last_kicker: None,
                }
            })
            .collect();
        balls.sort_by_key(|b| b.id);

        let game = scene
            .match_rules
            .clone()
            .map(|rules| Match::new(rules, sim.tick_rate));
        let ticks_per_snapshot = (sim.tick_rate / sim.snapshot_rate).round().max(1.0);
        Room {
            scene,
            world,
            balls,
            goals,
            collisions: Events::default(),
            game,
            clients: HashMap::new(),
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

    /// The match state, in scenes with a match.
    pub fn match_state(&self) -> Option<MatchState> {
        self.game.as_ref().map(|g| g.state(self.tick))
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
        match self.check_kick(client, ball, impulse, point) {
            Ok(kick) => {
                let tick = self.tick + 1;
                if let Some(game) = &mut self.game {
                    game.kicked(client, tick);
                }
                self.queued.push(QueuedKick { seq, ..kick });
                Ok(())
            }
            Err(reason) => Err(reason),
        }
    }

    fn check_kick(
        &mut self,
        client: ClientId,
        ball: BallId,
        impulse: Vec3,
        point: Option<Vec3>,
    ) -> Result<QueuedKick, RejectReason> {
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
        let b = &self.balls[index];
        let centre = self.world.bodies[b.handle].translation();
        let point = point.map(|p| Vector::from_array(p.0));
        if let Some(p) = point {
            let distance = p.distance(centre);
            let max = 2.0 * b.radius;
            if distance > max {
                return Err(RejectReason::PointTooFar { distance, max });
            }
        }
        if let Some(game) = &self.game {
            game.check_kick(client)?;
        }
        let rules = self.scene.kick_rules;
        let state = self.clients.entry(client).or_default();
        match state.position {
            Some((feet, _)) => {
                let head = feet + Vector::Y * self.scene.player.height;
                let distance = distance_to_segment(centre, feet, head) - b.radius;
                if distance > rules.reach {
                    return Err(RejectReason::TooFar {
                        distance,
                        reach: rules.reach,
                    });
                }
            }
            None if rules.require_position => return Err(RejectReason::NoPosition),
            None => {}
        }
        // Token bucket, refilled by room ticks so it is exact under test and replay.
        let (tokens, since) = state.tokens.unwrap_or((rules.burst, self.tick));
        let refill = (self.tick - since) as f32 * rules.rate / self.tick_rate as f32;
        let tokens = (tokens + refill).min(rules.burst);
        if tokens < 1.0 {
            state.tokens = Some((tokens, self.tick));
            return Err(RejectReason::RateLimited {
                rate: rules.rate,
                burst: rules.burst,
            });
        }
        state.tokens = Some((tokens - 1.0, self.tick));
        Ok(QueuedKick {
            client,
            ball: index,
            impulse,
            point,
            seq: None,
        })
    }

    /// Place or move a player's kinematic capsule (`position` is the feet). A position
    /// that moved faster than the scene's `max_player_speed` is refused. Returns whether
    /// the player actually moved: an unchanged position costs no physics step.
    pub fn set_player(&mut self, client: ClientId, position: Vec3) -> Result<bool, RejectReason> {
        let feet = Vector::from_array(position.0);
        let tick = self.tick;
        let max_speed = self.scene.kick_rules.max_player_speed;
        let state = self.clients.entry(client).or_default();
        if let Some((last, at)) = state.position {
            let seconds = ((tick - at) as f64 / self.tick_rate) as f32;
            let allowed = max_speed * seconds.max(MIN_POSITION_INTERVAL) + POSITION_TOLERANCE;
            let distance = feet.distance(last);
            if distance > allowed {
                return Err(RejectReason::Teleport {
                    distance,
                    seconds,
                    allowed,
                });
            }
        }
        if state.position.is_some_and(|(last, _)| last == feet) {
            // Standing still: nothing to simulate. The fresh timestamp means the next
            // move is judged from here and now.
            state.position = Some((feet, tick));
            return Ok(false);
        }
        state.position = Some((feet, tick));
        let shape = self.scene.player;
        let centre = feet + Vector::Y * (shape.height / 2.0);
        match state.body {
            Some(handle) => {
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
                state.body = Some(handle);
            }
        }
        self.players_moved = true;
        Ok(true)
    }

    /// Put a client on a team (or make it a spectator), in scenes with a match.
    pub fn join_team(
        &mut self,
        client: ClientId,
        team: Option<TeamChoice>,
    ) -> Result<(), RejectReason> {
        let tick = self.tick;
        match &mut self.game {
            Some(game) => {
                game.set_team(client, team.and_then(TeamChoice::team), tick);
                self.apply_match_effects();
                Ok(())
            }
            None => Err(RejectReason::NoMatch(self.scene.name.clone())),
        }
    }

    /// Match events produced outside a tick (by `join_team` or `remove_client`).
    pub fn drain_events(&mut self) -> Vec<GameEvent> {
        self.game
            .as_mut()
            .map(|g| g.drain_events().collect())
            .unwrap_or_default()
    }

    /// Forget a client: its capsule, team, kick acknowledgements and queued kicks.
    pub fn remove_client(&mut self, client: ClientId) {
        if let Some(state) = self.clients.remove(&client) {
            if let Some(handle) = state.body {
                self.world.remove_body(handle);
                self.players_moved = true;
            }
        }
        let tick = self.tick;
        if let Some(game) = &mut self.game {
            game.remove(client, tick);
        }
        self.apply_match_effects();
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
        if self.scene.fault_panic_at_tick == Some(self.tick) {
            panic!(
                "fault injection: scene `{}` panics at tick {}",
                self.scene.name, self.tick
            );
        }
        let kicks: Vec<KickEvent> = self
            .queued
            .drain(..)
            .map(|k| {
                let ball = &mut self.balls[k.ball];
                ball.last_kicker = Some(k.client);
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
            self.world.step_with_events(&(), &self.collisions);
            self.respawn_fallen_balls();
            self.detect_goals();
        }
        self.players_moved = false;
        if let Some(game) = &mut self.game {
            game.tick(self.tick);
        }
        self.apply_match_effects();
        let events = self.drain_events();

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
            events,
            snapshot,
            stepped,
        }
    }

    /// Turn this step's sensor events into goals.
    fn detect_goals(&mut self) {
        let events =
            std::mem::take(&mut *self.collisions.0.lock().unwrap_or_else(|e| e.into_inner()));
        let Some(game) = &mut self.game else { return };
        for event in events {
            let CollisionEvent::Started(a, b, _) = event else {
                continue;
            };
            let (goal, other) = match (self.goals.get(&a), self.goals.get(&b)) {
                (Some(team), _) => (*team, b),
                (_, Some(team)) => (*team, a),
                _ => continue,
            };
            if let Some(ball) = self.balls.iter().find(|x| x.collider == other) {
                game.goal(goal, ball.id, ball.last_kicker, self.tick);
            }
        }
    }

    /// Carry out what the match asked for (balls back to kick-off).
    fn apply_match_effects(&mut self) {
        let Some(game) = &mut self.game else { return };
        if std::mem::take(&mut game.reset_balls) {
            for b in &mut self.balls {
                b.last_kicker = None;
                place(&mut self.world.bodies[b.handle], b.spawn);
            }
        }
    }

    fn respawn_fallen_balls(&mut self) {
        for b in &self.balls {
            let body = &mut self.world.bodies[b.handle];
            if body.translation().y < self.scene.respawn_below {
                place(body, b.spawn);
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

/// Put a body at `at`, upright and still.
fn place(body: &mut RigidBody, at: Vector) {
    body.set_translation(at, true);
    body.set_rotation(Rotation::IDENTITY, true);
    body.set_linvel(Vector::ZERO, true);
    body.set_angvel(Vector::ZERO, true);
}

/// Distance from `p` to the segment `a`–`b`.
fn distance_to_segment(p: Vector, a: Vector, b: Vector) -> f32 {
    let ab = b - a;
    let t = ((p - a).dot(ab) / ab.length_squared()).clamp(0.0, 1.0);
    p.distance(a + ab * t)
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
    use crate::protocol::TeamChoice;
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
        r.set_player(5, Vec3([10.5, 0.0, 8.0])).unwrap();
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

    fn ticks(r: &mut Room, n: u32) -> Vec<GameEvent> {
        (0..n).flat_map(|_| r.tick().events).collect()
    }

    #[test]
    fn a_football_goal_is_detected_by_the_sensor_and_the_ball_comes_back() {
        let mut r = room("football");
        r.join_team(1, Some(TeamChoice::Blue)).unwrap();
        r.join_team(2, Some(TeamChoice::Red)).unwrap();
        r.drain_events();
        ticks(&mut r, 3 * 60); // 3, 2, 1, go
        assert_eq!(
            r.match_state().unwrap().phase,
            crate::protocol::Phase::Playing
        );
        // Red stands behind the ball and shoots at the goal blue defends (x < 0).
        r.set_player(2, Vec3([0.9, 0.0, 0.0])).unwrap();
        r.queue_kick(2, 0, Vec3([-25.0, 0.0, 0.0]), None, None)
            .unwrap();
        let events = ticks(&mut r, 3 * 60);
        let goal = events
            .iter()
            .find_map(|e| match e {
                GameEvent::Goal(g) => Some(g.clone()),
                _ => None,
            })
            .expect("the sensor saw the ball cross the line");
        assert_eq!(
            (goal.team, goal.scorer, goal.score.red),
            (Team::Red, Some(2), 1)
        );
        // After the pause the ball is back at the centre and blue kicks off.
        let state = r.match_state().unwrap();
        assert_eq!(state.kickoff, Some(Team::Blue));
        let p = ball(&r.snapshot(), 0).p.0;
        assert!(
            p[0].abs() < 0.1 && p[2].abs() < 0.1,
            "ball at kick-off: {p:?}"
        );
        r.set_player(2, Vec3([0.9, 0.0, 0.0])).unwrap();
        assert_eq!(
            r.queue_kick(2, 0, Vec3([-5.0, 0.0, 0.0]), None, None)
                .unwrap_err()
                .code(),
            "not_your_kickoff"
        );
    }

    #[test]
    fn kick_validation_rules() {
        let mut r = room("football");
        r.join_team(1, Some(TeamChoice::Blue)).unwrap();
        // Football requires a reported position.
        let kick = |r: &mut Room, c| r.queue_kick(c, 0, Vec3([1.0, 0.0, 0.0]), None, None);
        assert_eq!(kick(&mut r, 1).unwrap_err().code(), "no_position");
        assert_eq!(kick(&mut r, 9).unwrap_err().code(), "spectator");
        // Far from the ball (at the origin, radius 0.5): too far.
        r.set_player(1, Vec3([0.0, 0.0, 6.0])).unwrap();
        assert_eq!(kick(&mut r, 1).unwrap_err().code(), "too_far");
        // Walking closer at a sane speed is fine; 2 m from the surface is within reach.
        ticks(&mut r, 30);
        r.set_player(1, Vec3([0.0, 0.0, 2.8])).unwrap();
        kick(&mut r, 1).unwrap();
        // Rapid fire: the burst of 3 is spent after two more; the next is refused.
        kick(&mut r, 1).unwrap();
        kick(&mut r, 1).unwrap();
        assert_eq!(kick(&mut r, 1).unwrap_err().code(), "rate_limited");
        // 5 per second: one more token after 12 ticks.
        ticks(&mut r, 12);
        r.set_player(1, Vec3([0.0, 0.0, 2.8])).unwrap();
        kick(&mut r, 1).unwrap();
        // Teleporting next to the ball from 30 m away is refused and changes nothing.
        r.set_player(1, Vec3([30.0, 0.0, 0.0])).unwrap_err();
        ticks(&mut r, 60);
        r.set_player(1, Vec3([20.0, 0.0, 0.0])).unwrap();
        let err = r.set_player(1, Vec3([0.5, 0.0, 0.5])).unwrap_err();
        assert_eq!(err.code(), "teleport");
        assert_eq!(
            kick(&mut r, 1).unwrap_err().code(),
            "too_far",
            "the fake position was not taken"
        );
        // Kickballs plays without teams, and without positions.
        let mut k = room("kickballs");
        k.queue_kick(1, 0, Vec3([1.0, 0.0, 0.0]), None, None)
            .unwrap();
        assert_eq!(
            k.join_team(1, Some(TeamChoice::Red)).unwrap_err().code(),
            "no_match"
        );
    }
}
