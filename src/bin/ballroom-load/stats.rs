//! What clients measure and how it adds up: bounded samples and their percentiles, the
//! live latency histogram, tallies by reason, one client's figures, and the sums over many
//! physics clients that the steady and the churning ones share.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::rng::Rng;

/// Samples kept per client and per series (reservoir sampling beyond this).
const SAMPLE_CAP: usize = 10_000;

pub fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// Log-spaced latency histogram (5 % buckets) for the cheap live p99.
pub struct Histogram {
    buckets: Vec<AtomicU64>,
}

const HIST_STEP: f64 = 1.05;
const HIST_BUCKETS: usize = 400;

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            buckets: (0..HIST_BUCKETS).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

impl Histogram {
    pub fn record(&self, ms: f64) {
        let us = (ms * 1000.0).max(1.0);
        let i = ((us.ln() / HIST_STEP.ln()) as usize).min(HIST_BUCKETS - 1);
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
    }

    /// Upper bound of the bucket holding the q-quantile, in ms.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let counts: Vec<u64> = self
            .buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return None;
        }
        let rank = ((q * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, c) in counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Some(HIST_STEP.powi(i as i32 + 1) / 1000.0);
            }
        }
        None
    }
}

/// Bounded sample of a series: exact count, sum and max; up to `SAMPLE_CAP` values kept by
/// reservoir sampling for the percentiles.
#[derive(Default)]
pub struct Series {
    samples: Vec<f64>,
    seen: u64,
    sum: f64,
    max: f64,
}

impl Series {
    pub fn push(&mut self, v: f64, rng: &mut Rng) {
        self.seen += 1;
        self.sum += v;
        if v > self.max {
            self.max = v;
        }
        if self.samples.len() < SAMPLE_CAP {
            self.samples.push(v);
        } else {
            let j = rng.next_u64() % self.seen;
            if (j as usize) < SAMPLE_CAP {
                self.samples[j as usize] = v;
            }
        }
    }
}

/// count, p50, p99, max and mean of a series (null but for the count when it is empty).
#[derive(Serialize)]
pub struct Distribution {
    pub count: u64,
    pub p50: Option<f64>,
    pub p99: Option<f64>,
    pub max: Option<f64>,
    pub mean: Option<f64>,
}

/// The distribution of merged series; percentiles by sorting the samples.
pub fn describe<'a>(series: impl Iterator<Item = &'a Series>) -> Distribution {
    let mut samples = Vec::new();
    let (mut count, mut sum, mut max) = (0u64, 0.0, 0.0f64);
    for s in series {
        samples.extend_from_slice(&s.samples);
        count += s.seen;
        sum += s.sum;
        max = max.max(s.max);
    }
    if count == 0 {
        return Distribution {
            count: 0,
            p50: None,
            p99: None,
            max: None,
            mean: None,
        };
    }
    samples.sort_by(f64::total_cmp);
    let pct = |q: f64| {
        let rank = ((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len());
        round3(samples[rank - 1])
    };
    Distribution {
        count,
        p50: Some(pct(0.50)),
        p99: Some(pct(0.99)),
        max: Some(round3(max)),
        mean: Some(round3(sum / count as f64)),
    }
}

/// Counts by reason (or code, or outcome); a JSON object in the report.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(transparent)]
pub struct Tally(BTreeMap<String, u64>);

impl Tally {
    pub fn add(&mut self, what: String) {
        self.add_n(what, 1);
    }

    fn add_n(&mut self, what: String, n: u64) {
        *self.0.entry(what).or_default() += n;
    }

    /// The tallies added up, reason by reason.
    pub fn merged<'a>(tallies: impl Iterator<Item = &'a Tally>) -> Tally {
        let mut out = Tally::default();
        for t in tallies {
            for (k, v) in &t.0 {
                out.add_n(k.clone(), *v);
            }
        }
        out
    }

    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }

    /// The total of the reasons that `pick` selects.
    pub fn total_where(&self, mut pick: impl FnMut(&str) -> bool) -> u64 {
        self.0.iter().filter(|(k, _)| pick(k)).map(|(_, v)| v).sum()
    }
}

impl FromIterator<String> for Tally {
    fn from_iter<I: IntoIterator<Item = String>>(items: I) -> Tally {
        let mut out = Tally::default();
        for i in items {
            out.add(i);
        }
        out
    }
}

/// Everything one client measured. Lives behind a mutex so that the summary can be made
/// even from a client task that had to be abandoned at the hard deadline.
#[derive(Default)]
pub struct ClientStats {
    pub room: usize,
    pub connected: bool,
    /// When the handshake completed, since the tool's start.
    pub connected_after: Option<Duration>,
    pub connect_error: Option<String>,
    pub welcomed: bool,
    pub ended_early: Option<String>,
    /// Payload bytes and frames received within the window.
    pub bytes: u64,
    pub frames: u64,
    // physics
    pub kicks_sent: u64,
    /// seq → (sent at, sent within the window).
    pub pending: HashMap<u64, (Instant, bool)>,
    pub kicks_acked: u64,
    pub kick_latency: Series,
    pub kick_errors: Tally,
    pub other_errors: Tally,
    pub snapshots: u64,
    /// Snapshot frames received within the window: their payload bytes, and the balls
    /// (moving ones too) they carried.
    pub snapshot_frames: u64,
    pub snapshot_bytes: u64,
    pub snapshot_balls: u64,
    pub snapshot_moving_balls: u64,
    pub jitter: Series,
    pub tick_jitter: Series,
    pub missed: u64,
    /// The longest time between two snapshots (the later one within the window);
    /// spectators only.
    pub max_gap: Duration,
    // relay
    pub relay_sent: u64,
    pub delivered: u64,
    pub foreign: u64,
    pub relay_latency: Series,
}

impl ClientStats {
    /// Kicks sent within the window that got neither an ack nor an error.
    pub fn unacked(&self) -> u64 {
        self.pending
            .values()
            .filter(|(_, counted)| *counted)
            .count() as u64
    }
}

/// Kicks of many physics clients.
#[derive(Serialize)]
pub struct KickCounts {
    pub sent: u64,
    pub acked: u64,
    /// Kicks answered with an `error`, by code.
    pub errors: Tally,
}

impl KickCounts {
    pub fn of(stats: &[ClientStats]) -> KickCounts {
        KickCounts {
            sent: stats.iter().map(|s| s.kicks_sent).sum(),
            acked: stats.iter().map(|s| s.kicks_acked).sum(),
            errors: Tally::merged(stats.iter().map(|s| &s.kick_errors)),
        }
    }
}

/// Snapshots of many physics clients.
#[derive(Serialize)]
pub struct SnapshotCounts {
    pub received: u64,
    /// Snapshots skipped between two received ones (tick gaps), while anything moved.
    pub missed: u64,
    pub jitter_ms: Distribution,
}

impl SnapshotCounts {
    pub fn of(stats: &[ClientStats]) -> SnapshotCounts {
        SnapshotCounts {
            received: stats.iter().map(|s| s.snapshots).sum(),
            missed: stats.iter().map(|s| s.missed).sum(),
            jitter_ms: describe(stats.iter().map(|s| &s.jitter)),
        }
    }
}

/// Clients (or sessions) that missed a snapshot at least once.
pub fn with_gaps(stats: &[ClientStats]) -> usize {
    stats.iter().filter(|s| s.missed > 0).count()
}
