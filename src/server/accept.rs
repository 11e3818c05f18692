//! Accepting TCP connections: the listener, the connection limits (the server's and, for
//! a direct client, its address's), TLS (and the task that reloads its certificate), and
//! the graceful shutdown that ends every room and connection.
//!
//! [`run`] accepts connections until `shutdown` resolves, then cancels every room and
//! connection (clients receive a close frame, 1001) and waits for their tasks to end.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

use super::address_limits::AddressSlot;
use super::client_address::ClientAddress;
use super::{ServerState, http, restore, tls};
use crate::cluster::{Cluster, ClusterError};
use crate::config::Config;
use crate::persist::{StateDir, StateDirError};
use crate::scene::{SceneError, SceneLibrary};
use crate::telemetry;

/// How long a client may take over its TLS handshake.
const TLS_HANDSHAKE: Duration = Duration::from_secs(10);

/// Connections refused at accept (503, 429) that may be waiting for their answer at once.
/// Each answer takes at most a second; a flood beyond this is closed unanswered.
const REFUSALS_IN_FLIGHT: usize = 256;

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
    Tls(#[from] tls::TlsError),
    #[error(transparent)]
    StateDir(#[from] StateDirError),
    #[error(transparent)]
    Cluster(#[from] ClusterError),
}

/// Pending connections the kernel may queue before `accept`. The default (128) overflows
/// when a few hundred clients reconnect at once, and each dropped SYN costs a client a
/// one-second retransmit.
const LISTEN_BACKLOG: u32 = 4096;

/// Bind a listener with a backlog fit for reconnect bursts (and `SO_REUSEADDR`, so a
/// restart does not wait out `TIME_WAIT`).
pub fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Take a `--max-connections` permit for a connection from `peer`, and a place among its
/// address's connections (`--max-connections-per-ip`) unless `peer` is a trusted proxy,
/// whose clients are counted at their handshakes by the address it names. A refusal is
/// counted here (`server_full`) or by the address table, whether or not it is answered.
fn admit(
    server: &ServerState,
    permits: &Arc<Semaphore>,
    peer: SocketAddr,
) -> Result<http::Admission, http::EarlyRefusal> {
    let Ok(permit) = permits.clone().try_acquire_owned() else {
        metrics::counter!(telemetry::DISCONNECTS, "reason" => "server_full").increment(1);
        return Err(http::EarlyRefusal::ServerFull {
            max: server.config.max_connections,
        });
    };
    let slot = if server.proxies.trusts(peer.ip()) {
        AddressSlot::uncounted()
    } else {
        server
            .addresses
            .open(ClientAddress::Peer(peer.ip().to_canonical()))
            .map_err(http::EarlyRefusal::Address)?
    };
    Ok(http::Admission::new(permit, slot))
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
    telemetry::handle();
    let state_dir = config
        .state_dir
        .as_deref()
        .map(StateDir::open)
        .transpose()?;
    let (shutdown_token, tasks) = (CancellationToken::new(), TaskTracker::new());
    let cluster = match &config.nats {
        Some(url) => {
            let node = config.node_id.clone().unwrap_or_else(default_node_id);
            let cluster =
                Cluster::connect(url, &node, config.lease_ttl, &tasks, &shutdown_token).await?;
            Some(cluster)
        }
        None => None,
    };
    let server = ServerState::new(
        config,
        scenes,
        state_dir.clone(),
        cluster,
        shutdown_token,
        tasks,
    );
    let tls = match (&server.config.tls_cert, &server.config.tls_key) {
        (Some(cert), Some(key)) => {
            let files = tls::CertificateFiles {
                cert: cert.clone(),
                key: key.clone(),
            };
            let (acceptor, reloader) = tls::start(files)?;
            let every = server.config.tls_reload_interval;
            server
                .tasks
                .spawn(reloader.run(every, server.shutdown.clone()));
            Some(acceptor)
        }
        _ => None,
    };
    let upkeep = server.shutdown.clone();
    let upkeep_cluster = server.cluster.clone();
    server.tasks.spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(5));
        loop {
            tokio::select! {
                _ = upkeep.cancelled() => break,
                _ = every.tick() => {
                    telemetry::upkeep();
                    if let Some(cluster) = &upkeep_cluster {
                        let up = cluster.nats_state() == crate::cluster::NatsState::Connected;
                        metrics::gauge!(telemetry::CLUSTER_NATS_CONNECTED).set(if up { 1.0 } else { 0.0 });
                    }
                }
            }
        }
    });
    // One permit per open connection; the upgraded WebSocket keeps its connection's.
    let permits = Arc::new(Semaphore::new(server.config.max_connections as usize));
    // Last of the start-up steps that can fail: taking the rooms back removes their files.
    if let Some(dir) = &state_dir {
        restore::restore_rooms(&server, dir)?;
    }
    let refusals = Arc::new(Semaphore::new(REFUSALS_IN_FLIGHT));
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => match admit(&server, &permits, peer) {
                    Ok(admission) => {
                        let _ = stream.set_nodelay(true);
                        if server.config.send_buffer > 0 {
                            let _ = socket2::SockRef::from(&stream)
                                .set_send_buffer_size(server.config.send_buffer as usize);
                        }
                        match &tls {
                            None => {
                                server.tasks.spawn(http::serve(server.clone(), stream, peer, admission));
                            }
                            Some(acceptor) => {
                                let (acceptor, server2) = (acceptor.clone(), server.clone());
                                server.tasks.spawn(async move {
                                    let handshake = acceptor.accept(stream);
                                    match tokio::time::timeout(TLS_HANDSHAKE, handshake).await {
                                        Ok(Ok(tls)) => http::serve(server2, tls, peer, admission).await,
                                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                                    }
                                });
                            }
                        }
                    }
                    // Answered by a task of its own, at most REFUSALS_IN_FLIGHT at once;
                    // beyond that the connection is just closed.
                    Err(refusal) => {
                        if let Ok(answering) = refusals.clone().try_acquire_owned() {
                            server.tasks.spawn(async move {
                                http::refuse_early(stream, refusal).await;
                                drop(answering);
                            });
                        }
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
    server.shutdown.cancel();
    server.tasks.close();
    if tokio::time::timeout(SHUTDOWN_GRACE, server.tasks.wait())
        .await
        .is_err()
    {
        warn!(
            remaining = server.tasks.len(),
            "tasks still running after the grace period"
        );
    }
    info!("stopped");
    Ok(())
}

/// A node id for a node started without `--node-id`: the host name and a random suffix.
fn default_node_id() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_default();
    let host: String = host
        .trim()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
        .take(48)
        .collect();
    let mut bytes = [0u8; 3];
    getrandom::fill(&mut bytes).expect("the operating system provides randomness");
    let suffix: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    if host.is_empty() {
        format!("node-{suffix}")
    } else {
        format!("{host}-{suffix}")
    }
}
