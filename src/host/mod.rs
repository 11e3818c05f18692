//! The room host: one task per open room, the single owner of its [`Room`](crate::room::Room)
//! and its members. Connections reach a room only through [`RoomRequest`]s on its bounded
//! channel ([`RoomHandle`]); the room answers through each member's [`Mailbox`], which the
//! transport drains into the socket. The host never touches a socket, and knows the
//! cluster only through its room's link.
//!
//! One type per role:
//! - `local.rs`: [`LocalRoom`], the room loop every physics room runs: shutdown, ticks,
//!   requests, linger — nothing else. What it shares with other nodes goes through its
//!   [`Peers`] (`peers.rs`), which does nothing on a single node.
//! - `owner.rs`: the owner's additions in a cluster: the lease, periodic saves, freezing
//!   without NATS, members on other nodes (`remote.rs`), handing the room over
//!   (`saving.rs`).
//! - `follower.rs`: this node's side of a room another node owns.
//! - `unowned.rs`: a room without physics in a cluster: every node runs it for its own
//!   members, their frames crossing over the room's relay subject.
//! - `clustered.rs`: a physics room in a cluster: follow, then own once the lease is ours.
//!
//! Shared by the roles: `membership.rs` (joins, resumed sessions, spectators, leaving),
//! `delivery.rs` (each message encoded once, handed to every member), `ticking.rs` (the
//! fixed tick, sleeping at rest), `envelope.rs` (what nodes say about a room) and
//! `relayed.rs` (frames the room does not own). Around them: `registry.rs` (open rooms by
//! name, joining one), `restore.rs` (rooms back from `--state-dir`), `scenes.rs` (the live
//! scene library), `join.rs` (what a joiner asks for, why a join is refused), `queues.rs`
//! (every bounded queue, with its policy when full), `mailbox.rs` and `snapshot_frame.rs`
//! (what a member is handed).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::cluster::Cluster;
use crate::config::Config;
use crate::ids::ClientId;
use crate::persist::StateDir;
use crate::protocol::Command;
use crate::room::SimConfig;
use crate::scene::Scene;
use tokio_tungstenite::tungstenite::Message;

mod cluster_link;
mod clustered;
mod delivery;
mod envelope;
mod follower;
pub mod join;
mod local;
pub mod mailbox;
mod membership;
mod owner;
mod peers;
pub mod queues;
mod registry;
mod relayed;
mod remote;
mod restore;
mod rules_failures;
mod saving;
mod scenes;
pub mod snapshot_frame;
mod ticking;
mod unowned;

pub use join::{JoinError, JoinRequest};
pub use local::LocalRoom;
pub use mailbox::{Farewell, Mailbox, SharedMailbox};
pub use membership::{DepartedSessions, JoinAsk, Joined, Link};
pub use peers::Peers;
pub use queues::QueueLimits;
pub use registry::{Registry, join};
pub use restore::restore_rooms;
pub use scenes::LiveScenes;

/// Server-wide unique number of one WebSocket connection. A fresh session's client id is
/// its connection's number; a resumed session keeps its first connection's.
pub type ConnectionId = u64;

/// What a connection asks of its room. Every request names the connection it comes from;
/// the room knows which client that connection is.
pub enum RoomRequest {
    Join(JoinAsk),
    Leave {
        connection: ConnectionId,
    },
    /// A decoded command, the one value every role passes on (a follower forwards it to
    /// the owner as it is).
    Command {
        connection: ConnectionId,
        command: Command,
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
    /// The scene has rules: `message` and `rules_state` are the room's own types
    /// ([`Vocabulary::RULES`](crate::protocol::Vocabulary::RULES)).
    pub rules: bool,
    pub clients: AtomicUsize,
    pub tick: AtomicU64,
    /// Hook calls of the room's rules that failed.
    pub rules_failures: AtomicU64,
}

impl RoomInfo {
    fn new(scene: &Scene) -> Arc<RoomInfo> {
        Arc::new(RoomInfo {
            scene: scene.name.clone(),
            rules: scene.rules.is_some(),
            clients: AtomicUsize::new(0),
            tick: AtomicU64::new(0),
            rules_failures: AtomicU64::new(0),
        })
    }
}

/// How connections reach a room.
#[derive(Clone)]
pub struct RoomHandle {
    pub id: u64,
    pub requests: mpsc::Sender<RoomRequest>,
    pub info: Arc<RoomInfo>,
}

/// What every room of one server shares.
pub struct Host {
    pub config: Config,
    /// The scenes new rooms take theirs from (reloaded from `--assets`).
    pub scenes: Arc<LiveScenes>,
    /// `--state-dir`: where rooms are written at shutdown.
    pub state_dir: Option<StateDir>,
    /// The open rooms, by name.
    pub rooms: Registry,
    /// With `--nats`: this node's place in the cluster.
    pub cluster: Option<Arc<Cluster>>,
    /// The bounded queues' sizes, each with its policy when full.
    pub queues: QueueLimits,
    next_connection: AtomicU64,
    pub shutdown: CancellationToken,
    /// Every task the host and the server spawn, so that shutdown waits for them.
    pub tasks: TaskTracker,
}

impl Host {
    pub fn new(
        config: Config,
        scenes: Arc<LiveScenes>,
        state_dir: Option<StateDir>,
        cluster: Option<Arc<Cluster>>,
        shutdown: CancellationToken,
        tasks: TaskTracker,
    ) -> Arc<Host> {
        // In a cluster, connection (and so client) ids carry a random node prefix in their
        // high bits, so that they are unique across nodes and stay below 2^53 (exact in
        // JavaScript numbers).
        let first_id = if cluster.is_some() {
            node_prefix() << 32
        } else {
            0
        };
        Arc::new(Host {
            queues: QueueLimits::from_config(&config),
            config,
            scenes,
            state_dir,
            rooms: Registry::default(),
            cluster,
            next_connection: AtomicU64::new(first_id),
            shutdown,
            tasks,
        })
    }

    pub fn next_connection_id(&self) -> ConnectionId {
        self.next_connection.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// How room `name` runs: the configured timing and rules limits, and its rules' seed,
    /// from its name (FNV-1a, stable across builds and nodes), so that a room's rules are
    /// reproducible wherever it runs.
    pub fn sim(&self, name: &str) -> SimConfig {
        let seed = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        SimConfig {
            seed,
            ..self.config.sim()
        }
    }

    /// Hand out connection ids above `client` from now on: a restored session keeps its
    /// client id, which no new connection may take.
    fn reserve_ids_through(&self, client: ClientId) {
        self.next_connection.fetch_max(client, Ordering::Relaxed);
    }
}

/// A random number in `1..2^20`, this node's prefix of connection ids: two nodes of a
/// cluster of ten share one with odds of about 1 in 23,000.
fn node_prefix() -> u64 {
    let mut bytes = [0u8; 4];
    getrandom::fill(&mut bytes).expect("the operating system provides randomness");
    u64::from(u32::from_le_bytes(bytes) % ((1 << 20) - 1)) + 1
}
