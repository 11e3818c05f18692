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

/// When the last snapshot went out, to decide when the next one is due.
#[derive(Clone, Copy, Debug, serde::Serialize, serde::Deserialize)]
pub(super) struct SnapshotSchedule {
    every: u64,
    /// Tick of the last snapshot and whether the room was at rest then.
    last: Option<(u64, bool)>,
}

impl SnapshotSchedule {
    pub fn new(tick_rate: f64, snapshot_rate: f64) -> SnapshotSchedule {
        SnapshotSchedule {
            every: (tick_rate / snapshot_rate).round().max(1.0) as u64,
            last: None,
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

    /// Whether a snapshot is due on `tick`; if so, it is counted as sent.
    pub fn due(&mut self, tick: u64, tick_rate: f64, kicked: bool, at_rest: bool) -> bool {
        let due = match self.last {
            _ if kicked => true,
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
        if due {
            self.last = Some((tick, at_rest));
        }
        due
    }

    /// The first tick after `tick` on which [`due`](Self::due) says yes, if no kick comes
    /// and the room's state of rest stays `at_rest`.
    pub fn next_due(&self, tick: u64, tick_rate: f64, at_rest: bool) -> u64 {
        let due = match self.last {
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
