//! Harness for the cluster tests (`cluster/`): a real `nats-server` with JetStream on a
//! random loopback port, a TCP proxy per node between it and NATS (so that a test can cut
//! exactly one node off NATS), ballroom nodes started as the real binary in cluster mode,
//! and WebSocket clients whose every frame is read at once by a task of their own and
//! stamped with the instant it arrived (so that gaps are measured where they happened, not
//! where the test got round to looking).
//!
//! Every wait is bounded; nothing talks to anything but loopback. A missing `nats-server`
//! fails the test (CI installs it). When a test fails, every node's and the NATS server's
//! log is printed (set `BALLROOM_CLUSTER_LOG=debug` for more of it).
//!
//! `nats.rs` has the NATS server and the cutter, `node.rs` the nodes and the cluster,
//! `peer.rs` the clients and the assertions on what they saw, `log.rs` the processes'
//! logs; this file serialises the cluster tests and makes temporary directories.

mod log;
mod nats;
mod node;
mod peer;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub use nats::{NatsCutter, NatsServer};
pub use node::{Cluster, LEASE_TTL, Node};
pub use peer::{Frame, Peer, Seen, assert_one_history, assert_one_world, largest_gap, tick_of};

/// The longest a process may take to start and say where it listens.
const START_WAIT: Duration = Duration::from_secs(15);

/// One cluster test at a time: they kill, stop and cut nodes and measure gaps in
/// milliseconds, which two of them sharing two cores would blur.
pub async fn serial() -> tokio::sync::MutexGuard<'static, ()> {
    SERIAL.lock().await
}

/// `serial` for a test that is not async.
pub fn serial_blocking() -> tokio::sync::MutexGuard<'static, ()> {
    SERIAL.blocking_lock()
}

static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A directory of its own under the system's temporary directory, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(what: &str) -> TempDir {
        static CALLS: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "ballroom-{what}-{}-{}",
            std::process::id(),
            CALLS.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
