//! Client → server: classifying each incoming text frame as a command, a relay or a
//! rejection, and decoding commands into the room's inputs.
//!
//! A JSON object whose string `type` names a client command is decoded into a
//! [`Command`]; a frame whose `type` is one the server emits (or a malformed command) is
//! rejected with a [`DecodeError`]; everything else is relayed verbatim (the broadcast
//! fallback). Non-finite numbers never leave the decoder.

use std::borrow::Cow;

use serde::Deserialize;
use serde::de::IgnoredAny;

use super::vectors::{NON_FINITE, Quat, Vec3};
use super::{COMMAND_TYPES, SERVER_TYPES};
use crate::ids::{BallId, Team};
use crate::room::{Input, Kick};

/// A decoded, finite client command.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// Something for the room to apply (`kick`, `player`, `join_team`).
    Room(Input),
    /// Clock sync: answered with `pong` carrying `t` back.
    Ping { t: serde_json::Value },
    /// Ask for an immediate full snapshot.
    State,
}

/// The commands as they are spelled on the wire.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum WireCommand {
    /// Apply `impulse` (N·s) to `ball` on the next tick, at `point` (world space) if given.
    Kick {
        ball: BallId,
        impulse: Vec3,
        #[serde(default)]
        point: Option<Vec3>,
        #[serde(default)]
        seq: Option<u64>,
    },
    /// The player's avatar pose (feet position).
    Player {
        position: Vec3,
        #[serde(default)]
        rotation: Option<Quat>,
    },
    Ping {
        #[serde(default)]
        t: serde_json::Value,
    },
    State,
    /// Join a team in a match scene; `null`, `"spectator"` or no `team` leaves teams.
    JoinTeam {
        #[serde(default)]
        team: Option<TeamChoice>,
    },
}

/// What `join_team` may ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum TeamChoice {
    Blue,
    Red,
    Spectator,
}

impl From<WireCommand> for Command {
    fn from(wire: WireCommand) -> Command {
        match wire {
            WireCommand::Kick {
                ball,
                impulse,
                point,
                seq,
            } => Command::Room(Input::Kick(Kick {
                ball,
                impulse: impulse.0,
                point: point.map(|p| p.0),
                seq,
            })),
            WireCommand::Player { position, rotation } => Command::Room(Input::Pose {
                position: position.0,
                rotation: rotation.unwrap_or(Quat::IDENTITY).0,
            }),
            WireCommand::Ping { t } => Command::Ping { t },
            WireCommand::State => Command::State,
            WireCommand::JoinTeam { team } => Command::Room(Input::JoinTeam(match team {
                Some(TeamChoice::Blue) => Some(Team::Blue),
                Some(TeamChoice::Red) => Some(Team::Red),
                Some(TeamChoice::Spectator) | None => None,
            })),
        }
    }
}

/// What to do with one incoming frame.
#[derive(Debug)]
pub enum Inbound {
    /// A valid server command.
    Command(Command),
    /// Not ours: relay it verbatim to the room.
    Relay,
    /// Rejected: answer the sender with an error, relay nothing.
    Reject(DecodeError),
}

/// Why a client frame was rejected by the decoder.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DecodeError {
    #[error("invalid `{kind}` command: {detail}")]
    NonFinite { kind: String, detail: String },
    #[error("malformed JSON in a `{kind}` message: {detail}")]
    BadJson { kind: String, detail: String },
    #[error("invalid `{kind}` command: {detail}")]
    BadCommand { kind: String, detail: String },
    #[error("`{0}` is a server message type and cannot be sent by a client")]
    ReservedType(String),
}

/// Classify one incoming text frame: command, relay, or reject.
pub fn classify_text(text: &str) -> Inbound {
    // Cheap pre-check: only a JSON object can be a command.
    if !text.trim_start().starts_with('{') {
        return Inbound::Relay;
    }
    let kind = match serde_json::from_str::<TypeProbe>(text) {
        Ok(TypeProbe {
            kind: Some(TypeField::Name(kind)),
        }) => kind,
        // No `type`, or a non-string `type` (the example scenes' numeric types): relay.
        Ok(_) => return Inbound::Relay,
        // Not JSON. If it plainly meant to be one of ours, say why it failed; any other
        // text is relayed untouched, as the broadcast server it replaces would.
        Err(e) => {
            return match sniff_type(text) {
                Some(kind) if is_ours(kind) => Inbound::Reject(DecodeError::BadJson {
                    kind: kind.to_owned(),
                    detail: e.to_string(),
                }),
                _ => Inbound::Relay,
            };
        }
    };
    if COMMAND_TYPES.contains(&kind.as_ref()) {
        NON_FINITE.set(false);
        return match serde_json::from_str::<WireCommand>(text) {
            Ok(cmd) => Inbound::Command(cmd.into()),
            Err(e) => {
                let (kind, detail) = (kind.into_owned(), e.to_string());
                Inbound::Reject(if NON_FINITE.get() {
                    DecodeError::NonFinite { kind, detail }
                } else {
                    DecodeError::BadCommand { kind, detail }
                })
            }
        };
    }
    if SERVER_TYPES.contains(&kind.as_ref()) {
        return Inbound::Reject(DecodeError::ReservedType(kind.into_owned()));
    }
    Inbound::Relay
}

fn is_ours(kind: &str) -> bool {
    COMMAND_TYPES.contains(&kind) || SERVER_TYPES.contains(&kind)
}

/// In text that failed to parse, the string value of the first `"type": "..."` pair.
fn sniff_type(text: &str) -> Option<&str> {
    let mut rest = text;
    while let Some(i) = rest.find("\"type\"") {
        rest = &rest[i + 6..];
        let value = rest.trim_start().strip_prefix(':').map(str::trim_start);
        if let Some(v) = value.and_then(|v| v.strip_prefix('"')) {
            return v.find('"').map(|end| &v[..end]);
        }
    }
    None
}

#[derive(Deserialize)]
struct TypeProbe<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<TypeField<'a>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum TypeField<'a> {
    Name(#[serde(borrow)] Cow<'a, str>),
    #[allow(dead_code)]
    Other(IgnoredAny),
}
