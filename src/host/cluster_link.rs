//! A room's side of the cluster: the subjects it listens on and publishes to, and the
//! queue that publishes without making the room wait for NATS.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use tokio::sync::mpsc;

use super::envelope::{self, FromOwner, OwnerMsg};
use crate::cluster::{Cluster, ClusterError, NodeEvents, RoomSubjects};
use crate::telemetry;

/// What happened on a room's side of the cluster.
pub enum ClusterEvent {
    /// A message on the room's inbound subject.
    Inbound(async_nats::Message),
    /// A node stopped sending heartbeats.
    NodeGone(String),
    /// The subscription ended (the NATS client closed).
    Closed,
    /// Nothing to do (missed node announcements).
    Nothing,
}

/// What a room holds when the server runs in a cluster.
pub struct ClusterLink {
    pub cluster: Arc<Cluster>,
    pub subjects: RoomSubjects,
    /// The owner's lease epoch, stamped on what it publishes; 0 in a room without physics,
    /// which every node runs for its own clients and which has no owner.
    epoch: u64,
    /// Commands from other nodes (owner), or other nodes' frames (room without physics).
    inbound: async_nats::Subscriber,
    pub node_events: NodeEvents,
    outgoing: mpsc::Sender<(String, Bytes)>,
}

impl ClusterLink {
    /// The owner of a physics room, holding its lease: listens on `to_owner`.
    pub async fn owner(
        cluster: &Arc<Cluster>,
        room: &str,
        epoch: u64,
        publish: usize,
    ) -> Result<ClusterLink, ClusterError> {
        let subjects = RoomSubjects::new(room);
        let inbound = subscribe(cluster, &subjects.to_owner).await?;
        Ok(ClusterLink::new(cluster, subjects, epoch, inbound, publish))
    }

    /// A room without physics: every node publishes its members' frames on `relay` and
    /// delivers the others'.
    pub async fn relay(
        cluster: &Arc<Cluster>,
        room: &str,
        publish: usize,
    ) -> Result<ClusterLink, ClusterError> {
        let subjects = RoomSubjects::new(room);
        let inbound = subscribe(cluster, &subjects.relay).await?;
        Ok(ClusterLink::new(cluster, subjects, 0, inbound, publish))
    }

    fn new(
        cluster: &Arc<Cluster>,
        subjects: RoomSubjects,
        epoch: u64,
        inbound: async_nats::Subscriber,
        publish: usize,
    ) -> ClusterLink {
        let outgoing = publisher(cluster, publish);
        ClusterLink {
            cluster: cluster.clone(),
            subjects,
            epoch,
            inbound,
            node_events: cluster.node_events(),
            outgoing,
        }
    }

    /// Whether this is an owner's link (it listens on `to_owner`, publishes on
    /// `from_owner`), not a room without physics's. A lease's epoch is the revision of its
    /// create in the key-value bucket, so an owner's is never 0.
    pub fn owned(&self) -> bool {
        self.epoch > 0
    }

    /// The next message on the room's inbound subject, or node that went silent.
    pub async fn next_event(&mut self) -> ClusterEvent {
        tokio::select! {
            msg = self.inbound.next() => match msg {
                Some(msg) => ClusterEvent::Inbound(msg),
                None => ClusterEvent::Closed,
            },
            gone = self.node_events.recv() => match gone {
                Ok(node) => ClusterEvent::NodeGone(node),
                Err(_) => ClusterEvent::Nothing,
            },
        }
    }

    /// One message for every other node with members of the room.
    pub fn publish(&self, msg: OwnerMsg) {
        let subject = if self.owned() {
            &self.subjects.from_owner
        } else {
            &self.subjects.relay
        };
        self.send(subject.clone(), self.envelope(msg));
        metrics::counter!(telemetry::CLUSTER_FORWARDED, "direction" => "from_owner").increment(1);
    }

    /// `msg` as the room's other nodes receive it: stamped with this node and its epoch.
    pub fn envelope(&self, msg: OwnerMsg) -> Bytes {
        envelope::encode(&FromOwner {
            epoch: self.epoch,
            node: self.cluster.node.clone(),
            msg,
        })
    }

    /// Queue `bytes` for `subject` (a reply subject, or one of the room's).
    pub fn send(&self, subject: String, bytes: Bytes) {
        if self.outgoing.try_send((subject, bytes)).is_err() {
            metrics::counter!(telemetry::CLUSTER_DROPPED, "reason" => "queue_full").increment(1);
        }
    }
}

async fn subscribe(
    cluster: &Cluster,
    subject: &str,
) -> Result<async_nats::Subscriber, ClusterError> {
    cluster
        .client()
        .subscribe(subject.to_owned())
        .await
        .map_err(|e| ClusterError::Nats(e.to_string()))
}

/// A task that publishes what a room queues, in order, at most `queue` waiting
/// (`QueueLimits::publish`: when full, the newest is dropped and counted); it ends when the
/// room drops its sender.
pub fn publisher(cluster: &Cluster, queue: usize) -> mpsc::Sender<(String, Bytes)> {
    cluster.publisher(queue)
}
