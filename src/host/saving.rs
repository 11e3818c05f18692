//! Keeping the room: in `--state-dir` when the server shuts down, or, in a cluster, in the
//! cluster's store every `--persist-interval` and at shutdown, followed by the handover.

use tracing::{info, warn};

use super::LocalRoom;
use super::envelope::OwnerMsg;
use super::peers::OwnerLink;
use super::peers::Peers;
use crate::persist::{RoomRecord, now_ms};
use crate::telemetry;

impl LocalRoom {
    /// The room and every session that may come back to it, as a record's bytes.
    pub(super) fn record(&self) -> Vec<u8> {
        let scene = serde_json::to_string(&**self.room.scene()).expect("a scene serialises");
        RoomRecord {
            name: self.name.clone(),
            scene,
            saved_at_ms: now_ms(),
            sessions: self.saved_sessions(),
            room: self.room.save(),
        }
        .encode()
    }

    /// At shutdown: write the room to the state directory, if there is one, or hand it
    /// over to the cluster. Rooms without physics hold nothing to keep.
    pub(super) async fn save(&mut self) {
        if !self.room.needs_ticks() {
            return;
        }
        if matches!(self.peers, Peers::Owner(_)) {
            return self.hand_over().await;
        }
        let Some(dir) = self.host.state_dir.clone() else {
            return;
        };
        let bytes = self.record();
        let (name, size) = (self.name.clone(), bytes.len());
        let written = tokio::task::spawn_blocking(move || dir.write(&name, &bytes)).await;
        match written {
            Ok(Ok(file)) => {
                metrics::counter!(telemetry::ROOMS_SAVED, "result" => "ok").increment(1);
                info!(file = %file.display(), bytes = size, "room saved");
            }
            Ok(Err(error)) => {
                metrics::counter!(telemetry::ROOMS_SAVED, "result" => "failed").increment(1);
                warn!(%error, "room not saved");
            }
            Err(error) => {
                metrics::counter!(telemetry::ROOMS_SAVED, "result" => "failed").increment(1);
                warn!(%error, "room not saved: the writer failed");
            }
        }
    }

    /// Shutdown of a cluster's owner: save the room in the store, release the lease, and
    /// tell the other nodes, whose members claim it at once.
    async fn hand_over(&mut self) {
        let Peers::Owner(OwnerLink { link, keeper, .. }) =
            std::mem::replace(&mut self.peers, Peers::Alone)
        else {
            return;
        };
        let bytes = self.record();
        let size = bytes.len();
        if let Err(error) = link.cluster.save_room(&self.name, bytes.into()).await {
            warn!(%error, "room not saved for the handover");
        }
        // Stamped with the epoch before the lease goes.
        let handover = link.envelope(OwnerMsg::Handover);
        keeper.release().await;
        let subject = link.subjects.from_owner.clone();
        let _ = link.cluster.client().publish(subject, handover).await;
        let _ = link.cluster.client().flush().await;
        metrics::counter!(telemetry::CLUSTER_HANDOVERS).increment(1);
        info!(bytes = size, "room saved and handed over");
    }
}
