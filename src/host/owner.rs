//! The owner of a physics room in a cluster: what it adds to a [`LocalRoom`]. It holds the
//! room's lease (and stops when it is lost), saves the room in the cluster's store every
//! `--persist-interval`, freezes while NATS is unreachable, serves members connected
//! through other nodes (`remote.rs`) and hands the room over at shutdown (`saving.rs`).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tracing::{debug, info, warn};

use super::cluster_link::ClusterLink;
use super::envelope::OwnerMsg;
use super::follower::LocalMember;
use super::membership::departed_from_saved;
use super::peers::{OwnerLink, Peers};
use super::{
    ConnectionId, DepartedSessions, Farewell, Host, JoinAsk, Link, LocalRoom, RoomInfo, RoomRequest,
};
use crate::cluster::{Cluster, Lease};
use crate::persist;
use crate::room::Room;
use crate::scene::Scene;
use crate::telemetry;

/// Run the room as its owner: restore it, let this node's members in again, and run it
/// until it closes or the lease is lost.
#[allow(clippy::too_many_arguments)]
pub(super) async fn own(
    host: &Arc<Host>,
    cluster: &Arc<Cluster>,
    id: u64,
    name: &str,
    scene: &Arc<Scene>,
    info: Arc<RoomInfo>,
    lease: Lease,
    members: Vec<(ConnectionId, LocalMember)>,
    requests: &mut mpsc::Receiver<RoomRequest>,
) {
    let started = Instant::now();
    let epoch = lease.epoch();
    let keeper = cluster.keep(lease);
    let (room, departed, how) = restore_or_open(host, cluster, name, scene).await;
    let link = match ClusterLink::owner(cluster, name, epoch, host.queues.publish).await {
        Ok(link) => link,
        Err(error) => {
            warn!(%error, "claimed the room but cannot listen for it; giving it up");
            for (_, m) in members {
                m.mailbox.close(Farewell::RoomMoved);
            }
            host.rooms.retire_room(name, id, || true);
            return;
        }
    };
    link.publish(OwnerMsg::Claimed);
    let owner = OwnerLink::new(link, keeper, host.config.persist_interval);
    let mut room = LocalRoom::new(host, id, name, room, departed, info, Peers::Owner(owner));
    for (connection, m) in members {
        let (accepted, answer) = oneshot::channel();
        let waiting = m.accepted;
        room.join(JoinAsk {
            connection,
            link: Link::Local(m.mailbox),
            request: m.request,
            accepted,
        });
        if let (Some(waiting), Ok(result)) = (waiting, answer.await) {
            let _ = waiting.send(result);
        }
    }
    let took = started.elapsed();
    metrics::histogram!(telemetry::CLUSTER_RESTORE).record(took);
    metrics::counter!(telemetry::CLUSTER_CLAIMS, "how" => how).increment(1);
    info!(epoch, how, took = ?took, "claimed the room");
    room.run(requests).await;
}

/// The room as last saved in the cluster's store, or a fresh one of `scene`.
async fn restore_or_open(
    host: &Arc<Host>,
    cluster: &Cluster,
    name: &str,
    scene: &Arc<Scene>,
) -> (Room, DepartedSessions, &'static str) {
    let fresh = || {
        (
            Room::new(scene.clone(), host.sim(name)),
            DepartedSessions::default(),
            "fresh",
        )
    };
    let bytes = match cluster.load_room(name).await {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return fresh(),
        Err(error) => {
            warn!(%error, "saved state not readable; starting the room fresh");
            return fresh();
        }
    };
    let restored = persist::decode(&bytes).and_then(|record| {
        let scene = record.scene()?;
        Ok((record, scene))
    });
    match restored {
        Ok((record, scene)) => match Room::restore(scene, host.sim(name), record.room) {
            Ok(room) => (room, departed_from_saved(record.sessions), "restored"),
            Err(error) => {
                warn!(%error, "saved state does not fit this server; starting the room fresh");
                fresh()
            }
        },
        Err(error) => {
            warn!(%error, "saved state unreadable; starting the room fresh");
            fresh()
        }
    }
}

impl LocalRoom {
    /// Save the room in the cluster's store (owner, every `--persist-interval`). The write
    /// runs on its own; a save still in flight makes this one wait for the next interval.
    pub(super) fn persist(&mut self) {
        let Peers::Owner(owner) = &self.peers else {
            return;
        };
        if owner.saving.load(Ordering::Acquire) {
            return;
        }
        let bytes = self.record();
        let (cluster, name, saving) = (
            owner.link.cluster.clone(),
            self.name.clone(),
            owner.saving.clone(),
        );
        saving.store(true, Ordering::Release);
        self.host.tasks.spawn(async move {
            if let Err(error) = cluster.save_room(&name, bytes.into()).await {
                debug!(%error, "room not saved");
            }
            saving.store(false, Ordering::Release);
        });
    }

    /// The lease is lost: another node may run the room now. Our clients reconnect (through
    /// the load balancer) and resume there; remote members hear from the new owner.
    pub(super) fn moved(&mut self) {
        warn!(
            members = self.members.len(),
            "lease lost; the room stops here"
        );
        for m in self.members.values() {
            if let Link::Local(mailbox) = &m.link {
                mailbox.close(Farewell::RoomMoved);
            }
        }
        self.members.clear();
        self.peers = Peers::Alone;
    }

    /// The room closed normally (empty for its linger time): nothing to keep, and the
    /// name is free for any node.
    pub(super) async fn release(&mut self) {
        let Peers::Owner(owner) = std::mem::replace(&mut self.peers, Peers::Alone) else {
            return;
        };
        if let Err(error) = owner.link.cluster.forget_room(&self.name).await {
            debug!(%error, "saved state not removed");
        }
        owner.keeper.release().await;
    }
}
