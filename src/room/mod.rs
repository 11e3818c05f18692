//! The simulation of one room: plain synchronous code, no sockets, no async.
//!
//! A [`Room`] owns one rapier [`PhysicsWorld`] built from a [`Scene`], plus the scene's
//! [`Match`] if it declares one. It has one input and one output:
//!
//! - [`Room::apply`] takes a client's [`Input`] (a kick, a pose, a team choice, leaving)
//!   and returns the [`Effects`] it had, or the [`Refusal`] that stopped it;
//! - [`Room::tick`] advances one fixed tick and returns that tick's [`Effects`].
//!
//! [`Effects`] carry every [`Announcement`] the clients must hear, in order, the
//! [`Snapshot`] when one is due, and the tick's [`SensorEvent`]s. Each tick applies the
//! queued kicks, steps the world (unless everything is asleep and nothing changed), turns
//! the sensor colliders' intersection events into sensor events (goals among them), advances
//! the match and carries out what it asks
//! (balls back to kick-off), and decides whether a snapshot is due (`snapshot.rs`).
//! Everything an input must pass is in `referee.rs` (a kick's reach is judged where the
//! kicker's client showed the ball, from the short history in `history.rs`); building the
//! world in `world.rs`; saving a whole room and restoring it elsewhere in `saved.rs`.
//!
//! The room knows nothing of the wire: the protocol layer turns its types into messages.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use rapier3d::prelude::*;

use crate::ids::{BallId, ClientId, Team};
use crate::rules::{HookFailure, RulesLimits};
use crate::scene::Scene;

#[cfg(test)]
mod football_tests;
mod history;
#[cfg(test)]
mod kick_tick_tests;
mod referee;
#[cfg(test)]
mod rewind_tests;
mod rules;
#[cfg(test)]
mod rules_tests;
mod saved;
mod snapshot;
#[cfg(test)]
mod tests;
mod world;

pub use history::MAX_REWIND;
pub use referee::Refusal;
pub use saved::{RestoreError, SavedRoom};
pub use snapshot::{BallState, KICK_SNAPSHOT_BURST, PlayerState, Snapshot};

use history::BallHistory;
use referee::{ClientState, QueuedKick};
use rules::RoomRules;
use snapshot::SnapshotSchedule;
use world::{BallBody, CollisionLog, place};

/// How a room runs: its timing, and what its rules may use.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SimConfig {
    /// Physics steps per second.
    pub tick_rate: f64,
    /// Snapshots per second while anything moves.
    pub snapshot_rate: f64,
    /// The memory and time each hook of the room's rules may use.
    pub rules: RulesLimits,
    /// Seeds the rules' `Math.random` (the host derives it from the room's name, so that a
    /// room's rules are reproducible).
    pub seed: u64,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            tick_rate: 60.0,
            snapshot_rate: 20.0,
            rules: RulesLimits::default(),
            seed: 0,
        }
    }
}

/// A kick as a client asked for it.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Kick {
    pub ball: BallId,
    /// N·s, world space.
    pub impulse: [f32; 3],
    /// World-space point of contact; the ball's centre when `None`.
    pub point: Option<[f32; 3]>,
    /// The client's sequence number, acknowledged in snapshots once applied.
    pub seq: Option<u64>,
    /// The room time (s) at which the kicker's client showed the ball: reach is judged
    /// against the ball there, at most [`MAX_REWIND`] back, as well as against the ball now.
    pub seen_at: Option<f64>,
    /// The tick the kicker's client predicted it on: the room holds the kick until then,
    /// so that the kicker's prediction and the room agree. A tick already run (the kick
    /// came late) means the next one; one more than [`MAX_KICK_LEAD`] ahead is held only
    /// that long. `None`: the next tick.
    pub tick: Option<u64>,
}

/// How far ahead (s) a kick may ask to be applied: a client's prediction leads the room
/// clock by its one-way delay and jitter, about 0.13 s at 30–90 ms each way.
pub const MAX_KICK_LEAD: f64 = 0.25;

/// What a client may do to a room. (Serde is for a follower node forwarding it to the
/// room's owner, in postcard.)
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Input {
    /// Kick a ball on the next tick.
    Kick(Kick),
    /// The player's avatar pose: feet position and rotation `[x, y, z, w]`.
    Pose {
        position: [f32; 3],
        rotation: [f32; 4],
    },
    /// Join a team (`None`: be a spectator), in scenes with a match.
    JoinTeam(Option<Team>),
    /// The client left: forget its capsule, team, acks and queued kicks.
    Leave,
    /// A client that left comes back on a new connection with what the room held of it
    /// (from [`Room::session`] before it left): its team, pose and last acknowledged kick.
    Resume(ClientSession),
    /// A client joined the room: a fresh session, or a resumed one after its
    /// [`Input::Resume`].
    Join { spectator: bool },
    /// A message for the room's rules: its name and its `data` as JSON text.
    Message { name: String, data: String },
}

/// What a room holds of one client that outlives its connection.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ClientSession {
    pub team: Option<Team>,
    /// Feet position and rotation.
    pub pose: Option<([f32; 3], [f32; 4])>,
    /// The `seq` of its last applied kick.
    pub last_ack: Option<u64>,
}

/// A kick the room applied.
#[derive(Clone, Debug, PartialEq)]
pub struct KickApplied {
    pub client: ClientId,
    pub ball: BallId,
    pub impulse: [f32; 3],
    pub point: Option<[f32; 3]>,
    pub tick: u64,
    pub seq: Option<u64>,
}

/// A player's new pose.
#[derive(Clone, Debug, PartialEq)]
pub struct PlayerPose {
    pub client: ClientId,
    pub position: [f32; 3],
    pub rotation: [f32; 4],
}

/// Something every client of the room must be told.
#[derive(Clone, Debug, PartialEq)]
pub enum Announcement {
    Kick(KickApplied),
    /// Tell everyone but the player itself.
    Pose(PlayerPose),
    /// A message of the rules, for one client (`to`) or every protocol client; `data` is
    /// JSON text.
    RulesMessage {
        to: Option<ClientId>,
        name: String,
        data: String,
    },
    /// The rules' new state, as JSON text.
    RulesState(String),
    /// The rules ended a match with this result (JSON text).
    RulesResult(String),
}

impl Announcement {
    /// Said by the room's rules.
    fn is_rules(&mut self) -> bool {
        matches!(
            self,
            Announcement::RulesMessage { .. }
                | Announcement::RulesState(_)
                | Announcement::RulesResult(_)
        )
    }
}

/// A ball entering or leaving a sensor (a sensor static of the scene file, or a model's
/// `_sensor` node), on the tick it happened: for the rules (the match scores a goal when a
/// ball enters a goal sensor) and for anything else that watches the room. Not sent to
/// clients.
#[derive(Clone, Debug, PartialEq)]
pub struct SensorEvent {
    /// The sensor's name (`statics[i]` for an unnamed static).
    pub sensor: Arc<str>,
    pub ball: BallId,
    /// Entered (true) or left (false).
    pub entered: bool,
    pub tick: u64,
}

/// What an input or a tick produced.
#[derive(Debug, Default)]
pub struct Effects {
    /// In the order they happened.
    pub announcements: Vec<Announcement>,
    /// Balls entering and leaving sensors on this tick, in the order rapier reported them.
    pub sensors: Vec<SensorEvent>,
    /// A snapshot, when one is due on this tick (never from `apply`).
    pub snapshot: Option<Snapshot>,
    /// Whether the physics world was stepped (false while the room is at rest).
    pub stepped: bool,
    /// Hooks of the room's rules that failed (threw, ran out of time or memory): each
    /// failed alone, and the host counts and logs them.
    pub rules_failures: Vec<HookFailure>,
}

/// One room's world and its rules.
pub struct Room {
    scene: Arc<Scene>,
    world: PhysicsWorld,
    balls: Vec<BallBody>,
    /// The scene's sensors by `user_data - 1` of their colliders.
    sensor_names: Vec<Arc<str>>,
    collisions: CollisionLog,
    clients: HashMap<ClientId, ClientState>,
    queued: Vec<QueuedKick>,
    acks: BTreeMap<ClientId, u64>,
    tick: u64,
    tick_rate: f64,
    schedule: SnapshotSchedule,
    /// A capsule moved or went away since the last step.
    players_moved: bool,
    /// A player's pose changed, or a player left, since the last snapshot.
    poses_changed: bool,
    /// Where the balls were over the last [`MAX_REWIND`] seconds.
    history: BallHistory,
    /// The scene's rules, running in their sandbox (`rules.rs`).
    rules: Option<RoomRules>,
    /// What the rules said during an input that was refused: it goes out with the next
    /// tick's effects.
    deferred: Effects,
}

impl Room {
    pub fn new(scene: Arc<Scene>, sim: SimConfig) -> Room {
        let built = world::build(&scene, sim.tick_rate);
        let rules = RoomRules::load(&scene, &sim);
        let sensor_names = scene.sensor_names();
        Room {
            scene,
            world: built.world,
            balls: built.balls,
            sensor_names,
            collisions: CollisionLog::default(),
            clients: HashMap::new(),
            queued: Vec::new(),
            acks: BTreeMap::new(),
            tick: 0,
            tick_rate: sim.tick_rate,
            schedule: SnapshotSchedule::new(sim.tick_rate, sim.snapshot_rate),
            players_moved: false,
            poses_changed: false,
            history: BallHistory::default(),
            rules,
            deferred: Effects::default(),
        }
    }

    pub fn scene(&self) -> &Arc<Scene> {
        &self.scene
    }

    /// Whether the room has anything to simulate. A room without balls (a pure relay)
    /// never needs [`Room::tick`]: its clock stays at 0.
    pub fn needs_ticks(&self) -> bool {
        self.scene.has_physics()
    }

    /// Ticks taken since the room was created.
    pub fn tick_count(&self) -> u64 {
        self.tick
    }

    /// The room clock in seconds: `tick / tick_rate`.
    pub fn time(&self) -> f64 {
        self.tick as f64 / self.tick_rate
    }

    /// Apply one client's input. Kicks are checked now and applied on the next tick, or on
    /// the later one they name (at most [`MAX_KICK_LEAD`] ahead). What the room's rules say
    /// while serving an input goes out with the next tick's effects (so that it travels
    /// with that tick's events and snapshot, at most a tick later, instead of waking every
    /// member's writer once more).
    pub fn apply(&mut self, client: ClientId, input: Input) -> Result<Effects, Refusal> {
        let mut effects = self.apply_now(client, input)?;
        if self.rules.is_some() {
            let said = effects.announcements.extract_if(.., Announcement::is_rules);
            self.deferred.announcements.extend(said);
        }
        Ok(effects)
    }

    fn apply_now(&mut self, client: ClientId, input: Input) -> Result<Effects, Refusal> {
        let mut effects = Effects::default();
        match input {
            Input::Kick(kick) => {
                let mut queued = self.check_kick(client, &kick)?;
                self.judge_by_rules(&mut queued)?;
                let next = self.tick + 1;
                let furthest = next + (MAX_KICK_LEAD * self.tick_rate).floor() as u64;
                let tick = kick.tick.map_or(next, |t| t.clamp(next, furthest));
                queued.due = tick;
                // Kept in the order they are due (and, on one tick, of arrival).
                let at = self.queued.partition_point(|k| k.due <= tick);
                self.queued.insert(at, queued);
            }
            Input::Pose { position, rotation } => {
                self.pose(client, position, rotation, &mut effects)?;
            }
            Input::JoinTeam(team) => {
                let data = serde_json::json!({ "team": team });
                if !self.rules_message(client, "team".to_owned(), data, &mut effects) {
                    return Err(Refusal::NoRules(self.scene.name.clone()));
                }
            }
            Input::Leave => self.leave(client, &mut effects),
            Input::Join { spectator } => self.rules_join(client, spectator, &mut effects),
            Input::Message { name, data } => {
                let data = serde_json::from_str(&data).unwrap_or(serde_json::Value::Null);
                if !self.rules_message(client, name, data, &mut effects) {
                    return Err(Refusal::NoRules(self.scene.name.clone()));
                }
            }
            Input::Resume(session) => {
                if let Some(seq) = session.last_ack {
                    self.acks.insert(client, seq);
                }
                if let (Some(team), Some(rules)) = (session.team, &mut self.rules) {
                    // The rules hear of the client with its team at its `Input::Join`.
                    rules.keep_team(client, team);
                }
                if let Some((position, rotation)) = session.pose {
                    self.pose(client, position, rotation, &mut effects)?;
                }
            }
        }
        Ok(effects)
    }

    /// What the room holds of `client` that a new connection may resume: its team, pose
    /// and last acknowledged kick.
    pub fn session(&self, client: ClientId) -> ClientSession {
        ClientSession {
            team: self.team_of(client),
            pose: self.clients.get(&client).and_then(|c| c.pose),
            last_ack: self.acks.get(&client).copied(),
        }
    }

    fn pose(
        &mut self,
        client: ClientId,
        position: [f32; 3],
        rotation: [f32; 4],
        effects: &mut Effects,
    ) -> Result<(), Refusal> {
        if self.needs_ticks() {
            self.move_player(client, position)?;
        }
        let pose = (position, rotation);
        let state = self.clients.entry(client).or_default();
        // Avatars standing still report the same pose over and over: announce changes only.
        if state.pose.replace(pose) != Some(pose) {
            self.poses_changed = true;
            effects.announcements.push(Announcement::Pose(PlayerPose {
                client,
                position,
                rotation,
            }));
        }
        Ok(())
    }

    fn leave(&mut self, client: ClientId, effects: &mut Effects) {
        self.rules_leave(client, effects);
        if let Some(state) = self.clients.remove(&client) {
            self.poses_changed |= state.pose.is_some();
            if let Some(handle) = state.body {
                self.world.remove_body(handle);
                self.players_moved = true;
            }
        }
        self.acks.remove(&client);
        self.queued.retain(|k| k.client != client);
    }

    /// Advance one fixed tick.
    pub fn tick(&mut self) -> Effects {
        self.tick += 1;
        if self.scene.fault_panic_at_tick == Some(self.tick) {
            panic!(
                "fault injection: scene `{}` panics at tick {}",
                self.scene.name, self.tick
            );
        }
        let mut effects = std::mem::take(&mut self.deferred);
        let due = self.queued.partition_point(|k| k.due <= self.tick);
        let kicked = due > 0;
        for k in self.queued.drain(..due).collect::<Vec<_>>() {
            let ball = &self.balls[k.ball];
            let body = &mut self.world.bodies[ball.handle];
            match k.point {
                Some(p) => body.apply_impulse_at_point(k.impulse, p, true),
                None => body.apply_impulse(k.impulse, true),
            }
            if let Some(seq) = k.seq {
                self.acks.insert(k.client, seq);
            }
            effects.announcements.push(Announcement::Kick(KickApplied {
                client: k.client,
                ball: ball.id,
                impulse: k.impulse.to_array(),
                point: k.point.map(|p| p.to_array()),
                tick: self.tick,
                seq: k.seq,
            }));
        }

        effects.stepped = kicked || self.players_moved || !self.balls_asleep();
        if effects.stepped {
            self.world.step_with_events(&(), &self.collisions);
            self.respawn_fallen_balls();
            self.sensor_events(&mut effects);
        }
        self.players_moved = false;
        if self.rules.is_some() {
            let sensors = std::mem::take(&mut effects.sensors);
            self.rules_tick(&sensors, &mut effects);
            effects.sensors = sensors;
        }

        self.record_history();

        let (tick, at_rest) = (self.tick, self.balls_asleep() && !self.poses_changed);
        if self.schedule.due(tick, self.tick_rate, kicked, at_rest) {
            self.poses_changed = false;
            effects.snapshot = Some(self.snapshot());
        } else if self.schedule.owes_kick() {
            // Kicks coalesce: their events (and what the rules said with them) go out
            // with the snapshot that acks them, not on a tick of their own.
            let mut held = std::mem::take(&mut effects.announcements);
            held.append(&mut self.deferred.announcements);
            self.deferred.announcements = held;
        }
        effects
    }

    /// True when a tick would change nothing but the clock and, once a second, make a
    /// snapshot (and, with rules, call their `onTick` at its rate): every ball sleeps, no
    /// kick is queued, no player moved or changed its pose since the last snapshot, and
    /// the rules have nothing waiting to be said. The host may then let ticks go by unrun
    /// ([`Room::skip`]) until an input or [`Room::next_due_tick`].
    pub fn is_at_rest(&self) -> bool {
        self.queued.is_empty()
            && !self.players_moved
            && !self.poses_changed
            && self.deferred.announcements.is_empty()
            && self.deferred.rules_failures.is_empty()
            && self
                .scene
                .fault_panic_at_tick
                .is_none_or(|t| t <= self.tick)
            && self.balls_asleep()
    }

    /// The next tick the room must run if it stays at rest until then: its next snapshot
    /// (one second after the last one at rest, sooner just after moving), or sooner its
    /// rules' next `onTick`.
    pub fn next_due_tick(&self) -> u64 {
        let at_rest = self.balls_asleep() && !self.poses_changed;
        let snapshot = self.schedule.next_due(self.tick, self.tick_rate, at_rest);
        match self.rules.as_ref().and_then(RoomRules::tick_every) {
            Some(every) => snapshot.min((self.tick / every + 1) * every),
            None => snapshot,
        }
    }

    /// Let `ticks` ticks go by without running them: the clock moves on (`tick`, `time`,
    /// and with them the kick budgets' refill and the reach checks' elapsed time), nothing
    /// else changes. Only for a room at rest ([`Room::is_at_rest`]), where running them
    /// would have changed nothing but the clock and made at-rest snapshots; the host
    /// wakes for the next snapshot or `onTick` ([`Room::next_due_tick`]) when anyone
    /// listens.
    /// A room not at rest is left as it is (those ticks must be run): returns whether
    /// the ticks went by.
    pub fn skip(&mut self, ticks: u64) -> bool {
        let at_rest = self.is_at_rest();
        if at_rest {
            self.tick += ticks;
        }
        at_rest
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

    /// The balls' positions after this tick, for judging kicks where their kicker saw
    /// the ball.
    fn record_history(&mut self) {
        let bodies = &self.world.bodies;
        let positions = self.balls.iter().map(|b| bodies[b.handle].translation());
        self.history.record(self.tick, positions);
        self.history.trim(self.tick, self.rewind_ticks());
    }

    /// [`MAX_REWIND`] in ticks.
    fn rewind_ticks(&self) -> u64 {
        (MAX_REWIND * self.tick_rate).ceil() as u64
    }

    fn balls_asleep(&self) -> bool {
        self.balls
            .iter()
            .all(|b| self.world.bodies[b.handle].is_sleeping())
    }

    /// Turn this step's collision events into sensor events (for the rules).
    fn sensor_events(&mut self, effects: &mut Effects) {
        for event in self.collisions.take() {
            let (a, b, entered) = match event {
                CollisionEvent::Started(a, b, _) => (a, b, true),
                CollisionEvent::Stopped(a, b, _) => (a, b, false),
            };
            let tag = |h| self.world.colliders.get(h).map_or(0, |c| c.user_data);
            let (other, tag) = match (tag(a), tag(b)) {
                (0, 0) => continue,
                (t, 0) => (b, t),
                (_, t) => (a, t),
            };
            let Some(ball) = self.balls.iter().find(|x| x.collider == other) else {
                continue;
            };
            let name = usize::try_from(tag - 1)
                .ok()
                .and_then(|i| self.sensor_names.get(i));
            if let Some(name) = name {
                effects.sensors.push(SensorEvent {
                    sensor: name.clone(),
                    ball: ball.id,
                    entered,
                    tick: self.tick,
                });
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
}
