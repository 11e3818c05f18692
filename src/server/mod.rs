//! Transport: accepting TCP connections, the room registry, and graceful shutdown.
//!
//! [`run`] accepts connections until `shutdown` resolves, then cancels every room and
//! connection (clients receive a close frame, 1001) and waits for their tasks to end.

mod connection;
mod http;
pub mod outbox;
mod room_task;
mod tls;

pub use tls::TlsError;

pub use connection::{JoinError, JoinRequest};

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

use crate::config::{Config, Mode};
use crate::protocol::{ClientId, RoomSummary};
use crate::scene::{SceneError, SceneLibrary};
use crate::telemetry;
use room_task::RoomHandle;

/// How long a client may take over its TLS handshake.
const TLS_HANDSHAKE: Duration = Duration::from_secs(10);

/// How long shutdown waits for rooms and connections to finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Scene(#[from] SceneError),
    #[error("default scene `{0}` does not exist (known: {1})")]
    UnknownDefaultScene(String, String),
    #[error(transparent)]
    Tls(#[from] TlsError),
}

/// State shared by every task of one server.
pub struct Shared {
    pub config: Config,
    pub scenes: SceneLibrary,
    rooms: Mutex<HashMap<String, RoomHandle>>,
    next_room: AtomicU64,
    next_client: AtomicU64,
    pub shutdown: CancellationToken,
    pub tasks: TaskTracker,
}

impl Shared {
    fn rooms(&self) -> MutexGuard<'_, HashMap<String, RoomHandle>> {
        self.rooms.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn next_client_id(&self) -> ClientId {
        self.next_client.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// The room called `name`, created with `scene` (or the default) if it does not exist.
    /// A named scene must exist even when the room does, so a typo never passes unnoticed.
    pub fn room_handle(
        self: &Arc<Self>,
        name: &str,
        scene: Option<&str>,
    ) -> Result<RoomHandle, JoinError> {
        let requested = match scene {
            Some(s) => Some(
                self.scenes
                    .get(s)
                    .ok_or_else(|| JoinError::UnknownScene(s.to_owned()))?,
            ),
            None => None,
        };
        let mut rooms = self.rooms();
        if let Some(room) = rooms.get(name) {
            return Ok(room.clone());
        }
        if rooms.len() >= self.config.max_rooms as usize {
            return Err(JoinError::TooManyRooms(self.config.max_rooms));
        }
        let scene = match self.config.mode {
            Mode::Broadcast => self.scenes.get("relay"),
            Mode::Physics => requested.or_else(|| self.scenes.get(&self.config.scene)),
        }
        .expect("the relay and default scenes are checked at start-up");
        let id = self.next_room.fetch_add(1, Ordering::Relaxed);
        let room = room_task::spawn(self, id, name, scene);
        rooms.insert(name.to_owned(), room.clone());
        Ok(room)
    }

    /// Remove room `id` from the registry if `still_idle()` holds under the registry lock.
    /// Returns whether the room is gone from the registry.
    fn retire_room(&self, name: &str, id: u64, still_idle: impl FnOnce() -> bool) -> bool {
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

    pub fn room_summaries(&self) -> Vec<RoomSummary> {
        let mut list: Vec<RoomSummary> = self
            .rooms()
            .iter()
            .map(|(name, room)| RoomSummary {
                room: name.clone(),
                scene: room.info.scene.clone(),
                clients: room.info.clients.load(Ordering::Relaxed),
                tick: room.info.tick.load(Ordering::Relaxed),
            })
            .collect();
        list.sort_by(|a, b| a.room.cmp(&b.room));
        list
    }
}

/// Pending connections the kernel may queue before `accept`. The default (128) overflows
/// when a few hundred clients reconnect at once, and each dropped SYN costs a client a
/// one-second retransmit.
const LISTEN_BACKLOG: u32 = 4096;

/// Bind a listener with a backlog fit for reconnect bursts (and `SO_REUSEADDR`, so a
/// restart does not wait out `TIME_WAIT`).
pub fn bind(addr: std::net::SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Serve `listener` until `shutdown` resolves, then close every connection and room.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()>,
) -> Result<(), StartError> {
    let scenes = SceneLibrary::with_assets(config.assets.as_deref())?;
    for needed in [config.scene.as_str(), "relay"] {
        if scenes.get(needed).is_none() {
            let known = scenes.names().collect::<Vec<_>>().join(", ");
            return Err(StartError::UnknownDefaultScene(needed.to_owned(), known));
        }
    }
    let tls = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => Some(tls::acceptor(cert, key)?),
        _ => None,
    };
    let shared = Arc::new(Shared {
        config,
        scenes,
        rooms: Mutex::new(HashMap::new()),
        next_room: AtomicU64::new(0),
        next_client: AtomicU64::new(0),
        shutdown: CancellationToken::new(),
        tasks: TaskTracker::new(),
    });
    telemetry::handle();
    let upkeep = shared.shutdown.clone();
    shared.tasks.spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(5));
        loop {
            tokio::select! {
                _ = upkeep.cancelled() => break,
                _ = every.tick() => telemetry::upkeep(),
            }
        }
    });
    // One permit per open connection; the upgraded WebSocket keeps its connection's.
    let permits = Arc::new(Semaphore::new(shared.config.max_connections as usize));
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => match permits.clone().try_acquire_owned() {
                    Ok(permit) => {
                        let _ = stream.set_nodelay(true);
                        if shared.config.send_buffer > 0 {
                            let _ = socket2::SockRef::from(&stream)
                                .set_send_buffer_size(shared.config.send_buffer as usize);
                        }
                        match &tls {
                            None => {
                                shared.tasks.spawn(http::serve(shared.clone(), stream, peer, permit));
                            }
                            Some(acceptor) => {
                                let (acceptor, shared2) = (acceptor.clone(), shared.clone());
                                shared.tasks.spawn(async move {
                                    let handshake = acceptor.accept(stream);
                                    match tokio::time::timeout(TLS_HANDSHAKE, handshake).await {
                                        Ok(Ok(tls)) => http::serve(shared2, tls, peer, permit).await,
                                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                                    }
                                });
                            }
                        }
                    }
                    Err(_) => {
                        shared.tasks.spawn(http::refuse_full(stream, shared.config.max_connections));
                    }
                },
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
    info!("shutting down");
    drop(listener);
    shared.shutdown.cancel();
    shared.tasks.close();
    if tokio::time::timeout(SHUTDOWN_GRACE, shared.tasks.wait())
        .await
        .is_err()
    {
        warn!(
            remaining = shared.tasks.len(),
            "tasks still running after the grace period"
        );
    }
    info!("stopped");
    Ok(())
}
