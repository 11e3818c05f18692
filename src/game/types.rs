//! What a match tells its room, and why it refuses a kick.

use crate::ids::{BallId, ClientId, Team};

/// Something the match tells its room, in order.
#[derive(Clone, Debug, PartialEq)]
pub enum MatchEvent {
    /// The match state changed (or a client asked to change teams): tell every client.
    State(MatchState),
    Goal(Goal),
    Result(MatchResult),
    /// Put the balls back at their kick-off spots (a countdown began, or a goal's pause
    /// is over). The room carries it out; clients see it in the next snapshot.
    ResetBalls,
}

/// Why the match does not allow a kick now.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum MatchRefusal {
    #[error("spectators cannot kick; join a team first")]
    Spectator,
    #[error("the match is counting down; kick after `go`")]
    Countdown,
    #[error("the match is paused until both teams have a player")]
    Paused,
    #[error("the match is over")]
    Ended,
    #[error("a goal was just scored; the ball is going back to the centre")]
    AfterGoal,
    #[error("kick-off belongs to {0}")]
    NotYourKickoff(Team),
}

/// The phase of a match.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for enough players on both teams.
    Waiting,
    /// `3, 2, 1, go`, one step a second.
    Countdown,
    Playing,
    /// A team emptied mid-match; the clock is stopped.
    Paused,
    /// The result stands for a moment, then the room returns to waiting.
    Ended,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Score {
    pub blue: u32,
    pub red: u32,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Teams {
    pub blue: Vec<ClientId>,
    pub red: Vec<ClientId>,
}

/// The whole state of a match, as of `tick`.
#[derive(Clone, Debug, PartialEq)]
pub struct MatchState {
    pub phase: Phase,
    /// During a countdown: the step showing (`"3"`, `"2"`, `"1"`); `"go"` on the state that
    /// starts play.
    pub countdown: Option<&'static str>,
    /// Match clock, in seconds; it runs only while `phase` is `Playing`.
    pub seconds_left: f64,
    pub score: Score,
    pub teams: Teams,
    /// The team that must take the next kick (after a goal, the team that conceded).
    pub kickoff: Option<Team>,
    pub min_players_per_team: u32,
    pub tick: u64,
}

/// A goal, as the server saw it.
#[derive(Clone, Debug, PartialEq)]
pub struct Goal {
    /// The team that scored.
    pub team: Team,
    /// The client who last kicked the ball, if any.
    pub scorer: Option<ClientId>,
    pub ball: BallId,
    pub score: Score,
    pub tick: u64,
}

/// The final word on a match.
#[derive(Clone, Debug, PartialEq)]
pub struct MatchResult {
    pub score: Score,
    /// `None` for a draw.
    pub winner: Option<Team>,
    /// The match ended because a team emptied.
    pub forfeit: bool,
    pub tick: u64,
}
