//! The room task: the single owner of one room's [`Room`] simulation and member list.
//!
//! Connections talk to it only through [`RoomRequest`]s on a bounded channel; it answers
//! through each member's [`Outbox`](super::outbox::Outbox). It feeds commands to
//! [`Room::apply`], ticks the room on a [`TickClock`], and passes on the [`Effects`] of
//! both: each message encoded once, the same bytes handed to every protocol member. It
//! never writes a socket itself, so a slow client cannot stall a tick.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize};

use tokio::sync::mpsc;
// tokio's clock, so tests can run rooms on paused (auto-advancing) time.
use tokio::time::{Instant, sleep_until};
use tokio_tungstenite::tungstenite::Message;
use tracing::{Instrument, debug, error, info, info_span};

use super::disconnect::DisconnectReason;
use super::outbox::frame;
use super::{ConnectionId, ServerState};
use crate::ids::ClientId;
use crate::protocol::binary::{Params, Quantizer};
use crate::protocol::{CodedMessage, Command, ErrorCode, ServerMsg, WireError};
use crate::room::{Input, Room};
use crate::telemetry;

mod cluster_link;
mod clustered;
mod delivery;
mod envelope;
mod follower;
mod membership;
mod relayed;
mod remote;
mod saving;
mod ticking;

use cluster_link::{ClusterEvent, ClusterLink};
pub use clustered::spawn_clustered;
use membership::Member;
pub use membership::{DepartedSessions, JoinAsk, Joined, Link, departed_from_saved};
use ticking::Ticker;

/// What a connection asks of its room task. Every request names the connection it comes
/// from; the room knows which client that connection is.
pub enum RoomRequest {
    Join(JoinAsk),
    Leave {
        connection: ConnectionId,
    },
    Command {
        connection: ConnectionId,
        command: Command,
        /// The frame it was decoded from (what a node forwards to another).
        frame: Message,
    },
    /// A frame that is not ours, to relay verbatim.
    Relay {
        connection: ConnectionId,
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
    pub requests: mpsc::Sender<RoomRequest>,
    pub info: Arc<RoomInfo>,
}

struct RoomTask {
    name: String,
    id: u64,
    server: Arc<ServerState>,
    room: Room,
    members: BTreeMap<ClientId, Member>,
    /// Which client each member's connection is.
    connections: HashMap<ConnectionId, ClientId>,
    /// Sessions whose connection ended, resumable by token for `--room-linger`.
    departed: DepartedSessions,
    /// Quantizes this room's snapshots for binary clients; its parameters (what binary
    /// snapshots of this room's scene are made of) go out in binary welcomes.
    quantizer: Quantizer,
    info: Arc<RoomInfo>,
    created: Instant,
    /// The simulation panicked: its state is not to be trusted, nor saved.
    failed: bool,
    /// With `--nats`: the room's subjects, and the lease of a physics room's owner.
    cluster: Option<ClusterLink>,
    /// A save to the cluster's store is in flight.
    saving: Arc<std::sync::atomic::AtomicBool>,
}

/// Why a room task stopped running its room.
#[derive(Debug, PartialEq, Eq)]
enum RunEnd {
    /// Closed: empty for its linger time, failed, or the server shut down.
    Closed,
    /// The cluster lease was lost: another node may run the room now.
    LeaseLost,
}

/// Start a room task for `name`, running `room` (a new one, or one restored with the
/// sessions that may come back to it), and return its handle.
pub fn spawn(
    server: &Arc<ServerState>,
    id: u64,
    name: &str,
    room: Room,
    departed: DepartedSessions,
) -> RoomHandle {
    let scene = room.scene().name.clone();
    let (tx, mut rx) = mpsc::channel(server.queues.room_requests);
    let info = Arc::new(RoomInfo {
        scene: scene.clone(),
        clients: AtomicUsize::new(0),
        tick: AtomicU64::new(0),
    });
    let task = RoomTask::new(server, id, name, room, departed, info.clone(), None);
    // A root span: the room outlives the connection that happened to create it.
    let span = info_span!(parent: None, "room", room = %name, scene = %scene);
    server.tasks.spawn(
        async move {
            task.run(&mut rx).await;
        }
        .instrument(span),
    );
    RoomHandle {
        id,
        requests: tx,
        info,
    }
}

impl RoomTask {
    fn new(
        server: &Arc<ServerState>,
        id: u64,
        name: &str,
        room: Room,
        departed: DepartedSessions,
        info: Arc<RoomInfo>,
        cluster: Option<ClusterLink>,
    ) -> RoomTask {
        let params = Params::for_scene(room.scene(), server.config.tick_rate);
        RoomTask {
            name: name.to_owned(),
            id,
            server: server.clone(),
            room,
            members: BTreeMap::new(),
            connections: HashMap::new(),
            departed,
            quantizer: Quantizer::new(Arc::new(params)),
            info,
            created: Instant::now(),
            failed: false,
            cluster,
            saving: Arc::default(),
        }
    }

    async fn run(mut self, requests: &mut mpsc::Receiver<RoomRequest>) -> RunEnd {
        info!("room opened");
        let config = &self.server.config;
        let mut ticker = Ticker::new(self.created, config.tick_rate, config.max_catch_up);
        let linger = config.room_linger;
        let shutdown = self.server.shutdown.clone();
        // Created on behalf of a joiner that is about to arrive; if it never does, the
        // room lingers and closes like any other empty room.
        let mut empty_since = Some(Instant::now());
        metrics::gauge!(telemetry::ROOMS).increment(1.0);
        let persist_every = config.persist_interval;
        let mut next_persist = Instant::now() + persist_every;
        let mut end = RunEnd::Closed;
        'run: loop {
            let linger_deadline = empty_since.map(|t| t + linger);
            // None: the room sleeps (at rest and empty, or without physics).
            let wake = self.next_wake(&ticker);
            let lease_lost = self
                .cluster
                .as_ref()
                .and_then(|c| c.keeper.as_ref())
                .map(|k| k.lost.clone());
            let owner = lease_lost.is_some();
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => break,
                _ = async { lease_lost.as_ref().expect("an owner").cancelled().await }, if owner => {
                    end = RunEnd::LeaseLost;
                    break;
                }
                _ = sleep_until(wake.map_or_else(Instant::now, |w| w.at)), if wake.is_some() => {
                    let wake = wake.expect("armed");
                    if let Err(panic) = self.on_tick(&mut ticker, wake) {
                        self.fail(&panic);
                        break 'run;
                    }
                }
                request = requests.recv() => match request {
                    Some(request) => {
                        self.skip_slept(&mut ticker);
                        if let Err(panic) = guarded(|| self.handle(request)) {
                            self.fail(&panic);
                            break 'run;
                        }
                        empty_since = self.empty_since(empty_since);
                    }
                    None => break,
                },
                event = async { self.cluster.as_mut().expect("clustered").next_event().await }, if self.cluster.is_some() => {
                    self.skip_slept(&mut ticker);
                    match event {
                        ClusterEvent::Inbound(inbound) => {
                            if let Err(panic) = guarded(|| self.remote(inbound)) {
                                self.fail(&panic);
                                break 'run;
                            }
                        }
                        ClusterEvent::NodeGone(node) => self.node_gone(&node),
                        ClusterEvent::Closed => break,
                        ClusterEvent::Nothing => {}
                    }
                    empty_since = self.empty_since(empty_since);
                }
                _ = sleep_until(next_persist), if owner => {
                    next_persist = Instant::now() + persist_every;
                    if !self.frozen() {
                        self.skip_slept(&mut ticker);
                        self.persist();
                    }
                }
                _ = sleep_until(linger_deadline.unwrap_or_else(Instant::now)), if linger_deadline.is_some() => {
                    // Close only if no joiner is already queued; `retire` checks under the
                    // registry lock, so a racing joiner either is queued (and served) or
                    // finds the room gone and creates a fresh one.
                    if self.server.rooms.retire_room(&self.name, self.id, || requests.is_empty()) {
                        break;
                    }
                    empty_since = Some(Instant::now());
                }
            }
        }
        // A room saved or handed over carries its clock as of now.
        if !self.failed {
            self.skip_slept(&mut ticker);
        }
        match end {
            RunEnd::LeaseLost => self.moved(),
            RunEnd::Closed if self.server.shutdown.is_cancelled() && !self.failed => {
                self.save().await
            }
            RunEnd::Closed => self.closed().await,
        }
        self.server.rooms.retire_room(&self.name, self.id, || true);
        metrics::gauge!(telemetry::ROOMS).decrement(1.0);
        info!(ticks = self.room.tick_count(), ?end, "room closed");
        end
    }

    /// An owner that cannot reach NATS neither ticks nor takes commands: what it would
    /// simulate could not be saved, and another node may soon restore the room from its
    /// last save. It runs again when NATS is back, or gives the room up at its lease's
    /// fence.
    fn frozen(&self) -> bool {
        self.cluster.as_ref().is_some_and(|c| {
            c.keeper.is_some() && c.cluster.nats_state() != crate::cluster::NatsState::Connected
        })
    }

    /// Empty since when, now that the members may have changed.
    fn empty_since(&self, since: Option<Instant>) -> Option<Instant> {
        empty_since(self.members.is_empty(), since)
    }

    fn handle(&mut self, request: RoomRequest) {
        match request {
            RoomRequest::Join(ask) => self.join(ask),
            RoomRequest::Leave { connection } => self.leave(connection),
            RoomRequest::Relay { connection, frame } => {
                let Some(&client) = self.connections.get(&connection) else {
                    return;
                };
                self.relay(client, frame);
            }
            RoomRequest::Command {
                connection,
                command,
                frame: _,
            } => {
                let Some(&client) = self.connections.get(&connection) else {
                    return;
                };
                self.promote(client);
                self.command(client, command);
            }
        }
    }

    fn command(&mut self, client: ClientId, command: Command) {
        match command {
            Command::Room(input) => {
                let seq = match &input {
                    Input::Kick(kick) => kick.seq,
                    _ => None,
                };
                if self.frozen() {
                    let refusal = CodedMessage {
                        code: ErrorCode::RoomBusy,
                        message: "the room's node has lost NATS; the room is frozen until it is \
                                  back or the room moves to another node"
                            .into(),
                    };
                    self.reject(client, &refusal, seq);
                    return;
                }
                if self.members.get(&client).is_some_and(|m| m.spectator) {
                    let refusal = CodedMessage {
                        code: ErrorCode::Spectating,
                        message: "spectators watch: they cannot kick, move or join a team".into(),
                    };
                    self.reject(client, &refusal, seq);
                    return;
                }
                match self.room.apply(client, input) {
                    Ok(effects) => self.publish(effects),
                    Err(refusal) => {
                        debug!(client, code = %refusal.code(), %refusal, "command refused");
                        self.reject(client, &refusal, seq);
                    }
                }
            }
            Command::Ping { t } => {
                let msg = frame(&ServerMsg::Pong {
                    t: &t,
                    tick: self.room.tick_count(),
                    server_time: self.clock(),
                });
                self.send_to(client, msg);
            }
            Command::State => self.snapshot_to(client),
        }
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
        self.failed = true;
        let failed = CodedMessage {
            code: ErrorCode::RoomFailed,
            message: "the room failed and was closed; reconnect to start a new one".into(),
        };
        for (&client, m) in &self.members {
            self.reject(client, &failed, None);
            self.disconnect(client, &m.link, DisconnectReason::RoomFailed);
        }
        self.members.clear();
    }

    /// Seconds on the room clock: `tick / tick_rate` where the room has physics (the same
    /// clock as snapshots' `time`); in a room without physics, which has no ticks,
    /// seconds since the room opened.
    fn clock(&self) -> f64 {
        if self.room.needs_ticks() {
            self.room.time()
        } else {
            self.created.elapsed().as_secs_f64()
        }
    }
}

/// Since when a room that is `empty` now has been empty (`since`: until now), for its
/// linger: the same moment while it stays empty, now when it has just become so.
fn empty_since(empty: bool, since: Option<Instant>) -> Option<Instant> {
    match (empty, since) {
        (true, None) => Some(Instant::now()),
        (true, since) => since,
        (false, _) => None,
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
