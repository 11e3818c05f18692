//! Which nodes are alive. Every node publishes its id on [`HEARTBEATS`] once a second and
//! listens to the others; a node not heard from for [`NODE_TIMEOUT`] is announced as gone,
//! so that an owner drops the members that were connected through it.

use std::collections::HashMap;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::broadcast;
use tokio::time::{Instant, interval};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::ClusterError;

pub const HEARTBEATS: &str = "ballroom.nodes.alive";
const BEAT_EVERY: Duration = Duration::from_secs(1);
pub const NODE_TIMEOUT: Duration = Duration::from_secs(3);

/// Announcements of nodes gone silent, by id.
pub type NodeEvents = broadcast::Receiver<String>;

pub struct NodeDirectory {
    gone: broadcast::Sender<String>,
}

impl NodeDirectory {
    pub async fn start(
        client: &async_nats::Client,
        node: &str,
        tasks: &TaskTracker,
        shutdown: &CancellationToken,
    ) -> Result<NodeDirectory, ClusterError> {
        let mut beats = client
            .subscribe(HEARTBEATS)
            .await
            .map_err(|e| ClusterError::Nats(e.to_string()))?;
        let (gone, _) = broadcast::channel(64);
        let (client, node, announce, shutdown) = (
            client.clone(),
            node.to_owned(),
            gone.clone(),
            shutdown.clone(),
        );
        tasks.spawn(async move {
            let mut seen: HashMap<String, Instant> = HashMap::new();
            let mut every = interval(BEAT_EVERY);
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = every.tick() => {
                        let _ = client.publish(HEARTBEATS, node.clone().into()).await;
                        let now = Instant::now();
                        seen.retain(|other, last| {
                            let alive = now - *last < NODE_TIMEOUT;
                            if !alive {
                                let _ = announce.send(other.clone());
                            }
                            alive
                        });
                    }
                    beat = beats.next() => match beat {
                        Some(beat) => {
                            if let Ok(other) = std::str::from_utf8(&beat.payload)
                                && other != node
                            {
                                seen.insert(other.to_owned(), Instant::now());
                            }
                        }
                        None => break,
                    },
                }
            }
        });
        Ok(NodeDirectory { gone })
    }

    pub fn events(&self) -> NodeEvents {
        self.gone.subscribe()
    }
}
