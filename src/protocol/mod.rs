//! The wire layer: every message that crosses the WebSocket and the only code that knows
//! how it is spelled. It converts between the simulation's types (`room`, `game`,
//! `scene`) and bytes, in both directions, and knows nothing of sockets.
//!
//! - [`inbound`]: classify each client text frame (command, relay or rejection) and
//!   decode commands into the room's [`Input`](crate::room::Input)s.
//! - [`outbound`]: [`ServerMsg`], every message the server sends, encoded once as JSON.
//! - [`type_scan`]: every `type` a client parser could read in a text frame (duplicate
//!   keys, escaped names, lenient parsers): what decides that a frame may be relayed.
//! - [`vectors`]: vectors and quaternions (arrays or objects in, arrays out, finite only).
//! - [`error_code`]: the one vocabulary of `error.code` values, [`ErrorCode`], and the
//!   [`WireError`] trait every refusal implements.
//! - [`http`]: the JSON of the plain-HTTP endpoints.
//! - [`binary`]: binary snapshots of the coming `ballroom.v2` (quantized, delta-encoded).

pub mod binary;
pub mod error_code;
pub mod http;
pub mod inbound;
pub mod outbound;
#[cfg(test)]
mod tests;
pub mod type_scan;
#[cfg(test)]
mod type_scan_props;
pub mod vectors;

pub use error_code::{CodedMessage, ErrorCode, WireError};
pub use http::{RoomSummary, encode_rooms};
pub use inbound::{
    Command, DecodeError, Inbound, MAX_MESSAGE_NAME, PingToken, classify_in, classify_text,
    is_message_name,
};
pub use outbound::{ServerMsg, Welcome, encode};
pub use vectors::{Quat, Vec3};

/// The WebSocket subprotocol of JSON protocol clients.
pub const SUBPROTOCOL: &str = "ballroom.v1";

/// The WebSocket subprotocol of clients that take binary snapshots.
pub const SUBPROTOCOL_V2: &str = "ballroom.v2";

/// How a protocol client receives snapshots (every other message is JSON either way).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Encoding {
    /// JSON text snapshots (`ballroom.v1`).
    #[default]
    Json,
    /// Binary snapshots, one binary frame each (`ballroom.v2`, see [`binary`]).
    Binary,
}

impl Encoding {
    /// Preferred first when a client offers several subprotocols.
    pub const PREFERENCE: [Encoding; 2] = [Encoding::Binary, Encoding::Json];

    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Json => "json",
            Encoding::Binary => "binary",
        }
    }

    /// The WebSocket subprotocol that asks for this encoding.
    pub fn subprotocol(self) -> &'static str {
        match self {
            Encoding::Json => SUBPROTOCOL,
            Encoding::Binary => SUBPROTOCOL_V2,
        }
    }
}

/// Command types a client may send (`type` field).
pub const COMMAND_TYPES: &[&str] = &["kick", "player", "ping", "state", "join_team"];

/// Types only the server emits. A client frame with one of these `type`s that is not a
/// valid command is rejected and never relayed, so nobody can spoof the server.
pub const SERVER_TYPES: &[&str] = &[
    "welcome", "snapshot", "kick", "player", "joined", "left", "pong", "error", "match", "goal",
    "result",
];

/// In a room whose scene has rules, a client may also send `message` (to the rules).
pub const RULES_COMMAND_TYPES: &[&str] =
    &["kick", "player", "ping", "state", "join_team", "message"];

/// In a room whose scene has rules, the rules' `message` and `rules_state` are the
/// server's too: no client frame of those types is relayed there, so none can pass for the
/// rules. (Elsewhere they are a broadcast scene's own types, relayed as before.)
pub const RULES_SERVER_TYPES: &[&str] = &[
    "welcome",
    "snapshot",
    "kick",
    "player",
    "joined",
    "left",
    "pong",
    "error",
    "match",
    "goal",
    "result",
    "message",
    "rules_state",
];

/// The `type`s a room owns: which a client may send as commands, and which only the server
/// may send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Vocabulary {
    pub commands: &'static [&'static str],
    pub server: &'static [&'static str],
}

impl Vocabulary {
    /// A room without rules.
    pub const PLAIN: Vocabulary = Vocabulary {
        commands: COMMAND_TYPES,
        server: SERVER_TYPES,
    };
    /// A room whose scene has rules.
    pub const RULES: Vocabulary = Vocabulary {
        commands: RULES_COMMAND_TYPES,
        server: RULES_SERVER_TYPES,
    };

    /// The vocabulary of a room with (`true`) or without rules.
    pub fn of(rules: bool) -> Vocabulary {
        if rules {
            Vocabulary::RULES
        } else {
            Vocabulary::PLAIN
        }
    }
}
