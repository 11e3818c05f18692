//! The fixed-timestep clock of a room.
//!
//! Tick `n` is due at `start + n / tick_rate`, computed from the start every time, so
//! rounding never accumulates and simulated time does not drift from wall time. A late
//! wake-up runs every due tick back to back, up to `max_catch_up`; time beyond that is
//! dropped (the clock is moved forward) and reported, so one stall cannot snowball. A room
//! at rest that slept through its deadlines skips them instead ([`TickClock::skip`]): none
//! run, none count as dropped, and the clock stays on wall time.

use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct TickClock {
    start: Instant,
    tick_rate: f64,
    /// Ticks handed out so far plus ticks dropped.
    counted: u64,
    max_catch_up: u64,
}

/// What a wake-up owes.
#[derive(Debug, PartialEq, Eq)]
pub struct Due {
    /// Ticks to run now.
    pub run: u64,
    /// Ticks dropped because the room fell more than `max_catch_up` behind.
    pub dropped: u64,
}

impl TickClock {
    pub fn new(start: Instant, tick_rate: f64, max_catch_up: u32) -> TickClock {
        TickClock {
            start,
            tick_rate,
            counted: 0,
            max_catch_up: u64::from(max_catch_up.max(1)),
        }
    }

    /// When the next tick is due.
    pub fn next_deadline(&self) -> Instant {
        self.deadline(self.counted + 1)
    }

    /// When the `ticks`-th tick from now is due (at least the next one).
    pub fn deadline_after(&self, ticks: u64) -> Instant {
        self.deadline(self.counted + ticks.max(1))
    }

    /// For a room that slept: every tick owed at `now` is counted and none is run, however
    /// many there are (nothing is dropped). Returns how many.
    pub fn skip(&mut self, now: Instant) -> u64 {
        let behind = self.behind(now);
        self.counted += behind;
        behind
    }

    fn deadline(&self, tick: u64) -> Instant {
        self.start + Duration::from_secs_f64(tick as f64 / self.tick_rate)
    }

    /// Ticks due by `now` and not yet counted.
    fn behind(&self, now: Instant) -> u64 {
        let elapsed = now.saturating_duration_since(self.start).as_secs_f64();
        let mut target = (elapsed * self.tick_rate).floor() as u64;
        // Waking exactly at a deadline must count that tick despite float rounding.
        if self.deadline(target + 1) <= now {
            target += 1;
        }
        target.saturating_sub(self.counted)
    }

    /// The ticks owed at `now`.
    pub fn due(&mut self, now: Instant) -> Due {
        let behind = self.behind(now);
        let run = behind.min(self.max_catch_up);
        let dropped = behind - run;
        self.counted += behind;
        Due { run, dropped }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_follow_wall_time_without_drift() {
        let t0 = Instant::now();
        let mut c = TickClock::new(t0, 60.0, 5);
        assert_eq!(c.due(t0), Due { run: 0, dropped: 0 });
        let mut total = 0;
        // Wake exactly at every deadline for one simulated hour.
        for _ in 0..(60 * 3600) {
            let d = c.next_deadline();
            total += c.due(d).run;
        }
        assert_eq!(total, 60 * 3600);
        let hour = t0 + Duration::from_secs(3600);
        assert!(c.next_deadline() > hour);
        assert!(c.next_deadline() - hour <= Duration::from_secs_f64(1.0 / 60.0));
    }

    #[test]
    fn late_wake_up_catches_up_within_the_bound() {
        let t0 = Instant::now();
        let mut c = TickClock::new(t0, 60.0, 5);
        // 3 ticks late: all run.
        assert_eq!(
            c.due(t0 + Duration::from_millis(51)),
            Due { run: 3, dropped: 0 }
        );
        // A one-second stall: 5 run, the rest dropped, and the clock is current again.
        let later = t0 + Duration::from_millis(1051);
        assert_eq!(
            c.due(later),
            Due {
                run: 5,
                dropped: 55
            }
        );
        assert_eq!(c.due(later), Due { run: 0, dropped: 0 });
        assert!(c.next_deadline() > later);
    }

    #[test]
    fn a_sleep_is_skipped_whole_and_the_clock_keeps_wall_time() {
        let t0 = Instant::now();
        let mut c = TickClock::new(t0, 60.0, 5);
        assert_eq!(c.deadline_after(0), c.next_deadline());
        let second = c.deadline_after(60);
        assert_eq!(second, t0 + Duration::from_secs(1));
        // A minute asleep: 3,600 ticks skipped, none dropped, none left to run.
        let minute = t0 + Duration::from_secs(60);
        assert_eq!(c.skip(minute), 3600);
        assert_eq!(c.due(minute), Due { run: 0, dropped: 0 });
        assert_eq!(
            c.next_deadline(),
            t0 + Duration::from_secs_f64(3601.0 / 60.0)
        );
    }
}
