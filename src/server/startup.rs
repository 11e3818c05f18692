//! The server's start-up, one step per function, in the order [`run`](super::run) takes
//! them. Each step that can fail says why with a [`StartError`]; none leaves anything
//! behind that the next start would trip over, except the last (taking the saved rooms
//! back removes their files).

use std::sync::Arc;
use std::time::Duration;

use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::scene_reload::{self, SceneReloader};
use super::{ServerState, tls};
use crate::cluster::{Cluster, ClusterError, NatsState};
use crate::config::Config;
use crate::host::{self, LiveScenes};
use crate::persist::{StateDir, StateDirError};
use crate::scene::{SceneError, SceneLibrary};
use crate::telemetry;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Scene(#[from] SceneError),
    #[error("default scene `{0}` does not exist (known: {1})")]
    UnknownDefaultScene(String, String),
    #[error("default scene failed to load: {0}")]
    DefaultSceneFailed(String),
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    #[error(transparent)]
    StateDir(#[from] StateDirError),
    #[error(transparent)]
    Cluster(#[from] ClusterError),
}

/// Load the embedded scenes and `--assets`; the default scene and `relay` must be among
/// them. With `--assets`, also the reloader that watches it (catching SIGHUP from now on).
pub fn load_scenes(
    config: &Config,
) -> Result<(Arc<LiveScenes>, Option<SceneReloader>), StartError> {
    let load = SceneLibrary::load(config.assets.as_deref(), None)?;
    telemetry::handle();
    scene_reload::report(&load);
    let scenes = load.library;
    for needed in [config.scene.as_str(), "relay"] {
        if let Some(reason) = scenes.failure(needed) {
            return Err(StartError::DefaultSceneFailed(reason.to_owned()));
        }
        if scenes.get(needed).is_none() {
            let known = scenes.names().collect::<Vec<_>>().join(", ");
            return Err(StartError::UnknownDefaultScene(needed.to_owned(), known));
        }
    }
    let scenes = Arc::new(LiveScenes::new(scenes));
    let reloader = config
        .assets
        .clone()
        .map(|dir| SceneReloader::new(dir, scenes.clone()));
    Ok((scenes, reloader))
}

/// Open `--state-dir`, if given.
pub fn open_state_dir(config: &Config) -> Result<Option<StateDir>, StartError> {
    Ok(config
        .state_dir
        .as_deref()
        .map(StateDir::open)
        .transpose()?)
}

/// With `--nats`: connect, and take this node's place in the cluster.
pub async fn join_cluster(
    config: &Config,
    tasks: &TaskTracker,
    shutdown: &CancellationToken,
) -> Result<Option<Arc<Cluster>>, StartError> {
    let Some(url) = &config.nats else {
        return Ok(None);
    };
    let node = config.node_id.clone().unwrap_or_else(default_node_id);
    Ok(Some(
        Cluster::connect(url, &node, config.lease_ttl, tasks, shutdown).await?,
    ))
}

/// Reload `--assets` on SIGHUP and when its files change, until shutdown.
pub fn watch_assets(server: &ServerState, reloader: Option<SceneReloader>) {
    if let Some(reloader) = reloader {
        let host = &server.host;
        let every = host.config.assets_reload_interval;
        host.tasks.spawn(reloader.run(every, host.shutdown.clone()));
    }
}

/// With `--tls-cert` and `--tls-key`: the acceptor every handshake goes through, and the
/// task that reloads the certificate.
pub fn start_tls(server: &ServerState) -> Result<Option<TlsAcceptor>, StartError> {
    let host = &server.host;
    let (Some(cert), Some(key)) = (&host.config.tls_cert, &host.config.tls_key) else {
        return Ok(None);
    };
    let files = tls::CertificateFiles {
        cert: cert.clone(),
        key: key.clone(),
    };
    let (acceptor, reloader) = tls::start(files)?;
    let every = host.config.tls_reload_interval;
    host.tasks.spawn(reloader.run(every, host.shutdown.clone()));
    Ok(Some(acceptor))
}

/// Every 5 s until shutdown: the process figures of `/metrics`, and whether NATS is
/// connected.
pub fn keep_up_figures(server: &ServerState) {
    let (shutdown, cluster) = (server.host.shutdown.clone(), server.host.cluster.clone());
    server.host.tasks.spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(5));
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = every.tick() => {
                    telemetry::upkeep();
                    if let Some(cluster) = &cluster {
                        let up = cluster.nats_state() == NatsState::Connected;
                        metrics::gauge!(telemetry::CLUSTER_NATS_CONNECTED).set(if up { 1.0 } else { 0.0 });
                    }
                }
            }
        }
    });
}

/// Bring back the rooms `--state-dir` kept across the restart.
pub fn restore_rooms(server: &ServerState) -> Result<(), StartError> {
    if let Some(dir) = &server.host.state_dir {
        host::restore_rooms(&server.host, dir)?;
    }
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
