//! Where the balls were: a short, bounded history of ball positions, so a kick is judged
//! against the ball where the kicker's client showed it (lag compensation).
//!
//! A client renders the balls it did not kick about 100 ms in the past (its interpolation
//! delay), and its kick reaches the server half a round trip later: by then a moving ball
//! may be out of reach although the player clicked it within reach. The kick carries the
//! room time its client rendered (`seen_at`); the referee looks the ball up here at that
//! time, never further back than [`MAX_REWIND`].
//!
//! Only changes are recorded (a room at rest records nothing), so an entry stands for
//! every tick from its own up to the next entry's.

use std::collections::VecDeque;

use rapier3d::prelude::Vector;

/// How far back the referee looks, seconds: covers an interpolation delay of 100–200 ms
/// plus a one-way trip of up to 300 ms.
pub const MAX_REWIND: f64 = 0.5;

/// Ball positions by tick, oldest first, bounded to [`MAX_REWIND`].
#[derive(Default)]
pub(super) struct BallHistory {
    /// `(tick, position of each ball, in the room's ball order)`.
    entries: VecDeque<(u64, Vec<Vector>)>,
}

impl BallHistory {
    /// Record the balls' positions after `tick` (nothing when unchanged), and forget what
    /// lies further back than `window` ticks.
    pub fn record(&mut self, tick: u64, positions: impl ExactSizeIterator<Item = Vector> + Clone) {
        let unchanged = self.entries.back().is_some_and(|(_, last)| {
            last.len() == positions.len() && last.iter().copied().eq(positions.clone())
        });
        if !unchanged {
            self.entries.push_back((tick, positions.collect()));
        }
    }

    /// Drop the entries no lookup within `window` ticks of `tick` can need: the newest
    /// entry at or before `tick - window` is kept (it stands for that tick).
    pub fn trim(&mut self, tick: u64, window: u64) {
        let oldest = tick.saturating_sub(window);
        while self.entries.len() >= 2 && self.entries[1].0 <= oldest {
            self.entries.pop_front();
        }
    }

    /// Ball `index`'s position at tick `at` (fractional: linear between two ticks), or
    /// `None` when nothing is recorded that far back.
    pub fn position(&self, index: usize, at: f64) -> Option<Vector> {
        let before = at.floor();
        let u = (at - before) as f32;
        let a = self.at_tick(index, before as u64)?;
        if u == 0.0 {
            return Some(a);
        }
        let b = self.at_tick(index, before as u64 + 1).unwrap_or(a);
        Some(a + (b - a) * u)
    }

    fn at_tick(&self, index: usize, tick: u64) -> Option<Vector> {
        // The newest entry at or before `tick`.
        let i = self.entries.partition_point(|(t, _)| *t <= tick);
        let (_, positions) = self.entries.get(i.checked_sub(1)?)?;
        positions.get(index).copied()
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(x: f32) -> std::array::IntoIter<Vector, 1> {
        [Vector::new(x, 0.0, 0.0)].into_iter()
    }

    #[test]
    fn looks_up_between_ticks_and_records_changes_only() {
        let mut h = BallHistory::default();
        assert_eq!(h.position(0, 5.0), None);
        h.record(10, at(1.0));
        h.record(11, at(1.0));
        h.record(12, at(3.0));
        assert_eq!(h.len(), 2, "an unchanged tick is not recorded");
        assert_eq!(h.position(0, 9.0), None, "before the first entry");
        assert_eq!(h.position(0, 11.0), Some(Vector::new(1.0, 0.0, 0.0)));
        assert_eq!(h.position(0, 11.5), Some(Vector::new(2.0, 0.0, 0.0)));
        assert_eq!(h.position(0, 40.0), Some(Vector::new(3.0, 0.0, 0.0)));
        assert_eq!(h.position(1, 12.0), None, "no such ball");
    }

    #[test]
    fn trimming_keeps_the_entry_that_stands_for_the_window_start() {
        let mut h = BallHistory::default();
        for t in 0..100 {
            h.record(t, at(t as f32));
            h.trim(t, 30);
        }
        assert_eq!(h.len(), 31);
        assert_eq!(h.position(0, 69.0), Some(Vector::new(69.0, 0.0, 0.0)));
        assert_eq!(h.position(0, 68.0), None);
        // A room at rest: the last entry stands for every later tick, and stays.
        h.trim(1_000, 30);
        assert_eq!(h.len(), 1);
        assert_eq!(h.position(0, 975.0), Some(Vector::new(99.0, 0.0, 0.0)));
    }
}
