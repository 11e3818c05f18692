//! A room on this node: the single owner of one [`Room`] simulation and its members.
//!
//! Connections talk to it only through [`RoomRequest`]s on a bounded channel; it answers
//! through each member's [`Mailbox`](super::Mailbox). It feeds commands to
//! [`Room::apply`], ticks the room on a [`TickClock`](crate::clock::TickClock), and passes
//! on the [`Effects`](crate::room::Effects) of both: each message encoded once, the same
//! bytes handed to every protocol member. It never writes a socket itself, so a slow
//! client cannot stall a tick.
//!
//! Its loop waits for four things: shutdown, its next tick, a request, and the end of its
//! linger once empty. What other nodes ask of it comes through its [`Peers`], which never
//! speak on a single node (the owner's additions are in `owner.rs`).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use tokio::sync::mpsc;
// tokio's clock, so tests can run rooms on paused (auto-advancing) time.
use tokio::time::{Instant, sleep_until};
use tracing::{Instrument, debug, error, info, info_span};

use super::mailbox::{Farewell, frame};
use super::membership::Member;
use super::membership::empty_since;
use super::peers::{PeerEvent, Peers};
use super::rules_failures::FailureLog;
use super::ticking::{Ticker, guarded};
use super::{ConnectionId, DepartedSessions, Host, RoomHandle, RoomInfo, RoomRequest};
use crate::ids::ClientId;
use crate::protocol::binary::{Params, Quantizer};
use crate::protocol::{CodedMessage, Command, ErrorCode, ServerMsg};
use crate::room::{Input, Room};
use crate::telemetry;

/// One room and its members, run by one task.
pub struct LocalRoom {
    pub(super) name: String,
    pub(super) id: u64,
    pub(super) host: Arc<Host>,
    pub(super) room: Room,
    pub(super) members: BTreeMap<ClientId, Member>,
    /// Which client each member's connection is.
    pub(super) connections: HashMap<ConnectionId, ClientId>,
    /// Sessions whose connection ended, resumable by token for `--room-linger`.
    pub(super) departed: DepartedSessions,
    /// Quantizes this room's snapshots for binary clients; its parameters (what binary
    /// snapshots of this room's scene are made of) go out in binary welcomes.
    pub(super) quantizer: Quantizer,
    pub(super) info: Arc<RoomInfo>,
    pub(super) created: Instant,
    /// The simulation panicked: its state is not to be trusted, nor saved.
    pub(super) failed: bool,
    /// The other nodes of the room, in a cluster.
    pub(super) peers: Peers,
    /// When the room's rules last said they failed.
    pub(super) rules_log: FailureLog,
}

/// Whether the room reads its requests at its ticks instead of as they arrive: while it is
/// awake (ticking), so that a room of players sending poses and kicks between ticks wakes
/// once a tick, not once a request. Nothing waits longer for it: a kick or pose read
/// mid-tick is applied on the next tick anyway, and a `pong`'s `server_time` is the
/// room's tick clock either way. A resting room, or one without physics, reads each
/// request as it comes.
fn read_at_ticks(wake: Option<super::ticking::Wake>) -> bool {
    wake.is_some_and(|w| !w.resting)
}

/// Why a room stopped running.
#[derive(Debug, PartialEq, Eq)]
enum RunEnd {
    /// Closed: empty for its linger time, failed, or the server shut down.
    Closed,
    /// The cluster lease was lost: another node may run the room now.
    LeaseLost,
}

impl LocalRoom {
    /// Start the task of room `name` on a single node, running `room` (a new one, or one
    /// restored with the sessions that may come back to it), and return its handle.
    pub fn spawn(
        host: &Arc<Host>,
        id: u64,
        name: &str,
        room: Room,
        departed: DepartedSessions,
    ) -> RoomHandle {
        let scene = room.scene().name.clone();
        let (tx, mut rx) = mpsc::channel(host.queues.room_requests);
        let info = RoomInfo::new(room.scene());
        let task = LocalRoom::new(host, id, name, room, departed, info.clone(), Peers::Alone);
        // A root span: the room outlives the connection that happened to create it.
        let span = info_span!(parent: None, "room", room = %name, scene = %scene);
        host.tasks.spawn(
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

    pub(super) fn new(
        host: &Arc<Host>,
        id: u64,
        name: &str,
        room: Room,
        departed: DepartedSessions,
        info: Arc<RoomInfo>,
        peers: Peers,
    ) -> LocalRoom {
        let params = Params::for_scene(room.scene(), host.config.tick_rate);
        LocalRoom {
            name: name.to_owned(),
            id,
            host: host.clone(),
            room,
            members: BTreeMap::new(),
            connections: HashMap::new(),
            departed,
            quantizer: Quantizer::new(Arc::new(params)),
            info,
            created: Instant::now(),
            failed: false,
            peers,
            rules_log: FailureLog::default(),
        }
    }

    pub(super) async fn run(mut self, requests: &mut mpsc::Receiver<RoomRequest>) {
        info!("room opened");
        let config = &self.host.config;
        let mut ticker = Ticker::new(self.created, config.tick_rate, config.max_catch_up);
        let linger = config.room_linger;
        let shutdown = self.host.shutdown.clone();
        // Created on behalf of a joiner that is about to arrive; if it never does, the
        // room lingers and closes like any other empty room.
        let mut empty_since = Some(Instant::now());
        metrics::gauge!(telemetry::ROOMS).increment(1.0);
        let mut end = RunEnd::Closed;
        'run: loop {
            let linger_deadline = empty_since.map(|t| t + linger);
            // None: the room sleeps (at rest and empty, or without physics).
            let wake = self.next_wake(&ticker);
            let lease_lost = self.peers.lease_lost();
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => break,
                _ = lease_lost => {
                    end = RunEnd::LeaseLost;
                    break;
                }
                _ = sleep_until(wake.map_or_else(Instant::now, |w| w.at)), if wake.is_some() => {
                    let wake = wake.expect("armed");
                    // An awake room reads its requests here, once a tick, not as each
                    // arrives (see `read_at_ticks`).
                    let drained = if wake.resting { Ok(true) } else {
                        self.drain(requests, &mut ticker, &mut empty_since)
                    };
                    match drained.and_then(|open| self.on_tick(&mut ticker, wake).map(|()| open)) {
                        Ok(true) => {}
                        Ok(false) => break,
                        Err(panic) => {
                            self.fail(&panic);
                            break 'run;
                        }
                    }
                }
                request = requests.recv(), if !read_at_ticks(wake) => match request {
                    Some(request) => {
                        if let Err(panic) = self.serve(request, &mut ticker, &mut empty_since) {
                            self.fail(&panic);
                            break 'run;
                        }
                    }
                    None => break,
                },
                event = self.peers.next_event() => {
                    match event {
                        PeerEvent::Closed => break,
                        PeerEvent::Nothing => continue,
                        PeerEvent::PersistDue if self.peers.frozen() => continue,
                        _ => {}
                    }
                    self.skip_slept(&mut ticker);
                    if let Err(panic) = guarded(|| self.peer_event(event)) {
                        self.fail(&panic);
                        break 'run;
                    }
                    empty_since = self.empty_since(empty_since);
                }
                _ = sleep_until(linger_deadline.unwrap_or_else(Instant::now)), if linger_deadline.is_some() => {
                    // Close only if no joiner is already queued; `retire` checks under the
                    // registry lock, so a racing joiner either is queued (and served) or
                    // finds the room gone and creates a fresh one.
                    if self.host.rooms.retire_room(&self.name, self.id, || requests.is_empty()) {
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
            RunEnd::Closed if self.host.shutdown.is_cancelled() && !self.failed => {
                self.save().await
            }
            RunEnd::Closed => self.release().await,
        }
        self.host.rooms.retire_room(&self.name, self.id, || true);
        metrics::gauge!(telemetry::ROOMS).decrement(1.0);
        info!(ticks = self.room.tick_count(), ?end, "room closed");
    }

    /// The requests queued since the last tick, handled in order before it runs (as many
    /// as the queue holds, so a flood cannot keep the tick waiting). Ok(false): the
    /// channel is closed. Err: the simulation panicked.
    fn drain(
        &mut self,
        requests: &mut mpsc::Receiver<RoomRequest>,
        ticker: &mut Ticker,
        empty_since: &mut Option<Instant>,
    ) -> Result<bool, String> {
        for _ in 0..requests.max_capacity() {
            let request = match requests.try_recv() {
                Ok(request) => request,
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => return Ok(false),
            };
            self.serve(request, ticker, empty_since)?;
        }
        Ok(true)
    }

    /// One request, whether read as it came or at a tick: the ticks slept through go by
    /// first, then the request, then the room's emptiness is noted. Err: the simulation
    /// panicked.
    fn serve(
        &mut self,
        request: RoomRequest,
        ticker: &mut Ticker,
        empty_since: &mut Option<Instant>,
    ) -> Result<(), String> {
        self.skip_slept(ticker);
        guarded(|| self.handle(request))?;
        *empty_since = self.empty_since(*empty_since);
        Ok(())
    }

    /// What another node asked (or the owner's next save).
    fn peer_event(&mut self, event: PeerEvent) {
        match event {
            PeerEvent::Inbound(inbound) => self.remote(inbound),
            PeerEvent::NodeGone(node) => self.node_gone(&node),
            PeerEvent::PersistDue => self.persist(),
            PeerEvent::Closed | PeerEvent::Nothing => {}
        }
    }

    /// Empty since when, now that the members may have changed.
    fn empty_since(&self, since: Option<Instant>) -> Option<Instant> {
        empty_since(self.members.is_empty(), since)
    }

    pub(super) fn handle(&mut self, request: RoomRequest) {
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
                if let Some(refusal) = self.peers.refusal() {
                    self.reject(client, &refusal, seq);
                    return;
                }
                let plays = !matches!(input, Input::Message { .. });
                if plays && self.members.get(&client).is_some_and(|m| m.spectator) {
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
                        debug!(client, code = %crate::protocol::WireError::code(&refusal), %refusal, "command refused");
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
            self.disconnect(client, &m.link, Farewell::RoomFailed);
        }
        self.members.clear();
    }

    /// Seconds on the room clock: `tick / tick_rate` where the room has physics (the same
    /// clock as snapshots' `time`); in a room without physics, which has no ticks,
    /// seconds since the room opened.
    pub(super) fn clock(&self) -> f64 {
        if self.room.needs_ticks() {
            self.room.time()
        } else {
            self.created.elapsed().as_secs_f64()
        }
    }
}
