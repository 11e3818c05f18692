//! Spectators (`--spectators`): clients that join a room with `?spectate=1`, never send, and
//! count what a crowd watching a match gets: snapshots, missed snapshots (tick gaps), jitter
//! and the longest gap between two snapshots.
//!
//! There may be thousands of them, so a binary spectator does not decode its snapshots: it
//! reads each frame's header only (`binary::header`: the tick and, for a delta, the
//! baseline's tick) and checks that a delta names the last snapshot it got, which is what a
//! real decoder would need. What it cannot read is whether the balls sleep, so it tells a
//! room at rest by the one-second at-rest cadence instead ([`Gaps`]). A JSON spectator
//! parses `tick` and `balls[].sleeping` and counts exactly as a player does.

use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::time::Instant;

use ballroom::protocol::binary;
use futures_util::StreamExt;
use serde::Deserialize;
use tokio::time::sleep_until;
use tokio_tungstenite::tungstenite::Message;

use crate::connect::{Ended, Rx, received};
use crate::context::{Ctx, deadline, lock};
use crate::physics::{WELCOME_WAIT, await_welcome};
use crate::rng::Rng;
use crate::stats::ClientStats;

/// What a JSON spectator reads of a text frame.
#[derive(Deserialize)]
struct JsonSnapshot {
    #[serde(rename = "type")]
    kind: Option<String>,
    tick: Option<u64>,
    #[serde(default)]
    balls: Vec<Sleeping>,
}

#[derive(Deserialize)]
struct Sleeping {
    #[serde(default)]
    sleeping: bool,
}

/// One spectator's session on a connected socket: wait for the welcome, then count
/// snapshots until the end of the drain (it stays while the players wait for their acks,
/// so that the server's load does not change under them).
pub async fn run(ctx: &Ctx, rx: &mut Rx, stats: &Mutex<ClientStats>, rng: &mut Rng) -> Ended {
    let by = (Instant::now() + WELCOME_WAIT).min(ctx.drain_end);
    let welcome = match await_welcome(ctx, rx, stats, by).await {
        Ok(w) => w,
        Err(ended) => return ended,
    };
    lock(stats).welcomed = true;
    let mut gaps = Gaps::new(
        welcome.tick_rate.unwrap_or(60.0),
        welcome.snapshot_rate.unwrap_or(20.0),
    );
    let mut last_tick = None;
    // One timer for the whole session: a timer made per frame costs more than the frame.
    let mut done = std::pin::pin!(sleep_until(deadline(ctx.drain_end)));
    loop {
        tokio::select! {
            biased;
            _ = done.as_mut() => return Ended::Done,
            frame = rx.next() => {
                let now = Instant::now();
                let msg = match received(ctx, stats, frame, now) {
                    Ok(msg) => msg,
                    Err(ended) => return ended,
                };
                let (tick, asleep) = match &msg {
                    Message::Binary(bytes) => match snapshot_tick(bytes, last_tick) {
                        Ok(Some(tick)) => (tick, None),
                        Ok(None) => continue,
                        Err(e) => return Ended::Early(e),
                    },
                    Message::Text(text) => match serde_json::from_str::<JsonSnapshot>(text) {
                        Ok(JsonSnapshot { kind: Some(kind), tick: Some(tick), balls })
                            if kind == "snapshot" =>
                        {
                            (tick, Some(balls.iter().all(|b| b.sleeping)))
                        }
                        _ => continue,
                    },
                    _ => continue,
                };
                last_tick = Some(tick);
                ctx.live.spectator_snapshots.fetch_add(1, Ordering::Relaxed);
                gaps.saw(now, tick, asleep, ctx.in_window(now), &mut lock(stats), rng);
            }
        }
    }
}

/// The tick of a binary frame's snapshot, from its header alone; `None` for a frame another
/// client sent (relayed). A delta must be against `last`, the tick of the last snapshot this
/// spectator got: a real client could not decode it otherwise.
pub fn snapshot_tick(frame: &[u8], last: Option<u64>) -> Result<Option<u64>, String> {
    let bytes = match binary::frame::read(frame).map_err(|e| e.to_string())? {
        binary::frame::Frame::Relayed(_) => return Ok(None),
        binary::frame::Frame::Snapshot(bytes) => bytes,
    };
    let header = binary::header(bytes).map_err(|e| format!("bad snapshot header: {e}"))?;
    match header.baseline_tick {
        Some(t) if Some(t) != last => Err(format!(
            "a delta against tick {t}, which this spectator did not get"
        )),
        _ => Ok(Some(header.tick)),
    }
}

/// The previous snapshot, as [`Gaps`] remembers it.
#[derive(Clone, Copy)]
struct Prev {
    at: Instant,
    tick: u64,
    /// The room was at rest: all balls asleep (JSON), or this snapshot came a whole second
    /// or more after the one before it (binary: the at-rest cadence).
    at_rest: bool,
}

/// A spectator's count of snapshots, missed snapshots, jitter and its longest gap.
///
/// As for players, a gap after a snapshot at rest is not a loss: a room at rest sends one
/// snapshot a second, and wakes (on a kick) at any tick. A binary spectator, which sees no
/// `sleeping` flags, takes a gap of `tick_rate` ticks or more for the at-rest cadence: that
/// gap does not count, and neither does the one after it. Every other gap of G ticks counts
/// ceil(G / interval) - 1 missed snapshots and one jitter sample. A gap of a second or more
/// while the room moves is therefore not counted, and a room that falls asleep and is
/// kicked within the second shows a few misses that were not lost: the longest gap
/// (`max_gap`) is reported alongside to show either.
pub struct Gaps {
    tick_rate: f64,
    interval_ticks: f64,
    expected_gap: f64,
    prev: Option<Prev>,
}

impl Gaps {
    pub fn new(tick_rate: f64, snapshot_rate: f64) -> Gaps {
        Gaps {
            tick_rate,
            interval_ticks: (tick_rate / snapshot_rate).round().max(1.0),
            expected_gap: 1.0 / snapshot_rate,
            prev: None,
        }
    }

    /// A snapshot of `tick` arrived at `now`; `asleep`: whether all its balls sleep (`None`
    /// when the frame does not say). An older or repeated tick is ignored.
    pub fn saw(
        &mut self,
        now: Instant,
        tick: u64,
        asleep: Option<bool>,
        in_window: bool,
        s: &mut ClientStats,
        rng: &mut Rng,
    ) {
        if self.prev.is_some_and(|p| tick <= p.tick) {
            return;
        }
        let cadence = |p: &Prev| (tick - p.tick) as f64 >= self.tick_rate;
        let at_rest = asleep.unwrap_or_else(|| self.prev.as_ref().is_some_and(cadence));
        if in_window {
            s.snapshots += 1;
            if let Some(p) = self.prev {
                let dt = now.duration_since(p.at);
                s.max_gap = s.max_gap.max(dt);
                let counts = !p.at_rest && (asleep.is_some() || !cadence(&p));
                if counts {
                    let d = (tick - p.tick) as f64;
                    let jitter = (dt.as_secs_f64() - self.expected_gap).abs() * 1000.0;
                    s.jitter.push(jitter, rng);
                    s.missed += ((d / self.interval_ticks).ceil() - 1.0).max(0.0) as u64;
                }
            }
        }
        self.prev = Some(Prev {
            at: now,
            tick,
            at_rest,
        });
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::stats::describe;

    /// A frame header: the format's flags byte (bit 0: delta), the tick, and for a delta
    /// the ticks back to its baseline (one-byte varints: values below 128).
    fn frame(tick: u8, baseline: Option<u8>) -> Vec<u8> {
        let flags = binary::FORMAT_VERSION << 4;
        match baseline {
            None => vec![flags, tick],
            Some(b) => vec![flags | 0x01, tick, tick - b],
        }
    }

    #[test]
    fn a_delta_must_name_the_last_snapshot_received() {
        assert_eq!(snapshot_tick(&frame(9, Some(6)), Some(6)), Ok(Some(9)));
        let e = snapshot_tick(&frame(9, Some(6)), Some(3)).unwrap_err();
        assert_eq!(
            e,
            "a delta against tick 6, which this spectator did not get"
        );
        assert!(snapshot_tick(&frame(9, Some(6)), None).is_err());
    }

    #[test]
    fn a_keyframe_needs_no_baseline_and_relayed_frames_are_skipped() {
        assert_eq!(snapshot_tick(&frame(9, None), None), Ok(Some(9)));
        assert_eq!(snapshot_tick(&frame(9, None), Some(3)), Ok(Some(9)));
        assert_eq!(snapshot_tick(&[0x00, 0x10, 0x05], Some(3)), Ok(None));
        assert!(snapshot_tick(&[0x42], None).is_err());
        assert!(snapshot_tick(&[], None).is_err());
    }

    /// Feed `ticks` (at 60 Hz, 20 snapshots a second) to a binary spectator, each at its
    /// tick's time; the missed snapshots and the jitter samples it counted.
    fn binary_run(ticks: &[u64]) -> (u64, u64) {
        let (mut gaps, mut s, mut rng) = (Gaps::new(60.0, 20.0), ClientStats::default(), Rng(1));
        let t0 = Instant::now();
        for &t in ticks {
            let now = t0 + Duration::from_secs_f64(t as f64 / 60.0);
            gaps.saw(now, t, None, true, &mut s, &mut rng);
        }
        assert_eq!(s.snapshots, ticks.len() as u64);
        (s.missed, describe(std::iter::once(&s.jitter)).count)
    }

    #[test]
    fn a_binary_spectator_counts_gaps_shorter_than_a_second() {
        // Every third tick, one snapshot (12) lost, a kick's snapshot (13) between two.
        assert_eq!(binary_run(&[3, 6, 9, 15, 16, 19]), (1, 5));
        // Two lost in a row: a gap of 9 ticks.
        assert_eq!(binary_run(&[3, 12]), (2, 1));
    }

    #[test]
    fn a_binary_spectator_takes_a_second_long_gap_for_a_room_at_rest() {
        // At rest from tick 9 (snapshots at 69, 129), woken by a kick at 140.
        let (missed, jitter) = binary_run(&[3, 6, 9, 69, 129, 140, 143]);
        assert_eq!(missed, 0);
        // 3→6, 6→9 and 140→143.
        assert_eq!(jitter, 3);
    }

    #[test]
    fn a_json_spectator_counts_as_players_do() {
        let (mut gaps, mut s, mut rng) = (Gaps::new(60.0, 20.0), ClientStats::default(), Rng(1));
        let t0 = Instant::now();
        let at = |t: u64| t0 + Duration::from_secs_f64(t as f64 / 60.0);
        // Moving, then asleep at 9, woken at 20: the gap after a sleeping snapshot is free.
        for (t, asleep) in [(3, false), (6, false), (9, true), (20, false), (26, false)] {
            gaps.saw(at(t), t, Some(asleep), true, &mut s, &mut rng);
        }
        // 20→26 lost the snapshot of 23.
        assert_eq!(s.missed, 1);
        assert!((s.max_gap.as_secs_f64() - 11.0 / 60.0).abs() < 1e-3);
    }
}
