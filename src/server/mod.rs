//! Transport: sockets, HTTP, WebSocket connections and the tasks that own the rooms. It
//! knows nothing of physics: it hands each decoded command to its room's task, which calls
//! [`Room::apply`](crate::room::Room::apply) and [`Room::tick`](crate::room::Room::tick)
//! and passes the [`Effects`](crate::room::Effects) on, encoded once, to every member.
//!
//! - `accept.rs`: [`bind`], [`run`] (the accept loop, limits, TLS, graceful shutdown).
//! - `client_address.rs`: whose connection it is: the peer, or the client a trusted proxy
//!   names.
//! - `address_limits.rs`: the per-address limits: connections open and a token bucket of
//!   handshakes per client address, in one bounded table.
//! - `address_budget.rs`: token buckets per client address of plain HTTP requests and of
//!   rooms opened.
//! - `http.rs`: the HTTP/1.1 front: upgrades, `/healthz`, `/rooms`, `/metrics`, and the
//!   viewer's `GET /`.
//! - `join.rs`: what a client asks for in its URL ([`JoinRequest`]) and why a join is
//!   refused ([`JoinError`]).
//! - `registry.rs`: the open rooms by name; joining one (creating it if needed, retrying
//!   if it closes meanwhile); retiring them.
//! - `connection.rs`: one WebSocket ([`connection::Connection::run`]): its reader, message
//!   budget and idle timeout.
//! - `room_task/`: the task that owns one [`Room`](crate::room::Room) and its members
//!   (`membership.rs`: joins, resumed sessions, spectators, leaving).
//! - `snapshot_frame.rs`: a pending snapshot, JSON or binary; the writer's baseline.
//! - `outbox.rs`: one client's outbound queue and latest-snapshot slot, its writer task,
//!   and encoding a message into a frame.
//! - `disconnect.rs`: [`DisconnectReason`], the one list of why a connection ends and the
//!   close frame each reason sends.
//! - `restore.rs`: rooms written to `--state-dir` at shutdown and read back at start.
//! - `tls/`: native TLS (rustls): the certificate every handshake presents (`mod.rs`), and
//!   reloading it on SIGHUP or when its files change (`reload.rs`).
//! - `viewer.rs`: the live viewer's files (`viewer/dist`, embedded), served on `GET /`.

mod accept;
mod address_budget;
mod address_limits;
mod client_address;
mod cluster_http;
mod connection;
mod disconnect;
mod http;
mod join;
mod model_files;
pub mod outbox;
pub mod queues;
mod registry;
mod restore;
mod room_task;
mod scenes;
pub mod snapshot_frame;
mod tls;
mod viewer;

pub use accept::{StartError, bind, run};
pub use disconnect::DisconnectReason;
pub use join::{JoinError, JoinRequest};
pub use tls::TlsError;

/// Server-wide unique number of one WebSocket connection. A fresh session's client id is
/// its connection's number; a resumed session keeps its first connection's.
pub type ConnectionId = u64;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::cluster::Cluster;
use crate::config::Config;
use crate::persist::StateDir;
use address_budget::AddressBudget;
use address_limits::AddressLimits;
use client_address::TrustedProxies;
use queues::QueueLimits;
use registry::Registry;
use scenes::LiveScenes;

/// What every task of one server shares.
pub struct ServerState {
    pub config: Config,
    /// The scenes new rooms take theirs from (reloaded from `--assets`).
    pub scenes: Arc<LiveScenes>,
    /// `--state-dir`: where rooms are written at shutdown.
    pub state_dir: Option<StateDir>,
    rooms: Registry,
    /// `--trusted-proxies`: whose client-address header is believed.
    proxies: TrustedProxies,
    /// Connections and handshakes per client address.
    addresses: Arc<AddressLimits>,
    /// Plain HTTP requests per client address (`--http-requests-per-ip`).
    http_requests: AddressBudget,
    /// Rooms opened per client address (`--room-opens-per-ip`).
    room_opens: AddressBudget,
    next_connection: AtomicU64,
    /// With `--nats`: this node's place in the cluster.
    pub cluster: Option<Arc<Cluster>>,
    /// The bounded queues' sizes, each with its policy when full.
    pub queues: QueueLimits,
    pub shutdown: CancellationToken,
    pub tasks: TaskTracker,
}

impl ServerState {
    fn new(
        config: Config,
        scenes: Arc<LiveScenes>,
        state_dir: Option<StateDir>,
        cluster: Option<Arc<Cluster>>,
        shutdown: CancellationToken,
        tasks: TaskTracker,
    ) -> Arc<ServerState> {
        // In a cluster, connection (and so client) ids carry a random node prefix in their
        // high bits, so that they are unique across nodes and stay below 2^53 (exact in
        // JavaScript numbers).
        let first_id = if cluster.is_some() {
            node_prefix() << 32
        } else {
            0
        };
        Arc::new(ServerState {
            proxies: TrustedProxies::new(config.trusted_proxies.nets(), config.real_ip_header),
            addresses: AddressLimits::new(&config),
            http_requests: AddressBudget::new(
                address_budget::Kind::HttpRequests,
                config.http_requests_per_ip,
                config.http_burst,
                2 * config.max_connections as usize + 1024,
            ),
            room_opens: AddressBudget::new(
                address_budget::Kind::RoomOpens,
                config.room_opens_per_ip,
                config.room_open_burst,
                2 * config.max_connections as usize + 1024,
            ),
            queues: QueueLimits::from_config(&config),
            config,
            scenes,
            state_dir,
            rooms: Registry::default(),
            next_connection: AtomicU64::new(first_id),
            cluster,
            shutdown,
            tasks,
        })
    }

    pub fn next_connection_id(&self) -> ConnectionId {
        self.next_connection.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Hand out connection ids above `client` from now on: a restored session keeps its
    /// client id, which no new connection may take.
    fn reserve_ids_through(&self, client: crate::ids::ClientId) {
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
