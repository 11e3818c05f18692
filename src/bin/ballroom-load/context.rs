//! What every task of a run shares: the arguments, the target, the clock, the connection
//! gate, the source addresses and the live counters.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::Semaphore;

use crate::args::{Args, Encoding};
use crate::rng::Rng;
use crate::source::Sources;
use crate::startup::Prepared;
use crate::stats::Histogram;

/// How long after the window a client keeps reading (for acks and in-flight messages).
pub const DRAIN: Duration = Duration::from_secs(2);
/// The run always ends this long after the measurement window.
const HARD_CAP: Duration = Duration::from_secs(30);

pub struct Ctx {
    pub args: Args,
    pub target: SocketAddr,
    pub host: String,
    /// The tool's clock origin; relay timestamps are microseconds since this.
    pub t0: Instant,
    pub window_start: Instant,
    pub window_end: Instant,
    pub drain_end: Instant,
    /// Every task still running now is abandoned.
    pub hard_end: Instant,
    pub run_id: u64,
    pub seed: u64,
    /// Connection attempts in flight at once.
    pub gate: Semaphore,
    /// The local addresses clients connect from, in turn.
    pub sources: Sources,
    pub live: Live,
}

impl Ctx {
    /// The run starts now: warm-up, then the window, then the drain.
    pub fn new(args: Args, prepared: &Prepared) -> Ctx {
        let t0 = Instant::now();
        let window_start = t0 + Duration::from_secs_f64(args.warmup);
        let window_end = window_start + Duration::from_secs_f64(args.duration);
        let seed = args.seed.unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        });
        Ctx {
            target: prepared.target,
            host: prepared.host.clone(),
            t0,
            window_start,
            window_end,
            drain_end: window_end + DRAIN,
            hard_end: window_end + HARD_CAP,
            run_id: Rng(seed ^ 0x5EED).next_u64() >> 16,
            seed,
            gate: Semaphore::new(args.connect_concurrency as usize),
            sources: Sources::new(prepared.source_addresses),
            live: Live::default(),
            args,
        }
    }

    pub fn in_window(&self, t: Instant) -> bool {
        t >= self.window_start && t < self.window_end
    }

    pub fn micros(&self, t: Instant) -> u64 {
        t.duration_since(self.t0).as_micros() as u64
    }

    /// `PREFIX<room>?query`, with a leading `/`.
    pub fn room_path(&self, room: usize, query: &str) -> String {
        let prefix = &self.args.room_prefix;
        let slash = if prefix.starts_with('/') { "" } else { "/" };
        format!("{slash}{prefix}{room}?{query}")
    }

    /// The query that joins a room as a physics client of `--scene`, in `--encoding`
    /// (a spectator adds `&spectate=1`).
    pub fn scene_query(&self) -> String {
        match self.args.encoding {
            Encoding::Json => format!("scene={}", self.args.scene),
            Encoding::Binary => format!("scene={}&encoding=binary", self.args.scene),
        }
    }
}

pub fn deadline(t: Instant) -> tokio::time::Instant {
    tokio::time::Instant::from_std(t)
}

/// A mutex's contents, even if a task panicked while holding it.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Live counters for the progress line.
#[derive(Default)]
pub struct Live {
    pub connected_now: AtomicU64,
    pub failed: AtomicU64,
    pub spectators_now: AtomicU64,
    pub spectators_failed: AtomicU64,
    pub spectator_snapshots: AtomicU64,
    pub frames: AtomicU64,
    pub kicks_sent: AtomicU64,
    pub kicks_acked: AtomicU64,
    pub soak_sessions: AtomicU64,
    pub relay_sent: AtomicU64,
    pub relay_delivered: AtomicU64,
    pub hist: Histogram,
}

impl Live {
    /// A churning, slow or garbage client starts one more session.
    pub fn soak_session(&self) {
        self.soak_sessions.fetch_add(1, Ordering::Relaxed);
    }
}
