//! The room's clock in its task: running the ticks that are due, and letting a room at
//! rest sleep.
//!
//! While anything moves the task wakes at every tick's deadline and runs what is due
//! ([`TickClock`]: bounded catch-up, the rest dropped and reported). While the room is at
//! rest ([`Room::is_at_rest`](crate::room::Room::is_at_rest): balls asleep, nothing
//! queued, no pose changed) it does not wake every tick: an empty room sleeps until a
//! request, a cluster event or the end of its linger; a room with members wakes only for
//! its next at-rest snapshot (once a second) or its rules' next `onTick` (at the rules'
//! `tickRate`). Whatever wakes it, the ticks
//! it slept through are skipped, not run ([`Room::skip`](crate::room::Room::skip)): the
//! room's clock jumps to wall time, as if it had ticked, and no burst of catch-up ticks
//! runs. Its members see exactly what a ticking room at rest would have sent them.

use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::time::Instant;
use tracing::{info, warn};

use super::LocalRoom;
use crate::clock::TickClock;
use crate::telemetry;

/// A room that keeps falling behind says so at most this often (with the count).
const DROP_LOG_EVERY: Duration = Duration::from_secs(10);

/// A room task's clock and what it remembers between wake-ups.
pub(super) struct Ticker {
    clock: TickClock,
    period: Duration,
    dropped_unlogged: u64,
    last_drop_log: Option<Instant>,
    was_frozen: bool,
}

/// When the task's tick timer fires next.
#[derive(Clone, Copy, Debug)]
pub(super) struct Wake {
    pub at: Instant,
    /// The room is at rest: the wake-up is for its next snapshot, and the ticks before it
    /// are skipped.
    pub resting: bool,
}

impl Ticker {
    pub fn new(start: Instant, tick_rate: f64, max_catch_up: u32) -> Ticker {
        Ticker {
            clock: TickClock::new(start.into_std(), tick_rate, max_catch_up),
            period: Duration::from_secs_f64(1.0 / tick_rate),
            dropped_unlogged: 0,
            last_drop_log: None,
            was_frozen: false,
        }
    }
}

impl LocalRoom {
    /// Whether the room may sleep now: it has physics, is at rest, and is not frozen (a
    /// frozen owner neither ticks nor moves its clock on).
    pub(super) fn resting(&self) -> bool {
        self.room.needs_ticks() && !self.peers.frozen() && self.room.is_at_rest()
    }

    /// When to wake for ticks: the next tick's deadline while the room moves; its next
    /// at-rest snapshot or rules' `onTick` while it rests with members; never for an empty
    /// room at rest (nor for a room without physics), which waits for a request or its
    /// linger.
    pub(super) fn next_wake(&self, ticker: &Ticker) -> Option<Wake> {
        if !self.room.needs_ticks() {
            return None;
        }
        if !self.resting() {
            let at = Instant::from_std(ticker.clock.next_deadline());
            return Some(Wake { at, resting: false });
        }
        if self.members.is_empty() {
            return None;
        }
        let ahead = self
            .room
            .next_due_tick()
            .saturating_sub(self.room.tick_count());
        let at = Instant::from_std(ticker.clock.deadline_after(ahead));
        Some(Wake { at, resting: true })
    }

    /// Woken by something other than the tick timer while at rest: let the ticks slept
    /// through go by unrun, so whatever comes next sees the room's clock on wall time.
    pub(super) fn skip_slept(&mut self, ticker: &mut Ticker) {
        if self.resting() {
            let owed = ticker.clock.skip(Instant::now().into_std());
            if owed > 0 && self.room.skip(owed) {
                self.publish_tick();
            }
        }
    }

    /// The tick timer fired (`wake`): run the ticks that are due, or, waking from rest, skip
    /// those slept through and run the last. Err: the simulation panicked.
    pub(super) fn on_tick(&mut self, ticker: &mut Ticker, wake: Wake) -> Result<(), String> {
        let now = Instant::now();
        telemetry::hot().tick_lateness.record(now - wake.at);
        let run = if wake.resting && self.resting() {
            let owed = ticker.clock.skip(now.into_std());
            self.room.skip(owed.saturating_sub(1));
            owed.min(1)
        } else {
            self.due(ticker, now)
        };
        for _ in 0..run {
            let started = Instant::now();
            guarded(|| {
                let effects = self.room.tick();
                self.publish(effects);
            })?;
            let took = started.elapsed();
            telemetry::hot().tick_duration.record(took);
            if took > ticker.period {
                metrics::counter!(telemetry::TICK_OVERRUNS).increment(1);
            }
        }
        self.publish_tick();
        Ok(())
    }

    /// The ticks due at `now` for a room that is awake (none while frozen), reporting
    /// dropped ones.
    fn due(&mut self, ticker: &mut Ticker, now: Instant) -> u64 {
        let due = ticker.clock.due(now.into_std());
        if due.dropped > 0 {
            metrics::counter!(telemetry::TICKS_DROPPED).increment(due.dropped);
            ticker.dropped_unlogged += due.dropped;
            // An overloaded server would otherwise log for every room every tick.
            if ticker
                .last_drop_log
                .is_none_or(|t: Instant| now - t >= DROP_LOG_EVERY)
            {
                warn!(
                    dropped = ticker.dropped_unlogged,
                    "room fell behind; dropped ticks"
                );
                ticker.dropped_unlogged = 0;
                ticker.last_drop_log = Some(now);
            }
        }
        let frozen = self.peers.frozen();
        if frozen != ticker.was_frozen {
            if frozen {
                warn!("NATS lost: the room is frozen until it is back or the lease is given up");
            } else {
                info!("NATS back: the room runs again");
            }
            ticker.was_frozen = frozen;
        }
        if frozen { 0 } else { due.run }
    }

    /// The room's tick where `/rooms` and the lease's figures read it.
    fn publish_tick(&self) {
        let tick = self.room.tick_count();
        self.info.tick.store(tick, Ordering::Relaxed);
        if let Some(figures) = self.peers.lease_figures() {
            figures.tick.store(tick, Ordering::Relaxed);
        }
    }
}

/// Run `f`, turning a panic into its message.
pub(super) fn guarded(f: impl FnOnce()) -> Result<(), String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|payload| {
        payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "non-string panic".to_owned())
    })
}
