//! The cluster seen over plain HTTP: `/healthz` with this node's NATS connection, and
//! `/rooms` across every node.

use std::sync::Arc;

use hyper::StatusCode;

use super::ServerState;
use crate::cluster::{Cluster, NatsState};
use crate::protocol::{self, RoomSummary};

/// `GET /healthz` of a node: 200 while it reaches NATS, 503 while it does not (a load
/// balancer then sends new clients elsewhere).
pub fn health(cluster: &Cluster) -> (StatusCode, String) {
    let nats = cluster.nats_state();
    let (status, word) = match nats {
        NatsState::Connected => (StatusCode::OK, "ok"),
        NatsState::Disconnected => (StatusCode::SERVICE_UNAVAILABLE, "degraded"),
    };
    let body = serde_json::json!({"status": word, "node": cluster.node, "nats": nats.as_str()});
    (status, body.to_string())
}

/// `GET /rooms` of a cluster: every physics room from its lease (owner, scene, and the
/// figures of the owner's last renewal), then this node's rooms without physics.
pub async fn rooms(server: &ServerState, cluster: &Arc<Cluster>) -> (StatusCode, String) {
    let held = match cluster.holders().await {
        Ok(held) => held,
        Err(error) => {
            let body =
                serde_json::json!({"error": "nats_unreachable", "message": error.to_string()});
            return (StatusCode::SERVICE_UNAVAILABLE, body.to_string());
        }
    };
    let physics = |scene: &str| {
        server
            .host
            .scenes
            .get(scene)
            .is_some_and(|s| s.has_physics())
    };
    let mut list: Vec<RoomSummary> = held
        .into_iter()
        // Rooms without physics have no owner: each node lists its own below.
        .filter(|(_, holder)| physics(&holder.scene))
        .map(|(room, holder)| RoomSummary {
            rules_failures: None,
            room,
            scene: holder.scene,
            clients: holder.clients,
            tick: holder.tick,
            owner: Some(holder.node),
            node: None,
        })
        .collect();
    let relays = server
        .host
        .rooms
        .summaries()
        .into_iter()
        .filter(|r| !physics(&r.scene));
    list.extend(relays.map(|r| RoomSummary {
        rules_failures: None,
        node: Some(cluster.node.clone()),
        ..r
    }));
    list.sort_by(|a, b| a.room.cmp(&b.room));
    (StatusCode::OK, protocol::encode_rooms(&list))
}
