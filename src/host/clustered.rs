//! A room in a cluster, on one node. A physics room is followed while another node owns it
//! (`follower.rs`), and run by its owner once this node claims the lease (`owner.rs`):
//! restored from the cluster's store if the room was saved (a handover or a failover),
//! fresh otherwise. Both roles read the same request channel, so the node's connections
//! never notice the change of role. A room without physics has no owner (`unowned.rs`).

use std::sync::Arc;

use tokio::sync::mpsc;
use tracing::{Instrument, info_span};

use super::follower::{FollowEnd, Follower};
use super::owner::own;
use super::unowned::run_unowned;
use super::{Host, RoomHandle, RoomInfo};
use crate::cluster::Cluster;
use crate::scene::Scene;

/// Open room `name` on this node of the cluster, for a first member who asked for `scene`
/// (the scene it starts with if this node is the first to claim it).
pub(super) fn spawn_clustered(
    host: &Arc<Host>,
    cluster: &Arc<Cluster>,
    id: u64,
    name: &str,
    scene: Arc<Scene>,
) -> RoomHandle {
    let (tx, mut rx) = mpsc::channel(host.queues.room_requests);
    let info = RoomInfo::new(&scene);
    let span = info_span!(parent: None, "room", room = %name, scene = %scene.name);
    let (host, cluster, name, room_info) =
        (host.clone(), cluster.clone(), name.to_owned(), info.clone());
    let tasks = host.tasks.clone();
    tasks.spawn(
        async move {
            // The room may be open elsewhere: then it is of the kind it is there.
            let scene = match cluster.holder(&name).await {
                Ok(Some(holder)) => host.scenes.get(&holder.scene).unwrap_or(scene),
                _ => scene,
            };
            if !scene.has_physics() {
                run_unowned(&host, &cluster, id, &name, scene, room_info, &mut rx).await;
                return;
            }
            let follower =
                Follower::new(&host, &cluster, &name, id, &scene.name, room_info.clone());
            let FollowEnd::Claimed { lease, members } = follower.run(&mut rx).await else {
                // Gone from the registry, so that a later join opens the room afresh.
                host.rooms.retire_room(&name, id, || true);
                return;
            };
            own(
                &host, &cluster, id, &name, &scene, room_info, lease, members, &mut rx,
            )
            .await;
        }
        .instrument(span),
    );
    RoomHandle {
        id,
        requests: tx,
        info,
    }
}
