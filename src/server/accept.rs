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
use super::startup::{self, StartError};
use super::{ServerState, http};
use crate::config::Config;
use crate::host::Host;
use crate::telemetry;
use tokio_rustls::TlsAcceptor;

/// How long a client may take over its TLS handshake.
const TLS_HANDSHAKE: Duration = Duration::from_secs(10);

/// Connections refused at accept (503, 429) that may be waiting for their answer at once.
/// Each answer takes at most a second; a flood beyond this is closed unanswered.
const REFUSALS_IN_FLIGHT: usize = 256;

/// How long shutdown waits for rooms and connections to finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

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
            max: server.host.config.max_connections,
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
/// Start-up is a sequence of steps, each of which may refuse to start the server.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()>,
) -> Result<(), StartError> {
    let (scenes, reloader) = startup::load_scenes(&config)?;
    let state_dir = startup::open_state_dir(&config)?;
    let (shutdown_token, tasks) = (CancellationToken::new(), TaskTracker::new());
    let cluster = startup::join_cluster(&config, &tasks, &shutdown_token).await?;
    let host = Host::new(config, scenes, state_dir, cluster, shutdown_token, tasks);
    let server = ServerState::new(host);
    startup::watch_assets(&server, reloader);
    let tls = startup::start_tls(&server)?;
    startup::keep_up_figures(&server);
    // Last of the steps that can fail: taking the rooms back removes their files.
    startup::restore_rooms(&server)?;
    accept_until(listener, &server, tls, shutdown).await;
    shut_down(&server).await;
    Ok(())
}

/// Accept connections until `shutdown` resolves.
async fn accept_until(
    listener: TcpListener,
    server: &Arc<ServerState>,
    tls: Option<TlsAcceptor>,
    shutdown: impl Future<Output = ()>,
) {
    // One permit per open connection; the upgraded WebSocket keeps its connection's.
    let permits = Arc::new(Semaphore::new(server.host.config.max_connections as usize));
    let refusals = Arc::new(Semaphore::new(REFUSALS_IN_FLIGHT));
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => match admit(server, &permits, peer) {
                    Ok(admission) => {
                        let _ = stream.set_nodelay(true);
                        if server.host.config.send_buffer > 0 {
                            let _ = socket2::SockRef::from(&stream)
                                .set_send_buffer_size(server.host.config.send_buffer as usize);
                        }
                        match &tls {
                            None => {
                                server.host.tasks.spawn(http::serve(server.clone(), stream, peer, admission));
                            }
                            Some(acceptor) => {
                                let (acceptor, server2) = (acceptor.clone(), server.clone());
                                server.host.tasks.spawn(async move {
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
                            server.host.tasks.spawn(async move {
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
}

/// Cancel every room and connection (clients receive a close frame, 1001) and wait, at
/// most [`SHUTDOWN_GRACE`], for every task to end.
async fn shut_down(server: &ServerState) {
    info!("shutting down");
    let host = &server.host;
    host.shutdown.cancel();
    host.tasks.close();
    if tokio::time::timeout(SHUTDOWN_GRACE, host.tasks.wait())
        .await
        .is_err()
    {
        warn!(
            remaining = host.tasks.len(),
            "tasks still running after the grace period"
        );
    }
    info!("stopped");
}
