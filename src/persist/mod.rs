//! Saved rooms as bytes: the one format a room is kept in outside its process, whether in
//! `--state-dir` across a restart ([`StateDir`]) or, in a cluster, in a key-value store.
//!
//! A [`RoomRecord`] is a room's name, the scene it runs (as the scene's JSON, so that the
//! room keeps running the scene its world was built from even if the file changed), the
//! whole simulation ([`SavedRoom`]) and the client sessions that may be resumed.
//!
//! On the wire a record is [`MAGIC`], the format version (`u16`, little-endian) and the
//! record in postcard. A version this build does not know is refused, never guessed at.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::ids::ClientId;
use crate::room::{ClientSession, SavedRoom};
use crate::scene::{Scene, SceneError};

mod state_dir;

pub use state_dir::{StateDir, StateDirError, Taken};

/// The first bytes of every record.
pub const MAGIC: &[u8; 8] = b"ballroom";

/// The version of the record layout written by this build.
pub const FORMAT_VERSION: u16 = 2;

/// One room, saved with what its clients need to come back to it.
#[derive(Serialize, Deserialize)]
pub struct RoomRecord<'a> {
    /// The room's name (its URL path).
    pub name: String,
    /// The scene the room runs, as JSON.
    pub scene: String,
    /// When it was saved, milliseconds since the Unix epoch.
    pub saved_at_ms: u64,
    pub sessions: Vec<SavedSession>,
    pub room: SavedRoom<'a>,
}

/// A client session that a new connection may resume with its token.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedSession {
    pub token: String,
    pub client: ClientId,
    /// The authenticated player, if any: only the same player may resume.
    pub player: Option<String>,
    pub spectator: bool,
    pub session: ClientSession,
    /// Until when it may be resumed, milliseconds since the Unix epoch.
    pub resumable_until_ms: u64,
}

/// Why bytes are not a room record this build can use.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("not a ballroom room record (bad magic bytes)")]
    NotARecord,
    #[error("room record format {0} is not supported (this build reads format {FORMAT_VERSION})")]
    UnsupportedVersion(u16),
    #[error("corrupt room record: {0}")]
    Corrupt(#[from] postcard::Error),
    #[error("the record's scene: {0}")]
    Scene(#[from] SceneError),
}

impl RoomRecord<'_> {
    /// The record as bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(4096);
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        postcard::to_io(self, &mut bytes).expect("writing to a Vec cannot fail");
        bytes
    }

    /// The scene the record's room runs, checked like a scene file.
    pub fn scene(&self) -> Result<Arc<Scene>, RecordError> {
        Ok(Arc::new(Scene::from_saved_json(&self.scene)?))
    }

    /// The highest client id the record names: ids handed out after a restore must not
    /// collide with a session that may still come back.
    pub fn max_client(&self) -> ClientId {
        self.sessions.iter().map(|s| s.client).max().unwrap_or(0)
    }
}

/// Read a record from `bytes`.
pub fn decode(bytes: &[u8]) -> Result<RoomRecord<'static>, RecordError> {
    let body = bytes.strip_prefix(MAGIC).ok_or(RecordError::NotARecord)?;
    let (version, body) = body
        .split_first_chunk::<2>()
        .ok_or(RecordError::NotARecord)?;
    match u16::from_le_bytes(*version) {
        FORMAT_VERSION => Ok(postcard::from_bytes(body)?),
        other => Err(RecordError::UnsupportedVersion(other)),
    }
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests;
