//! Who owns a room: a lease in the [`LEASE_BUCKET`](super::LEASE_BUCKET) key-value bucket.
//!
//! - **Claim**: create-if-absent. The revision of that create is the lease's **epoch**,
//!   which only grows across owners (revisions of one bucket are one sequence), and which
//!   the owner writes into the value and stamps on everything it publishes.
//! - **Renew**: compare-and-swap on the last revision, every quarter of `--lease-ttl`; the
//!   bucket's `max_age` is `--lease-ttl`, so an entry nobody renews disappears on its own.
//! - **Fencing**: an owner whose renewals have not succeeded for half of `--lease-ttl`
//!   (counted from when the last good one was sent) gives the room up at once: another node
//!   can claim it only after the entry expired, a whole `--lease-ttl` after that renewal.
//!   A renewal refused for a wrong revision means someone else holds it: given up too.
//! - **Release**: delete at the held revision, so that another node can claim at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;
use tokio::time::{Instant, sleep, sleep_until};
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, Span, warn};

use super::subjects::{room_key, room_of_key};
use super::{Cluster, ClusterError, call};
use crate::telemetry;

/// The value of a lease: who holds the room, since which epoch, and its last figures
/// (`GET /rooms` reads them from every node).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LeaseHolder {
    pub node: String,
    pub scene: String,
    pub epoch: u64,
    pub clients: usize,
    pub tick: u64,
}

/// A claimed lease, before its keeper takes it.
pub struct Lease {
    key: String,
    revision: u64,
    holder: LeaseHolder,
}

impl Lease {
    pub fn epoch(&self) -> u64 {
        self.holder.epoch
    }
}

/// Figures the room task updates and each renewal writes.
#[derive(Default)]
pub struct LeaseFigures {
    pub clients: AtomicUsize,
    pub tick: AtomicU64,
}

/// The task that renews a lease; dropping it stops renewing (the lease then expires).
pub struct LeaseKeeper {
    pub epoch: u64,
    /// Cancelled the moment the lease is no longer certainly ours.
    pub lost: CancellationToken,
    pub figures: Arc<LeaseFigures>,
    release: Option<oneshot::Sender<oneshot::Sender<()>>>,
}

impl LeaseKeeper {
    /// Stop renewing and delete the lease, so that another node can claim the room now.
    pub async fn release(mut self) {
        if let Some(release) = self.release.take() {
            let (done, finished) = oneshot::channel();
            if release.send(done).is_ok() {
                let _ = finished.await;
            }
        }
    }
}

impl Drop for LeaseKeeper {
    fn drop(&mut self) {
        self.lost.cancel(); // stops the renewals
    }
}

impl Cluster {
    /// Claim `room` (opened with `scene`) if nobody holds it; `None` if somebody does.
    pub async fn claim(&self, room: &str, scene: &str) -> Result<Option<Lease>, ClusterError> {
        let key = room_key(room);
        let mut holder = LeaseHolder {
            node: self.node.clone(),
            scene: scene.to_owned(),
            epoch: 0,
            clients: 0,
            tick: 0,
        };
        let created = tokio::time::timeout(
            super::CALL_TIMEOUT,
            self.leases.create(&key, encode(&holder)),
        )
        .await
        .map_err(|_| ClusterError::Timeout(super::CALL_TIMEOUT))?;
        let epoch = match created {
            Ok(revision) => revision,
            Err(e) if e.kind() == async_nats::jetstream::kv::CreateErrorKind::AlreadyExists => {
                return Ok(None);
            }
            Err(e) => return Err(ClusterError::Nats(e.to_string())),
        };
        holder.epoch = epoch;
        let revision = call(self.leases.update(&key, encode(&holder), epoch)).await?;
        Ok(Some(Lease {
            key,
            revision,
            holder,
        }))
    }

    /// Say that `room` runs `scene`, a scene without physics, which has no owner: every
    /// node with members of the room puts this (epoch 0) every quarter of `--lease-ttl`,
    /// so that a node opening the room for a client who named no scene opens the same
    /// kind of room. It expires like a lease once no node puts it.
    pub async fn mark_unowned(&self, room: &str, scene: &str) -> Result<(), ClusterError> {
        let holder = LeaseHolder {
            node: self.node.clone(),
            scene: scene.to_owned(),
            epoch: 0,
            clients: 0,
            tick: 0,
        };
        call(self.leases.put(room_key(room), encode(&holder)))
            .await
            .map(|_| ())
    }

    /// Who holds `room` now, if anybody.
    pub async fn holder(&self, room: &str) -> Result<Option<LeaseHolder>, ClusterError> {
        let entry = call(self.leases.entry(room_key(room))).await?;
        Ok(entry
            .filter(|e| e.operation == async_nats::jetstream::kv::Operation::Put)
            .and_then(|e| serde_json::from_slice(&e.value).ok()))
    }

    /// Every held lease: room name and holder. The keys come from the stream's subject
    /// list, one request (listing them through a consumer, as `Store::keys` does, can stall
    /// while leases are being written).
    pub async fn holders(&self) -> Result<Vec<(String, LeaseHolder)>, ClusterError> {
        let prefix = format!("$KV.{}.", super::LEASE_BUCKET);
        let keys: Vec<String> = tokio::time::timeout(super::CALL_TIMEOUT, async {
            let subjects = self
                .leases
                .stream
                .info_with_subjects(format!("{prefix}>"))
                .await
                .map_err(|e| e.to_string())?;
            let subjects: Vec<_> = subjects.filter_map(|s| async { s.ok() }).collect().await;
            Ok::<_, String>(
                subjects
                    .into_iter()
                    .filter_map(|(subject, _)| subject.strip_prefix(&prefix).map(str::to_owned))
                    .collect(),
            )
        })
        .await
        .map_err(|_| ClusterError::Timeout(super::CALL_TIMEOUT))?
        .map_err(ClusterError::Nats)?;
        let mut held = Vec::with_capacity(keys.len());
        for key in keys {
            let Some(room) = room_of_key(&key) else {
                continue;
            };
            if let Some(holder) = self.holder(&room).await? {
                held.push((room, holder));
            }
        }
        Ok(held)
    }

    /// Start renewing `lease` in a task of its own (in the current span).
    pub fn keep(self: &Arc<Self>, lease: Lease) -> LeaseKeeper {
        let lost = CancellationToken::new();
        let figures = Arc::new(LeaseFigures::default());
        let (release, release_rx) = oneshot::channel();
        let epoch = lease.epoch();
        self.tasks.spawn(
            renew(
                self.clone(),
                lease,
                lost.clone(),
                figures.clone(),
                release_rx,
            )
            .instrument(Span::current()),
        );
        LeaseKeeper {
            epoch,
            lost,
            figures,
            release: Some(release),
        }
    }
}

fn encode(holder: &LeaseHolder) -> bytes::Bytes {
    serde_json::to_vec(holder)
        .expect("a lease value always serializes")
        .into()
}

async fn renew(
    cluster: Arc<Cluster>,
    mut lease: Lease,
    lost: CancellationToken,
    figures: Arc<LeaseFigures>,
    mut release: oneshot::Receiver<oneshot::Sender<()>>,
) {
    let every = cluster.lease_ttl / 4;
    let fence = cluster.lease_ttl / 2;
    let mut last_ok = Instant::now();
    loop {
        lease.holder.clients = figures.clients.load(Ordering::Relaxed);
        lease.holder.tick = figures.tick.load(Ordering::Relaxed);
        let value = encode(&lease.holder);
        let attempt = async {
            sleep(every).await;
            let sent = Instant::now();
            let result = tokio::time::timeout(
                every,
                cluster.leases.update(&lease.key, value, lease.revision),
            )
            .await;
            (sent, result)
        };
        tokio::select! {
            biased;
            _ = lost.cancelled() => return,
            asked = &mut release => {
                if let Ok(done) = asked {
                    let deleted = cluster
                        .leases
                        .delete_expect_revision(&lease.key, Some(lease.revision));
                    if let Err(e) = call(deleted).await {
                        warn!(error = %e, "lease not released; it expires on its own");
                    }
                    lost.cancel();
                    let _ = done.send(());
                }
                return;
            }
            _ = sleep_until(last_ok + fence) => {
                warn!(fence = ?fence, "lease not renewed in time; giving the room up");
                metrics::counter!(telemetry::CLUSTER_LEASES_LOST).increment(1);
                lost.cancel();
                return;
            }
            (sent, result) = attempt => match result {
                Ok(Ok(revision)) => {
                    lease.revision = revision;
                    last_ok = sent;
                    metrics::counter!(telemetry::CLUSTER_LEASE_RENEWALS, "result" => "ok").increment(1);
                }
                Ok(Err(e)) if e.kind() == async_nats::jetstream::kv::UpdateErrorKind::WrongLastRevision => {
                    warn!("lease taken by another node; giving the room up");
                    metrics::counter!(telemetry::CLUSTER_LEASE_RENEWALS, "result" => "failed").increment(1);
                    metrics::counter!(telemetry::CLUSTER_LEASES_LOST).increment(1);
                    lost.cancel();
                    return;
                }
                _ => {
                    metrics::counter!(telemetry::CLUSTER_LEASE_RENEWALS, "result" => "failed").increment(1);
                }
            },
        }
    }
}
