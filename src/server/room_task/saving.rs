//! Writing the room to `--state-dir` when the server shuts down.

use tracing::{info, warn};

use super::RoomTask;
use crate::persist::{RoomRecord, now_ms};
use crate::telemetry;

impl RoomTask {
    /// Write the room (and every session that may come back to it) to the state
    /// directory, if there is one. Rooms without physics hold nothing to keep.
    pub(super) async fn save(&self) {
        let Some(dir) = self.server.state_dir.clone() else {
            return;
        };
        if !self.room.needs_ticks() {
            return;
        }
        let scene = serde_json::to_string(&**self.room.scene()).expect("a scene serialises");
        let record = RoomRecord {
            name: self.name.clone(),
            scene,
            saved_at_ms: now_ms(),
            sessions: self.saved_sessions(),
            room: self.room.save(),
        };
        let bytes = record.encode();
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
}
