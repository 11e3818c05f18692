//! The room task: the single owner of one room's [`Room`] simulation and member list.
//!
//! Connections talk to it only through [`RoomEvent`]s on a bounded channel; it answers
//! through each member's [`Outbox`]. It ticks the simulation on a [`TickClock`], encodes
//! each snapshot once and hands the same bytes to every protocol member. It never writes a
//! socket itself, so a slow client cannot stall a tick.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
// tokio's clock, so tests can run rooms on paused (auto-advancing) time.
use tokio::time::{Instant, sleep_until};
use tokio_tungstenite::tungstenite::Message;
use tracing::{Instrument, debug, error, info, info_span, warn};

use super::outbox::{Outbox, Why};
use super::{JoinError, Shared};
use crate::clock::TickClock;
use crate::game::GameEvent;
use crate::protocol::{self, ClientId, Command, ServerMsg, Snapshot};
use crate::room::{RejectReason, Room, TickOutput};
use crate::scene::Scene;
use crate::telemetry;

/// Events a room task accepts.
pub enum RoomEvent {
    Join {
        client: ClientId,
        outbox: Outbox,
        /// Receives server messages from the start (else only after its first command).
        protocol: bool,
        /// Receives its own relayed messages back.
        echo: bool,
        /// The authenticated player id, if any.
        player: Option<String>,
        /// Answered `Ok` once the client is a member, or why it cannot be.
        accepted: oneshot::Sender<Result<(), JoinError>>,
    },
    Leave {
        client: ClientId,
    },
    Command {
        client: ClientId,
        command: Command,
    },
    /// A frame that is not ours, to relay verbatim.
    Relay {
        client: ClientId,
        frame: Message,
    },
}

/// Live figures of a room, readable without asking its task (for `GET /rooms`).
#[derive(Debug)]
pub struct RoomInfo {
    pub scene: String,
    pub clients: AtomicUsize,
    pub tick: AtomicU64,
}

/// How connections reach a room task.
#[derive(Clone)]
pub struct RoomHandle {
    pub id: u64,
    pub events: mpsc::Sender<RoomEvent>,
    pub info: Arc<RoomInfo>,
}

/// A room that keeps falling behind says so at most this often (with the count).
const DROP_LOG_EVERY: Duration = Duration::from_secs(10);

/// Room events that may wait before a sender is held back.
const ROOM_QUEUE: usize = 1024;

struct Member {
    outbox: Outbox,
    protocol: bool,
    echo: bool,
    /// The last pose relayed for this client: an identical report is not relayed again.
    pose: Option<(protocol::Vec3, protocol::Quat)>,
    player: Option<String>,
}

struct RoomTask {
    name: String,
    id: u64,
    shared: Arc<Shared>,
    room: Room,
    members: BTreeMap<ClientId, Member>,
    info: Arc<RoomInfo>,
    created: Instant,
}

/// Start a room task for `name` and return its handle.
pub fn spawn(shared: &Arc<Shared>, id: u64, name: &str, scene: Arc<Scene>) -> RoomHandle {
    let (tx, rx) = mpsc::channel(ROOM_QUEUE);
    let info = Arc::new(RoomInfo {
        scene: scene.name.clone(),
        clients: AtomicUsize::new(0),
        tick: AtomicU64::new(0),
    });
    let task = RoomTask {
        name: name.to_owned(),
        id,
        shared: shared.clone(),
        room: Room::new(scene.clone(), shared.config.sim()),
        members: BTreeMap::new(),
        info: info.clone(),
        created: Instant::now(),
    };
    // A root span: the room outlives the connection that happened to create it.
    let span = info_span!(parent: None, "room", room = %name, scene = %scene.name);
    shared.tasks.spawn(task.run(rx).instrument(span));
    RoomHandle {
        id,
        events: tx,
        info,
    }
}

impl RoomTask {
    async fn run(mut self, mut events: mpsc::Receiver<RoomEvent>) {
        info!("room opened");
        let config = &self.shared.config;
        let physics = self.room.scene().has_physics();
        let mut clock = TickClock::new(
            self.created.into_std(),
            config.tick_rate,
            config.max_catch_up,
        );
        let linger = config.room_linger;
        let shutdown = self.shared.shutdown.clone();
        // Created on behalf of a joiner that is about to arrive; if it never does, the
        // room lingers and closes like any other empty room.
        let mut empty_since = Some(Instant::now());
        let period = Duration::from_secs_f64(1.0 / config.tick_rate);
        let mut dropped_unlogged = 0u64;
        let mut last_drop_log: Option<Instant> = None;
        metrics::gauge!(telemetry::ROOMS).increment(1.0);
        'run: loop {
            let linger_deadline = empty_since.map(|t| t + linger);
            let deadline = Instant::from_std(clock.next_deadline());
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => break,
                _ = sleep_until(deadline), if physics => {
                    let now = Instant::now();
                    telemetry::hot().tick_lateness.record(now - deadline);
                    let due = clock.due(now.into_std());
                    if due.dropped > 0 {
                        metrics::counter!(telemetry::TICKS_DROPPED).increment(due.dropped);
                        dropped_unlogged += due.dropped;
                        // An overloaded server would otherwise log for every room every tick.
                        if last_drop_log.is_none_or(|t: Instant| now - t >= DROP_LOG_EVERY) {
                            warn!(dropped = dropped_unlogged, "room fell behind; dropped ticks");
                            dropped_unlogged = 0;
                            last_drop_log = Some(now);
                        }
                    }
                    for _ in 0..due.run {
                        let started = Instant::now();
                        let ticked = guarded(|| {
                            let out = self.room.tick();
                            self.publish(out);
                        });
                        if let Err(panic) = ticked {
                            self.fail(&panic);
                            break 'run;
                        }
                        let took = started.elapsed();
                        telemetry::hot().tick_duration.record(took);
                        if took > period {
                            metrics::counter!(telemetry::TICK_OVERRUNS).increment(1);
                        }
                    }
                    self.info.tick.store(self.room.tick_count(), Ordering::Relaxed);
                }
                event = events.recv() => match event {
                    Some(event) => {
                        if let Err(panic) = guarded(|| self.handle(event)) {
                            self.fail(&panic);
                            break 'run;
                        }
                        empty_since = match (self.members.is_empty(), empty_since) {
                            (true, None) => Some(Instant::now()),
                            (true, since) => since,
                            (false, _) => None,
                        };
                    }
                    None => break,
                },
                _ = sleep_until(linger_deadline.unwrap_or_else(Instant::now)), if linger_deadline.is_some() => {
                    // Close only if no joiner is already queued; `retire` checks under the
                    // registry lock, so a racing joiner either is queued (and served) or
                    // finds the room gone and creates a fresh one.
                    if self.shared.retire_room(&self.name, self.id, || events.is_empty()) {
                        break;
                    }
                    empty_since = Some(Instant::now());
                }
            }
        }
        self.shared.retire_room(&self.name, self.id, || true);
        metrics::gauge!(telemetry::ROOMS).decrement(1.0);
        info!(ticks = self.room.tick_count(), "room closed");
    }

    fn handle(&mut self, event: RoomEvent) {
        match event {
            RoomEvent::Join {
                client,
                outbox,
                protocol,
                echo,
                player,
                accepted,
            } => {
                let max = self.shared.config.max_clients_per_room;
                if self.members.len() >= max as usize {
                    let _ = accepted.send(Err(JoinError::RoomFull(max)));
                    return;
                }
                if accepted.send(Ok(())).is_err() {
                    return; // the connection gave up while queued
                }
                self.members.insert(
                    client,
                    Member {
                        outbox,
                        protocol: false,
                        echo,
                        pose: None,
                        player,
                    },
                );
                self.info
                    .clients
                    .store(self.members.len(), Ordering::Relaxed);
                debug!(client, protocol, echo, "joined");
                if protocol {
                    self.promote(client);
                }
                let joined = encode(&ServerMsg::Joined { client });
                self.to_protocol_members(&joined, Some(client));
            }
            RoomEvent::Leave { client } => {
                if self.members.remove(&client).is_none() {
                    return;
                }
                self.room.remove_client(client);
                self.info
                    .clients
                    .store(self.members.len(), Ordering::Relaxed);
                debug!(client, "left");
                let left = encode(&ServerMsg::Left { client });
                self.to_protocol_members(&left, None);
                // A leaver can pause, forfeit or reset the match: say so now.
                let events = self.room.drain_events();
                self.publish_events(&events);
            }
            RoomEvent::Relay { client, frame } => {
                for (&id, m) in &self.members {
                    if id != client || m.echo {
                        let _ = m.outbox.send(frame.clone());
                    }
                }
            }
            RoomEvent::Command { client, command } => {
                if !self.members.contains_key(&client) {
                    return;
                }
                self.promote(client);
                self.command(client, command);
            }
        }
    }

    fn command(&mut self, client: ClientId, command: Command) {
        match command {
            Command::Kick {
                ball,
                impulse,
                point,
                seq,
            } => {
                if let Err(reason) = self.room.queue_kick(client, ball, impulse, point, seq) {
                    debug!(client, code = reason.code(), %reason, "kick rejected");
                    self.error_to(client, &reason, seq);
                }
            }
            Command::Player { position, rotation } => {
                if self.room.scene().has_physics() {
                    if let Err(reason) = self.room.set_player(client, position) {
                        debug!(client, code = reason.code(), %reason, "position rejected");
                        self.error_to(client, &reason, None);
                        return;
                    }
                }
                let pose = (position, rotation.unwrap_or(protocol::Quat::IDENTITY));
                let Some(member) = self.members.get_mut(&client) else {
                    return;
                };
                // Avatars standing still report the same pose over and over: relay changes only.
                if member.pose.replace(pose) == Some(pose) {
                    return;
                }
                let msg = encode(&ServerMsg::Player {
                    client,
                    position: pose.0,
                    rotation: pose.1,
                });
                self.to_protocol_members(&msg, Some(client));
            }
            Command::Ping { t } => {
                let msg = encode(&ServerMsg::Pong {
                    t: &t,
                    tick: self.room.tick_count(),
                    server_time: self.clock(),
                });
                self.send_to(client, msg);
            }
            Command::JoinTeam { team } => match self.room.join_team(client, team) {
                Ok(()) => {
                    let events = self.room.drain_events();
                    self.publish_events(&events);
                }
                Err(reason) => {
                    debug!(client, code = reason.code(), %reason, "join_team rejected");
                    self.error_to(client, &reason, None);
                }
            },
            Command::State => {
                let snap = encode(&ServerMsg::Snapshot(&self.room.snapshot()));
                if let Some(m) = self.members.get(&client) {
                    m.outbox.send_snapshot(snap);
                }
            }
        }
    }

    /// Make `client` a protocol member: it gets `welcome` and the current snapshot.
    fn promote(&mut self, client: ClientId) {
        let Some(member) = self.members.get_mut(&client) else {
            return;
        };
        if member.protocol {
            return;
        }
        member.protocol = true;
        let echo = member.echo;
        let player = member.player.clone();
        let config = &self.shared.config;
        let welcome = encode(&ServerMsg::Welcome {
            client,
            room: &self.name,
            tick: self.room.tick_count(),
            time: self.clock(),
            tick_rate: config.tick_rate,
            snapshot_rate: config.sim().snapshot_rate,
            echo,
            clients: self.members.keys().copied().collect(),
            scene: self.room.scene(),
            match_state: self.room.match_state().as_ref(),
            player: player.as_deref(),
        });
        self.send_to(client, welcome);
        if self.room.scene().has_physics() {
            let snap = encode(&ServerMsg::Snapshot(&self.room.snapshot()));
            if let Some(m) = self.members.get(&client) {
                m.outbox.send_snapshot(snap);
            }
        }
    }

    fn publish(&mut self, out: TickOutput) {
        for kick in &out.kicks {
            let msg = encode(&ServerMsg::Kick(kick));
            self.to_protocol_members(&msg, None);
        }
        self.publish_events(&out.events);
        if let Some(snapshot) = out.snapshot {
            self.broadcast_snapshot(&snapshot);
        }
    }

    /// Match events go to every protocol member, in order, each encoded once.
    fn publish_events(&self, events: &[GameEvent]) {
        for event in events {
            let msg = encode(&match event {
                GameEvent::State(s) => ServerMsg::Match(s),
                GameEvent::Goal(g) => ServerMsg::Goal(g),
                GameEvent::Result(r) => ServerMsg::Result(r),
            });
            self.to_protocol_members(&msg, None);
        }
    }

    /// Encode once; every protocol member gets the same bytes.
    fn broadcast_snapshot(&self, snapshot: &Snapshot) {
        let started = Instant::now();
        let msg = encode(&ServerMsg::Snapshot(snapshot));
        for m in self.members.values().filter(|m| m.protocol) {
            m.outbox.send_snapshot(msg.clone());
        }
        telemetry::hot().fanout.record(started.elapsed());
    }

    fn to_protocol_members(&self, msg: &Message, except: Option<ClientId>) {
        for (&id, m) in &self.members {
            if m.protocol && Some(id) != except {
                let _ = m.outbox.send(msg.clone());
            }
        }
    }

    fn send_to(&self, client: ClientId, msg: Message) {
        if let Some(m) = self.members.get(&client) {
            let _ = m.outbox.send(msg);
        }
    }

    fn error_to(&self, client: ClientId, reason: &RejectReason, seq: Option<u64>) {
        metrics::counter!(telemetry::REJECTED, "reason" => reason.code()).increment(1);
        let msg = encode(&ServerMsg::Error {
            code: reason.code(),
            message: &reason.to_string(),
            seq,
        });
        self.send_to(client, msg);
    }

    /// A panic escaped the simulation: the room's state can no longer be trusted. Tell
    /// every member, close their connections (1011) and let the room go; the rest of the
    /// server carries on, and the next join opens a fresh room.
    fn fail(&mut self, panic: &str) {
        error!(
            panic,
            members = self.members.len(),
            "room panicked; closing it"
        );
        metrics::counter!(telemetry::ROOM_PANICS).increment(1);
        let message = "the room failed and was closed; reconnect to start a new one";
        let msg = encode(&ServerMsg::Error {
            code: "room_failed",
            message,
            seq: None,
        });
        for m in self.members.values() {
            let _ = m.outbox.send(msg.clone());
            m.outbox.disconnect(Why::RoomFailed);
        }
        self.members.clear();
    }

    /// Seconds on the room clock: `tick / tick_rate` where the room has physics (the same
    /// clock as snapshots' `time`); in a room without physics, which has no ticks,
    /// seconds since the room opened.
    fn clock(&self) -> f64 {
        if self.room.scene().has_physics() {
            self.room.time()
        } else {
            self.created.elapsed().as_secs_f64()
        }
    }
}

/// Run `f`, turning a panic into its message.
fn guarded(f: impl FnOnce()) -> Result<(), String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|payload| {
        payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "non-string panic".to_owned())
    })
}

/// Encode once into a frame whose payload is shared by every clone.
pub fn encode(msg: &ServerMsg<'_>) -> Message {
    Message::text(protocol::encode(msg))
}

/// How long a connection waits for a room to take its join before giving up.
pub const JOIN_TIMEOUT: Duration = Duration::from_secs(10);
