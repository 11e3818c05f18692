//! At start, the rooms `--state-dir` kept across the restart: each one read back, its
//! simulation restored, its sessions resumable again, and its file removed. A file that
//! cannot be used is moved aside and reported; it never stops the start.

use std::sync::Arc;

use tracing::{info, warn};

use super::Host;
use super::membership::departed_from_saved;
use crate::persist::{RoomRecord, StateDir, StateDirError, Taken};
use crate::room::{RestoreError, Room};
use crate::scene::Scene;
use crate::telemetry;

/// Open the state directory and bring back every room it holds.
pub fn restore_rooms(host: &Arc<Host>, dir: &StateDir) -> Result<(), StateDirError> {
    let (mut restored, mut bad) = (0u32, 0u32);
    for taken in dir.take_all()? {
        match taken {
            Taken::Room { record, scene } => {
                let name = record.name.clone();
                match restore_room(host, *record, scene) {
                    Ok(()) => restored += 1,
                    Err(error) => {
                        // The record was good bytes but does not fit this server; its file
                        // is already gone, so say everything about it here.
                        bad += 1;
                        warn!(room = %name, %error, "saved room not restored");
                    }
                }
            }
            Taken::Bad {
                file,
                moved_to,
                error,
            } => {
                bad += 1;
                warn!(file = %file.display(), moved_to = %moved_to.display(), %error,
                    "unreadable room file moved aside");
            }
        }
    }
    metrics::counter!(telemetry::ROOMS_RESTORED, "result" => "ok").increment(restored.into());
    metrics::counter!(telemetry::ROOMS_RESTORED, "result" => "bad").increment(bad.into());
    if restored + bad > 0 {
        info!(restored, bad, dir = %dir.path().display(), "rooms restored");
    }
    Ok(())
}

fn restore_room(
    host: &Arc<Host>,
    record: RoomRecord<'static>,
    scene: Arc<Scene>,
) -> Result<(), RestoreError> {
    host.reserve_ids_through(record.max_client());
    let room = Room::restore(scene, host.sim(&record.name), record.room)?;
    let departed = departed_from_saved(record.sessions);
    host.rooms.restore_room(host, &record.name, room, departed);
    Ok(())
}
