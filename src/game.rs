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

use crate::protocol::{
    BallId, ClientId, GoalEvent, MatchResult, MatchState, Phase, Score, Team, Teams,
};
use crate::room::RejectReason;
use crate::scene::{MatchRules, OnTeamEmpty};

/// Something the match tells the room and its clients.
#[derive(Clone, Debug, PartialEq)]
pub enum GameEvent {
    State(MatchState),
    Goal(GoalEvent),
    Result(MatchResult),
}

#[derive(Clone, Copy, Debug, PartialEq)]
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

/// One room's match.
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
    /// Set when the room must put the balls back at kick-off; the room clears it.
    pub reset_balls: bool,
    events: Vec<GameEvent>,
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
            reset_balls: false,
            events: Vec::new(),
        }
    }

    /// Events produced since the last call.
    pub fn drain_events(&mut self) -> impl Iterator<Item = GameEvent> + '_ {
        self.events.drain(..)
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
    pub fn set_team(&mut self, client: ClientId, team: Option<Team>, tick: u64) {
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
    }

    /// A client left the room.
    pub fn remove(&mut self, client: ClientId, tick: u64) {
        let was_playing = self.blue.remove(&client) | self.red.remove(&client);
        if was_playing && !self.presence_changed(tick) {
            self.announce(tick, None);
        }
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
            self.reset_balls = true;
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
    pub fn tick(&mut self, tick: u64) {
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
                        self.reset_balls = true;
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
    }

    fn end(&mut self, tick: u64, winner: Option<Team>, forfeit: bool) {
        self.state = State::Ended {
            until: tick + seconds_to_ticks(self.rules.end_pause, self.tick_rate),
        };
        self.reset = None;
        self.kickoff = None;
        self.events.push(GameEvent::Result(MatchResult {
            score: self.score,
            winner,
            forfeit,
            tick,
        }));
        self.announce(tick, None);
    }

    /// A ball entered the goal defended by `defending`. Counts only while playing and not
    /// already waiting for the ball to come back after a goal.
    pub fn goal(&mut self, defending: Team, ball: BallId, scorer: Option<ClientId>, tick: u64) {
        if self.state != State::Playing || self.reset.is_some() {
            return;
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
        self.events.push(GameEvent::Goal(GoalEvent {
            team,
            scorer,
            ball,
            score: self.score,
            tick,
        }));
        self.announce(tick, None);
    }

    /// May `client` kick now?
    pub fn check_kick(&self, client: ClientId) -> Result<(), RejectReason> {
        let team = self.team_of(client).ok_or(RejectReason::Spectator)?;
        match self.state {
            State::Waiting => Ok(()), // warm-up: team players may kick while waiting
            State::Countdown { .. } => Err(RejectReason::Countdown),
            State::Paused => Err(RejectReason::MatchPaused),
            State::Ended { .. } => Err(RejectReason::MatchEnded),
            State::Playing if self.reset.is_some() => Err(RejectReason::AfterGoal),
            State::Playing => match self.kickoff {
                Some(k) if k != team => Err(RejectReason::NotYourKickoff(k)),
                _ => Ok(()),
            },
        }
    }

    /// A kick by `client` was accepted (it is applied on the next tick, `tick`).
    pub fn kicked(&mut self, client: ClientId, tick: u64) {
        if self.kickoff.is_some() && self.kickoff == self.team_of(client) {
            self.kickoff = None;
            self.announce(tick, None);
        }
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
        self.events.push(GameEvent::State(state));
    }
}

fn seconds_to_ticks(seconds: f32, tick_rate: f64) -> u64 {
    (f64::from(seconds) * tick_rate).round().max(1.0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn rules(on_team_empty: OnTeamEmpty) -> MatchRules {
        MatchRules {
            min_players_per_team: 1,
            duration: 10.0,
            countdown: 3,
            goal_pause: 2.0,
            end_pause: 5.0,
            on_team_empty,
            goals: BTreeMap::from([
                ("goal_blue".into(), Team::Blue),
                ("goal_red".into(), Team::Red),
            ]),
        }
    }

    fn states(m: &mut Match) -> Vec<MatchState> {
        m.drain_events()
            .filter_map(|e| match e {
                GameEvent::State(s) => Some(s),
                _ => None,
            })
            .collect()
    }

    /// Run ticks `from..=to`, returning every event.
    fn run(m: &mut Match, from: u64, to: u64) -> Vec<GameEvent> {
        let mut out = Vec::new();
        for t in from..=to {
            m.tick(t);
            out.extend(m.drain_events());
        }
        out
    }

    #[test]
    fn a_lone_team_never_starts_a_match() {
        let mut m = Match::new(rules(OnTeamEmpty::Pause), 10.0);
        m.set_team(1, Some(Team::Blue), 0);
        m.set_team(2, Some(Team::Blue), 0);
        let s = states(&mut m);
        assert!(s.iter().all(|s| s.phase == Phase::Waiting));
        assert_eq!(s.last().unwrap().teams.blue, [1, 2]);
        assert!(run(&mut m, 1, 1000).is_empty());
        assert_eq!(m.check_kick(1), Ok(()), "warm-up kicks while waiting");
        assert_eq!(m.check_kick(3), Err(RejectReason::Spectator));
    }

    #[test]
    fn countdown_play_goal_reset_and_final_whistle() {
        let mut m = Match::new(rules(OnTeamEmpty::Pause), 10.0); // 10 ticks a second
        m.set_team(1, Some(Team::Blue), 0);
        m.set_team(2, Some(Team::Red), 0);
        assert!(
            m.reset_balls,
            "the ball goes to kick-off when the countdown starts"
        );
        let s = states(&mut m);
        assert_eq!(s.len(), 2);
        assert_eq!((s[1].phase, s[1].countdown), (Phase::Countdown, Some("3")));
        assert_eq!(m.check_kick(1), Err(RejectReason::Countdown));

        let labels: Vec<_> = run(&mut m, 1, 30)
            .into_iter()
            .map(|e| match e {
                GameEvent::State(s) => (s.tick, s.phase, s.countdown),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            labels,
            [
                (10, Phase::Countdown, Some("2")),
                (20, Phase::Countdown, Some("1")),
                (30, Phase::Playing, Some("go")),
            ]
        );
        assert_eq!(m.check_kick(2), Ok(()));

        m.goal(Team::Blue, 0, Some(2), 35);
        let events: Vec<_> = m.drain_events().collect();
        assert!(matches!(
            &events[0],
            GameEvent::Goal(GoalEvent {
                team: Team::Red,
                scorer: Some(2),
                score: Score { blue: 0, red: 1 },
                ..
            })
        ));
        assert_eq!(m.check_kick(1), Err(RejectReason::AfterGoal));
        // A second touch of the sensor while the ball is on its way back is not a goal.
        m.goal(Team::Blue, 0, Some(2), 36);
        assert!(m.drain_events().next().is_none());
        m.reset_balls = false;
        let after = run(&mut m, 31, 55);
        assert!(m.reset_balls, "ball back to the centre after the pause");
        let GameEvent::State(s) = after.last().unwrap() else {
            panic!()
        };
        assert_eq!(
            s.kickoff,
            Some(Team::Blue),
            "the team that conceded kicks off"
        );
        assert_eq!(
            m.check_kick(2),
            Err(RejectReason::NotYourKickoff(Team::Blue))
        );
        assert_eq!(m.check_kick(1), Ok(()));
        m.kicked(1, 56);
        let GameEvent::State(s) = m.drain_events().next().unwrap() else {
            panic!()
        };
        assert_eq!(s.kickoff, None, "kick-off taken, and said so");
        assert_eq!(m.check_kick(2), Ok(()));

        // 10 s of play = 100 ticks from tick 30: the whistle goes at tick 130.
        let end = run(&mut m, 56, 130);
        let result = end
            .iter()
            .find_map(|e| match e {
                GameEvent::Result(r) => Some(r.clone()),
                _ => None,
            })
            .expect("a result");
        assert_eq!(result.tick, 130);
        assert_eq!((result.winner, result.forfeit), (Some(Team::Red), false));
        assert_eq!(m.check_kick(2), Err(RejectReason::MatchEnded));
        // After the end pause a new match starts at once: both teams are still there.
        let next = run(&mut m, 131, 180);
        let phases: Vec<_> = next
            .iter()
            .filter_map(|e| match e {
                GameEvent::State(s) => Some(s.phase),
                _ => None,
            })
            .collect();
        assert_eq!(phases[0], Phase::Countdown, "{phases:?}");
        assert_eq!(m.state(180).score, Score::default());
    }

    #[test]
    fn a_team_emptying_pauses_the_clock_until_it_returns() {
        let mut m = Match::new(rules(OnTeamEmpty::Pause), 10.0);
        m.set_team(1, Some(Team::Blue), 0);
        m.set_team(2, Some(Team::Red), 0);
        run(&mut m, 1, 40);
        let left = m.state(40).seconds_left;
        m.remove(2, 40);
        assert_eq!(states(&mut m).last().unwrap().phase, Phase::Paused);
        assert_eq!(m.check_kick(1), Err(RejectReason::MatchPaused));
        run(&mut m, 41, 200);
        assert_eq!(m.state(200).seconds_left, left, "clock stopped");
        m.set_team(3, Some(Team::Red), 200);
        let s = states(&mut m);
        assert_eq!(s.last().unwrap().phase, Phase::Countdown);
        run(&mut m, 201, 230);
        assert_eq!(m.state(230).phase, Phase::Playing);
        assert_eq!(m.state(230).seconds_left, left, "resumed where it stopped");
    }

    #[test]
    fn forfeit_ends_the_match_for_the_team_still_there() {
        let mut m = Match::new(rules(OnTeamEmpty::Forfeit), 10.0);
        m.set_team(1, Some(Team::Blue), 0);
        m.set_team(2, Some(Team::Red), 0);
        run(&mut m, 1, 40);
        m.set_team(2, None, 41); // moves to spectators
        let result = m
            .drain_events()
            .find_map(|e| match e {
                GameEvent::Result(r) => Some(r),
                _ => None,
            })
            .unwrap();
        assert_eq!((result.winner, result.forfeit), (Some(Team::Blue), true));
    }
}
