//! A room's game rules, written in JavaScript and run in a sandbox (`rquickjs`, QuickJS).
//!
//! A rules file is an ES module whose default export is an object of optional hooks
//! (`onStart`, `onJoin`, `onLeave`, `onKick`, `onMessage`, `onSensor`, `onTick`) and that may
//! export `tickRate`. [`Rules::load`] compiles it into a fresh runtime of its own (one per
//! room); [`Rules::call`] runs one hook against a [`RoomView`] and returns what the hook
//! asked for as [`Action`]s, in order, plus the verdict of an `onKick`. Nothing else: no
//! I/O, no timers, no imports, no clock but room time, no randomness but the room's seed.
//! The caller applies the actions when the call returns.
//!
//! A hook that throws, runs past [`RulesLimits::time`] or exhausts [`RulesLimits::memory`]
//! fails alone: its actions are dropped, the state it set is rolled back, the outcome
//! carries a [`HookFailure`], and the next call runs as usual. A failed `onKick` refuses
//! the kick with [`RULES_FAILED`].
//!
//! Only JSON crosses the boundary, within [`MAX_DATA_BYTES`], [`MAX_STATE_BYTES`] and
//! [`MAX_RESULT_BYTES`]; see `docs/RULES.md` for the contract.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::ids::{BallId, ClientId, Team};

mod convert;
mod engine;
mod room_api;
mod sandbox;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_football;
#[cfg(test)]
mod tests_sandbox;

pub use engine::Rules;

/// Largest `data` of `room.send`/`room.broadcast`, as JSON text.
pub const MAX_DATA_BYTES: usize = 16 * 1024;
/// Largest value given to `room.setState`, as JSON text.
pub const MAX_STATE_BYTES: usize = 64 * 1024;
/// Largest value given to `room.end`, as JSON text.
pub const MAX_RESULT_BYTES: usize = 16 * 1024;
/// Longest message name (`send`, `broadcast`): ASCII letters, digits, `_`, `-`, `.`, `:`.
pub const MAX_NAME_LEN: usize = 32;
/// Longest reason an `onKick` may give with `{refuse}`.
pub const MAX_REASON_LEN: usize = 128;
/// Most actions one hook call may ask for.
pub const MAX_ACTIONS: usize = 256;
/// Largest rules file.
pub const MAX_SOURCE_BYTES: usize = 256 * 1024;
/// Highest `tickRate` a rules module may export (the room runs `onTick` at most at its own
/// tick rate, see [`Rules::tick_every`]).
pub const MAX_TICK_RATE: f64 = 1000.0;
/// The refusal reason of a kick whose `onKick` failed.
pub const RULES_FAILED: &str = "rules_failed";
/// The refusal reason of an `onKick` that returned `false`.
pub const REFUSED_BY_RULES: &str = "refused_by_rules";

/// What one room's rules may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RulesLimits {
    /// Heap of the room's JavaScript runtime, in bytes.
    pub memory: usize,
    /// Budget of one hook call; the module's top level at load gets ten.
    pub time: Duration,
}

impl Default for RulesLimits {
    fn default() -> Self {
        RulesLimits {
            memory: 16 * 1024 * 1024,
            time: Duration::from_millis(5),
        }
    }
}

/// One client as the rules see it (`room.clients()`, and `client` in `onJoin`, `onLeave`,
/// `onMessage`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClientView {
    pub id: ClientId,
    pub team: Option<Team>,
    /// Joined to watch: it may not play.
    pub spectator: bool,
    /// Last reported feet position, if any.
    pub position: Option<[f32; 3]>,
}

/// One ball as the rules see it (`room.balls()`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BallView {
    pub id: BallId,
    pub position: [f32; 3],
    pub velocity: [f32; 3],
    pub sleeping: bool,
}

/// A kick the room is about to accept (`kick` in `onKick`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KickView {
    pub client: ClientId,
    pub ball: BallId,
    pub impulse: [f32; 3],
    pub point: Option<[f32; 3]>,
}

/// A ball entered or left a sensor (the event of `onSensor`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SensorEvent {
    pub sensor: String,
    pub ball: BallId,
    pub entered: bool,
}

/// The room as of the call: what `room.tick`, `room.time`, `room.clients()` and
/// `room.balls()` read.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RoomView {
    pub tick: u64,
    /// Room time in seconds (`Date.now()` is this in milliseconds).
    pub time: f64,
    pub clients: Vec<ClientView>,
    pub balls: Vec<BallView>,
}

/// The hook to run.
#[derive(Clone, Debug, PartialEq)]
pub enum Hook {
    Start,
    Join(ClientView),
    Leave(ClientView),
    Kick(KickView),
    Message {
        client: ClientView,
        name: String,
        data: serde_json::Value,
    },
    Sensor(SensorEvent),
    Tick,
}

impl Hook {
    /// The name of the hook in the module's default export.
    pub fn name(&self) -> &'static str {
        match self {
            Hook::Start => "onStart",
            Hook::Join(_) => "onJoin",
            Hook::Leave(_) => "onLeave",
            Hook::Kick(_) => "onKick",
            Hook::Message { .. } => "onMessage",
            Hook::Sensor(_) => "onSensor",
            Hook::Tick => "onTick",
        }
    }
}

/// Every hook name a module may export.
pub const HOOK_NAMES: [&str; 7] = [
    "onStart",
    "onJoin",
    "onLeave",
    "onKick",
    "onMessage",
    "onSensor",
    "onTick",
];

/// Something a hook asked the room to do. Collected during the call and returned in the
/// order asked; they take effect when the hook has returned.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Action {
    /// Put a ball back at `position`, or at its spawn point when `None`, at rest.
    ResetBall {
        ball: BallId,
        position: Option<[f32; 3]>,
    },
    ApplyImpulse {
        ball: BallId,
        impulse: [f32; 3],
    },
    /// Put a client on a team, or none.
    SetTeam {
        client: ClientId,
        team: Option<Team>,
    },
    Send {
        client: ClientId,
        name: String,
        data: serde_json::Value,
    },
    Broadcast {
        name: String,
        data: serde_json::Value,
    },
    /// The rules' new state: published and saved with the room ([`Rules::state`]).
    SetState(serde_json::Value),
    /// A match is over, with this result. The room and its rules go on.
    End(serde_json::Value),
}

/// What `onKick` decided. Every other hook leaves it at `Accept`.
#[derive(Clone, Debug, PartialEq)]
pub enum KickVerdict {
    Accept,
    /// Refused, with a reason for the kicker.
    Refuse(String),
    /// Accepted with this impulse instead (still subject to the scene's own checks).
    Change([f32; 3]),
}

/// Why a hook call failed. The call had no effect; the engine remains usable.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum HookFailure {
    #[error("{hook} threw: {message}")]
    Threw { hook: &'static str, message: String },
    #[error("{hook} ran past its {budget:?} budget")]
    TimedOut {
        hook: &'static str,
        budget: Duration,
    },
    #[error("{hook} ran out of memory ({limit} bytes)")]
    OutOfMemory { hook: &'static str, limit: usize },
    #[error("{hook} returned {message}")]
    BadReturn { hook: &'static str, message: String },
}

/// The result of one hook call.
#[derive(Clone, Debug, PartialEq)]
pub struct HookOutcome {
    /// What the hook asked for, in order; empty when it failed.
    pub actions: Vec<Action>,
    /// `Accept` but for an `onKick` that refused or changed the kick; a failed `onKick`
    /// is `Refuse(RULES_FAILED)`.
    pub verdict: KickVerdict,
    pub failure: Option<HookFailure>,
}

impl HookOutcome {
    fn empty() -> HookOutcome {
        HookOutcome {
            actions: Vec::new(),
            verdict: KickVerdict::Accept,
            failure: None,
        }
    }
}

/// Why a rules file was refused at load.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("rules `{file}`: {problem}")]
pub struct RulesError {
    pub file: String,
    pub problem: LoadProblem,
}

/// What was wrong with a rules file.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum LoadProblem {
    #[error("file is {0} bytes; at most {MAX_SOURCE_BYTES} are allowed")]
    TooLarge(usize),
    #[error("syntax error: {0}")]
    Syntax(String),
    #[error("imports are not allowed in rules ({0})")]
    Import(String),
    #[error("threw at top level: {0}")]
    Threw(String),
    #[error("top level ran past its {0:?} budget")]
    TimedOut(Duration),
    #[error("top level ran out of memory ({0} bytes)")]
    OutOfMemory(usize),
    #[error("the default export must be an object of hooks ({0})")]
    BadDefault(String),
    #[error("unknown hook `{0}`; hooks are {HOOK_NAMES:?}")]
    UnknownHook(String),
    #[error("hook `{0}` is not a function")]
    NotAFunction(String),
    #[error("`tickRate` must be a number above 0 and at most {MAX_TICK_RATE} ({0})")]
    BadTickRate(String),
    #[error("the JavaScript engine failed: {0}")]
    Engine(String),
}
