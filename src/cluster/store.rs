//! The last saved state of each room, in the [`ROOM_BUCKET`](super::ROOM_BUCKET)
//! key-value bucket: the bytes of a `persist::RoomRecord`, the same format `--state-dir`
//! writes. The owner puts it every `--persist-interval` and at shutdown; a node that
//! claims the room reads it back; a room that closes normally deletes it.

use bytes::Bytes;

use super::subjects::room_key;
use super::{Cluster, ClusterError, call};
use crate::telemetry;

impl Cluster {
    /// Put the room's record, counted in `ballroom_cluster_rooms_saved_total{result}`.
    pub async fn save_room(&self, room: &str, record: Bytes) -> Result<(), ClusterError> {
        let saved = call(self.rooms.put(room_key(room), record))
            .await
            .map(|_| ());
        let result = if saved.is_ok() { "ok" } else { "failed" };
        metrics::counter!(telemetry::CLUSTER_ROOMS_SAVED, "result" => result).increment(1);
        saved
    }

    pub async fn load_room(&self, room: &str) -> Result<Option<Bytes>, ClusterError> {
        call(self.rooms.get(room_key(room))).await
    }

    pub async fn forget_room(&self, room: &str) -> Result<(), ClusterError> {
        call(self.rooms.purge(room_key(room))).await
    }
}
