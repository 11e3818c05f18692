//! The cluster layer: rooms spread over several ballroom nodes through NATS with
//! JetStream (`--nats`). It knows rooms by name, NATS subjects and opaque bytes, nothing of
//! physics or of the client wire format:
//!
//! - `subjects.rs`: a room's key and subjects.
//! - `lease.rs`: who owns a room: a key-value lease, claimed if absent, renewed by
//!   compare-and-swap, and given up (fencing) when a renewal cannot be made in time.
//! - `store.rs`: the last saved state of each room (a `persist::RoomRecord`'s bytes).
//! - `nodes.rs`: which nodes are alive (heartbeats), so that an owner can drop the members
//!   of a node that died.
//!
//! The room host (`host`) decides what to publish and when.

mod lease;
mod nodes;
mod store;
mod subjects;

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, kv};
use bytes::Bytes;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{Instrument, Span, debug, info};

pub use lease::{Lease, LeaseFigures, LeaseHolder, LeaseKeeper};
pub use nodes::NodeEvents;
pub use subjects::RoomSubjects;

/// The key-value bucket of room leases (whose entries expire after `--lease-ttl`).
pub const LEASE_BUCKET: &str = "ballroom_leases";
/// The key-value bucket of saved rooms.
pub const ROOM_BUCKET: &str = "ballroom_rooms";

/// What can go wrong talking to NATS.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("cannot connect to NATS at {url}: {source}")]
    Connect {
        url: String,
        source: async_nats::ConnectError,
    },
    #[error(
        "NATS JetStream key-value bucket `{bucket}`: {message} (is nats-server running with -js, with room in its JetStream file store?)"
    )]
    Bucket {
        bucket: &'static str,
        message: String,
    },
    #[error("NATS request failed: {0}")]
    Nats(String),
    #[error("NATS did not answer within {0:?}")]
    Timeout(Duration),
}

/// Whether this node can reach NATS now (for `/healthz` and `/metrics`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NatsState {
    Connected,
    Disconnected,
}

impl NatsState {
    pub fn as_str(self) -> &'static str {
        match self {
            NatsState::Connected => "connected",
            NatsState::Disconnected => "disconnected",
        }
    }
}

/// This node's place in the cluster: its NATS connection, the two buckets, its id.
pub struct Cluster {
    client: async_nats::Client,
    leases: kv::Store,
    rooms: kv::Store,
    /// `--node-id`.
    pub node: String,
    /// `--lease-ttl`.
    pub lease_ttl: Duration,
    nodes: nodes::NodeDirectory,
    /// The server's tracker: the lease renewers and publishers spawned for rooms are
    /// waited for at shutdown like every other task.
    tasks: TaskTracker,
}

/// How long one NATS call may take before it counts as failed.
const CALL_TIMEOUT: Duration = Duration::from_secs(2);

impl Cluster {
    /// Connect to NATS and open (or create) the lease and room buckets. Fails if NATS or
    /// JetStream cannot be reached now; once running, a lost connection is retried forever.
    pub async fn connect(
        url: &str,
        node: &str,
        lease_ttl: Duration,
        tasks: &TaskTracker,
        shutdown: &CancellationToken,
    ) -> Result<Arc<Cluster>, ClusterError> {
        let client = async_nats::ConnectOptions::new()
            .name(format!("ballroom {node}"))
            .connection_timeout(Duration::from_secs(5))
            .reconnect_delay_callback(|attempt| {
                Duration::from_millis((100 * 2u64.saturating_pow(attempt.min(5) as u32)).min(2_000))
            })
            .connect(url)
            .await
            .map_err(|source| ClusterError::Connect {
                url: url.to_owned(),
                source,
            })?;
        let js = jetstream::new(client.clone());
        let leases = bucket(
            &js,
            LEASE_BUCKET,
            "ballroom: which node owns each room (entries expire after --lease-ttl)",
            lease_ttl,
            // On file, like the rooms: a restarted nats-server still has the bucket (and
            // its leases, which then expire as usual), and no memory store is needed.
            jetstream::stream::StorageType::File,
        )
        .await?;
        let rooms = bucket(
            &js,
            ROOM_BUCKET,
            "ballroom: the last saved state of each room",
            Duration::ZERO,
            jetstream::stream::StorageType::File,
        )
        .await?;
        let nodes = nodes::NodeDirectory::start(&client, node, tasks, shutdown).await?;
        info!(node, url, lease_ttl = ?lease_ttl, "joined the cluster");
        Ok(Arc::new(Cluster {
            client,
            leases,
            rooms,
            node: node.to_owned(),
            lease_ttl,
            nodes,
            tasks: tasks.clone(),
        }))
    }

    pub fn nats_state(&self) -> NatsState {
        match self.client.connection_state() {
            async_nats::connection::State::Connected => NatsState::Connected,
            _ => NatsState::Disconnected,
        }
    }

    /// A task (tracked) that publishes what is queued on the returned sender, in order, at
    /// most `queue` waiting; it ends when the sender is dropped. A failed publish is logged
    /// at debug and skipped: what the room queues next still goes out.
    pub fn publisher(&self, queue: usize) -> mpsc::Sender<(String, Bytes)> {
        let (tx, mut rx) = mpsc::channel::<(String, Bytes)>(queue);
        let client = self.client.clone();
        self.tasks.spawn(
            async move {
                while let Some((subject, bytes)) = rx.recv().await {
                    if let Err(e) = client.publish(subject, bytes).await {
                        debug!(error = %e, "publish failed");
                    }
                }
            }
            .instrument(Span::current()),
        );
        tx
    }

    /// The NATS client, for the room tasks' subjects.
    pub fn client(&self) -> &async_nats::Client {
        &self.client
    }

    /// Nodes that stopped sending heartbeats.
    pub fn node_events(&self) -> NodeEvents {
        self.nodes.events()
    }
}

/// Open a bucket, creating it if it does not exist yet. The bucket's stream is created
/// here, as a key-value bucket's is (`KV_<bucket>` on `$KV.<bucket>.>`), rather than by
/// `create_key_value`, whose account query does not parse nats-server 2.9's answer.
async fn bucket(
    js: &jetstream::Context,
    bucket: &'static str,
    description: &str,
    max_age: Duration,
    storage: jetstream::stream::StorageType,
) -> Result<kv::Store, ClusterError> {
    let failed = |message: String| ClusterError::Bucket { bucket, message };
    let stream = jetstream::stream::Config {
        name: format!("KV_{bucket}"),
        description: Some(description.to_owned()),
        subjects: vec![format!("$KV.{bucket}.>")],
        max_messages_per_subject: 1,
        max_messages: -1,
        max_bytes: -1,
        max_message_size: -1,
        max_consumers: -1,
        max_age,
        storage,
        allow_rollup: true,
        deny_delete: true,
        allow_direct: true,
        discard: jetstream::stream::DiscardPolicy::New,
        num_replicas: 1,
        ..Default::default()
    };
    js.get_or_create_stream(stream)
        .await
        .map_err(|e| failed(e.to_string()))?;
    js.get_key_value(bucket)
        .await
        .map_err(|e| failed(e.to_string()))
}

/// `f` within [`CALL_TIMEOUT`], its error as text.
async fn call<T, E: std::fmt::Display>(
    f: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, ClusterError> {
    match tokio::time::timeout(CALL_TIMEOUT, f).await {
        Ok(result) => result.map_err(|e| ClusterError::Nats(e.to_string())),
        Err(_) => Err(ClusterError::Timeout(CALL_TIMEOUT)),
    }
}
