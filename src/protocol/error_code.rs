//! The one vocabulary of `error.code` values the server sends, and the trait through
//! which every refusal in the crate names its code.
//!
//! Each refusal type keeps its own meaning (a decoder error, a room's refusal, a refused
//! join); [`WireError::code`] maps it onto [`ErrorCode`], so a code exists once, with
//! one spelling, and `docs/PROTOCOL.md` can be checked against [`ErrorCode::ALL`].

use super::inbound::DecodeError;
use crate::room::Refusal;

macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident => $code:literal,)*) => {
        /// Every `error.code` the server sends.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)*
        }

        impl ErrorCode {
            /// Every code, in the order `docs/PROTOCOL.md` lists them.
            pub const ALL: &[ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The code as it is spelled on the wire.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code,)*
                }
            }
        }
    };
}

error_codes! {
    BadRoom => "bad_room",
    BadOption => "bad_option",
    UnknownScene => "unknown_scene",
    ShuttingDown => "shutting_down",
    RoomBusy => "room_busy",
    TooManyRooms => "too_many_rooms",
    RoomFull => "room_full",
    /// A client over its message budget; the frame was dropped.
    TooManyMessages => "too_many_messages",
    /// The room's simulation panicked and the room was closed.
    RoomFailed => "room_failed",
    BadJson => "bad_json",
    BadCommand => "bad_command",
    NonFinite => "non_finite",
    ReservedType => "reserved_type",
    NoPhysics => "no_physics",
    UnknownBall => "unknown_ball",
    ImpulseTooLarge => "impulse_too_large",
    BadPoint => "bad_point",
    TooFar => "too_far",
    NoPosition => "no_position",
    RateLimited => "rate_limited",
    Teleport => "teleport",
    /// A spectator sent a kick, a pose or a team choice.
    Spectating => "spectating",
    /// The room's rules refused the kick (`onKick` returned `false` or `{refuse}`).
    RefusedByRules => "refused_by_rules",
    /// The room's rules failed on the kick (`onKick` threw, ran out of time or memory).
    RulesFailed => "rules_failed",
    /// A `message` in a room whose scene has no rules.
    NoRules => "no_rules",
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refusal a client is told about: its code, and its `Display` as the message.
pub trait WireError: std::fmt::Display {
    fn code(&self) -> ErrorCode;
}

impl WireError for DecodeError {
    fn code(&self) -> ErrorCode {
        match self {
            DecodeError::NonFinite { .. } => ErrorCode::NonFinite,
            DecodeError::BadCommand { .. } => ErrorCode::BadCommand,
            DecodeError::BadJson { .. } => ErrorCode::BadJson,
            DecodeError::ReservedType(_) => ErrorCode::ReservedType,
        }
    }
}

impl WireError for Refusal {
    fn code(&self) -> ErrorCode {
        match self {
            Refusal::NoPhysics(_) => ErrorCode::NoPhysics,
            Refusal::UnknownBall(_) => ErrorCode::UnknownBall,
            Refusal::ImpulseTooLarge { .. } => ErrorCode::ImpulseTooLarge,
            Refusal::PointTooFar { .. } => ErrorCode::BadPoint,
            Refusal::TooFar { .. } => ErrorCode::TooFar,
            Refusal::NoPosition => ErrorCode::NoPosition,
            Refusal::RateLimited { .. } => ErrorCode::RateLimited,
            Refusal::Teleport { .. } => ErrorCode::Teleport,
            Refusal::RefusedByRules(_) => ErrorCode::RefusedByRules,
            Refusal::RulesFailed(_) => ErrorCode::RulesFailed,
            Refusal::NoRules(_) => ErrorCode::NoRules,
        }
    }
}

/// A refusal that needs no more words than its code's (`too_many_messages`,
/// `room_failed`), with the message the client reads.
#[derive(Debug, Clone, PartialEq)]
pub struct CodedMessage {
    pub code: ErrorCode,
    pub message: String,
}

impl std::fmt::Display for CodedMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl WireError for CodedMessage {
    fn code(&self) -> ErrorCode {
        self.code
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_code_is_documented_and_every_documented_code_exists() {
        let documented = crate::doc_tables::first_column("Error codes");
        let known: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        for code in &known {
            assert!(
                documented.iter().any(|d| d == code),
                "`{code}` is sent but missing from PROTOCOL.md's error-code table"
            );
        }
        for code in &documented {
            assert!(
                known.contains(&code.as_str()),
                "PROTOCOL.md documents `{code}`, which the server never sends"
            );
        }
        assert_eq!(documented.len(), known.len(), "each code listed once");
    }
}
