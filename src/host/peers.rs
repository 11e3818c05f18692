//! What a room shares with other nodes: the one seam between a room and the cluster. On a
//! single node it is [`Peers::Alone`], and every method does nothing (its events never
//! come, nothing is published, nothing freezes).

use std::future::{Future, pending};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use futures_util::future::Either;
use tokio::time::{Instant, sleep_until};

use super::cluster_link::{ClusterEvent, ClusterLink};
use super::envelope::OwnerMsg;
use crate::cluster::{LeaseFigures, LeaseKeeper, NatsState};
use crate::protocol::{CodedMessage, ErrorCode};

/// The room's place among the nodes.
pub enum Peers {
    /// A single node: nobody to tell.
    Alone,
    /// The owner of a physics room in a cluster: it holds the lease, saves the room and
    /// serves members connected through other nodes (`owner.rs`).
    Owner(OwnerLink),
    /// A room without physics in a cluster: every node runs it for its own members and
    /// relays their frames to the others (`unowned.rs`).
    Unowned(ClusterLink),
}

/// Something the other nodes (or the owner's duties) ask of the room.
pub enum PeerEvent {
    /// A message on the room's inbound subject: another node's request (owner) or another
    /// node's frames (room without physics).
    Inbound(async_nats::Message),
    /// A node stopped sending heartbeats: its members leave.
    NodeGone(String),
    /// Time to save the room in the cluster's store (owner, every `--persist-interval`).
    PersistDue,
    /// The subscription ended (the NATS client closed): the room closes.
    Closed,
    /// Nothing to do (missed node announcements).
    Nothing,
}

impl Peers {
    /// Resolves when the room must stop running here: its owner's lease is no longer
    /// certainly ours. Never, for a room that holds no lease. (It borrows nothing, so the
    /// room can wait for it and for [`Peers::next_event`] at once.)
    pub fn lease_lost(&self) -> impl Future<Output = ()> + Send + 'static {
        match self {
            Peers::Owner(owner) => Either::Left(owner.keeper.lost.clone().cancelled_owned()),
            Peers::Alone | Peers::Unowned(_) => Either::Right(pending()),
        }
    }

    /// The next thing the other nodes ask of the room. Never, on a single node.
    pub async fn next_event(&mut self) -> PeerEvent {
        let event = match self {
            Peers::Alone => pending().await,
            Peers::Owner(owner) => return owner.next_event().await,
            Peers::Unowned(link) => link.next_event().await,
        };
        PeerEvent::from(event)
    }

    /// An owner that cannot reach NATS neither ticks nor takes commands: what it would
    /// simulate could not be saved, and another node may soon restore the room from its
    /// last save. It runs again when NATS is back, or gives the room up at its lease's
    /// fence.
    pub fn frozen(&self) -> bool {
        matches!(self, Peers::Owner(owner) if owner.frozen())
    }

    /// Why a command cannot be applied now: a frozen owner takes none.
    pub fn refusal(&self) -> Option<CodedMessage> {
        self.frozen().then(|| CodedMessage {
            code: ErrorCode::RoomBusy,
            message: "the room's node has lost NATS; the room is frozen until it is back or \
                      the room moves to another node"
                .into(),
        })
    }

    /// The cluster link, in a cluster.
    pub fn link(&self) -> Option<&ClusterLink> {
        match self {
            Peers::Alone => None,
            Peers::Owner(owner) => Some(&owner.link),
            Peers::Unowned(link) => Some(link),
        }
    }

    /// Where an owner's figures (clients, tick) are read by the lease renewer.
    pub fn lease_figures(&self) -> Option<&LeaseFigures> {
        match self {
            Peers::Owner(owner) => Some(&owner.keeper.figures),
            Peers::Alone | Peers::Unowned(_) => None,
        }
    }

    /// Publish `msg` for the room's other nodes, if any.
    pub fn publish(&self, msg: OwnerMsg) {
        if let Some(link) = self.link() {
            link.publish(msg);
        }
    }
}

impl From<ClusterEvent> for PeerEvent {
    fn from(event: ClusterEvent) -> PeerEvent {
        match event {
            ClusterEvent::Inbound(msg) => PeerEvent::Inbound(msg),
            ClusterEvent::NodeGone(node) => PeerEvent::NodeGone(node),
            ClusterEvent::Closed => PeerEvent::Closed,
            ClusterEvent::Nothing => PeerEvent::Nothing,
        }
    }
}

/// What the owner holds besides its room.
pub struct OwnerLink {
    pub link: ClusterLink,
    /// Renews the lease; its `lost` token ends the room here.
    pub keeper: LeaseKeeper,
    persist_every: Duration,
    next_persist: Instant,
    /// A save to the cluster's store is in flight.
    pub saving: Arc<AtomicBool>,
}

impl OwnerLink {
    pub fn new(link: ClusterLink, keeper: LeaseKeeper, persist_every: Duration) -> OwnerLink {
        OwnerLink {
            link,
            keeper,
            persist_every,
            next_persist: Instant::now() + persist_every,
            saving: Arc::default(),
        }
    }

    /// Another node's request, a silent node, or the next save.
    pub async fn next_event(&mut self) -> PeerEvent {
        tokio::select! {
            event = self.link.next_event() => PeerEvent::from(event),
            _ = sleep_until(self.next_persist) => {
                self.next_persist = Instant::now() + self.persist_every;
                PeerEvent::PersistDue
            }
        }
    }

    pub fn frozen(&self) -> bool {
        self.link.cluster.nats_state() != NatsState::Connected
    }
}
