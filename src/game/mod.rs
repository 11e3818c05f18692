//! Match logic: teams, countdown, clock, score and result. Plain synchronous code driven
//! by the room's ticks, so the server alone decides when a match starts, what counts as a
//! goal and when it ends.
//!
//! ```text
//!   waiting ──both teams ≥ min──► countdown ──3,2,1,go──► playing ──clock 0──► ended
//!      ▲                            │  ▲                    │  ▲                 │
//!      │◄──a team < min (fresh)─────┘  │                    │  │                 │
//!      │                               └─both teams ≥ 1─ paused ◄─a team empties │
//!      └───────────────────────────── end_pause ───────────────────────────────────┘
//! ```
//!
//! With `on_team_empty: forfeit` a team emptying ends the match instead of pausing it.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::ids::{BallId, ClientId, Team};
use crate::scene::{MatchRules, OnTeamEmpty};

#[cfg(test)]
mod tests;
mod types;

pub use types::{Goal, MatchEvent, MatchRefusal, MatchResult, MatchState, Phase, Score, Teams};

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
enum State {
    Waiting,
    /// `step` of `rules.countdown` shown; the next step is due at `next_at`.
    Countdown {
        step: u32,
        next_at: u64,
        resume: bool,
    },
    Playing,
    Paused,
    Ended {
        until: u64,
    },
}

/// One room's match. Serde is for saving a room (`room::SavedRoom`), nothing else.
#[derive(Clone, Serialize, Deserialize)]
pub struct Match {
    rules: MatchRules,
    tick_rate: f64,
    state: State,
    score: Score,
    blue: BTreeSet<ClientId>,
    red: BTreeSet<ClientId>,
    /// Ticks left on the match clock.
    remaining: u64,
    kickoff: Option<Team>,
    /// After a goal: when the ball goes back to the centre, and who kicks off.
    reset: Option<(u64, Team)>,
    /// What the call being served has to tell; handed to its caller when it returns.
    #[serde(skip)]
    events: Vec<MatchEvent>,
}

impl Match {
    pub fn new(rules: MatchRules, tick_rate: f64) -> Match {
        let remaining = seconds_to_ticks(rules.duration, tick_rate);
        Match {
            rules,
            tick_rate,
            state: State::Waiting,
            score: Score::default(),
            blue: BTreeSet::new(),
            red: BTreeSet::new(),
            remaining,
            kickoff: None,
            reset: None,
            events: Vec::new(),
        }
    }

    /// Hand what this call produced to its caller.
    fn take_events(&mut self) -> Vec<MatchEvent> {
        std::mem::take(&mut self.events)
    }

    pub fn team_of(&self, client: ClientId) -> Option<Team> {
        if self.blue.contains(&client) {
            Some(Team::Blue)
        } else if self.red.contains(&client) {
            Some(Team::Red)
        } else {
            None
        }
    }

    /// Put `client` on `team` (or make it a spectator). Always announces the state, so
    /// the asking client gets the whole match state as its answer.
    pub fn set_team(&mut self, client: ClientId, team: Option<Team>, tick: u64) -> Vec<MatchEvent> {
        self.blue.remove(&client);
        self.red.remove(&client);
        match team {
            Some(Team::Blue) => self.blue.insert(client),
            Some(Team::Red) => self.red.insert(client),
            None => false,
        };
        if !self.presence_changed(tick) {
            self.announce(tick, None);
        }
        self.take_events()
    }

    /// A client left the room.
    pub fn remove(&mut self, client: ClientId, tick: u64) -> Vec<MatchEvent> {
        let was_playing = self.blue.remove(&client) | self.red.remove(&client);
        if was_playing && !self.presence_changed(tick) {
            self.announce(tick, None);
        }
        self.take_events()
    }

    fn count(&self, team: Team) -> u32 {
        match team {
            Team::Blue => self.blue.len() as u32,
            Team::Red => self.red.len() as u32,
        }
    }

    /// React to a change in team sizes; true if that announced a new state.
    fn presence_changed(&mut self, tick: u64) -> bool {
        let min = self.rules.min_players_per_team;
        let full = self.count(Team::Blue) >= min && self.count(Team::Red) >= min;
        let both_present = self.count(Team::Blue) > 0 && self.count(Team::Red) > 0;
        match self.state {
            State::Waiting if full => {
                self.start_countdown(tick, false);
                true
            }
            State::Countdown { resume: false, .. } if !full => {
                self.state = State::Waiting;
                self.announce(tick, None);
                true
            }
            State::Countdown { resume: true, .. } if !both_present => {
                self.state = State::Paused;
                self.announce(tick, None);
                true
            }
            State::Playing if !both_present => {
                match self.rules.on_team_empty {
                    OnTeamEmpty::Pause => {
                        self.state = State::Paused;
                        self.announce(tick, None);
                    }
                    OnTeamEmpty::Forfeit => {
                        let winner = [Team::Blue, Team::Red]
                            .into_iter()
                            .find(|t| self.count(*t) > 0);
                        self.end(tick, winner, true);
                    }
                }
                true
            }
            State::Paused if both_present => {
                self.start_countdown(tick, true);
                true
            }
            _ => false,
        }
    }

    fn start_countdown(&mut self, tick: u64, resume: bool) {
        if !resume {
            self.score = Score::default();
            self.remaining = seconds_to_ticks(self.rules.duration, self.tick_rate);
            self.kickoff = None;
            self.reset = None;
            self.events.push(MatchEvent::ResetBalls);
        }
        self.state = State::Countdown {
            step: 0,
            next_at: tick + seconds_to_ticks(1.0, self.tick_rate),
            resume,
        };
        if self.rules.countdown == 0 {
            self.state = State::Playing;
            self.announce(tick, Some("go"));
        } else {
            self.announce(tick, None);
        }
    }

    /// Advance the match by one tick (called after the physics step of `tick`).
    pub fn tick(&mut self, tick: u64) -> Vec<MatchEvent> {
        match self.state {
            State::Countdown {
                step,
                next_at,
                resume,
            } if tick >= next_at => {
                let step = step + 1;
                if step >= self.rules.countdown {
                    self.state = State::Playing;
                    self.announce(tick, Some("go"));
                } else {
                    self.state = State::Countdown {
                        step,
                        next_at: next_at + seconds_to_ticks(1.0, self.tick_rate),
                        resume,
                    };
                    self.announce(tick, None);
                }
            }
            State::Playing => {
                self.remaining = self.remaining.saturating_sub(1);
                if let Some((at, conceded)) = self.reset {
                    if tick >= at {
                        self.reset = None;
                        self.events.push(MatchEvent::ResetBalls);
                        self.kickoff = Some(conceded);
                        self.announce(tick, None);
                    }
                }
                if self.remaining == 0 {
                    let winner = match self.score.blue.cmp(&self.score.red) {
                        std::cmp::Ordering::Greater => Some(Team::Blue),
                        std::cmp::Ordering::Less => Some(Team::Red),
                        std::cmp::Ordering::Equal => None,
                    };
                    self.end(tick, winner, false);
                }
            }
            State::Ended { until } if tick >= until => {
                self.state = State::Waiting;
                self.kickoff = None;
                self.reset = None;
                if !self.presence_changed(tick) {
                    self.announce(tick, None);
                }
            }
            _ => {}
        }
        self.take_events()
    }

    fn end(&mut self, tick: u64, winner: Option<Team>, forfeit: bool) {
        self.state = State::Ended {
            until: tick + seconds_to_ticks(self.rules.end_pause, self.tick_rate),
        };
        self.reset = None;
        self.kickoff = None;
        self.events.push(MatchEvent::Result(MatchResult {
            score: self.score,
            winner,
            forfeit,
            tick,
        }));
        self.announce(tick, None);
    }

    /// A ball entered the goal defended by `defending`. Counts only while playing and not
    /// already waiting for the ball to come back after a goal.
    pub fn goal(
        &mut self,
        defending: Team,
        ball: BallId,
        scorer: Option<ClientId>,
        tick: u64,
    ) -> Vec<MatchEvent> {
        if self.state != State::Playing || self.reset.is_some() {
            return Vec::new();
        }
        let team = defending.other();
        match team {
            Team::Blue => self.score.blue += 1,
            Team::Red => self.score.red += 1,
        }
        self.reset = Some((
            tick + seconds_to_ticks(self.rules.goal_pause, self.tick_rate),
            defending,
        ));
        self.events.push(MatchEvent::Goal(Goal {
            team,
            scorer,
            ball,
            score: self.score,
            tick,
        }));
        self.announce(tick, None);
        self.take_events()
    }

    /// May `client` kick now?
    pub fn check_kick(&self, client: ClientId) -> Result<(), MatchRefusal> {
        let team = self.team_of(client).ok_or(MatchRefusal::Spectator)?;
        match self.state {
            State::Waiting => Ok(()), // warm-up: team players may kick while waiting
            State::Countdown { .. } => Err(MatchRefusal::Countdown),
            State::Paused => Err(MatchRefusal::Paused),
            State::Ended { .. } => Err(MatchRefusal::Ended),
            State::Playing if self.reset.is_some() => Err(MatchRefusal::AfterGoal),
            State::Playing => match self.kickoff {
                Some(k) if k != team => Err(MatchRefusal::NotYourKickoff(k)),
                _ => Ok(()),
            },
        }
    }

    /// A kick by `client` was accepted (it is applied on the next tick, `tick`).
    pub fn kicked(&mut self, client: ClientId, tick: u64) -> Vec<MatchEvent> {
        if self.kickoff.is_some() && self.kickoff == self.team_of(client) {
            self.kickoff = None;
            self.announce(tick, None);
        }
        self.take_events()
    }

    /// Whether ticks change nothing: waiting or paused, no countdown, match clock or pause
    /// running. A room whose match is idle may let ticks go by unrun (`Room::skip`).
    pub fn is_idle(&self) -> bool {
        matches!(self.state, State::Waiting | State::Paused)
    }

    pub fn state(&self, tick: u64) -> MatchState {
        self.state_with(tick, None)
    }

    fn state_with(&self, tick: u64, countdown: Option<&'static str>) -> MatchState {
        const STEPS: [&str; 9] = ["1", "2", "3", "4", "5", "6", "7", "8", "9"];
        let (phase, countdown) = match self.state {
            State::Waiting => (Phase::Waiting, None),
            State::Countdown { step, .. } => {
                let left = (self.rules.countdown - step) as usize;
                (Phase::Countdown, STEPS.get(left - 1).copied())
            }
            State::Playing => (Phase::Playing, countdown),
            State::Paused => (Phase::Paused, None),
            State::Ended { .. } => (Phase::Ended, None),
        };
        MatchState {
            phase,
            countdown,
            seconds_left: self.remaining as f64 / self.tick_rate,
            score: self.score,
            teams: Teams {
                blue: self.blue.iter().copied().collect(),
                red: self.red.iter().copied().collect(),
            },
            kickoff: self.kickoff,
            min_players_per_team: self.rules.min_players_per_team,
            tick,
        }
    }

    fn announce(&mut self, tick: u64, countdown: Option<&'static str>) {
        let state = self.state_with(tick, countdown);
        self.events.push(MatchEvent::State(state));
    }
}

fn seconds_to_ticks(seconds: f32, tick_rate: f64) -> u64 {
    (f64::from(seconds) * tick_rate).round().max(1.0) as u64
}
