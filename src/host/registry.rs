//! The room registry: which rooms are open, by name; how a joiner gets into its room
//! ([`join`], creating the room if needed); and retiring a room that has been empty for
//! its linger time.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::oneshot;

use super::clustered::spawn_clustered;
use super::join::{JoinError, JoinRequest};
use super::{
    ConnectionId, DepartedSessions, Host, JoinAsk, Joined, Link, LocalRoom, RoomHandle,
    RoomRequest, SharedMailbox,
};
use crate::config::Mode;
use crate::protocol::RoomSummary;
use crate::room::Room;

/// How long a connection waits for a room to take its join before giving up.
const JOIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Every open room, by name. The lock is never held across an `.await`.
#[derive(Default)]
pub struct Registry {
    rooms: Mutex<HashMap<String, RoomHandle>>,
    next_room: AtomicU64,
}

impl Registry {
    fn rooms(&self) -> MutexGuard<'_, HashMap<String, RoomHandle>> {
        self.rooms.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The room called `name`, created with `scene` (or the default) if it does not exist.
    /// A named scene must exist even when the room does, so a typo never passes unnoticed.
    /// Opening a room needs `may_open()` (the opener's `--room-opens-per-ip`), asked
    /// under the registry lock only when the room does not exist.
    pub fn room_handle(
        &self,
        host: &Arc<Host>,
        name: &str,
        scene: Option<&str>,
        may_open: impl FnOnce() -> Result<(), JoinError>,
    ) -> Result<RoomHandle, JoinError> {
        let requested = scene.map(|s| host.scenes.lookup(s)).transpose()?;
        let mut rooms = self.rooms();
        if let Some(room) = rooms.get(name) {
            return Ok(room.clone());
        }
        let config = &host.config;
        if rooms.len() >= config.max_rooms as usize {
            return Err(JoinError::TooManyRooms(config.max_rooms));
        }
        may_open()?;
        let scene = match config.mode {
            Mode::Broadcast => host.scenes.get("relay"),
            Mode::Physics => requested.or_else(|| host.scenes.get(&config.scene)),
        }
        .expect("the relay and default scenes are checked at start-up");
        let id = self.next_room.fetch_add(1, Ordering::Relaxed);
        let room = match &host.cluster {
            Some(cluster) => spawn_clustered(host, cluster, id, name, scene),
            None => {
                let room = Room::new(scene, host.sim(name));
                LocalRoom::spawn(host, id, name, room, DepartedSessions::default())
            }
        };
        rooms.insert(name.to_owned(), room.clone());
        Ok(room)
    }

    /// Open room `name` running `room`, restored with the sessions that may come back to
    /// it (at start, before any client can ask for the name).
    pub fn restore_room(
        &self,
        host: &Arc<Host>,
        name: &str,
        room: Room,
        departed: DepartedSessions,
    ) {
        let id = self.next_room.fetch_add(1, Ordering::Relaxed);
        let handle = LocalRoom::spawn(host, id, name, room, departed);
        self.rooms().insert(name.to_owned(), handle);
    }

    /// Remove room `id` from the registry if `still_idle()` holds under the registry lock.
    /// Returns whether the room is gone from the registry.
    pub fn retire_room(&self, name: &str, id: u64, still_idle: impl FnOnce() -> bool) -> bool {
        let mut rooms = self.rooms();
        match rooms.get(name) {
            Some(room) if room.id == id => {
                if still_idle() {
                    rooms.remove(name);
                    true
                } else {
                    false
                }
            }
            _ => true,
        }
    }

    /// `GET /rooms`: every room, sorted by name.
    pub fn summaries(&self) -> Vec<RoomSummary> {
        let mut list: Vec<RoomSummary> = self
            .rooms()
            .iter()
            .map(|(name, room)| RoomSummary {
                room: name.clone(),
                scene: room.info.scene.clone(),
                clients: room.info.clients.load(Ordering::Relaxed),
                tick: room.info.tick.load(Ordering::Relaxed),
                owner: None,
                node: None,
                rules_failures: room
                    .info
                    .rules
                    .then(|| room.info.rules_failures.load(Ordering::Relaxed)),
            })
            .collect();
        list.sort_by(|a, b| a.room.cmp(&b.room));
        list
    }
}

/// Join the named room, creating it if needed. A room that closes while we queue
/// (its linger ran out) is retried with a fresh one.
pub async fn join(
    host: &Arc<Host>,
    connection: ConnectionId,
    req: &JoinRequest,
    mailbox: &SharedMailbox,
    may_open: impl Fn() -> Result<(), JoinError>,
) -> Result<(RoomHandle, Joined), JoinError> {
    let attempt = async {
        loop {
            if host.shutdown.is_cancelled() {
                return Err(JoinError::ShuttingDown);
            }
            let room = host
                .rooms
                .room_handle(host, &req.room, req.scene.as_deref(), &may_open)?;
            let (accepted, answer) = oneshot::channel();
            let join = RoomRequest::Join(JoinAsk {
                connection,
                link: Link::Local(mailbox.clone()),
                request: req.clone(),
                accepted,
            });
            if room.requests.send(join).await.is_ok() {
                match answer.await {
                    Ok(Ok(joined)) => return Ok((room, joined)),
                    Ok(Err(refused)) => return Err(refused),
                    Err(_) => {} // the room closed meanwhile: try a fresh one
                }
            }
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(JOIN_TIMEOUT, attempt)
        .await
        .unwrap_or(Err(JoinError::RoomBusy))
}
