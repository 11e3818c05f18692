//! A physics room in a cluster, on one node: it follows the room while another node owns
//! it (`follower.rs`), and runs it as the owner once this node claims the lease: restored
//! from the cluster's store if the room was saved (a handover or a failover), fresh
//! otherwise. Both roles read the same request channel, so the node's connections never
//! notice the change of role. A room without physics has no owner: every node runs it for
//! its own members, and their frames cross over the room's relay subject.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize};

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, info, info_span, warn};

use super::cluster_link::ClusterLink;
use super::follower::{FollowEnd, Follower, LocalMember};
use super::membership::departed_from_saved;
use super::{DepartedSessions, JoinAsk, Link, RoomHandle, RoomInfo, RoomTask};
use crate::cluster::{Cluster, Lease};
use crate::persist;
use crate::room::Room;
use crate::scene::Scene;
use crate::server::ServerState;
use crate::server::disconnect::DisconnectReason;
use crate::telemetry;

/// Open room `name` on this node of the cluster, for a first member who asked for `scene`
/// (the scene it starts with if this node is the first to claim it).
pub fn spawn_clustered(
    server: &Arc<ServerState>,
    cluster: &Arc<Cluster>,
    id: u64,
    name: &str,
    scene: Arc<Scene>,
) -> RoomHandle {
    let (tx, mut rx) = mpsc::channel(server.queues.room_requests);
    let info = Arc::new(RoomInfo {
        scene: scene.name.clone(),
        clients: AtomicUsize::new(0),
        tick: AtomicU64::new(0),
    });
    let span = info_span!(parent: None, "room", room = %name, scene = %scene.name);
    let (server2, cluster, name2, info2) = (
        server.clone(),
        cluster.clone(),
        name.to_owned(),
        info.clone(),
    );
    server.tasks.spawn(
        async move {
            let (server, name, info) = (server2, name2, info2);
            // The room may be open elsewhere: then it is of the kind it is there.
            let scene = match cluster.holder(&name).await {
                Ok(Some(holder)) => server.scenes.get(&holder.scene).unwrap_or(scene),
                _ => scene,
            };
            if !scene.has_physics() {
                run_unowned(&server, &cluster, id, &name, scene, info, &mut rx).await;
                return;
            }
            let follower = Follower::new(&server, &cluster, &name, id, &scene.name, info.clone());
            let FollowEnd::Claimed { lease, members } = follower.run(&mut rx).await else {
                // Gone from the registry, so that a later join opens the room afresh.
                server.rooms.retire_room(&name, id, || true);
                return;
            };
            own(
                &server, &cluster, id, &name, &scene, info, lease, members, &mut rx,
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

/// A room without physics: this node runs it for its own members, their frames cross over
/// the room's relay subject, and the room's mark in the lease bucket is kept up while it
/// runs.
async fn run_unowned(
    server: &Arc<ServerState>,
    cluster: &Arc<Cluster>,
    id: u64,
    name: &str,
    scene: Arc<Scene>,
    info: Arc<RoomInfo>,
    requests: &mut mpsc::Receiver<super::RoomRequest>,
) {
    let link = match ClusterLink::relay(cluster, name, server.queues.publish).await {
        Ok(link) => link,
        Err(error) => {
            warn!(%error, "room not opened: NATS unreachable");
            server.rooms.retire_room(name, id, || true);
            return;
        }
    };
    // Marked before the first member is let in, so that a node asked for the room once
    // this member is welcomed finds the mark.
    if let Err(error) = cluster.mark_unowned(name, &scene.name).await {
        warn!(%error, "room without physics not marked in the lease bucket");
    }
    let running = CancellationToken::new();
    let (marker, room_name, scene_name, stop) = (
        cluster.clone(),
        name.to_owned(),
        scene.name.clone(),
        running.clone(),
    );
    server.tasks.spawn(async move {
        let mut every = tokio::time::interval(marker.lease_ttl / 4);
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = every.tick() => {
                    let _ = marker.mark_unowned(&room_name, &scene_name).await;
                }
            }
        }
    });
    let _stop = running.drop_guard();
    let room = Room::new(scene, server.config.sim());
    let task = RoomTask::new(
        server,
        id,
        name,
        room,
        DepartedSessions::default(),
        info,
        Some(link),
    );
    task.run(requests).await;
}

/// Run the room as its owner: restore it, let this node's members in again, and run it
/// until it closes or the lease is lost.
#[allow(clippy::too_many_arguments)]
async fn own(
    server: &Arc<ServerState>,
    cluster: &Arc<Cluster>,
    id: u64,
    name: &str,
    scene: &Arc<Scene>,
    info: Arc<RoomInfo>,
    lease: Lease,
    members: Vec<(u64, LocalMember)>,
    requests: &mut mpsc::Receiver<super::RoomRequest>,
) {
    let started = Instant::now();
    let epoch = lease.epoch();
    let keeper = cluster.keep(lease);
    let (room, departed, how) = restore_or_open(server, cluster, name, scene).await;
    let link = match ClusterLink::owner(cluster, name, keeper, server.queues.publish).await {
        Ok(link) => link,
        Err(error) => {
            warn!(%error, "claimed the room but cannot listen for it; giving it up");
            for (_, m) in members {
                m.outbox.disconnect(DisconnectReason::RoomMoved);
            }
            server.rooms.retire_room(name, id, || true);
            return;
        }
    };
    link.publish(super::envelope::OwnerMsg::Claimed);
    let mut task = RoomTask::new(server, id, name, room, departed, info, Some(link));
    for (connection, m) in members {
        let (accepted, answer) = oneshot::channel();
        let waiting = m.accepted;
        task.join(JoinAsk {
            connection,
            link: Link::Local(m.outbox),
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
    task.run(requests).await;
}

/// The room as last saved in the cluster's store, or a fresh one of `scene`.
async fn restore_or_open(
    server: &Arc<ServerState>,
    cluster: &Cluster,
    name: &str,
    scene: &Arc<Scene>,
) -> (Room, DepartedSessions, &'static str) {
    let fresh = || {
        (
            Room::new(scene.clone(), server.config.sim()),
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
        Ok((record, scene)) => match Room::restore(scene, server.config.sim(), record.room) {
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
