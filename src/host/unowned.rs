//! A room without physics in a cluster: it has no owner. Every node runs it for its own
//! members as a [`LocalRoom`] whose peers are the room's relay subject: each node
//! publishes its members' frames there and delivers the others' (`remote.rs`). While it
//! runs, the room's mark in the lease bucket is kept up, so that a node asked for the room
//! knows it is of this kind.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::warn;

use super::cluster_link::ClusterLink;
use super::peers::Peers;
use super::{DepartedSessions, Host, LocalRoom, RoomInfo, RoomRequest};
use crate::cluster::Cluster;
use crate::room::Room;
use crate::scene::Scene;

/// Run room `name` (of a `scene` without physics) on this node until it closes.
pub(super) async fn run_unowned(
    host: &Arc<Host>,
    cluster: &Arc<Cluster>,
    id: u64,
    name: &str,
    scene: Arc<Scene>,
    info: Arc<RoomInfo>,
    requests: &mut mpsc::Receiver<RoomRequest>,
) {
    let link = match ClusterLink::relay(cluster, name, host.queues.publish).await {
        Ok(link) => link,
        Err(error) => {
            warn!(%error, "room not opened: NATS unreachable");
            host.rooms.retire_room(name, id, || true);
            return;
        }
    };
    // Marked before the first member is let in, so that a node asked for the room once
    // this member is welcomed finds the mark.
    if let Err(error) = cluster.mark_unowned(name, &scene.name).await {
        warn!(%error, "room without physics not marked in the lease bucket");
    }
    let running = CancellationToken::new();
    host.tasks.spawn(keep_marked(
        cluster.clone(),
        name.to_owned(),
        scene.name.clone(),
        running.clone(),
    ));
    let _stop = running.drop_guard();
    let room = Room::new(scene, host.sim(name));
    let room = LocalRoom::new(
        host,
        id,
        name,
        room,
        DepartedSessions::default(),
        info,
        Peers::Unowned(link),
    );
    room.run(requests).await;
}

/// Renew the room's mark every quarter of `--lease-ttl` until `stop`.
async fn keep_marked(cluster: Arc<Cluster>, room: String, scene: String, stop: CancellationToken) {
    let mut every = tokio::time::interval(cluster.lease_ttl / 4);
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = every.tick() => {
                let _ = cluster.mark_unowned(&room, &scene).await;
            }
        }
    }
}
