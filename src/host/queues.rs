//! Every bounded queue between a socket, a room and NATS, and what happens when each is
//! full: the overflow policy, written in one place (as renet writes it on its config's
//! fields). [`QueueLimits::from_config`] sets the sizes; the room tasks, the cluster link
//! and each connection's outbox read them from the server state.
//!
//! | Queue | Size | When full |
//! |---|---|---|
//! | a room's requests | [`QueueLimits::room_requests`] | the sender waits |
//! | a room's messages for NATS | [`QueueLimits::publish`] | the newest is dropped, counted |
//! | a client's reliable messages | [`QueueLimits::client_soft`] for [`QueueLimits::slow_grace`], or [`QueueLimits::client_hard`] | the client is disconnected, 1008 "too slow" |
//! | a client's snapshots | [`QueueLimits::PENDING_SNAPSHOTS`] | the oldest is dropped, counted |

use std::time::Duration;

use crate::config::Config;

/// The sizes of the server's bounded queues, each with its policy when full.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueLimits {
    /// Requests (joins, commands, relayed frames, leaves) waiting for one room task.
    /// **When full, the sender waits**: a connection's reader stops reading its socket
    /// until the room takes the next request, so a client that floods a room fills its
    /// own TCP window and slows nobody else's stream.
    pub room_requests: usize,
    /// Messages one room has waiting for NATS (in a cluster). **When full, the newest is
    /// dropped** and counted in `ballroom_cluster_dropped_total`: a room never waits for
    /// NATS, and a follower catches up on the owner's next keyframe.
    pub publish: usize,
    /// Reliable messages (everything but snapshots) one client's backlog may hold for
    /// longer than [`slow_grace`](Self::slow_grace) (`--client-queue`). **When the backlog
    /// stays above it longer, the client is disconnected** with 1008 "too slow" (counted in
    /// `ballroom_disconnects_total{reason="too_slow"}`); nothing is dropped silently.
    pub client_soft: usize,
    /// How long a backlog may stay above [`client_soft`](Self::client_soft) (`--slow-grace`):
    /// a whole tick's messages reach every queue before any writer runs, so a burst may
    /// briefly exceed it for a client that reads perfectly well.
    pub slow_grace: Duration,
    /// The reliable backlog's hard cap, [`HARD_FACTOR`](Self::HARD_FACTOR) ×
    /// [`client_soft`](Self::client_soft). **When reached, the client is disconnected at
    /// once** (1008 "too slow"), whatever the grace: it bounds memory whatever the timing.
    pub client_hard: usize,
}

impl QueueLimits {
    /// Requests that may wait for one room task.
    pub const ROOM_REQUESTS: usize = 1024;
    /// Messages one room may have waiting for NATS.
    pub const PUBLISH: usize = 4096;
    /// The reliable backlog's hard cap as a multiple of `--client-queue`.
    pub const HARD_FACTOR: usize = 8;
    /// Snapshots waiting for one client's writer. **When full, a newer snapshot pushes out
    /// the oldest** (latest wins, counted in `ballroom_snapshots_skipped_total`): a slow
    /// client skips stale snapshots and never delays the room or anyone else. Two, not
    /// one, because a kick makes a snapshot on the very next tick: with one slot, a writer
    /// a few milliseconds late would lose the regular snapshot of the tick before to the
    /// kick's, and its client would see a gap. (A constant: the writer takes them into an
    /// array of this size.)
    pub const PENDING_SNAPSHOTS: usize = 2;

    /// The limits `config` sets (`--client-queue`, `--slow-grace`) with the fixed ones.
    pub fn from_config(config: &Config) -> QueueLimits {
        let client_soft = (config.client_queue as usize).max(1);
        QueueLimits {
            room_requests: Self::ROOM_REQUESTS,
            publish: Self::PUBLISH,
            client_soft,
            slow_grace: config.slow_grace,
            client_hard: client_soft.saturating_mul(Self::HARD_FACTOR),
        }
    }

    /// The fixed sizes with a client queue of `soft` messages and `grace` (for tests and
    /// benchmarks that make outboxes without a server).
    pub fn with_client_queue(soft: usize, grace: Duration) -> QueueLimits {
        QueueLimits {
            room_requests: Self::ROOM_REQUESTS,
            publish: Self::PUBLISH,
            client_soft: soft,
            slow_grace: grace,
            client_hard: soft.saturating_mul(Self::HARD_FACTOR),
        }
    }
}
