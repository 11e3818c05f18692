//! Snapshots: the room's authoritative state of its balls, and when one is due.
//!
//! - every `tick_rate / snapshot_rate` ticks while anything moves;
//! - on the very tick a kick is applied, so everyone sees it within one tick;
//! - at most once per second while the room is at rest (all balls asleep, no player
//!   moved since the last snapshot, no input).

use std::collections::BTreeMap;

use super::Room;
use crate::ids::{BallId, ClientId, Team};

/// The state of one ball.
#[derive(Clone, Debug, PartialEq)]
pub struct BallState {
    pub id: BallId,
    /// Position of the centre (m).
    pub position: [f32; 3],
    /// Rotation quaternion `[x, y, z, w]`.
    pub rotation: [f32; 4],
    /// Linear velocity (m/s).
    pub linvel: [f32; 3],
    /// Angular velocity (rad/s).
    pub angvel: [f32; 3],
    pub sleeping: bool,
}

/// A player as the server sees it: the pose its kinematic capsule stands on.
#[derive(Clone, Debug, PartialEq)]
pub struct PlayerState {
    pub client: ClientId,
    /// Feet position (m).
    pub position: [f32; 3],
    /// Rotation quaternion `[x, y, z, w]`, as the client reported it.
    pub rotation: [f32; 4],
    /// The team the room's rules put the player on, if any.
    pub team: Option<Team>,
}

/// The authoritative state of a room's balls and players as of `tick`.
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    pub tick: u64,
    /// Room clock in seconds (`tick / tick_rate`).
    pub time: f64,
    pub balls: Vec<BallState>,
    /// Every client that has reported a pose (accepted, in a room with physics), by id.
    pub players: Vec<PlayerState>,
    /// Per client, the `seq` of the last kick of theirs that has been applied.
    pub acks: BTreeMap<ClientId, u64>,
}

/// Extra snapshots a kick may force beyond the scheduled ones, back to back: after these
/// the kicks' snapshots coalesce, one per snapshot interval at most (see
/// [`SnapshotSchedule::due`]).
pub const KICK_SNAPSHOT_BURST: u64 = 3;

/// When the last snapshot went out, to decide when the next one is due.
#[derive(Clone, Copy, Debug, serde::Serialize, serde::Deserialize)]
pub(super) struct SnapshotSchedule {
    every: u64,
    /// Tick of the last snapshot and whether the room was at rest then.
    last: Option<(u64, bool)>,
    /// What kicks may still force (not saved: a restored room starts with a full budget).
    #[serde(skip)]
    kicks: KickBudget,
}

/// The extra snapshots kicks may force: a budget in ticks that refills by one a tick up to
/// [`KICK_SNAPSHOT_BURST`] intervals, of which a forced snapshot spends one interval. So
/// kicks add at most `snapshot_rate` snapshots a second to the scheduled ones, and a room
/// kicked more often than that sends each kick's ack with the next snapshot allowed.
#[derive(Clone, Copy, Debug)]
struct KickBudget {
    ticks: u64,
    /// Tick of the last refill.
    at: u64,
    /// A kick was applied and its snapshot has not gone out yet.
    owed: bool,
}

impl Default for KickBudget {
    fn default() -> KickBudget {
        KickBudget {
            ticks: u64::MAX, // clamped to the burst on first use
            at: 0,
            owed: false,
        }
    }
}

impl SnapshotSchedule {
    pub fn new(tick_rate: f64, snapshot_rate: f64) -> SnapshotSchedule {
        SnapshotSchedule {
            every: (tick_rate / snapshot_rate).round().max(1.0) as u64,
            last: None,
            kicks: KickBudget::default(),
        }
    }

    /// The same schedule (its last snapshot kept) at another rate: a restored room keeps
    /// its own last snapshot but takes this server's rates.
    pub fn at_rate(self, tick_rate: f64, snapshot_rate: f64) -> SnapshotSchedule {
        SnapshotSchedule {
            last: self.last,
            ..SnapshotSchedule::new(tick_rate, snapshot_rate)
        }
    }

    /// Whether a snapshot is due on `tick`; if so, it is counted as sent. A scheduled
    /// snapshot is due every `every` ticks while anything moves, once a second at rest;
    /// a kick (`kicked`, or one whose snapshot is still owed) makes one due at once while
    /// the kick budget lasts, and otherwise on the next tick it allows or the next
    /// scheduled one, whichever comes first (at most `every` ticks later).
    pub fn due(&mut self, tick: u64, tick_rate: f64, kicked: bool, at_rest: bool) -> bool {
        let budget = &mut self.kicks;
        budget.ticks = budget
            .ticks
            .saturating_add(tick.saturating_sub(budget.at))
            .min(KICK_SNAPSHOT_BURST * self.every);
        budget.at = tick;
        let kicked = kicked || budget.owed;
        let scheduled = match self.last {
            None => true,
            Some((last, was_at_rest)) => {
                let since = tick - last;
                if at_rest && was_at_rest {
                    since as f64 >= tick_rate
                } else {
                    since >= self.every
                }
            }
        };
        let due = scheduled || (kicked && budget.ticks >= self.every);
        if due && !scheduled {
            budget.ticks -= self.every;
        }
        budget.owed = kicked && !due;
        if due {
            self.last = Some((tick, at_rest));
        }
        due
    }

    /// A kick's snapshot is waiting for the kick budget or the next scheduled snapshot.
    pub fn owes_kick(&self) -> bool {
        self.kicks.owed
    }

    /// The first tick after `tick` on which [`due`](Self::due) says yes, if no kick comes
    /// and the room's state of rest stays `at_rest`.
    pub fn next_due(&self, tick: u64, tick_rate: f64, at_rest: bool) -> u64 {
        let due = match self.last {
            _ if self.kicks.owed => tick + 1,
            None => tick + 1,
            Some((last, was_at_rest)) if at_rest && was_at_rest => last + tick_rate.ceil() as u64,
            Some((last, _)) => last + self.every,
        };
        due.max(tick + 1)
    }
}

impl Room {
    /// The current state of every ball.
    pub fn snapshot(&self) -> Snapshot {
        let balls = self
            .balls
            .iter()
            .map(|b| {
                let body = &self.world.bodies[b.handle];
                BallState {
                    id: b.id,
                    position: body.translation().to_array(),
                    rotation: body.rotation().to_array(),
                    linvel: body.linvel().to_array(),
                    angvel: body.angvel().to_array(),
                    sleeping: body.is_sleeping(),
                }
            })
            .collect();
        let mut players: Vec<PlayerState> = self
            .clients
            .iter()
            .filter_map(|(&client, state)| {
                let (position, rotation) = state.pose?;
                Some(PlayerState {
                    client,
                    position,
                    rotation,
                    team: self.team_of(client),
                })
            })
            .collect();
        players.sort_by_key(|p| p.client);
        Snapshot {
            tick: self.tick,
            time: self.time(),
            balls,
            players,
            acks: self.acks.clone(),
        }
    }
}
