//! Client → server: classifying each incoming text frame as a command, a relay or a
//! rejection, and decoding commands into the room's inputs.
//!
//! A JSON object whose one string `type` names a client command is decoded into a
//! [`Command`]; a frame that any client parser could read as one of the server's types
//! (see [`type_scan`]), or a malformed command, is rejected with a [`DecodeError`];
//! everything else is relayed verbatim (the broadcast fallback). Non-finite numbers never
//! leave the decoder.

use serde::{Deserialize, Serialize};

use super::Vocabulary;
use super::type_scan;
use super::vectors::{NON_FINITE, Quat, Vec3};
use crate::ids::{BallId, Team};
use crate::room::{Input, Kick};

/// A decoded, finite client command. Decoded once, on the node the client is connected
/// to: a follower forwards it to the room's owner as it is (serde, in postcard).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Command {
    /// Something for the room to apply (`kick`, `player`, `join_team`).
    Room(Input),
    /// Clock sync: answered with `pong` carrying `t` back.
    Ping { t: PingToken },
    /// Ask for an immediate full snapshot.
    State,
}

/// A ping's `t`: any JSON value the client chose, kept as its JSON text and echoed back
/// verbatim in the `pong`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PingToken(String);

impl PingToken {
    pub fn new(value: &serde_json::Value) -> PingToken {
        PingToken(value.to_string())
    }

    /// The value as JSON text, to be written back as it is.
    pub fn json(&self) -> &str {
        &self.0
    }
}

/// The commands as they are spelled on the wire.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum WireCommand {
    /// Apply `impulse` (N·s) to `ball` on the next tick (or on `tick`, if later), at
    /// `point` (world space) if given.
    Kick {
        ball: BallId,
        impulse: Vec3,
        #[serde(default)]
        point: Option<Vec3>,
        #[serde(default)]
        seq: Option<u64>,
        /// The room time (s) at which the kicker's client showed the ball.
        #[serde(default)]
        seen_at: Option<f64>,
        /// The tick the client predicted the kick on.
        #[serde(default)]
        tick: Option<u64>,
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
    /// A message for the room's rules (only in a room whose scene has rules).
    Message {
        #[serde(deserialize_with = "message_name")]
        name: String,
        #[serde(default)]
        data: serde_json::Value,
    },
}

/// The longest `name` of a `message`, either way.
pub const MAX_MESSAGE_NAME: usize = 32;

/// Whether `name` may name a `message`, either way: 1 to [`MAX_MESSAGE_NAME`] ASCII
/// letters, digits, `_`, `-`, `.` or `:`.
pub fn is_message_name(name: &str) -> bool {
    (1..=MAX_MESSAGE_NAME).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.:".contains(&b))
}

fn message_name<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let name = String::deserialize(d)?;
    if !is_message_name(&name) {
        return Err(serde::de::Error::custom(format!(
            "`name` must be 1 to {MAX_MESSAGE_NAME} ASCII letters, digits, `_`, `-`, `.` or `:`"
        )));
    }
    Ok(name)
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
                seen_at,
                tick,
            } => Command::Room(Input::Kick(Kick {
                ball,
                impulse: impulse.0,
                point: point.map(|p| p.0),
                seq,
                seen_at,
                tick,
            })),
            WireCommand::Player { position, rotation } => Command::Room(Input::Pose {
                position: position.0,
                rotation: rotation.unwrap_or(Quat::IDENTITY).0,
            }),
            WireCommand::Ping { t } => Command::Ping {
                t: PingToken::new(&t),
            },
            WireCommand::State => Command::State,
            WireCommand::Message { name, data } => Command::Room(Input::Message {
                name,
                data: data.to_string(),
            }),
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

/// Classify one incoming text frame for a room without rules: command, relay, or reject.
pub fn classify_text(text: &str) -> Inbound {
    classify_in(text, Vocabulary::PLAIN)
}

/// Classify one incoming text frame for a room of vocabulary `vocab`: command, relay, or
/// reject.
///
/// The rule (`docs/PROTOCOL.md`, "Broadcast fallback"): a frame is relayed only if no
/// reading of it ([`type_scan::scan`]: duplicate keys, escaped key names, text only a
/// lenient parser accepts) names a command or server type.
pub fn classify_in(text: &str, vocab: Vocabulary) -> Inbound {
    let (command_types, server_types) = (vocab.commands, vocab.server);
    // Cheap pre-check: only a JSON object can be a command.
    if !text.trim_start().starts_with('{') {
        return Inbound::Relay;
    }
    let scan = type_scan::scan(text);
    if let Some(detail) = scan.malformed.clone() {
        // Not JSON to us. If any reading names one of ours, say why it failed; any other
        // text is relayed untouched, as the broadcast server it replaces would.
        return match scan.first_of(server_types) {
            Some(kind) if !command_types.contains(&kind) => {
                Inbound::Reject(DecodeError::ReservedType(kind.to_owned()))
            }
            _ => match scan.first_of(command_types) {
                Some(kind) => Inbound::Reject(DecodeError::BadJson {
                    kind: kind.to_owned(),
                    detail,
                }),
                None => Inbound::Relay,
            },
        };
    }
    if scan.keys > 1 {
        // Parsers disagree on which of several `type`s counts: ours in any is refused.
        if let Some(kind) = scan.first_of(server_types) {
            return Inbound::Reject(DecodeError::ReservedType(kind.to_owned()));
        }
        if let Some(kind) = scan.first_of(command_types) {
            return Inbound::Reject(DecodeError::BadCommand {
                kind: kind.to_owned(),
                detail: format!("{} `type` keys", scan.keys),
            });
        }
        return Inbound::Relay;
    }
    // No `type`, a non-string `type` (the example scenes' numeric types), or one string.
    let Some(kind) = scan.names.first() else {
        return Inbound::Relay;
    };
    if command_types.contains(&kind.as_str()) {
        NON_FINITE.set(false);
        return match serde_json::from_str::<WireCommand>(text) {
            Ok(cmd) => Inbound::Command(cmd.into()),
            Err(e) => {
                let (kind, detail) = (kind.clone(), e.to_string());
                Inbound::Reject(if NON_FINITE.get() {
                    DecodeError::NonFinite { kind, detail }
                } else {
                    DecodeError::BadCommand { kind, detail }
                })
            }
        };
    }
    if server_types.contains(&kind.as_str()) {
        return Inbound::Reject(DecodeError::ReservedType(kind.clone()));
    }
    Inbound::Relay
}
